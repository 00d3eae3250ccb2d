package web

import (
	"io/fs"
	"net/http"

	"github.com/go-chi/chi/v5"

	assets "github.com/renraku/renraku/web"
)

// Handler returns the router with every route of the app. All routes live in this one
// function, so the authorisation matrix test can compare its list with chi's.
func (s *Server) Handler() http.Handler {
	r := chi.NewRouter()
	r.Use(requestID, s.recoverer, s.securityHeaders, s.observe, s.language)
	r.NotFound(s.notFound)
	r.MethodNotAllowed(s.methodNotAllowed)

	// Probes and assets.
	r.Get("/healthz", s.healthz)
	r.Get("/readyz", s.readyz)
	static, _ := fs.Sub(assets.Static, "static")
	r.Handle("/static/*", http.StripPrefix("/static/", staticHandler(static)))

	// Public pages.
	r.Get("/", s.landing)

	// LINE platform.
	r.Post("/line/webhook/{channelID}", s.lineWebhook)

	for prefix, h := range s.Mounts {
		r.Mount(prefix, h)
	}
	return r
}
