package web

import (
	"cmp"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/alexedwards/scs/v2"

	"github.com/renraku/renraku/internal/apperr"
	"github.com/renraku/renraku/internal/authz"
	"github.com/renraku/renraku/internal/staff"
)

// Session keys.
const (
	sessStaff = "staff_id"
	sessEpoch = "epoch"
	sessStage = "stage"
	sessCSRF  = "csrf"
	sessFlash = "flash"
	// sessFlashCount is the number a flash message shows ({{.Count}}).
	sessFlashCount = "flash_count"
	// sessFlashAt is the time a flash message shows ({{.At}}).
	sessFlashAt = "flash_at"
)

// Default session lifetimes: a staff session ends after an hour without use, and at the
// latest twelve hours after sign-in (a school day).
const (
	SessionIdle     = time.Hour
	SessionLifetime = 12 * time.Hour
)

// NewSessions returns the staff session manager on store, with idle and absolute
// timeouts (zero: the defaults). Cookies are HttpOnly, SameSite=Lax, and Secure
// whenever the public URL is https.
func NewSessions(store scs.Store, baseURL *url.URL, idle, lifetime time.Duration) *scs.SessionManager {
	m := scs.New()
	m.Store = store
	m.IdleTimeout = cmp.Or(idle, SessionIdle)
	m.Lifetime = cmp.Or(lifetime, SessionLifetime)
	m.Cookie.Name = "renraku_staff"
	m.Cookie.HttpOnly = true
	m.Cookie.SameSite = http.SameSiteLaxMode
	m.Cookie.Secure = baseURL != nil && baseURL.Scheme == "https"
	m.Cookie.Path = "/"
	return m
}

func newToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

type sessionLoadedKey struct{}

// sessionLoaded marks a request whose staff session has been loaded. A page rendered
// before that (a body refused as too large, say) has no session to read, and reading
// one would panic.
func sessionLoaded(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), sessionLoadedKey{}, true)))
	})
}

// hasSession reports whether the request's staff session has been loaded.
func hasSession(ctx context.Context) bool {
	ok, _ := ctx.Value(sessionLoadedKey{}).(bool)
	return ok
}

// csrf gives every session a token, put into every form (and sent by htmx as
// X-CSRF-Token), and refuses a state-changing request without it. Go's
// CrossOriginProtection also refuses cross-site requests by their Fetch metadata.
func (s *Server) csrf(next http.Handler) http.Handler {
	cop := http.NewCrossOriginProtection()
	if s.BaseURL != nil {
		_ = cop.AddTrustedOrigin(s.BaseURL.Scheme + "://" + s.BaseURL.Host)
	}
	check := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		tok := s.Sessions.GetString(ctx, sessCSRF)
		if tok == "" {
			tok = newToken()
			s.Sessions.Put(ctx, sessCSRF, tok)
		}
		switch r.Method {
		case http.MethodGet, http.MethodHead, http.MethodOptions:
		default:
			sent := r.Header.Get("X-CSRF-Token")
			if sent == "" {
				// The body was capped by limitBodies before this reads it.
				if parseForm(r) {
					s.tooLarge(w, r)
					return
				}
				sent = r.PostFormValue("csrf")
			}
			if subtle.ConstantTimeCompare([]byte(sent), []byte(tok)) != 1 {
				s.fail(w, r, apperr.E(apperr.Forbidden, "error.csrf", nil))
				return
			}
		}
		next.ServeHTTP(w, r)
	})
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.fail(w, r, apperr.E(apperr.Forbidden, "error.csrf", nil))
	}))
	return cop.Handler(check)
}

// loadActor puts the signed-in staff member (if any) into the request context. The
// account is re-read on every request, so disabling it or signing out everywhere ends
// its sessions at once.
func (s *Server) loadActor(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		if s.Sessions.GetString(ctx, sessStage) == string(staff.StageDone) {
			a, err := s.Staff.Actor(ctx, s.Sessions.GetInt64(ctx, sessStaff), s.Sessions.GetInt(ctx, sessEpoch))
			switch {
			case err == nil:
				ctx = authz.WithActor(ctx, a)
			case apperr.KindOf(err) == apperr.Unauthenticated:
				s.endSession(ctx)
			default:
				s.fail(w, r, err)
				return
			}
		}
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// endSession forgets the signed-in person but keeps a session for the CSRF token.
func (s *Server) endSession(ctx context.Context) {
	for _, k := range []string{sessStaff, sessEpoch, sessStage} {
		s.Sessions.Remove(ctx, k)
	}
	_ = s.Sessions.RenewToken(ctx)
}

// beginSession records a sign-in step, with a new session token so that a token
// planted before sign-in is worthless after it.
func (s *Server) beginSession(ctx context.Context, in staff.SignIn) error {
	if err := s.Sessions.RenewToken(ctx); err != nil {
		return err
	}
	s.Sessions.Put(ctx, sessStaff, in.StaffID)
	s.Sessions.Put(ctx, sessEpoch, in.Epoch)
	s.Sessions.Put(ctx, sessStage, string(in.Stage))
	s.Sessions.Put(ctx, sessCSRF, newToken())
	return nil
}

// requireSignIn sends people who are not signed in to the sign-in page (pages) or
// answers 401 (other requests). What a signed-in person may do is decided by the
// services through authz, not here.
func (s *Server) requireSignIn(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if authz.ActorFrom(r.Context()) != nil {
			next.ServeHTTP(w, r)
			return
		}
		if r.Method == http.MethodGet && r.Header.Get("HX-Request") == "" {
			http.Redirect(w, r, "/staff/login?next="+url.QueryEscape(r.URL.Path), http.StatusSeeOther)
			return
		}
		s.fail(w, r, apperr.E(apperr.Unauthenticated, "authz.sign_in", nil))
	})
}

// safeNext returns a local path to continue to after sign-in, or "/staff/".
//
// A browser is lenient with a Location header: it drops tabs and newlines, reads a
// backslash as a slash and may decode percent-escapes, so "/\t/evil.example" or
// "/%2F/evil.example" can end up on another host. Rather than trying to list what is
// dangerous, only what is plainly one of our own pages passes: printable ASCII, no
// backslash, under /staff or /admin, a clean path (no empty, "." or ".." segment) at
// every level of percent-decoding, and nothing a URL parser reads as a scheme or host.
func safeNext(next string) string {
	const fallback = "/staff/"
	if len(next) > 2048 {
		return fallback
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" {
		return fallback
	}
	for s, i := next, 0; ; i++ {
		if i > 3 || !localPath(s) {
			return fallback
		}
		d, err := url.PathUnescape(s)
		if err != nil {
			return fallback
		}
		if d == s {
			return next
		}
		s = d
	}
}

// localPath reports whether p, up to its query, is a clean path of the staff or
// admin pages written in printable ASCII without backslashes.
func localPath(p string) bool {
	for i := 0; i < len(p); i++ {
		if c := p[i]; c <= ' ' || c >= 0x7f || c == '\\' {
			return false
		}
	}
	if i := strings.IndexAny(p, "?#"); i >= 0 {
		p = p[:i]
	}
	if p != "/staff" && p != "/admin" && !strings.HasPrefix(p, "/staff/") && !strings.HasPrefix(p, "/admin/") {
		return false
	}
	segs := strings.Split(p[1:], "/")
	for i, seg := range segs {
		if seg == "." || seg == ".." || (seg == "" && i != len(segs)-1) {
			return false
		}
	}
	return true
}

// clientOf is where the request came from: the TCP peer, or, when the peer is one of
// the trusted reverse proxies, the nearest address in X-Forwarded-For that is not one
// of them (proxies append; whatever a client wrote itself is further left and ignored).
func (s *Server) clientOf(r *http.Request) staff.Client {
	return staff.Client{Addr: ClientAddr(r, s.TrustedProxies)}
}

// ClientAddr is the client's address of a request behind the trusted proxies.
func ClientAddr(r *http.Request, trusted []netip.Prefix) netip.Addr {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	addr, _ := netip.ParseAddr(host)
	addr = addr.Unmap()
	isTrusted := func(a netip.Addr) bool {
		for _, p := range trusted {
			if p.Contains(a) {
				return true
			}
		}
		return false
	}
	if !addr.IsValid() || !isTrusted(addr) {
		return addr
	}
	var hops []string
	for _, h := range r.Header.Values("X-Forwarded-For") {
		hops = append(hops, strings.Split(h, ",")...)
	}
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			return addr // a malformed hop: stop at the last proxy we trust
		}
		a = a.Unmap()
		if !isTrusted(a) {
			return a
		}
		addr = a
	}
	return addr
}

// flash keeps a one-time notice (a message ID) for the next page.
func (s *Server) flash(r *http.Request, messageID string) {
	s.Sessions.Put(r.Context(), sessFlash, messageID)
	s.Sessions.Remove(r.Context(), sessFlashCount)
	s.Sessions.Remove(r.Context(), sessFlashAt)
}

// flashCount keeps a one-time notice that shows a number, as {{.Count}}.
func (s *Server) flashCount(r *http.Request, messageID string, n int) {
	s.flash(r, messageID)
	s.Sessions.Put(r.Context(), sessFlashCount, n)
}

// flashAt keeps a one-time notice that shows a time (already formatted), as {{.At}}.
func (s *Server) flashAt(r *http.Request, messageID, at string) {
	s.flash(r, messageID)
	s.Sessions.Put(r.Context(), sessFlashAt, at)
}
