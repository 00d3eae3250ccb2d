package web

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/renraku/renraku/internal/school"
	"github.com/renraku/renraku/web/view"
)

func schoolURL(id int64, rest string) string {
	return "/admin/schools/" + strconv.FormatInt(id, 10) + rest
}

func (s *Server) adminHome(w http.ResponseWriter, r *http.Request) {
	s.showSchools(w, r, view.Form{}, http.StatusOK)
}

// showSchools is the console's first page; a school's administrator is sent on to
// their school's.
func (s *Server) showSchools(w http.ResponseWriter, r *http.Request, f view.Form, status int) {
	c, err := s.Schools.OpenConsole(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if c.Own != 0 {
		http.Redirect(w, r, schoolURL(c.Own, ""), http.StatusSeeOther)
		return
	}
	items := make([]view.SchoolItem, 0, len(c.Schools))
	for _, sc := range c.Schools {
		items = append(items, view.SchoolItem{ID: sc.ID, Name: sc.Name, Type: school.TypeLabel(sc.Type), District: sc.District})
	}
	if f.Values == nil {
		f.Values = map[string]string{"type": school.Elementary}
	}
	if _, ok := f.Values["handout_mb"]; !ok && c.Board {
		f.Values["handout_mb"] = strconv.Itoa(c.HandoutMB)
	}
	s.render(w, r, status, view.AdminSchools(s.page(r, "admin.schools"), items, c.Board, f))
}

func (s *Server) createSchool(w http.ResponseWriter, r *http.Request) {
	f := formOf(r, "name", "type", "district")
	sc, err := s.Schools.Create(r.Context(), school.School{Name: f.V("name"), Type: f.V("type"), District: f.V("district")})
	if err != nil {
		if !formFailed(r, &f, err) {
			s.fail(w, r, err)
			return
		}
		s.showSchools(w, r, f, http.StatusUnprocessableEntity)
		return
	}
	s.flash(r, "admin.saved")
	seeOther(w, r, schoolURL(sc.ID, ""))
}

// inSchool runs the handler of a console tab with the tab's school, loaded (and
// authorised) by the school service, in the request. The school is the tab's header,
// part of the console's layout as the signed-in person is of every page; the tab's
// handler itself calls one service method.
func (s *Server) inSchool(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, err := idParam(r, "schoolID")
		if err != nil {
			s.fail(w, r, err)
			return
		}
		sc, err := s.Schools.Get(r.Context(), id)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		next(w, r.WithContext(context.WithValue(r.Context(), schoolKey, sc)))
	}
}

// schoolHead is the school of a console tab (see inSchool) and the tab's header.
func (s *Server) schoolHead(r *http.Request, tab string) (school.School, view.SchoolHead, error) {
	sc, ok := r.Context().Value(schoolKey).(school.School)
	if !ok {
		return sc, view.SchoolHead{}, errors.New("web: a console tab's route does not load its school (inSchool)")
	}
	return sc, view.SchoolHead{ID: sc.ID, Name: sc.Name, Tab: tab}, nil
}

func settingsForm(sc school.School) view.Form {
	f := view.Form{Values: map[string]string{
		"website_url": sc.WebsiteURL, "club_site_url": sc.ClubSiteURL, "phone": sc.Phone,
		"office_open": sc.OfficeOpen, "office_close": sc.OfficeClose, "office_days": sc.OfficeDays, "auto_reply": sc.AutoReply,
	}}
	if sc.TeacherTOTP {
		f.Values["teacher_totp"] = "on"
	}
	f.Values["absence_cutoff"] = sc.AbsenceCutoff
	f.Values["absence_reasons"] = strings.Join(sc.AbsenceReasons, " ")
	f.Values["absence_symptoms"] = strings.Join(sc.AbsenceSymptoms, " ")
	if sc.AbsenceNotify {
		f.Values["absence_notify"] = "on"
	}
	if sc.AbsenceClubReasons {
		f.Values["absence_club_reasons"] = "on"
	}
	f.Values["absence_alert_percent"] = strconv.Itoa(sc.AbsenceAlertPercent)
	f.Values["absence_alert_min"] = strconv.Itoa(sc.AbsenceAlertMin)
	f.Values["inbox_inactivity_hours"] = strconv.Itoa(sc.InboxInactivityHours)
	f.Values["response_window_days"] = strconv.Itoa(sc.ResponseWindowDays)
	return f
}

func (s *Server) schoolSettingsPage(w http.ResponseWriter, r *http.Request) {
	id, err := idParam(r, "schoolID")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	sc, err := s.Schools.Settings(r.Context(), id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	head := view.SchoolHead{ID: sc.ID, Name: sc.Name, Tab: view.TabSettings}
	p := s.page(r, "admin.tab.settings")
	s.render(w, r, http.StatusOK, view.SchoolSettings(p, head, settingsForm(sc)))
}

func (s *Server) saveSchoolSettings(w http.ResponseWriter, r *http.Request) {
	id, err := idParam(r, "schoolID")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	f := formOf(r, "website_url", "club_site_url", "phone", "office_open", "office_close", "auto_reply", "teacher_totp", "absence_cutoff", "absence_notify", "absence_club_reasons", "absence_alert_percent", "absence_alert_min", "inbox_inactivity_hours", "response_window_days")
	f.Values["office_days"] = strings.Join(r.PostForm["office_days"], "")
	f.Values["absence_reasons"] = strings.Join(r.PostForm["absence_reasons"], " ")
	f.Values["absence_symptoms"] = strings.Join(r.PostForm["absence_symptoms"], " ")
	upd := school.Settings{WebsiteURL: f.V("website_url"), ClubSiteURL: f.V("club_site_url"), Phone: f.V("phone"),
		OfficeOpen: f.V("office_open"), OfficeClose: f.V("office_close"), OfficeDays: f.V("office_days"),
		AutoReply: f.V("auto_reply"), TeacherTOTP: f.V("teacher_totp") == "on",
		AbsenceCutoff: f.V("absence_cutoff"), AbsenceReasons: r.PostForm["absence_reasons"], AbsenceSymptoms: r.PostForm["absence_symptoms"],
		AbsenceNotify: f.V("absence_notify") == "on", AbsenceClubReasons: f.V("absence_club_reasons") == "on"}
	upd.AbsenceAlertPercent, _ = strconv.Atoi(f.V("absence_alert_percent"))
	upd.AbsenceAlertMin, _ = strconv.Atoi(f.V("absence_alert_min"))
	upd.InboxInactivityHours, _ = strconv.Atoi(f.V("inbox_inactivity_hours"))
	upd.ResponseWindowDays, _ = strconv.Atoi(f.V("response_window_days"))
	if err := s.Schools.UpdateSettings(r.Context(), id, upd); err != nil {
		if !formFailed(r, &f, err) {
			s.fail(w, r, err)
			return
		}
		_, head, err := s.schoolHead(r, view.TabSettings)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		s.render(w, r, http.StatusUnprocessableEntity, view.SchoolSettings(s.page(r, "admin.tab.settings"), head, f))
		return
	}
	s.flash(r, "admin.saved")
	seeOther(w, r, schoolURL(id, ""))
}

func (s *Server) saveBoardSettings(w http.ResponseWriter, r *http.Request) {
	f := formOf(r, "handout_mb")
	mb, err := strconv.Atoi(f.V("handout_mb"))
	if err != nil {
		mb = 0
	}
	if err := s.Announce.SetMaxHandoutMB(r.Context(), mb); err != nil {
		if !formFailed(r, &f, err) {
			s.fail(w, r, err)
			return
		}
		f.Values["type"] = school.Elementary
		s.showSchools(w, r, f, http.StatusUnprocessableEntity)
		return
	}
	s.flash(r, "admin.saved")
	seeOther(w, r, "/admin/")
}
