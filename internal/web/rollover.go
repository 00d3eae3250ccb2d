package web

import (
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/renraku/renraku/internal/parentlink"
	"github.com/renraku/renraku/internal/registration"
	"github.com/renraku/renraku/internal/rollover"
	"github.com/renraku/renraku/internal/school"
	"github.com/renraku/renraku/web/view"
)

func (s *Server) rolloverPage(w http.ResponseWriter, r *http.Request) {
	s.showRollover(w, r, view.Form{}, http.StatusOK)
}

// showRollover renders the page; a form's values override the plan's.
func (s *Server) showRollover(w http.ResponseWriter, r *http.Request, f view.Form, status int) {
	id, err := idParam(r, "schoolID")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	o, err := s.Rollover.Overview(r.Context(), id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	loc := localizer(r)
	pl := o.Plan
	v := view.RolloverPage{Head: view.SchoolHead{ID: o.School.ID, Name: o.School.Name, Tab: view.TabRollover}, Year: pl.Year,
		Current: o.School.CurrentYear, Duties: o.NextDuties, Confirmed: o.Progress.Confirmed, Unconfirmed: o.Progress.Unconfirmed,
		Graduates: o.Progress.Graduates, SingleYear: o.SingleYear, Saved: pl.Saved, SwitchOn: pl.SwitchOn.Format("2006/1/2"),
		StructureURL: structureURL(o.School.ID, pl.Year), StaffURL: schoolURL(o.School.ID, "/staff"), RosterURL: schoolURL(o.School.ID, "/roster"),
		CanSwitch: o.CanSwitch, NoClass: o.NoClass}
	if f.Values == nil {
		f.Values = map[string]string{"switch_on": pl.SwitchOn.Format("2006-01-02")}
	}
	for g := 1; g <= school.MaxGrade(o.School.Type); g++ {
		v.Grades = append(v.Grades, view.Check{Value: strconv.Itoa(g), Label: loc.T("rollover.grade", map[string]any{"Grade": g}),
			Checked: slices.Contains(pl.Graduating, g)})
	}
	if pl.AskedAt != nil {
		v.AskedAt = pl.AskedAt.In(school.Tokyo).Format("2006/01/02 15:04")
	}
	if pl.SwitchedAt != nil {
		v.SwitchedAt = pl.SwitchedAt.In(school.Tokyo).Format("2006/01/02 15:04")
	}
	for _, c := range o.NextClasses {
		v.Classes = append(v.Classes, c.Label())
	}
	for _, c := range o.NextClubs {
		v.Clubs = append(v.Clubs, c.Name)
	}
	for _, x := range o.Progress.Waiting {
		v.Waiting = append(v.Waiting, view.WaitingRow{Child: x.Name.Reveal(), Class: x.ClassLabel, NoClass: x.NoClass})
	}
	p := s.page(r, "rollover.page_title")
	p.Title = loc.T("rollover.page_title") + " — " + o.School.Name
	s.render(w, r, status, view.RolloverAdmin(p, v, f))
}

func rolloverURL(schoolID int64) string { return schoolURL(schoolID, "/rollover") }

// rolloverAction runs a button of the page: done flashes its message and returns to
// the page; a refusal shows the page with the reason.
func (s *Server) rolloverAction(do func(r *http.Request, schoolID int64) error, done string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, err := idParam(r, "schoolID")
		if err != nil {
			s.fail(w, r, err)
			return
		}
		if err := do(r, id); err != nil {
			var f view.Form
			if !formFailed(r, &f, err) {
				s.fail(w, r, err)
				return
			}
			s.showRollover(w, r, f, http.StatusConflict)
			return
		}
		s.flash(r, done)
		seeOther(w, r, rolloverURL(id))
	}
}

func (s *Server) rolloverCopy(r *http.Request, id int64) error {
	_, err := s.Rollover.CopyStructure(r.Context(), id)
	return err
}

func (s *Server) rolloverAsk(r *http.Request, id int64) error {
	_, err := s.Rollover.Ask(r.Context(), id)
	return err
}

func (s *Server) rolloverSwitch(r *http.Request, id int64) error {
	_, err := s.Rollover.SwitchNow(r.Context(), id)
	return err
}

func (s *Server) rolloverPlan(w http.ResponseWriter, r *http.Request) {
	id, err := idParam(r, "schoolID")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	f := formOf(r, "switch_on")
	var grades []int
	for _, g := range r.PostForm["graduating"] {
		n, err := strconv.Atoi(g)
		if err != nil {
			n = -1
		}
		grades = append(grades, n)
	}
	day, _ := time.ParseInLocation("2006-01-02", f.V("switch_on"), school.Tokyo)
	if err := s.Rollover.SavePlan(r.Context(), id, grades, day); err != nil {
		if !formFailed(r, &f, err) {
			s.fail(w, r, err)
			return
		}
		s.showRollover(w, r, f, http.StatusUnprocessableEntity)
		return
	}
	s.flash(r, "admin.saved")
	seeOther(w, r, rolloverURL(id))
}

// rolloverParentView is the parent's page from their children's placements.
func rolloverParentView(r *http.Request, token string, pg rollover.ParentPage, choices map[int64]rollover.Placement) view.RolloverParent {
	v := view.RolloverParent{Action: "/p/rollover/" + token}
	for _, c := range pg.Children {
		chosen := c.Chosen
		if x, ok := choices[c.ChildID]; ok {
			chosen = x
		}
		vc := view.RolloverChild{ID: strconv.FormatInt(c.ChildID, 10), Name: c.Name.Reveal(), School: c.School, Class: c.ClassLabel,
			Year: c.Year, Graduating: c.Graduating, Confirmed: c.Confirmed, ClassValue: strconv.FormatInt(chosen.ClassID, 10)}
		for _, k := range c.Classes {
			vc.Classes = append(vc.Classes, view.Option{Value: strconv.FormatInt(k.ID, 10), Label: k.Label()})
		}
		for _, k := range c.Clubs {
			vc.Clubs = append(vc.Clubs, view.Check{Value: strconv.FormatInt(k.ID, 10), Label: k.Name, Checked: slices.Contains(chosen.ClubIDs, k.ID)})
		}
		v.Children = append(v.Children, vc)
	}
	return v
}

// rolloverPage is the parent page's data, with LIFF when the channel has it.
func (s *Server) rolloverParent(w http.ResponseWriter, r *http.Request, token string, pg rollover.ParentPage) view.Page {
	return s.parentPage(w, r, "rollover.parent.title", parentlink.PurposeRollover, token, registration.Page{LIFFID: pg.LIFFID})
}

func (s *Server) rolloverParentPage(w http.ResponseWriter, r *http.Request) {
	token := chi.URLParam(r, "token")
	pg, err := s.Rollover.ParentOpen(r.Context(), token, browserOf(r))
	if s.liffCheck(w, r, err, "rollover.parent.title", parentlink.PurposeRollover, token) {
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.setBrowser(w, pg.Visit)
	r = s.parentLanguage(r, pg.Language)
	s.render(w, r, http.StatusOK, view.RolloverParentPage(s.rolloverParent(w, r, token, pg), rolloverParentView(r, token, pg, nil), view.Form{}))
}

func (s *Server) rolloverParentSubmit(w http.ResponseWriter, r *http.Request) {
	token := chi.URLParam(r, "token")
	if err := r.ParseForm(); err != nil {
		s.fail(w, r, err)
		return
	}
	choices := map[int64]rollover.Placement{}
	var list []rollover.Placement
	for _, c := range r.PostForm["child"] {
		id, err := strconv.ParseInt(c, 10, 64)
		if err != nil {
			continue
		}
		p := rollover.Placement{ChildID: id}
		p.ClassID, _ = strconv.ParseInt(r.PostFormValue("class_"+c), 10, 64)
		for _, k := range r.PostForm["clubs_"+c] {
			n, _ := strconv.ParseInt(k, 10, 64)
			p.ClubIDs = append(p.ClubIDs, n)
		}
		choices[id] = p
		list = append(list, p)
	}
	pg, err := s.Rollover.ParentSubmit(r.Context(), token, browserOf(r), list)
	if err != nil {
		// The form comes back with the reason, in the parent's language.
		r = s.parentLanguage(r, pg.Language)
		var f view.Form
		if !formFailed(r, &f, err) {
			s.fail(w, r, err)
			return
		}
		s.render(w, r, http.StatusUnprocessableEntity, view.RolloverParentPage(s.rolloverParent(w, r, token, pg), rolloverParentView(r, token, pg, choices), f))
		return
	}
	s.setBrowser(w, pg.Visit)
	r = s.parentLanguage(r, pg.Language)
	v := rolloverParentView(r, token, pg, nil)
	v.Done = true
	s.render(w, r, http.StatusOK, view.RolloverParentPage(s.rolloverParent(w, r, token, pg), v, view.Form{}))
}
