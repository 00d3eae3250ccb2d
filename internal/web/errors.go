package web

import (
	"net/http"

	"github.com/renraku/renraku/internal/apperr"
	"github.com/renraku/renraku/web/view"
)

// statusOf maps an error kind to its HTTP status: the one place this is decided.
func statusOf(k apperr.Kind) int {
	switch k {
	case apperr.NotFound:
		return http.StatusNotFound
	case apperr.Invalid:
		return http.StatusUnprocessableEntity
	case apperr.Conflict:
		return http.StatusConflict
	case apperr.Forbidden:
		return http.StatusForbidden
	case apperr.Unauthenticated:
		return http.StatusUnauthorized
	case apperr.Unavailable:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// fail renders err as a page in the user's language. Internal errors are logged with
// the request ID and shown without detail.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	kind := apperr.KindOf(err)
	if kind == apperr.Internal {
		s.Log.Error("request failed", "request_id", RequestIDFrom(r.Context()), "err", err)
		s.internalError(w, r)
		return
	}
	if kind == apperr.Unavailable {
		// Not the user's doing: the operator should see that LINE (say) is failing.
		s.Log.Warn("request failed: a service we depend on", "request_id", RequestIDFrom(r.Context()), "err", err)
	}
	p := s.page(r, "error.not_found.title")
	heading, body := p.T("error.not_found.title"), p.T("error.not_found.body")
	if id := apperr.MessageIDOf(err); id != "" && kind != apperr.NotFound {
		heading, body = p.T(id), ""
	}
	p.Title = heading
	s.render(w, r, statusOf(kind), view.ErrorPage(p, heading, body))
}

func (s *Server) internalError(w http.ResponseWriter, r *http.Request) {
	if localizer(r) == nil {
		http.Error(w, "500 internal server error", http.StatusInternalServerError)
		return
	}
	p := s.page(r, "error.internal.title")
	s.render(w, r, http.StatusInternalServerError, view.ErrorPage(p, p.T("error.internal.title"), p.T("error.internal.body")))
}

func (s *Server) notFound(w http.ResponseWriter, r *http.Request) {
	s.fail(w, r, apperr.E(apperr.NotFound, "error.not_found.title", nil))
}

func (s *Server) methodNotAllowed(w http.ResponseWriter, r *http.Request) {
	http.Error(w, http.StatusText(http.StatusMethodNotAllowed), http.StatusMethodNotAllowed)
}
