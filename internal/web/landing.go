package web

import (
	"net/http"

	"github.com/renraku/renraku/web/view"
)

// landing renders the public start page.
func (s *Server) landing(w http.ResponseWriter, r *http.Request) {
	if state := r.URL.Query().Get("liff.state"); state != "" && s.liffForward(w, r, state) {
		return
	}
	p := s.page(r, "landing.title")
	s.render(w, r, http.StatusOK, view.Landing(p))
}
