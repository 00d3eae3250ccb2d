package logging_test

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"

	"github.com/renraku/renraku/internal/logging"
)

func TestSensitiveAttributesRedacted(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		attr slog.Attr
		leak string
	}{
		{"password", slog.String("password", "hunter2hunter2"), "hunter2hunter2"},
		{"channel secret", slog.String("channel_secret", "abcdef0123456789"), "abcdef0123456789"},
		{"access token", slog.String("accessToken", "tok-123-xyz"), "tok-123-xyz"},
		{"nested group", slog.Group("line", slog.String("reply_token", "rt-999")), "rt-999"},
		{"query string", slog.String("raw_query", "t=signedlinkvalue"), "signedlinkvalue"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var buf bytes.Buffer
			logging.New(&buf, slog.LevelInfo).LogAttrs(t.Context(), slog.LevelInfo, "msg", tt.attr)
			out := buf.String()
			if strings.Contains(out, tt.leak) {
				t.Fatalf("log line leaks %q: %s", tt.leak, out)
			}
			if !strings.Contains(out, logging.Redacted) {
				t.Fatalf("log line lacks %s: %s", logging.Redacted, out)
			}
		})
	}
}

func TestOrdinaryAttributesKept(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	logging.New(&buf, slog.LevelInfo).Info("request", "route", "/healthz", "status", 200)
	if !strings.Contains(buf.String(), `"route":"/healthz"`) || !strings.Contains(buf.String(), `"status":200`) {
		t.Fatalf("unexpected log: %s", buf.String())
	}
}
