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

// kindOf classifies err: by its apperr kind, and an unclassified error that says the
// database cannot be reached as Unavailable (it passes by itself; not our fault to hide
// behind a 500, nor the user's).
func (s *Server) kindOf(err error) apperr.Kind {
	k := apperr.KindOf(err)
	if k == apperr.Internal && s.Unreachable != nil && s.Unreachable(err) {
		return apperr.Unavailable
	}
	return k
}

// retryAfter is what a 503 suggests to wait: a restarting database is usually back
// within seconds.
const retryAfter = "5"

// fail renders err as a page in the user's language. Internal errors are logged with
// the request ID and shown without detail.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	kind := s.kindOf(err)
	switch kind {
	case apperr.Internal:
		s.Log.Error("request failed", "request_id", RequestIDFrom(r.Context()), "err", err)
		s.internalError(w, r)
		return
	case apperr.Unavailable:
		if apperr.MessageIDOf(err) == "" {
			s.Log.Warn("request failed: database unreachable", "request_id", RequestIDFrom(r.Context()), "err", err)
			s.unavailable(w, r)
			return
		}
		// Not the user's doing: the operator should see that LINE (say) is failing;
		// the person is told what failed by the error's own message.
		s.Log.Warn("request failed: a service we depend on", "request_id", RequestIDFrom(r.Context()), "err", err)
		w.Header().Set("Retry-After", retryAfter)
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
	// Nothing from the session: it may be what failed.
	p := s.barePage(r, "error.internal.title")
	s.render(w, r, http.StatusInternalServerError, view.ErrorPage(p, p.T("error.internal.title"), p.T("error.internal.body")))
}

// unavailable answers 503 with the translated "temporarily unavailable" page.
func (s *Server) unavailable(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Retry-After", retryAfter)
	w.Header().Set("Cache-Control", "no-store")
	if localizer(r) == nil {
		http.Error(w, "503 service unavailable", http.StatusServiceUnavailable)
		return
	}
	p := s.barePage(r, "error.unavailable.title")
	s.render(w, r, http.StatusServiceUnavailable, view.ErrorPage(p, p.T("error.unavailable.title"), p.T("error.unavailable.body")))
}

func (s *Server) notFound(w http.ResponseWriter, r *http.Request) {
	s.fail(w, r, apperr.E(apperr.NotFound, "error.not_found.title", nil))
}

func (s *Server) methodNotAllowed(w http.ResponseWriter, r *http.Request) {
	http.Error(w, http.StatusText(http.StatusMethodNotAllowed), http.StatusMethodNotAllowed)
}
