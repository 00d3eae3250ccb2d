package web

import (
	"net/http"
	"strconv"

	"github.com/renraku/renraku/internal/authz"
	"github.com/renraku/renraku/internal/school"
	"github.com/renraku/renraku/internal/staff"
	"github.com/renraku/renraku/web/view"
)

func (s *Server) staffItem(r *http.Request, st staff.Staff) view.StaffItem {
	it := view.StaffItem{ID: st.ID, Name: st.Name.Reveal(), Login: st.Login.Reveal(), Role: localizer(r).T("role." + string(st.Role)),
		Disabled: st.Disabled, Pending: !st.PasswordSet}
	for _, a := range st.Assignments {
		it.Duties = append(it.Duties, dutyLabel(r, a)+" ("+localizer(r).T("year.label", map[string]any{"Year": a.Year})+")")
	}
	return it
}

func (s *Server) roleOptions(r *http.Request, roles ...authz.Role) []view.Option {
	out := make([]view.Option, 0, len(roles))
	for _, ro := range roles {
		out = append(out, view.Option{Value: string(ro), Label: localizer(r).T("role." + string(ro))})
	}
	return out
}

func (s *Server) schoolStaffPage(w http.ResponseWriter, r *http.Request) {
	s.showSchoolStaff(w, r, view.Form{Values: map[string]string{"role": string(authz.Teacher)}}, http.StatusOK)
}

func (s *Server) showSchoolStaff(w http.ResponseWriter, r *http.Request, f view.Form, status int) {
	sc, head, err := s.schoolHead(r, view.TabStaff)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	list, err := s.Staff.List(r.Context(), sc.BoardID, sc.ID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	items := make([]view.StaffItem, 0, len(list))
	for _, st := range list {
		items = append(items, s.staffItem(r, st))
	}
	s.render(w, r, status, view.StaffList(s.page(r, "admin.tab.staff"), &head, items, f,
		s.roleOptions(r, authz.Teacher, authz.SchoolAdmin), schoolURL(sc.ID, "/staff")))
}

func (s *Server) createSchoolStaff(w http.ResponseWriter, r *http.Request) {
	sc, _, err := s.schoolHead(r, view.TabStaff)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	f := formOf(r, "name", "login", "role")
	inv, err := s.Staff.Create(r.Context(), staff.NewStaff{BoardID: sc.BoardID, SchoolID: sc.ID, Role: authz.Role(f.V("role")), Login: f.V("login"), Name: f.V("name")})
	if err != nil {
		if !formFailed(r, &f, err) {
			s.fail(w, r, err)
			return
		}
		s.showSchoolStaff(w, r, f, http.StatusUnprocessableEntity)
		return
	}
	s.showInvite(w, r, schoolURL(sc.ID, "/staff"), inv)
}

func (s *Server) showInvite(w http.ResponseWriter, r *http.Request, back string, inv staff.Invite) {
	v := view.Invite{Name: inv.Staff.Name.Reveal(), Login: inv.Staff.Login.Reveal(), URL: s.absoluteURL(staff.WelcomePath(inv.Token)),
		Expires: inv.Expires.In(school.Tokyo)}
	s.render(w, r, http.StatusOK, view.InvitePage(s.page(r, "invite.title"), back, v))
}

// absoluteURL is path on the public URL.
func (s *Server) absoluteURL(path string) string {
	if s.BaseURL == nil {
		return path
	}
	u := *s.BaseURL
	u.Path = path
	return u.String()
}

func (s *Server) boardStaffPage(w http.ResponseWriter, r *http.Request) {
	s.showBoardStaff(w, r, view.Form{Values: map[string]string{"role": string(authz.BoardAdmin)}}, http.StatusOK)
}

func (s *Server) showBoardStaff(w http.ResponseWriter, r *http.Request, f view.Form, status int) {
	a := authz.ActorFrom(r.Context())
	list, err := s.Staff.List(r.Context(), a.BoardID, 0)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	items := make([]view.StaffItem, 0, len(list))
	for _, st := range list {
		items = append(items, s.staffItem(r, st))
	}
	s.render(w, r, status, view.StaffList(s.page(r, "admin.board_staff"), nil, items, f, s.roleOptions(r, authz.BoardAdmin), "/admin/board/staff"))
}

func (s *Server) createBoardStaff(w http.ResponseWriter, r *http.Request) {
	a := authz.ActorFrom(r.Context())
	f := formOf(r, "name", "login")
	f.Values["role"] = string(authz.BoardAdmin)
	inv, err := s.Staff.Create(r.Context(), staff.NewStaff{BoardID: a.BoardID, Role: authz.BoardAdmin, Login: f.V("login"), Name: f.V("name")})
	if err != nil {
		if !formFailed(r, &f, err) {
			s.fail(w, r, err)
			return
		}
		s.showBoardStaff(w, r, f, http.StatusUnprocessableEntity)
		return
	}
	s.showInvite(w, r, "/admin/board/staff", inv)
}

func (s *Server) staffDetailPage(w http.ResponseWriter, r *http.Request) {
	s.showStaffDetail(w, r, view.Form{}, http.StatusOK)
}

func (s *Server) showStaffDetail(w http.ResponseWriter, r *http.Request, f view.Form, status int) {
	id, err := idParam(r, "staffID")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	// Duties of this school year, or of the next one while it is prepared (年度更新).
	year := r.URL.Query().Get("year")
	if year == "" {
		year = r.PostFormValue("year")
	}
	detail, err := s.Staff.OpenDetail(r.Context(), id, year)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	st := detail.Staff
	d := view.StaffDetail{Item: s.staffItem(r, st), IsSelf: detail.Self, BoardAdm: st.Role == authz.BoardAdmin}
	for _, x := range st.Assignments {
		d.Duties = append(d.Duties, view.DutyItem{ID: x.ID, Label: dutyLabel(r, x) + " (" + localizer(r).T("year.label", map[string]any{"Year": x.Year}) + ")", Year: x.Year})
	}
	if detail.CanDuty {
		structure := detail.Structure
		d.Head = view.SchoolHead{ID: structure.School.ID, Name: structure.School.Name, Tab: view.TabStaff}
		d.CanDuty, d.Year = true, structure.Year
		d.Years = []int{structure.School.CurrentYear, structure.School.CurrentYear + 1}
		for _, c := range structure.Classes {
			d.Classes = append(d.Classes, view.Option{Value: strconv.FormatInt(c.ID, 10), Label: c.Label()})
		}
		for _, c := range structure.Clubs {
			d.Clubs = append(d.Clubs, view.Option{Value: strconv.FormatInt(c.ID, 10), Label: c.Name})
		}
	}
	p := s.page(r, "admin.tab.staff")
	p.Title = d.Item.Name
	s.render(w, r, status, view.StaffDetailPage(p, d, f))
}

func staffURL(id int64) string { return "/admin/staff/" + strconv.FormatInt(id, 10) }

func (s *Server) assign(w http.ResponseWriter, r *http.Request) {
	id, err := idParam(r, "staffID")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	f := formOf(r, "duty", "class", "club", "year")
	in := staff.NewAssignment{Duty: authz.Duty(f.V("duty"))}
	in.Year, _ = strconv.Atoi(f.V("year"))
	switch in.Duty {
	case authz.Homeroom, authz.SubHomeroom:
		in.ClassID, _ = strconv.ParseInt(f.V("class"), 10, 64)
	case authz.Advisor:
		in.ClubID, _ = strconv.ParseInt(f.V("club"), 10, 64)
	}
	if _, err := s.Staff.Assign(r.Context(), id, in); err != nil {
		if !formFailed(r, &f, err) {
			s.fail(w, r, err)
			return
		}
		s.showStaffDetail(w, r, f, http.StatusUnprocessableEntity)
		return
	}
	s.flash(r, "admin.saved")
	seeOther(w, r, staffURL(id)+"?year="+strconv.Itoa(in.Year))
}

func (s *Server) unassign(w http.ResponseWriter, r *http.Request) {
	id, err := idParam(r, "assignmentID")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	as, err := s.Staff.Unassign(r.Context(), id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.flash(r, "admin.deleted")
	seeOther(w, r, staffURL(as.StaffID))
}

func (s *Server) setDisabled(disabled bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, err := idParam(r, "staffID")
		if err != nil {
			s.fail(w, r, err)
			return
		}
		if err := s.Staff.SetDisabled(r.Context(), id, disabled); err != nil {
			s.fail(w, r, err)
			return
		}
		s.flash(r, "admin.saved")
		seeOther(w, r, staffURL(id))
	}
}

func (s *Server) newLink(w http.ResponseWriter, r *http.Request) {
	id, err := idParam(r, "staffID")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	inv, err := s.Staff.ResetLink(r.Context(), id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.showInvite(w, r, staffURL(id), inv)
}
