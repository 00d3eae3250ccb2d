package web

import (
	"net/http"
	"strconv"

	"github.com/renraku/renraku/internal/school"
	"github.com/renraku/renraku/web/view"
)

func (s *Server) structurePage(w http.ResponseWriter, r *http.Request) {
	s.showStructure(w, r, view.Form{}, view.Form{}, http.StatusOK)
}

func (s *Server) showStructure(w http.ResponseWriter, r *http.Request, classForm, clubForm view.Form, status int) {
	id, err := idParam(r, "schoolID")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	yearText := r.URL.Query().Get("year")
	if r.Method == http.MethodPost {
		yearText = r.PostFormValue("year")
	}
	year, err := school.ParseYear(yearText)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	st, err := s.Schools.Structure(r.Context(), id, year)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v := view.Structure{Head: view.SchoolHead{ID: st.School.ID, Name: st.School.Name, Tab: view.TabStructure},
		Year: st.Year, Current: st.School.CurrentYear, Years: st.Years}
	for g := 1; g <= school.MaxGrade(st.School.Type); g++ {
		v.Grades = append(v.Grades, g)
	}
	for _, c := range st.Classes {
		v.Classes = append(v.Classes, view.ClassItem{ID: c.ID, Label: c.Label()})
	}
	for _, c := range st.Clubs {
		v.Clubs = append(v.Clubs, view.ClubItem{ID: c.ID, Name: c.Name})
	}
	s.render(w, r, status, view.StructurePage(s.page(r, "admin.tab.structure"), v, classForm, clubForm))
}

func structureURL(schoolID int64, year int) string {
	return schoolURL(schoolID, "/structure?year="+strconv.Itoa(year))
}

func (s *Server) createClass(w http.ResponseWriter, r *http.Request) {
	id, err := idParam(r, "schoolID")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	f := formOf(r, "grade", "name", "year")
	year, _ := strconv.Atoi(f.V("year"))
	grade, _ := strconv.Atoi(f.V("grade"))
	c, err := s.Schools.CreateClass(r.Context(), id, school.Class{Year: year, Grade: grade, Name: f.V("name")})
	if err != nil {
		if !formFailed(r, &f, err) {
			s.fail(w, r, err)
			return
		}
		s.showStructure(w, r, f, view.Form{}, http.StatusUnprocessableEntity)
		return
	}
	s.flash(r, "admin.saved")
	seeOther(w, r, structureURL(id, c.Year))
}

func (s *Server) deleteClass(w http.ResponseWriter, r *http.Request) {
	id, err := idParam(r, "classID")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	c, err := s.Schools.DeleteClass(r.Context(), id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.flash(r, "admin.deleted")
	seeOther(w, r, structureURL(c.SchoolID, c.Year))
}

func (s *Server) createClub(w http.ResponseWriter, r *http.Request) {
	id, err := idParam(r, "schoolID")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	f := formOf(r, "club", "year")
	year, _ := strconv.Atoi(f.V("year"))
	c, err := s.Schools.CreateClub(r.Context(), id, school.Club{Year: year, Name: f.V("club")})
	if err != nil {
		if fields := fieldRename(err, "name", "club"); fields != nil {
			err = fields
		}
		if !formFailed(r, &f, err) {
			s.fail(w, r, err)
			return
		}
		s.showStructure(w, r, view.Form{}, f, http.StatusUnprocessableEntity)
		return
	}
	s.flash(r, "admin.saved")
	seeOther(w, r, structureURL(id, c.Year))
}

func (s *Server) deleteClub(w http.ResponseWriter, r *http.Request) {
	id, err := idParam(r, "clubID")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	c, err := s.Schools.DeleteClub(r.Context(), id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.flash(r, "admin.deleted")
	seeOther(w, r, structureURL(c.SchoolID, c.Year))
}
