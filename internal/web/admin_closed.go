package web

import (
	"net/http"
	"strconv"

	"github.com/go-chi/chi/v5"

	"github.com/renraku/renraku/web/view"
)

func (s *Server) closedDaysPage(w http.ResponseWriter, r *http.Request) {
	s.showClosedDays(w, r, view.Form{}, http.StatusOK)
}

func (s *Server) showClosedDays(w http.ResponseWriter, r *http.Request, f view.Form, status int) {
	id, err := idParam(r, "schoolID")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	sc, days, err := s.Schools.ClosedDays(r.Context(), id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	loc := localizer(r)
	var items []view.ClosedDayItem
	for _, d := range days {
		day := d.Day.Format("2006-01-02")
		items = append(items, view.ClosedDayItem{Day: day, Note: d.Note, Delete: schoolURL(sc.ID, "/closed-days/"+day+"/delete"),
			Label: loc.T("school.closed.date", map[string]any{"Year": d.Day.Year(), "Month": int(d.Day.Month()), "Day": d.Day.Day(),
				"Weekday": loc.T("weekday." + strconv.Itoa(int(d.Day.Weekday())))})})
	}
	head := view.SchoolHead{ID: sc.ID, Name: sc.Name, Tab: view.TabSettings}
	s.render(w, r, status, view.SchoolClosedDays(s.page(r, "school.closed.title"), head, items, f))
}

func (s *Server) addClosedDay(w http.ResponseWriter, r *http.Request) {
	id, err := idParam(r, "schoolID")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	f := formOf(r, "day", "note")
	if err := s.Schools.AddClosedDay(r.Context(), id, f.V("day"), f.V("note")); err != nil {
		if !formFailed(r, &f, err) {
			s.fail(w, r, err)
			return
		}
		s.showClosedDays(w, r, f, http.StatusUnprocessableEntity)
		return
	}
	s.flash(r, "school.closed.added")
	seeOther(w, r, schoolURL(id, "/closed-days"))
}

func (s *Server) removeClosedDay(w http.ResponseWriter, r *http.Request) {
	id, err := idParam(r, "schoolID")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if err := s.Schools.RemoveClosedDay(r.Context(), id, chi.URLParam(r, "day")); err != nil {
		s.fail(w, r, err)
		return
	}
	s.flash(r, "school.closed.removed")
	seeOther(w, r, schoolURL(id, "/closed-days"))
}
