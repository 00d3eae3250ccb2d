package web

import (
	"net/http"
	"strconv"

	"github.com/renraku/renraku/internal/apperr"
	"github.com/renraku/renraku/internal/school"
	"github.com/renraku/renraku/web/view"
)

func (s *Server) structurePage(w http.ResponseWriter, r *http.Request) {
	id, err := idParam(r, "schoolID")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	year, err := school.ParseYear(r.URL.Query().Get("year"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.showStructure(w, r, id, year, view.Form{}, view.Form{}, enrolmentInput{}, http.StatusOK)
}

// enrolmentInput is an enrolment just posted for a class and what was wrong with it,
// shown again in the class's line.
type enrolmentInput struct {
	classID int64
	value   string
	err     string
}

func (s *Server) showStructure(w http.ResponseWriter, r *http.Request, id int64, year int, classForm, clubForm view.Form, en enrolmentInput, status int) {
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
		item := view.ClassItem{ID: c.ID, Label: c.Label(), Enrolment: school.EnrolmentText(c.Enrolment)}
		if c.ID == en.classID {
			item.Enrolment, item.EnrolmentError = en.value, en.err
		}
		v.Classes = append(v.Classes, item)
	}
	for _, c := range st.Clubs {
		v.Clubs = append(v.Clubs, view.ClubItem{ID: c.ID, Name: c.Name})
	}
	s.render(w, r, status, view.StructurePage(s.page(r, "admin.tab.structure"), v, classForm, clubForm))
}

// shownYear is the year a structure page shows again after a refused form: the year
// posted, or the current one when that was no school year at all.
func shownYear(y int) int {
	if _, err := school.ParseYear(strconv.Itoa(y)); err != nil {
		return 0
	}
	return y
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
	f := formOf(r, "grade", "name", "year", "enrolment")
	year, _ := strconv.Atoi(f.V("year"))
	grade, _ := strconv.Atoi(f.V("grade"))
	c := school.Class{Year: year, Grade: grade, Name: f.V("name")}
	n, ok := school.ParseEnrolment(f.V("enrolment"))
	if ok {
		c.Enrolment = n
		c, err = s.Schools.CreateClass(r.Context(), id, c)
	} else {
		err = apperr.Fields{"enrolment": "school.class.enrolment_invalid"}.Err()
	}
	if err != nil {
		if !formFailed(r, &f, err) {
			s.fail(w, r, err)
			return
		}
		s.showStructure(w, r, id, shownYear(year), f, view.Form{}, enrolmentInput{}, http.StatusUnprocessableEntity)
		return
	}
	s.flash(r, "admin.saved")
	seeOther(w, r, structureURL(id, c.Year))
}

// saveEnrolment sets a class's enrolment from its line of the structure page; blank
// clears it.
func (s *Server) saveEnrolment(w http.ResponseWriter, r *http.Request) {
	id, err := idParam(r, "classID")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	text := formOf(r, "enrolment").V("enrolment")
	c, err := s.Schools.SaveEnrolment(r.Context(), id, text)
	if err != nil {
		if msg := apperr.FieldsOf(err)["enrolment"]; msg != "" && c.ID != 0 {
			s.showStructure(w, r, c.SchoolID, c.Year, view.Form{}, view.Form{},
				enrolmentInput{classID: c.ID, value: text, err: localizer(r).T(msg)}, http.StatusUnprocessableEntity)
			return
		}
		s.fail(w, r, err)
		return
	}
	s.flash(r, "admin.saved")
	seeOther(w, r, structureURL(c.SchoolID, c.Year))
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
		s.showStructure(w, r, id, shownYear(year), view.Form{}, f, enrolmentInput{}, http.StatusUnprocessableEntity)
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
