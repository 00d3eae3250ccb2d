package web

import (
	"net/http"
	"strings"

	"github.com/a-h/templ"

	"github.com/renraku/renraku/internal/authz"

	"github.com/renraku/renraku/web/view"
)

// page builds the view data every full page needs.
func (s *Server) page(r *http.Request, titleID string) view.Page {
	p := s.barePage(r, titleID)
	loc := localizer(r)
	if s.Sessions != nil && isStaffPath(r.URL.Path) && hasSession(r.Context()) {
		p.CSRFToken = s.Sessions.GetString(r.Context(), sessCSRF)
		// htmx's refreshes (the morning list's rows, a live announcement) render no
		// notice, so they leave it for the next page the person opens.
		if r.Header.Get("HX-Request") == "" {
			if id := s.Sessions.PopString(r.Context(), sessFlash); id != "" {
				p.Flash = loc.T(id, map[string]any{"Count": s.Sessions.PopInt(r.Context(), sessFlashCount),
					"At": s.Sessions.PopString(r.Context(), sessFlashAt)})
			}
		}
		if a := authz.ActorFrom(r.Context()); a != nil {
			p.Nav = &view.Nav{Admin: a.IsAdmin(), Role: loc.T("role." + string(a.Role))}
		}
	}
	return p
}

// barePage is a page without anything from the session: the page for a request whose
// session could not be loaded (the database is unreachable).
func (s *Server) barePage(r *http.Request, titleID string) view.Page {
	loc := localizer(r)
	p := view.Page{Lang: loc.Lang(), T: loc.T, Path: r.URL.Path, Title: loc.T(titleID)}
	for _, code := range s.Catalog.Languages() {
		p.Languages = append(p.Languages, view.Language{Code: code, Label: loc.T("lang." + code), Current: code == loc.Lang()})
	}
	return p
}

// render writes a templ component as an HTML page with the given status.
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, c templ.Component) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	if err := c.Render(r.Context(), w); err != nil {
		s.Log.Error("render", "request_id", RequestIDFrom(r.Context()), "err", err)
	}
}

// isStaffPath reports whether a path is served with a staff session.
func isStaffPath(p string) bool {
	return strings.HasPrefix(p, "/staff/") || strings.HasPrefix(p, "/admin/") || p == "/staff" || p == "/admin"
}
