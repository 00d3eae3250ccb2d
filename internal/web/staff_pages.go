package web

import (
	"net/http"
	"strconv"

	"github.com/renraku/renraku/internal/apperr"
	"github.com/renraku/renraku/internal/staff"
	"github.com/renraku/renraku/web/view"
)

// dutyLabel is how a duty reads: 1年1組 担任, サッカー部 顧問, 学校宛ての連絡.
func dutyLabel(r *http.Request, a staff.Assignment) string {
	d := localizer(r).T("duty." + string(a.Duty))
	if a.Target == "" {
		return d
	}
	return a.Target + " " + d
}

func (s *Server) staffHome(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	home, err := s.Staff.Home(ctx)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	me := home.Staff
	loc := localizer(r)
	h := view.StaffHome{Name: me.Name.Reveal(), Role: loc.T("role." + string(me.Role)), Year: home.Year, Admin: home.Admin,
		Board: home.Board, ClubAbsences: home.ClubAbsences, ClassLists: home.ClassLists}
	h.School = home.School.Name
	// A board administrator's home is about the board's schools.
	for _, sc := range home.Schools {
		h.Schools = append(h.Schools, view.Duty{Label: sc.Name, Href: "/admin/schools/" + strconv.FormatInt(sc.ID, 10)})
	}
	for _, x := range home.Duties {
		d := view.Duty{Label: dutyLabel(r, x)}
		if x.ClassID != 0 {
			d.Href = "/staff/classes/" + strconv.FormatInt(x.ClassID, 10)
		}
		h.Duties = append(h.Duties, d)
	}
	alerts := home.Alerts
	for _, c := range alerts.Over {
		h.Alerts = append(h.Alerts, closureAlertText(loc, c))
	}
	for _, c := range alerts.NoEnrolment {
		h.NoEnrolment = append(h.NoEnrolment, loc.T("absence.stats.no_enrolment", map[string]any{"Class": c.Label, "Count": c.Closure}))
	}
	if len(h.NoEnrolment) > 0 && alerts.CanSetEnrolment {
		h.EnrolmentHref = schoolURL(alerts.SchoolID, "/structure")
	}
	h.Work = workView(loc, home.Work)
	p := s.page(r, "home.title_short")
	p.Waiting = h.Work.Total
	s.render(w, r, http.StatusOK, view.StaffHomePage(p, h))
}

func (s *Server) classPage(w http.ResponseWriter, r *http.Request) {
	id, err := idParam(r, "classID")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v, err := s.Registration.OpenClassPage(r.Context(), id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	page := view.ClassPage{School: v.School.Name, Label: v.Class.Label(), Year: v.Class.Year, Transfer: v.CanMove}
	for _, c := range v.MoveTo {
		page.Classes = append(page.Classes, view.Option{Value: strconv.FormatInt(c.ID, 10), Label: c.Label()})
	}
	loc := localizer(r)
	for _, m := range v.Members {
		vm := view.Member{ChildID: strconv.FormatInt(m.ChildID, 10), Child: m.ChildName.Reveal()}
		for _, g := range m.Guardians {
			vm.Guardians = append(vm.Guardians, view.MemberGuardian{Nickname: g.Nickname.Reveal(), Status: loc.T("reg.status." + g.Status),
				Verified: g.Status == "verified", Active: g.Active})
		}
		page.Members = append(page.Members, vm)
	}
	p := s.page(r, "class.title")
	p.Title = v.Class.Label()
	s.render(w, r, http.StatusOK, view.ClassView(p, page))
}

func (s *Server) accountPage(w http.ResponseWriter, r *http.Request) {
	s.showAccount(w, r, view.Form{}, http.StatusOK)
}

func (s *Server) showAccount(w http.ResponseWriter, r *http.Request, f view.Form, status int) {
	s.showAccountWith(w, r, f, view.Form{}, status)
}

// showAccountWith shows the account page with the password form f and the
// notification form nf. The page has two owners: the account (staff) and the
// notification choices (notify), each read through its own service.
func (s *Server) showAccountWith(w http.ResponseWriter, r *http.Request, f, nf view.Form, status int) {
	me, err := s.Staff.Me(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	st, err := s.Notify.Settings(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	p := s.page(r, "account.title")
	acc := view.Account{Name: me.Name.Reveal(), Login: me.Login.Reveal(), TOTPEnabled: me.TOTPEnabled, Notify: notifyView(p, st, nf)}
	s.render(w, r, status, view.AccountPage(p, acc, f))
}

func (s *Server) changePassword(w http.ResponseWriter, r *http.Request) {
	err := s.Staff.ChangePassword(r.Context(), r.PostFormValue("current"), r.PostFormValue("password"), r.PostFormValue("confirm"), s.clientOf(r))
	if err != nil {
		f := view.Form{}
		if !formFailed(r, &f, err) {
			s.fail(w, r, err)
			return
		}
		s.showAccount(w, r, f, http.StatusUnprocessableEntity)
		return
	}
	// Every session ended with the change, this one too: sign in again.
	s.endSession(r.Context())
	s.flash(r, "account.password_changed")
	http.Redirect(w, r, "/staff/login", http.StatusSeeOther)
}

func (s *Server) signOutEverywhere(w http.ResponseWriter, r *http.Request) {
	if err := s.Staff.SignOutEverywhere(r.Context(), s.clientOf(r)); err != nil {
		s.fail(w, r, err)
		return
	}
	s.endSession(r.Context())
	s.flash(r, "account.signed_out_all")
	http.Redirect(w, r, "/staff/login", http.StatusSeeOther)
}

// transferOut marks a child as moved to another school (転出).
func (s *Server) transferOut(w http.ResponseWriter, r *http.Request) {
	id, err := idParam(r, "childID")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	n, err := s.Registration.TransferOut(r.Context(), id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.flash(r, "class.transferred")
	seeOther(w, r, "/staff/classes/"+strconv.FormatInt(n.ClassID, 10))
}

// moveChild puts a child in another class of this year.
func (s *Server) moveChild(w http.ResponseWriter, r *http.Request) {
	id, err := idParam(r, "childID")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	classID, _ := strconv.ParseInt(r.PostFormValue("class"), 10, 64)
	sc, err := s.Registration.MoveToClass(r.Context(), id, classID)
	if err != nil {
		// A refusal goes back to the class the child is in, with the reason.
		msg := apperr.MessageIDOf(err)
		if f := apperr.FieldsOf(err); f != nil {
			msg = f["class"]
		}
		if sc.ClassID == 0 || msg == "" || (apperr.KindOf(err) != apperr.Invalid && apperr.KindOf(err) != apperr.Conflict) {
			s.fail(w, r, err)
			return
		}
		s.flash(r, msg)
		seeOther(w, r, "/staff/classes/"+strconv.FormatInt(sc.ClassID, 10))
		return
	}
	s.flash(r, "class.moved")
	seeOther(w, r, "/staff/classes/"+strconv.FormatInt(sc.ClassID, 10))
}
