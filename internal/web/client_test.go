package web

import (
	"net/http"
	"net/netip"
	"testing"
)

func TestClientAddrBehindTrustedProxies(t *testing.T) {
	t.Parallel()
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("192.0.2.7/32")}
	for _, tc := range []struct {
		name, remote string
		xff          []string
		want         string
	}{
		{"no proxy", "203.0.113.5:4000", nil, "203.0.113.5"},
		{"untrusted peer's header ignored", "203.0.113.5:4000", []string{"198.51.100.9"}, "203.0.113.5"},
		{"trusted proxy", "10.1.2.3:4000", []string{"198.51.100.9"}, "198.51.100.9"},
		{"two trusted proxies", "10.1.2.3:4000", []string{"198.51.100.9, 192.0.2.7"}, "198.51.100.9"},
		{"client-written hop ignored", "10.1.2.3:4000", []string{"1.2.3.4, 198.51.100.9"}, "198.51.100.9"},
		{"headers on several lines", "10.1.2.3:4000", []string{"1.2.3.4", "198.51.100.9"}, "198.51.100.9"},
		{"only proxies", "10.1.2.3:4000", []string{"10.9.9.9"}, "10.9.9.9"},
		{"no header", "10.1.2.3:4000", nil, "10.1.2.3"},
		{"malformed hop", "10.1.2.3:4000", []string{"1.2.3.4, junk"}, "10.1.2.3"},
		{"mapped IPv4", "[::ffff:10.1.2.3]:4000", []string{"198.51.100.9"}, "198.51.100.9"},
	} {
		r := &http.Request{RemoteAddr: tc.remote, Header: http.Header{}}
		for _, h := range tc.xff {
			r.Header.Add("X-Forwarded-For", h)
		}
		if got := ClientAddr(r, trusted); got.String() != tc.want {
			t.Errorf("%s: %s, want %s", tc.name, got, tc.want)
		}
	}
}
