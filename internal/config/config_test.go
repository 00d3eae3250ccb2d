package config_test

import (
	"errors"
	"flag"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/renraku/renraku/internal/config"
)

func load(env map[string]string, args ...string) (*config.Config, error) {
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	c, _, err := config.Load(func(k string) string { return env[k] }, fs, args)
	return c, err
}

func TestLoadDefaults(t *testing.T) {
	t.Parallel()
	c, err := load(nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != config.DefaultAddr || c.MetricsAddr != config.DefaultMetricsAddr {
		t.Errorf("addr = %q, metrics = %q", c.Addr, c.MetricsAddr)
	}
	if c.LineAPIURL.String() != config.DefaultLineAPIURL || c.LineDataAPIURL.String() != config.DefaultLineDataAPIURL {
		t.Errorf("line urls = %v %v", c.LineAPIURL, c.LineDataAPIURL)
	}
	if c.ShutdownTimeout != 15*time.Second || c.DataDir != ".data" || c.AuditRetentionYears != 5 {
		t.Errorf("shutdown = %v, data dir = %q", c.ShutdownTimeout, c.DataDir)
	}
}

func TestFlagOverridesEnv(t *testing.T) {
	t.Parallel()
	c, err := load(map[string]string{"RENRAKU_ADDR": "127.0.0.1:1111"}, "--addr", "127.0.0.1:2222")
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != "127.0.0.1:2222" {
		t.Errorf("addr = %q, want the flag's value", c.Addr)
	}
}

func TestLoadInvalid(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		env     map[string]string
		args    []string
		wantVar string
	}{
		{"database url scheme", map[string]string{"DATABASE_URL": "mysql://x"}, nil, "DATABASE_URL"},
		{"addr without port", map[string]string{"RENRAKU_ADDR": "localhost"}, nil, "RENRAKU_ADDR"},
		{"addr flag without port", nil, []string{"--addr", "nope"}, "RENRAKU_ADDR"},
		{"metrics addr", map[string]string{"RENRAKU_METRICS_ADDR": "x"}, nil, "RENRAKU_METRICS_ADDR"},
		{"base url relative", map[string]string{"RENRAKU_BASE_URL": "/renraku"}, nil, "RENRAKU_BASE_URL"},
		{"base url scheme", map[string]string{"RENRAKU_BASE_URL": "ftp://example.jp"}, nil, "RENRAKU_BASE_URL"},
		{"master key not base64", map[string]string{"RENRAKU_MASTER_KEY": "!!!"}, nil, "RENRAKU_MASTER_KEY"},
		{"master key short", map[string]string{"RENRAKU_MASTER_KEY": "c2hvcnQ="}, nil, "RENRAKU_MASTER_KEY"},
		{"kms uri", map[string]string{"RENRAKU_KMS_KEY_URI": "key"}, nil, "RENRAKU_KMS_KEY_URI"},
		{"line api url", map[string]string{"RENRAKU_LINE_API_URL": "api.line.me"}, nil, "RENRAKU_LINE_API_URL"},
		{"line data api url", map[string]string{"RENRAKU_LINE_DATA_API_URL": "::"}, nil, "RENRAKU_LINE_DATA_API_URL"},
		{"log level", map[string]string{"RENRAKU_LOG_LEVEL": "loud"}, nil, "RENRAKU_LOG_LEVEL"},
		{"shutdown timeout", map[string]string{"RENRAKU_SHUTDOWN_TIMEOUT": "-1s"}, nil, "RENRAKU_SHUTDOWN_TIMEOUT"},
		{"audit retention", map[string]string{"RENRAKU_AUDIT_RETENTION_YEARS": "0"}, nil, "RENRAKU_AUDIT_RETENTION_YEARS"},
		{"trusted proxies", map[string]string{"RENRAKU_TRUSTED_PROXIES": "10.0.0.0/8, proxy.local"}, nil, "RENRAKU_TRUSTED_PROXIES"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := load(tt.env, tt.args...)
			var ce *config.Error
			if !errors.As(err, &ce) {
				t.Fatalf("err = %v, want *config.Error", err)
			}
			if ce.Var != tt.wantVar {
				t.Errorf("var = %q, want %q", ce.Var, tt.wantVar)
			}
			msg := err.Error()
			if strings.Contains(msg, "\n") || !strings.Contains(msg, tt.wantVar) {
				t.Errorf("message %q must be one line naming %s", msg, tt.wantVar)
			}
			for _, v := range tt.env {
				if len(v) > 3 && strings.Contains(msg, v) {
					t.Errorf("message %q repeats the value", msg)
				}
			}
		})
	}
}

func TestRequireServe(t *testing.T) {
	t.Parallel()
	full := map[string]string{
		"DATABASE_URL":        "postgres://localhost/renraku",
		"RENRAKU_BASE_URL":    "https://renraku.example.jp",
		"RENRAKU_KEYSET_FILE": "/etc/renraku/keyset.json",
		"RENRAKU_MASTER_KEY":  "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
	}
	without := func(k string) map[string]string {
		m := map[string]string{}
		for kk, v := range full {
			if kk != k {
				m[kk] = v
			}
		}
		return m
	}
	withKMS := without("")
	withKMS["RENRAKU_KMS_KEY_URI"] = "gcp-kms://projects/p/locations/l/keyRings/r/cryptoKeys/k"
	tests := []struct {
		name    string
		env     map[string]string
		wantVar string
	}{
		{"complete", full, ""},
		{"no database", without("DATABASE_URL"), "DATABASE_URL"},
		{"no base url", without("RENRAKU_BASE_URL"), "RENRAKU_BASE_URL"},
		{"no keyset", without("RENRAKU_KEYSET_FILE"), "RENRAKU_KEYSET_FILE"},
		{"no master key", without("RENRAKU_MASTER_KEY"), "RENRAKU_MASTER_KEY"},
		{"both master key and kms", withKMS, "RENRAKU_KMS_KEY_URI"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := load(tt.env)
			if err != nil {
				t.Fatal(err)
			}
			err = c.RequireServe()
			if tt.wantVar == "" {
				if err != nil {
					t.Fatalf("err = %v", err)
				}
				return
			}
			var ce *config.Error
			if !errors.As(err, &ce) || ce.Var != tt.wantVar {
				t.Fatalf("err = %v, want one naming %s", err, tt.wantVar)
			}
		})
	}
}

func TestTrustedProxies(t *testing.T) {
	t.Parallel()
	c, err := load(map[string]string{"RENRAKU_TRUSTED_PROXIES": " 10.0.0.0/8,192.0.2.7 , ::ffff:198.51.100.1,2001:db8::/32"})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"10.0.0.0/8", "192.0.2.7/32", "198.51.100.1/32", "2001:db8::/32"}
	if len(c.TrustedProxies) != len(want) {
		t.Fatalf("trusted proxies %v", c.TrustedProxies)
	}
	for i, p := range c.TrustedProxies {
		if p.String() != want[i] {
			t.Errorf("proxy %d = %s, want %s", i, p, want[i])
		}
	}
}
