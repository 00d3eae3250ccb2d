package roster

import (
	"context"

	"github.com/renraku/renraku/internal/authz"
	"github.com/renraku/renraku/internal/school"
	"github.com/renraku/renraku/internal/staff"
)

// export returns the school's roster of kind for year as CSV text, and its row count.
func (s *Service) export(ctx context.Context, sc school.School, kind Kind, year int) (string, int, error) {
	switch kind {
	case KindClasses:
		cs, err := s.Schools.FindClasses(ctx, sc.ID, year)
		if err != nil {
			return "", 0, err
		}
		rows := make([]ClassRow, len(cs))
		for i, c := range cs {
			rows[i] = ClassRow{Year: c.Year, Grade: c.Grade, Name: c.Name, HasEnrolment: true, Enrolment: c.Enrolment}
		}
		return WriteClasses(rows), len(rows), nil
	case KindClubs:
		cs, err := s.Schools.FindClubs(ctx, sc.ID, year)
		if err != nil {
			return "", 0, err
		}
		rows := make([]ClubRow, len(cs))
		for i, c := range cs {
			rows[i] = ClubRow{Year: c.Year, Name: c.Name}
		}
		return WriteClubs(rows), len(rows), nil
	}
	list, err := s.Staff.FindAccounts(ctx, staff.Filter{BoardID: sc.BoardID, SchoolID: sc.ID})
	if err != nil {
		return "", 0, err
	}
	if kind == KindStaff {
		rows := make([]StaffRow, len(list))
		for i, st := range list {
			rows[i] = StaffRow{Login: st.Login.Reveal(), Name: st.Name.Reveal(), Role: roleCode(st.Role)}
		}
		return WriteStaff(rows), len(rows), nil
	}
	classes, err := s.Schools.FindClasses(ctx, sc.ID, year)
	if err != nil {
		return "", 0, err
	}
	classByID := make(map[int64]school.Class, len(classes))
	for _, c := range classes {
		classByID[c.ID] = c
	}
	clubs, err := s.Schools.FindClubs(ctx, sc.ID, year)
	if err != nil {
		return "", 0, err
	}
	clubByID := make(map[int64]school.Club, len(clubs))
	for _, c := range clubs {
		clubByID[c.ID] = c
	}
	var rows []AssignmentRow
	for _, st := range list {
		as, err := s.Staff.FindDuties(ctx, st.ID)
		if err != nil {
			return "", 0, err
		}
		for _, a := range as {
			if a.Year != year || a.SchoolID != sc.ID {
				continue
			}
			r := AssignmentRow{Year: a.Year, Login: st.Login.Reveal(), Duty: dutyCode(a.Duty)}
			switch a.Duty {
			case authz.Homeroom, authz.SubHomeroom:
				r.Grade, r.Class = classByID[a.ClassID].Grade, classByID[a.ClassID].Name
			case authz.Advisor:
				r.Club = clubByID[a.ClubID].Name
			}
			rows = append(rows, r)
		}
	}
	return WriteAssignments(rows), len(rows), nil
}

// roleCode is the file's code for role (board administrators have no school, so are
// never exported).
func roleCode(role authz.Role) string {
	for code, r := range roleOf {
		if r == role {
			return code
		}
	}
	return string(role)
}

// dutyCode is the file's code for duty.
func dutyCode(duty authz.Duty) string {
	for code, d := range dutyOf {
		if d == duty {
			return code
		}
	}
	return string(duty)
}
