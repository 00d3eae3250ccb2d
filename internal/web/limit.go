package web

import (
	"errors"
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/renraku/renraku/internal/line"
	"github.com/renraku/renraku/web/view"
)

// largeBodies names the routes ("METHOD pattern") that may receive more than
// maxFormBytes, with their own limit. Every other request body is capped at
// maxFormBytes before anything reads it.
var largeBodies = map[string]int64{
	"POST /line/webhook/{channelID}":                  line.MaxWebhookBody,
	"POST /staff/announcements":                       maxUploadBytes,
	"POST /staff/announcements/{announcementID}/edit": maxUploadBytes,
	"POST /staff/surveys":                             maxUploadBytes,
	"POST /staff/surveys/{surveyID}/edit":             maxUploadBytes,
	// A previewed file comes back as base64 (a third larger) to be imported.
	"POST /admin/schools/{schoolID}/roster/import": maxCSVBytes*4/3 + 64<<10,
}

// limitBodies caps every request body at its route's limit before any middleware or
// handler reads it, so that a sign-in with a 9 MB password, say, is refused before it
// is parsed or hashed. A body declared larger is answered 413 at once; one that turns
// out larger while being read fails with *http.MaxBytesError, which the form parsing
// in csrf turns into the same 413.
func (s *Server) limitBodies(mux *chi.Mux) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Body == nil || r.Body == http.NoBody {
				next.ServeHTTP(w, r)
				return
			}
			path := r.URL.RawPath
			if path == "" {
				path = r.URL.Path
			}
			for prefix := range s.Mounts {
				// The dev mode's LINE simulator applies LINE's own limits.
				if path == prefix || strings.HasPrefix(path, prefix+"/") {
					next.ServeHTTP(w, r)
					return
				}
			}
			limit := int64(maxFormBytes)
			if n, ok := largeBodies[r.Method+" "+mux.Find(chi.NewRouteContext(), r.Method, path)]; ok {
				limit = n
			}
			if r.ContentLength > limit {
				s.tooLarge(w, r)
				return
			}
			r.Body = http.MaxBytesReader(w, r.Body, limit)
			next.ServeHTTP(w, r)
		})
	}
}

// parseForm parses a posted form, multipart or not, reporting whether it was too large.
func parseForm(r *http.Request) (tooLarge bool) {
	var err error
	if strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/") {
		err = r.ParseMultipartForm(32 << 20)
	} else {
		err = r.ParseForm()
	}
	var mbe *http.MaxBytesError
	return errors.As(err, &mbe)
}

// tooLarge answers 413 with the translated error page.
func (s *Server) tooLarge(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Connection", "close")
	p := s.page(r, "error.too_large.title")
	s.render(w, r, http.StatusRequestEntityTooLarge, view.ErrorPage(p, p.T("error.too_large.title"), p.T("error.too_large.body")))
}
