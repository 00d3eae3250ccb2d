package web

import (
	"net/url"
	"strings"
	"testing"
)

// TestSafeNext: only a clean path of our own staff or admin pages survives as the
// place to go after sign-in; everything a browser could read as another host, after
// its own leniencies, falls back to the staff home.
func TestSafeNext(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, next, want string }{
		{"staff home", "/staff/", "/staff/"},
		{"a staff page", "/staff/inbox/12", "/staff/inbox/12"},
		{"an admin page", "/admin/schools/3/rollover", "/admin/schools/3/rollover"},
		{"with a query", "/staff/absences?class=4&date=2026-12-06", "/staff/absences?class=4&date=2026-12-06"},
		{"admin root", "/admin", "/admin"},
		{"empty", "", "/staff/"},

		{"tab after slash", "/\t/evil.example", "/staff/"},
		{"encoded tab", "/%09/evil.example", "/staff/"},
		{"encoded vertical tab", "/%0B/evil.example", "/staff/"},
		{"vertical tab", "/\v/evil.example", "/staff/"},
		{"encoded form feed", "/%0C/evil.example", "/staff/"},
		{"encoded NUL", "/%00/evil.example", "/staff/"},
		{"encoded CR LF", "/%0D%0A/evil.example", "/staff/"},
		{"newline", "/staff/\nLocation: https://evil.example", "/staff/"},
		{"protocol-relative", "//evil.example", "/staff/"},
		{"backslash", "/\\evil.example", "/staff/"},
		{"two backslashes", "\\\\evil.example", "/staff/"},
		{"encoded slash", "/%2F/evil.example", "/staff/"},
		{"encoded slash, lower case", "/%2f%2fevil.example", "/staff/"},
		{"double-encoded slash", "/%252F/evil.example", "/staff/"},
		{"encoded backslash", "/%5C/evil.example", "/staff/"},
		{"double-encoded backslash", "/%255C%255Cevil.example", "/staff/"},
		{"absolute URL", "https://evil.example/staff/", "/staff/"},
		{"scheme-relative with user", "//user@evil.example", "/staff/"},
		{"javascript", "javascript:alert(1)", "/staff/"},
		{"data URL", "data:text/html,<script>alert(1)</script>", "/staff/"},
		{"relative", "evil.example", "/staff/"},
		{"dot segments to escape", "/staff/..//evil.example", "/staff/"},
		{"encoded dot segments", "/staff/%2e%2e/%2e%2e//evil.example", "/staff/"},
		{"empty segment", "/staff//evil.example", "/staff/"},
		{"space", "/ /evil.example", "/staff/"},
		{"non-breaking space", "/\u00a0/evil.example", "/staff/"},
		{"ideographic space", "/\u3000/evil.example", "/staff/"},
		{"full-width solidus", "/\uff0f/evil.example", "/staff/"},
		{"right-to-left override", "/staff/\u202e", "/staff/"},
		{"DEL", "/\x7f/evil.example", "/staff/"},
		{"not our pages", "/p/register/abc", "/staff/"},
		{"simulator", "/_sim/phone", "/staff/"},
		{"invalid escape", "/staff/%zz", "/staff/"},
		{"very long", "/staff/" + strings.Repeat("a", 5000), "/staff/"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := safeNext(tc.next)
			if got != tc.want {
				t.Fatalf("safeNext(%q) = %q, want %q", tc.next, got, tc.want)
			}
			// Whatever passes stays on our host even when read as leniently as a
			// browser does: control characters dropped, backslashes as slashes, and
			// every level of percent-decoding.
			base, err := url.Parse("https://renraku.example/staff/login")
			if err != nil {
				t.Fatal(err)
			}
			lenient := strings.NewReplacer("\t", "", "\n", "", "\r", "", "\\", "/").Replace(got)
			for range 3 {
				ref, err := url.Parse(lenient)
				if err != nil {
					t.Fatalf("%q does not parse: %v", got, err)
				}
				if h := base.ResolveReference(ref).Host; h != "renraku.example" {
					t.Fatalf("%q leads to host %q", got, h)
				}
				if lenient, err = url.PathUnescape(lenient); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}
