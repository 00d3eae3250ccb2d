package roster

import (
	"context"
	"slices"

	"github.com/renraku/renraku/internal/apperr"
	"github.com/renraku/renraku/internal/audit"
	"github.com/renraku/renraku/internal/authz"
	"github.com/renraku/renraku/internal/school"
	"github.com/renraku/renraku/internal/staff"
)

// The files' role and duty codes and authz's names for them (authz writes
// "school_admin" and "sub_homeroom" where a file says "school-admin" and
// "sub-homeroom").
var (
	roleOf = map[string]authz.Role{"school-admin": authz.SchoolAdmin, "teacher": authz.Teacher}
	dutyOf = map[string]authz.Duty{"homeroom": authz.Homeroom, "sub-homeroom": authz.SubHomeroom,
		"advisor": authz.Advisor, "office": authz.Office}
)

// importer checks one file's rows against the database and, when nothing is wrong,
// saves them, all inside the import's transaction. Each kind's method parses the
// text, adds every problem to errs, and writes nothing when errs is not empty.
type importer struct {
	s     *Service
	sc    school.School
	actor audit.Actor
	errs  errs
	// columns and lines describe the file's lines and what the import does with each.
	columns []string
	lines   []LineResult
}

// inYears reports whether y is last, this or next school year, adding an error if not:
// the console offers no other years, and a typo such as 2062 should not create a year.
func (im *importer) inYears(line, y int) bool {
	cur := im.sc.CurrentYear
	if y >= cur-1 && y <= cur+1 {
		return true
	}
	im.errs.add(line, colYear, "roster.db.year_out_of_range", map[string]any{"From": cur - 1, "To": cur + 1})
	return false
}

// clash turns a unique violation met while saving (someone saved the same thing after
// the rows were checked) into a row error, and stops the import.
func (im *importer) clash(err error, line int, col, messageID string) error {
	if apperr.KindOf(err) == apperr.Conflict {
		im.errs.add(line, col, messageID, nil)
		return errRejected
	}
	return err
}

// staff imports a staff file. A login ID that is new makes an account with a one-time
// link; one of an account of this school updates its name and role where the file
// differs (never its password, second factor or sessions); one of another school or
// of a board administrator is refused, since login IDs are unique across the service.
func (im *importer) staff(ctx context.Context, text string) (int, []staff.Invite, error) {
	rows, es := ParseStaff(text)
	im.errs = es
	type pending struct {
		r   StaffRow
		st  staff.Staff
		upd *staff.Update // nil: a new account
	}
	var out []pending
	for _, r := range rows {
		header, cells := cellsOf(WriteStaff, r)
		im.columns = header
		st, err := im.s.Staff.FindAccountByLogin(ctx, staff.NormalizeLogin(r.Login))
		switch {
		case apperr.KindOf(err) == apperr.NotFound:
			im.lines = append(im.lines, LineResult{Line: r.Line, Cells: cells, Outcome: OutcomeNew})
			out = append(out, pending{r: r})
			continue
		case err != nil:
			return 0, nil, err
		case st.SchoolID != im.sc.ID:
			im.errs.add(r.Line, colLogin, "roster.db.login_elsewhere", nil)
			continue
		}
		upd, changes := staffChanges(st, r)
		if upd.Role != nil && st.ID == im.actor.ID {
			// An administrator who demoted themselves would lose this page mid-import.
			im.errs.add(r.Line, colRole, "roster.db.own_role", nil)
			continue
		}
		outcome := OutcomeUpdate
		if len(changes) == 0 {
			outcome = OutcomeSame
		}
		im.lines = append(im.lines, LineResult{Line: r.Line, Cells: cells, Outcome: outcome, Changes: changes})
		out = append(out, pending{r: r, st: st, upd: &upd})
	}
	if len(im.errs) > 0 {
		return 0, nil, nil
	}
	var invites []staff.Invite
	for _, p := range out {
		if p.upd != nil {
			if err := im.s.Staff.UpdateTx(ctx, im.actor, p.st, *p.upd); err != nil {
				return 0, nil, err
			}
			continue
		}
		inv, err := im.s.Staff.CreateTx(ctx, im.actor, staff.NewStaff{
			BoardID: im.sc.BoardID, SchoolID: im.sc.ID, Role: roleOf[p.r.Role], Login: p.r.Login, Name: p.r.Name})
		if apperr.FieldsOf(err)["login"] == "staff.login.taken" {
			im.errs.add(p.r.Line, colLogin, "roster.db.login_taken", nil)
			return 0, nil, errRejected
		}
		if err != nil {
			return 0, nil, err
		}
		invites = append(invites, inv)
	}
	return len(rows), invites, nil
}

// staffChanges compares a stored account with a line of a staff file and returns the
// update the line asks for and its changes as the file would write them.
func staffChanges(st staff.Staff, r StaffRow) (staff.Update, []Change) {
	var upd staff.Update
	var changes []Change
	if old := st.Name.Reveal(); old != r.Name {
		name := r.Name
		upd.Name = &name
		changes = append(changes, Change{Column: colName, From: old, To: r.Name})
	}
	if role := roleOf[r.Role]; role != st.Role {
		upd.Role = &role
		changes = append(changes, Change{Column: colRole, From: labelOf(roleCode(st.Role), staffRoles), To: labelOf(r.Role, staffRoles)})
	}
	return upd, changes
}

// classes creates a file's new classes. A file with the 在籍者数 column also sets the
// enrolment of the classes it names that exist already (blank clears it), so an
// exported file can be filled in and imported again; without that column an existing
// class is an error, as before. Each line's outcome (new, update, same) is kept for
// the preview and the result.
func (im *importer) classes(ctx context.Context, text string) (created, updated, unchanged int, err error) {
	rows, es := ParseClasses(text)
	im.errs = es
	existing, err := im.classIndex(ctx, yearsOf(rows, func(r ClassRow) int { return r.Year }))
	if err != nil {
		return 0, 0, 0, err
	}
	maxGrade := school.MaxGrade(im.sc.Type)
	type pending struct {
		line int
		c    school.Class
	}
	var add, change []pending
	for _, r := range rows {
		ok := im.inYears(r.Line, r.Year)
		if r.Grade > maxGrade {
			im.errs.add(r.Line, colGrade, "roster.db.grade_too_high", map[string]any{"Max": maxGrade})
			ok = false
		}
		if !ok {
			continue
		}
		c := school.Class{SchoolID: im.sc.ID, Year: r.Year, Grade: r.Grade, Name: r.Name, Enrolment: r.Enrolment}
		if len(school.CheckClass(&c, maxGrade)) > 0 {
			im.errs.add(r.Line, colClass, "roster.db.class_name_invalid", nil)
			continue
		}
		header, cells := cellsOf(WriteClasses, r)
		im.columns = header
		if old, dup := existing[classKey{c.Year, c.Grade, c.Name}]; dup {
			switch from, to := school.EnrolmentText(old.Enrolment), school.EnrolmentText(r.Enrolment); {
			case !r.HasEnrolment:
				im.errs.add(r.Line, colClass, "roster.db.class_exists", nil)
			case from != to:
				old.Enrolment = r.Enrolment
				change = append(change, pending{r.Line, old})
				im.lines = append(im.lines, LineResult{Line: r.Line, Cells: cells, Outcome: OutcomeUpdate,
					Changes: []Change{{Column: colEnrolment, From: from, To: to}}})
			default:
				unchanged++
				im.lines = append(im.lines, LineResult{Line: r.Line, Cells: cells, Outcome: OutcomeSame})
			}
			continue
		}
		add = append(add, pending{r.Line, c})
		im.lines = append(im.lines, LineResult{Line: r.Line, Cells: cells, Outcome: OutcomeNew})
	}
	if len(im.errs) > 0 {
		return 0, 0, 0, nil
	}
	for _, p := range add {
		if err := im.s.Schools.ImportClass(ctx, &p.c); err != nil {
			return 0, 0, 0, im.clash(err, p.line, colClass, "roster.db.class_exists")
		}
	}
	for _, p := range change {
		if err := im.s.Schools.ImportEnrolment(ctx, p.c.ID, p.c.Enrolment); err != nil {
			return 0, 0, 0, err
		}
	}
	return len(add), len(change), unchanged, nil
}

func (im *importer) clubs(ctx context.Context, text string) (int, error) {
	rows, es := ParseClubs(text)
	im.errs = es
	existing, err := im.clubIndex(ctx, yearsOf(rows, func(r ClubRow) int { return r.Year }))
	if err != nil {
		return 0, err
	}
	type pending struct {
		line int
		c    school.Club
	}
	var out []pending
	for _, r := range rows {
		if !im.inYears(r.Line, r.Year) {
			continue
		}
		c := school.Club{SchoolID: im.sc.ID, Year: r.Year, Name: r.Name}
		if len(school.CheckClub(&c)) > 0 {
			im.errs.add(r.Line, colClub, "roster.text.too_long", map[string]any{"Column": colClub, "Max": 30})
			continue
		}
		if _, dup := existing[clubKey{c.Year, c.Name}]; dup {
			im.errs.add(r.Line, colClub, "roster.db.club_exists", nil)
			continue
		}
		out = append(out, pending{r.Line, c})
	}
	if len(im.errs) > 0 {
		return 0, nil
	}
	for _, p := range out {
		if err := im.s.Schools.ImportClub(ctx, &p.c); err != nil {
			return 0, im.clash(err, p.line, colClub, "roster.db.club_exists")
		}
	}
	return len(out), nil
}

// member is an account of the school named in an assignments file, with the duties
// it already holds.
type member struct {
	st   staff.Staff
	held []staff.Assignment
}

// member finds the account of login at this school, or nil: an unknown login ID and
// one of another school (or a board administrator) are the same answer, so a file
// cannot probe which login IDs exist elsewhere.
func (im *importer) member(ctx context.Context, cache map[string]*member, login string) (*member, error) {
	login = staff.NormalizeLogin(login)
	if m, ok := cache[login]; ok {
		return m, nil
	}
	st, err := im.s.Staff.FindAccountByLogin(ctx, login)
	var m *member
	switch {
	case err == nil && st.SchoolID == im.sc.ID:
		held, err := im.s.Staff.FindDuties(ctx, st.ID)
		if err != nil {
			return nil, err
		}
		m = &member{st: st, held: held}
	case err != nil && apperr.KindOf(err) != apperr.NotFound:
		return nil, err
	}
	cache[login] = m
	return m, nil
}

func (im *importer) assignments(ctx context.Context, text string) (int, error) {
	rows, es := ParseAssignments(text)
	im.errs = es
	years := yearsOf(rows, func(r AssignmentRow) int { return r.Year })
	classes, err := im.classIndex(ctx, years)
	if err != nil {
		return 0, err
	}
	clubs, err := im.clubIndex(ctx, years)
	if err != nil {
		return 0, err
	}
	members := map[string]*member{}
	type pending struct {
		line int
		a    staff.Assignment
	}
	var out []pending
	for _, r := range rows {
		if !im.inYears(r.Line, r.Year) {
			continue
		}
		m, err := im.member(ctx, members, r.Login)
		if err != nil {
			return 0, err
		}
		if m == nil {
			im.errs.add(r.Line, colLogin, "roster.db.unknown_login", nil)
			continue
		}
		a := staff.Assignment{StaffID: m.st.ID, SchoolID: im.sc.ID, Year: r.Year, Duty: dutyOf[r.Duty]}
		switch a.Duty {
		case authz.Homeroom, authz.SubHomeroom:
			c, ok := classes[classKey{r.Year, r.Grade, r.Class}]
			if !ok {
				im.errs.add(r.Line, colTarget, "roster.db.unknown_class", nil)
				continue
			}
			a.ClassID = c.ID
		case authz.Advisor:
			c, ok := clubs[clubKey{r.Year, r.Club}]
			if !ok {
				im.errs.add(r.Line, colTarget, "roster.db.unknown_club", nil)
				continue
			}
			a.ClubID = c.ID
		}
		if slices.ContainsFunc(m.held, func(h staff.Assignment) bool {
			return h.Year == a.Year && h.Duty == a.Duty && h.ClassID == a.ClassID && h.ClubID == a.ClubID
		}) {
			im.errs.add(r.Line, colTarget, "roster.db.assignment_exists", nil)
			continue
		}
		out = append(out, pending{r.Line, a})
	}
	if len(im.errs) > 0 {
		return 0, nil
	}
	for _, p := range out {
		if err := im.s.Staff.ImportDuty(ctx, &p.a); err != nil {
			return 0, im.clash(err, p.line, colTarget, "roster.db.assignment_exists")
		}
	}
	return len(out), nil
}

// yearsOf returns the school years rows mention.
func yearsOf[R any](rows []R, year func(R) int) map[int]bool {
	out := map[int]bool{}
	for _, r := range rows {
		out[year(r)] = true
	}
	return out
}

// classIndex maps the school's classes of years by year, grade and name.
func (im *importer) classIndex(ctx context.Context, years map[int]bool) (map[classKey]school.Class, error) {
	out := map[classKey]school.Class{}
	for y := range years {
		cs, err := im.s.Schools.FindClasses(ctx, im.sc.ID, y)
		if err != nil {
			return nil, err
		}
		for _, c := range cs {
			out[classKey{c.Year, c.Grade, c.Name}] = c
		}
	}
	return out, nil
}

// clubIndex maps the school's clubs of years by year and name.
func (im *importer) clubIndex(ctx context.Context, years map[int]bool) (map[clubKey]school.Club, error) {
	out := map[clubKey]school.Club{}
	for y := range years {
		cs, err := im.s.Schools.FindClubs(ctx, im.sc.ID, y)
		if err != nil {
			return nil, err
		}
		for _, c := range cs {
			out[clubKey{c.Year, c.Name}] = c
		}
	}
	return out, nil
}
