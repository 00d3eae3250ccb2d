package web

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"

	"github.com/renraku/renraku/internal/i18n"
)

type ctxKey int

const (
	requestIDKey ctxKey = iota
	localizerKey
	schoolKey
)

// requestID gives every request a fresh random ID (inbound IDs are ignored: they are
// untrusted and could carry anything), returned in X-Request-Id and logged.
func requestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b := make([]byte, 8)
		_, _ = rand.Read(b)
		id := hex.EncodeToString(b)
		w.Header().Set("X-Request-Id", id)
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), requestIDKey, id)))
	})
}

// RequestIDFrom returns the request's ID.
func RequestIDFrom(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey).(string)
	return id
}

// recoverer turns a panic into a 500 page and a log line with the stack but without
// the request's data.
func (s *Server) recoverer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.Log.Error("panic", "request_id", RequestIDFrom(r.Context()), "panic", fmt.Sprintf("%T", v), "stack", string(debug.Stack()))
				s.internalError(w, r)
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// contentSecurityPolicy forbids inline script and style, framing, plugins and foreign
// form targets. htmx is served from our own origin.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; " +
	"connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

func (s *Server) securityHeaders(next http.Handler) http.Handler {
	hsts := s.BaseURL != nil && s.BaseURL.Scheme == "https"
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", contentSecurityPolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		// Signed links carry tokens in their path: never send them to another site.
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()")
		if hsts || r.TLS != nil {
			h.Set("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
		}
		next.ServeHTTP(w, r)
	})
}

// observe logs one line per request and feeds the metrics. It records the route
// pattern, never the raw path or query (they can hold tokens and IDs).
func (s *Server) observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		ww := middleware.NewWrapResponseWriter(w, r.ProtoMajor)
		next.ServeHTTP(ww, r)
		route := routePattern(r)
		status := ww.Status()
		if status == 0 {
			status = http.StatusOK
		}
		elapsed := time.Since(start)
		if s.Metrics != nil {
			s.Metrics.observe(r.Method, route, status, elapsed)
		}
		level := slog.LevelInfo
		if status >= 500 {
			level = slog.LevelError
		}
		if route == "/healthz" || route == "/readyz" {
			level = slog.LevelDebug
		}
		s.Log.LogAttrs(r.Context(), level, "request",
			slog.String("request_id", RequestIDFrom(r.Context())),
			slog.String("method", r.Method),
			slog.String("route", route),
			slog.Int("status", status),
			slog.Int("bytes", ww.BytesWritten()),
			slog.Float64("ms", float64(elapsed.Microseconds())/1000),
		)
	})
}

func routePattern(r *http.Request) string {
	if rc := chi.RouteContext(r.Context()); rc != nil {
		if p := rc.RoutePattern(); p != "" {
			return p
		}
	}
	return "unmatched"
}

// language picks the page language: ?lang= (remembered in a cookie), then the cookie,
// then Accept-Language, then Japanese.
func (s *Server) language(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		choice := ""
		if q := r.URL.Query().Get("lang"); q != "" && s.Catalog.IsSupported(q) {
			choice = q
			http.SetCookie(w, &http.Cookie{Name: "lang", Value: q, Path: "/", MaxAge: 365 * 24 * 3600,
				HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: s.BaseURL != nil && s.BaseURL.Scheme == "https"})
		} else if c, err := r.Cookie("lang"); err == nil && s.Catalog.IsSupported(c.Value) {
			choice = c.Value
		}
		loc := s.Catalog.Localizer(choice, r.Header.Get("Accept-Language"))
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), localizerKey, loc)))
	})
}

// localizer returns the request's Localizer.
func localizer(r *http.Request) *i18n.Localizer {
	if l, ok := r.Context().Value(localizerKey).(*i18n.Localizer); ok {
		return l
	}
	return nil
}

func itoa(i int) string { return strconv.Itoa(i) }
