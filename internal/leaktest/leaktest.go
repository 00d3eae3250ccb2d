// Package leaktest proves that personal data stays encrypted and out of logs: a test
// seeds recognisable personal values through the app, then asserts that none of them
// appears in a pg_dump of its database or in the logs it captured.
package leaktest

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Marker returns a personal-looking value that is unique to the test, so a find in a
// dump or a log can only come from the value the test put in.
func Marker(t testing.TB, prefix string) string {
	t.Helper()
	name := strings.NewReplacer("/", "", " ", "", "_", "").Replace(t.Name())
	if len(name) > 24 {
		name = name[len(name)-24:]
	}
	return prefix + "・" + name
}

// PgDump returns a plain-SQL dump of the database at dbURL, made with the pg_dump that
// belongs to the server's binaries (RENRAKU_PG_BIN) when known.
func PgDump(t testing.TB, dbURL string) []byte {
	t.Helper()
	bin := "pg_dump"
	if d := os.Getenv("RENRAKU_PG_BIN"); d != "" {
		bin = filepath.Join(d, "pg_dump")
	}
	cmd := exec.Command(bin, "--no-owner", "--format=plain", "--dbname="+dbURL)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("pg_dump: %v: %s", err, stderr.String())
	}
	return out
}

// forms are the ways a value could show up: as it is, JSON-escaped (a log line or a
// json column) and as PostgreSQL's hex bytea text.
func forms(v string) [][]byte {
	j, _ := json.Marshal(v)
	var esc strings.Builder
	for _, r := range v {
		if r < 128 {
			esc.WriteRune(r)
		} else {
			esc.WriteString(strings.ToLower(strings.Trim(string(mustJSONASCII(r)), `"`)))
		}
	}
	hex := []byte(`\x` + strings.ToLower(hexOf([]byte(v))))
	return [][]byte{[]byte(v), bytes.Trim(j, `"`), []byte(esc.String()), hex}
}

func mustJSONASCII(r rune) []byte {
	if r > 0xFFFF {
		return []byte(string(r))
	}
	const hexdigits = "0123456789abcdef"
	return []byte{'\\', 'u', hexdigits[r>>12&0xF], hexdigits[r>>8&0xF], hexdigits[r>>4&0xF], hexdigits[r&0xF]}
}

func hexOf(b []byte) string {
	const hexdigits = "0123456789abcdef"
	out := make([]byte, 0, 2*len(b))
	for _, c := range b {
		out = append(out, hexdigits[c>>4], hexdigits[c&0xF])
	}
	return string(out)
}

// AssertAbsent fails the test for each value found in haystack (in any of its forms).
// where names the haystack in the failure message.
func AssertAbsent(t testing.TB, where string, haystack []byte, values ...string) {
	t.Helper()
	for _, v := range values {
		if v == "" {
			continue
		}
		for _, f := range forms(v) {
			if i := bytes.Index(haystack, f); i >= 0 {
				lo, hi := max(0, i-80), min(len(haystack), i+len(f)+80)
				t.Errorf("personal value %q found in %s: …%s…", v, where, haystack[lo:hi])
				break
			}
		}
	}
}

// AssertPresent fails unless every value is found: a leak check is only worth
// something if the same check finds the value where it should be.
func AssertPresent(t testing.TB, where string, haystack []byte, values ...string) {
	t.Helper()
	for _, v := range values {
		found := false
		for _, f := range forms(v) {
			if bytes.Contains(haystack, f) {
				found = true
				break
			}
		}
		if !found {
			t.Errorf("value %q not found in %s", v, where)
		}
	}
}
