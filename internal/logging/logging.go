// Package logging builds the one slog logger renraku uses everywhere: JSON lines on
// stderr, with attributes whose names say they hold secrets replaced by "[redacted]".
//
// Personal values are kept out of logs by their type (vault.Personal logs as
// "[redacted]"); this package adds a second net for credentials passed as plain strings
// under tell-tale keys, and never logs request bodies or query strings.
package logging

import (
	"io"
	"log/slog"
	"strings"
)

// Redacted replaces the value of a sensitive attribute.
const Redacted = "[redacted]"

// sensitiveKeys are attribute names (or name parts) whose values are never written.
var sensitiveKeys = []string{"password", "secret", "token", "authorization", "cookie", "master_key", "otp", "totp", "signature", "query"}

// New returns a JSON logger writing to w at level.
func New(w io.Writer, level slog.Leveler) *slog.Logger {
	return slog.New(NewHandler(w, level))
}

// NewHandler returns the JSON handler New uses, for tests that capture logs.
func NewHandler(w io.Writer, level slog.Leveler) slog.Handler {
	return slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level, ReplaceAttr: replaceAttr})
}

func replaceAttr(_ []string, a slog.Attr) slog.Attr {
	if IsSensitiveKey(a.Key) {
		return slog.String(a.Key, Redacted)
	}
	return a
}

// IsSensitiveKey reports whether an attribute or header named key may hold a secret.
func IsSensitiveKey(key string) bool {
	k := strings.ToLower(key)
	for _, s := range sensitiveKeys {
		if strings.Contains(k, s) {
			return true
		}
	}
	return false
}
