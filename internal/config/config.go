// Package config loads renraku's typed configuration from the environment, lets
// command-line flags override it, and validates it once at start, so that a bad value
// stops the program with one line naming the variable at fault.
package config

import (
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Config is everything renraku reads from its environment. It is built once by Load
// and passed down; no package reads the environment itself.
type Config struct {
	// DatabaseURL is the PostgreSQL connection string (DATABASE_URL). Empty means the
	// dev mode starts a project-local PostgreSQL.
	DatabaseURL string
	// OwnerDatabaseURL connects as the role that owns the schema
	// (RENRAKU_OWNER_DATABASE_URL), for `migrate` and `restore`; empty means they use
	// DatabaseURL. The server never uses it: it runs as a member of renraku_app, which
	// may only read and append to the audit log.
	OwnerDatabaseURL string
	// AllowOwnerRole lets the server run on a connection that could rewrite the audit
	// log (the schema's owner or a superuser) (RENRAKU_ALLOW_OWNER_ROLE). Off, such a
	// connection stops it at start.
	AllowOwnerRole bool
	// Addr is the listen address of the public HTTP server (RENRAKU_ADDR).
	Addr string
	// MetricsAddr is the listen address of the internal server for /metrics
	// (RENRAKU_METRICS_ADDR); empty disables it. It is separate so the public
	// listener never exposes metrics.
	MetricsAddr string
	// BaseURL is the public URL used to build links sent to parents and staff
	// (RENRAKU_BASE_URL).
	BaseURL *url.URL
	// KeysetFile is the path of the encrypted keyset file (RENRAKU_KEYSET_FILE).
	KeysetFile string
	// MasterKey unlocks the keyset file (RENRAKU_MASTER_KEY, base64 of 32 bytes). It has
	// no flag on purpose: a flag would show it in the process list.
	MasterKey []byte
	// KMSKeyURI names a cloud KMS key that unlocks the keyset instead of MasterKey
	// (RENRAKU_KMS_KEY_URI).
	KMSKeyURI string
	// LineAPIURL is the base URL of LINE's Messaging API (RENRAKU_LINE_API_URL).
	LineAPIURL *url.URL
	// LineDataAPIURL is the base URL of LINE's data API for content and rich menu
	// images (RENRAKU_LINE_DATA_API_URL).
	LineDataAPIURL *url.URL
	// LogLevel is the minimum level written to the log (RENRAKU_LOG_LEVEL).
	LogLevel slog.Level
	// DataDir is where the dev mode keeps its PostgreSQL cluster and keys
	// (RENRAKU_DATA_DIR).
	DataDir string
	// ShutdownTimeout bounds graceful shutdown (RENRAKU_SHUTDOWN_TIMEOUT).
	ShutdownTimeout time.Duration
	// AuditRetentionYears is how long audit rows are kept (RENRAKU_AUDIT_RETENTION_YEARS).
	AuditRetentionYears int
	// SigninLinkTTL is how long a staff member's one-time sign-in link works
	// (RENRAKU_SIGNIN_LINK_TTL).
	SigninLinkTTL time.Duration
	// SessionIdle ends a staff session after this long without a request
	// (RENRAKU_SESSION_IDLE).
	SessionIdle time.Duration
	// SessionMax ends a staff session this long after sign-in, however busy
	// (RENRAKU_SESSION_MAX).
	SessionMax time.Duration
	// ListRefresh is how often open lists (the morning absence list) fetch new rows
	// (RENRAKU_LIST_REFRESH).
	ListRefresh time.Duration
	// FilesDir keeps handouts in a directory (a disk or a mounted S3-compatible bucket)
	// instead of PostgreSQL (RENRAKU_FILES_DIR); either way they are encrypted.
	FilesDir string
	// TrustedProxies are the reverse proxies whose X-Forwarded-For is believed: a
	// request from one of them counts as from the client it names (sign-in limits by
	// client address, audit rows).
	TrustedProxies []netip.Prefix
	// JobRescueAfter is how long a job may run before another instance takes it over,
	// its own having died (RENRAKU_JOB_RESCUE_AFTER).
	JobRescueAfter time.Duration
	// PDFFont is a TrueType font with Japanese glyphs for printed certificates
	// (RENRAKU_PDF_FONT); empty searches Debian's font folders.
	PDFFont string
}

// Defaults used when a variable is unset.
const (
	DefaultAddr            = "127.0.0.1:8080"
	DefaultMetricsAddr     = "127.0.0.1:9090"
	DefaultLineAPIURL      = "https://api.line.me"
	DefaultLineDataAPIURL  = "https://api-data.line.me"
	DefaultDataDir         = ".data"
	DefaultShutdownTimeout = 15 * time.Second
	DefaultAuditRetention  = 5
	DefaultSigninLinkTTL   = 72 * time.Hour
	DefaultSessionIdle     = time.Hour
	DefaultSessionMax      = 12 * time.Hour
	DefaultListRefresh     = 30 * time.Second
)

// variable describes one setting: its environment name, its flag, and how to apply a
// raw string to the Config.
type variable struct {
	env   string
	flag  string
	usage string
	def   string
	apply func(c *Config, v string) error
}

var variables = []variable{
	{"DATABASE_URL", "database-url", "PostgreSQL connection URL (dev mode starts a local one when empty)", "", func(c *Config, v string) error {
		if v == "" {
			return nil
		}
		u, err := url.Parse(v)
		if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
			return errors.New("must be a postgres:// or postgresql:// URL")
		}
		c.DatabaseURL = v
		return nil
	}},
	{"RENRAKU_OWNER_DATABASE_URL", "owner-database-url", "PostgreSQL URL of the schema's owner, for migrate and restore (default: DATABASE_URL)", "", func(c *Config, v string) error {
		if v == "" {
			return nil
		}
		u, err := url.Parse(v)
		if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
			return errors.New("must be a postgres:// or postgresql:// URL")
		}
		c.OwnerDatabaseURL = v
		return nil
	}},
	{"RENRAKU_ALLOW_OWNER_ROLE", "allow-owner-role", "let the server run as the schema's owner, which can rewrite the audit log (not for production)", "false", func(c *Config, v string) error {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return errors.New("must be true or false")
		}
		c.AllowOwnerRole = b
		return nil
	}},
	{"RENRAKU_ADDR", "addr", "listen address of the web server", DefaultAddr, func(c *Config, v string) error {
		if err := checkAddr(v); err != nil {
			return err
		}
		c.Addr = v
		return nil
	}},
	{"RENRAKU_METRICS_ADDR", "metrics-addr", "listen address for /metrics (internal; empty disables)", DefaultMetricsAddr, func(c *Config, v string) error {
		if v == "" {
			return nil
		}
		if err := checkAddr(v); err != nil {
			return err
		}
		c.MetricsAddr = v
		return nil
	}},
	{"RENRAKU_BASE_URL", "base-url", "public URL of this server, used in links", "", func(c *Config, v string) error {
		if v == "" {
			return nil
		}
		u, err := parseHTTPURL(v)
		if err != nil {
			return err
		}
		c.BaseURL = u
		return nil
	}},
	{"RENRAKU_KEYSET_FILE", "keyset-file", "path of the encrypted keyset file", "", func(c *Config, v string) error {
		c.KeysetFile = v
		return nil
	}},
	{"RENRAKU_MASTER_KEY", "", "", "", func(c *Config, v string) error {
		if v == "" {
			return nil
		}
		b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(v))
		if err != nil {
			return errors.New("must be standard base64")
		}
		if len(b) != 32 {
			return fmt.Errorf("must decode to 32 bytes, got %d", len(b))
		}
		c.MasterKey = b
		return nil
	}},
	{"RENRAKU_KMS_KEY_URI", "kms-key-uri", "cloud KMS key URI that unlocks the keyset", "", func(c *Config, v string) error {
		if v == "" {
			return nil
		}
		if !strings.Contains(v, "://") {
			return errors.New("must be a KMS key URI such as gcp-kms://… or aws-kms://…")
		}
		c.KMSKeyURI = v
		return nil
	}},
	{"RENRAKU_LINE_API_URL", "line-api-url", "base URL of the LINE Messaging API", DefaultLineAPIURL, func(c *Config, v string) error {
		u, err := parseHTTPURL(v)
		if err != nil {
			return err
		}
		c.LineAPIURL = u
		return nil
	}},
	{"RENRAKU_LINE_DATA_API_URL", "line-data-api-url", "base URL of the LINE data API", DefaultLineDataAPIURL, func(c *Config, v string) error {
		u, err := parseHTTPURL(v)
		if err != nil {
			return err
		}
		c.LineDataAPIURL = u
		return nil
	}},
	{"RENRAKU_LOG_LEVEL", "log-level", "debug, info, warn or error", "info", func(c *Config, v string) error {
		var l slog.Level
		if err := l.UnmarshalText([]byte(v)); err != nil {
			return errors.New("must be debug, info, warn or error")
		}
		c.LogLevel = l
		return nil
	}},
	{"RENRAKU_DATA_DIR", "data-dir", "folder for the dev mode's local database and keys", DefaultDataDir, func(c *Config, v string) error {
		if v == "" {
			return errors.New("must not be empty")
		}
		c.DataDir = v
		return nil
	}},
	{"RENRAKU_SHUTDOWN_TIMEOUT", "shutdown-timeout", "how long graceful shutdown may take", DefaultShutdownTimeout.String(), func(c *Config, v string) error {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return errors.New("must be a positive duration such as 15s")
		}
		c.ShutdownTimeout = d
		return nil
	}},
	{"RENRAKU_AUDIT_RETENTION_YEARS", "audit-retention-years", "years audit rows are kept", strconv.Itoa(DefaultAuditRetention), func(c *Config, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 30 {
			return errors.New("must be a whole number of years from 1 to 30")
		}
		c.AuditRetentionYears = n
		return nil
	}},
	{"RENRAKU_SIGNIN_LINK_TTL", "signin-link-ttl", "how long a staff one-time sign-in link works", DefaultSigninLinkTTL.String(), func(c *Config, v string) error {
		d, err := time.ParseDuration(v)
		if err != nil || d < 10*time.Minute || d > 30*24*time.Hour {
			return errors.New("must be a duration from 10m to 720h")
		}
		c.SigninLinkTTL = d
		return nil
	}},
	{"RENRAKU_SESSION_IDLE", "session-idle", "a staff session ends after this long without use", DefaultSessionIdle.String(), func(c *Config, v string) error {
		d, err := time.ParseDuration(v)
		if err != nil || d < time.Second || d > 24*time.Hour {
			return errors.New("must be a duration from 1s to 24h")
		}
		c.SessionIdle = d
		return nil
	}},
	{"RENRAKU_SESSION_MAX", "session-max", "a staff session ends this long after sign-in", DefaultSessionMax.String(), func(c *Config, v string) error {
		d, err := time.ParseDuration(v)
		if err != nil || d < time.Second || d > 7*24*time.Hour {
			return errors.New("must be a duration from 1s to 168h")
		}
		c.SessionMax = d
		return nil
	}},
	{"RENRAKU_LIST_REFRESH", "list-refresh", "how often open lists fetch new rows", DefaultListRefresh.String(), func(c *Config, v string) error {
		d, err := time.ParseDuration(v)
		if err != nil || d < 500*time.Millisecond || d > 10*time.Minute {
			return errors.New("must be a duration from 500ms to 10m")
		}
		c.ListRefresh = d
		return nil
	}},
	{"RENRAKU_FILES_DIR", "files-dir", "keep handouts (encrypted) in this directory instead of PostgreSQL", "", func(c *Config, v string) error {
		if v != "" && !filepath.IsAbs(v) {
			return errors.New("must be an absolute path")
		}
		c.FilesDir = v
		return nil
	}},
	{"RENRAKU_TRUSTED_PROXIES", "trusted-proxies", "comma-separated addresses or CIDR ranges of reverse proxies whose X-Forwarded-For is believed", "", func(c *Config, v string) error {
		c.TrustedProxies = nil
		for _, f := range strings.Split(v, ",") {
			f = strings.TrimSpace(f)
			if f == "" {
				continue
			}
			if !strings.Contains(f, "/") {
				a, err := netip.ParseAddr(f)
				if err != nil {
					return fmt.Errorf("%q is not an address or CIDR range", f)
				}
				f = netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()).String()
			}
			p, err := netip.ParsePrefix(f)
			if err != nil {
				return fmt.Errorf("%q is not an address or CIDR range", f)
			}
			c.TrustedProxies = append(c.TrustedProxies, p.Masked())
		}
		return nil
	}},
	{"RENRAKU_JOB_RESCUE_AFTER", "job-rescue-after", "how long a job may run before another instance takes it over", "10m0s", func(c *Config, v string) error {
		d, err := time.ParseDuration(v)
		if err != nil || d < 2*time.Second || d > time.Hour {
			return errors.New("must be a duration from 2s to 1h")
		}
		c.JobRescueAfter = d
		return nil
	}},
	{"RENRAKU_PDF_FONT", "pdf-font", "TrueType font with Japanese glyphs for certificates (default: Debian's IPA Gothic)", "", func(c *Config, v string) error {
		c.PDFFont = v
		return nil
	}},
}

// Error reports one invalid setting. Its message names the variable (and the flag)
// and says what is wrong, in one line; it never repeats the value, which may be secret.
type Error struct {
	Var    string
	Flag   string
	Reason string
}

func (e *Error) Error() string {
	if e.Flag != "" {
		return fmt.Sprintf("config: %s (--%s): %s", e.Var, e.Flag, e.Reason)
	}
	return fmt.Sprintf("config: %s: %s", e.Var, e.Reason)
}

// Load builds the Config from getenv, then the flags in args (which override the
// environment). It returns the remaining non-flag arguments. A *flag.FlagSet for the
// command's own flags may be passed as fs; Load adds its flags to it.
func Load(getenv func(string) string, fs *flag.FlagSet, args []string) (*Config, []string, error) {
	flagVals := make(map[string]*string)
	for _, v := range variables {
		if v.flag == "" {
			continue
		}
		flagVals[v.env] = fs.String(v.flag, "", v.usage+" (env "+v.env+")")
	}
	if err := fs.Parse(args); err != nil {
		return nil, nil, err
	}
	set := make(map[string]bool)
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })

	c := &Config{}
	for _, v := range variables {
		raw, ok := getenvOK(getenv, v.env)
		if !ok {
			raw = v.def
		}
		if v.flag != "" && set[v.flag] {
			raw = *flagVals[v.env]
		}
		if err := v.apply(c, raw); err != nil {
			return nil, nil, &Error{Var: v.env, Flag: v.flag, Reason: err.Error()}
		}
	}
	return c, fs.Args(), nil
}

// getenvOK treats an empty variable as unset, as most deployment tools cannot tell
// the two apart.
func getenvOK(getenv func(string) string, key string) (string, bool) {
	v := getenv(key)
	return v, v != ""
}

// MigrationURL is the connection that changes the schema: the owner's when given,
// else DATABASE_URL.
func (c *Config) MigrationURL() string {
	if c.OwnerDatabaseURL != "" {
		return c.OwnerDatabaseURL
	}
	return c.DatabaseURL
}

// RequireServe checks what the production server needs beyond what Load checks: a
// database, a public base URL and a way to unlock the keyset.
func (c *Config) RequireServe() error {
	if c.DatabaseURL == "" {
		return &Error{Var: "DATABASE_URL", Flag: "database-url", Reason: "required by serve (only dev starts a local database)"}
	}
	if c.BaseURL == nil {
		return &Error{Var: "RENRAKU_BASE_URL", Flag: "base-url", Reason: "required by serve: the public https URL parents and staff open"}
	}
	return c.RequireKeys()
}

// RequireKeys checks that a keyset file and exactly one way to unlock it are given.
func (c *Config) RequireKeys() error {
	if c.KeysetFile == "" {
		return &Error{Var: "RENRAKU_KEYSET_FILE", Flag: "keyset-file", Reason: "required: path of the encrypted keyset (create one with `renraku keys generate`)"}
	}
	switch {
	case c.MasterKey == nil && c.KMSKeyURI == "":
		return &Error{Var: "RENRAKU_MASTER_KEY", Reason: "required (or RENRAKU_KMS_KEY_URI): it unlocks the keyset"}
	case c.MasterKey != nil && c.KMSKeyURI != "":
		return &Error{Var: "RENRAKU_KMS_KEY_URI", Flag: "kms-key-uri", Reason: "set either RENRAKU_MASTER_KEY or RENRAKU_KMS_KEY_URI, not both"}
	}
	return nil
}

func checkAddr(v string) error {
	_, port, err := net.SplitHostPort(v)
	if err != nil {
		return errors.New("must be host:port, e.g. 127.0.0.1:8080")
	}
	if port == "" {
		return errors.New("must name a port, e.g. 127.0.0.1:8080")
	}
	return nil
}

func parseHTTPURL(v string) (*url.URL, error) {
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, errors.New("must be an absolute http:// or https:// URL")
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	return u, nil
}
