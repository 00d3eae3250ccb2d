package web

import (
	"net/http"

	"github.com/renraku/renraku/web/view"
)

// landing renders the public start page.
func (s *Server) landing(w http.ResponseWriter, r *http.Request) {
	p := s.page(r, "landing.title")
	s.render(w, r, http.StatusOK, view.Landing(p))
}
