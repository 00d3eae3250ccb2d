package staff

import (
	"context"
	"errors"
	"slices"
	"strings"

	"github.com/renraku/renraku/internal/apperr"
	"github.com/renraku/renraku/internal/audit"
	"github.com/renraku/renraku/internal/authz"
	"github.com/renraku/renraku/internal/school"
)

// List returns a school's accounts (or, with schoolID 0, the board's administrators)
// with their assignments. Staff names are personal data: the view is audited.
func (s *Service) List(ctx context.Context, boardID, schoolID int64) ([]Staff, error) {
	a := authz.ActorFrom(ctx)
	if err := authz.Check(a, authz.ManageStaff, authz.Target{BoardID: boardID, SchoolID: schoolID}); err != nil {
		return nil, err
	}
	var out []Staff
	err := s.tx(ctx, func(ctx context.Context) error {
		var err error
		out, err = s.Store.FindStaffs(ctx, Filter{BoardID: boardID, SchoolID: schoolID, BoardOnly: schoolID == 0})
		if err != nil {
			return err
		}
		// Names are encrypted (and have no reading), so the list is in login ID order.
		slices.SortFunc(out, func(a, b Staff) int { return strings.Compare(a.Login.Reveal(), b.Login.Reveal()) })
		for i := range out {
			if out[i].Assignments, err = s.Store.FindAssignments(ctx, out[i].ID); err != nil {
				return err
			}
		}
		return s.Audit.Record(ctx, audit.Event{Actor: audit.Actor{Kind: audit.Staff, ID: a.StaffID}, Action: "staff.list_view",
			ObjectKind: "school", ObjectID: staffRef(schoolID), BoardID: boardID, SchoolID: schoolID, Detail: map[string]any{"count": len(out)}})
	})
	return out, err
}

// Get returns one account the actor manages, with its assignments. The view is
// audited.
func (s *Service) Get(ctx context.Context, staffID int64) (Staff, error) {
	var st Staff
	err := s.tx(ctx, func(ctx context.Context) error {
		var a *authz.Actor
		var err error
		if st, a, err = s.manageable(ctx, staffID); err != nil {
			return err
		}
		if st.Assignments, err = s.Store.FindAssignments(ctx, st.ID); err != nil {
			return err
		}
		return s.Audit.Record(ctx, audit.Event{Actor: audit.Actor{Kind: audit.Staff, ID: a.StaffID}, Action: "staff.view",
			ObjectKind: "staff", ObjectID: staffRef(st.ID), BoardID: st.BoardID, SchoolID: st.SchoolID})
	})
	return st, err
}

// Detail is an account's page in the console: the account with its duties and, for
// staff of a school, the classes and clubs of the year shown to give duties of.
type Detail struct {
	Staff Staff
	// Self is true on the actor's own account.
	Self bool
	// CanDuty is true for staff of a school; Structure is then the school's year.
	CanDuty   bool
	Structure school.Structure
}

// OpenDetail returns an account's page (Get) with the year's classes and clubs (year:
// the form's value, "" for the current one; read only for staff of a school).
func (s *Service) OpenDetail(ctx context.Context, staffID int64, year string) (Detail, error) {
	st, err := s.Get(ctx, staffID)
	if err != nil {
		return Detail{}, err
	}
	d := Detail{Staff: st, Self: st.ID == authz.ActorFrom(ctx).StaffIDOrZero()}
	if st.SchoolID == 0 {
		return d, nil
	}
	y, err := school.ParseYear(year)
	if err != nil {
		return Detail{}, err
	}
	if d.Structure, err = s.Schools.Structure(ctx, st.SchoolID, y); err != nil {
		return Detail{}, err
	}
	d.CanDuty = true
	return d, nil
}

// NewAssignment is the input for giving a duty.
type NewAssignment struct {
	Duty    authz.Duty
	ClassID int64
	ClubID  int64
	// Year is the school year of a duty without a class or club (the office): this
	// one or the next; 0 or any other means this one. A class's or club's duty is of
	// its year.
	Year int
}

// Assign gives a teacher or school administrator of the actor's school a duty. The
// class or club must belong to the account's school (checked in the same statement
// that stores the duty), and its year becomes the duty's year.
func (s *Service) Assign(ctx context.Context, staffID int64, in NewAssignment) (Assignment, error) {
	as := Assignment{StaffID: staffID, Duty: in.Duty, Year: in.Year}
	err := s.tx(ctx, func(ctx context.Context) error {
		st, a, err := s.manageable(ctx, staffID)
		if err != nil {
			return err
		}
		f := apperr.Fields{}
		switch in.Duty {
		case authz.Homeroom, authz.SubHomeroom:
			if as.ClassID = in.ClassID; as.ClassID == 0 {
				f.Add("class", "staff.assignment.class_required")
			}
		case authz.Advisor:
			if as.ClubID = in.ClubID; as.ClubID == 0 {
				f.Add("club", "staff.assignment.club_required")
			}
		case authz.Office:
		default:
			f.Add("duty", "staff.assignment.duty_invalid")
		}
		if err := f.Err(); err != nil {
			return err
		}
		if st.SchoolID == 0 {
			return apperr.E(apperr.Invalid, "staff.assignment.board_admin", errors.New("board administrators have no duties"))
		}
		as.SchoolID = st.SchoolID
		if err := s.Store.CreateAssignment(ctx, &as); err != nil {
			switch apperr.KindOf(err) {
			case apperr.Conflict:
				return apperr.E(apperr.Conflict, "staff.assignment.exists", err)
			case apperr.NotFound:
				return apperr.Fields{"target": "staff.assignment.target_unknown"}.Err()
			}
			return err
		}
		return s.Audit.Record(ctx, audit.Event{Actor: audit.Actor{Kind: audit.Staff, ID: a.StaffID}, Action: "staff.assign",
			ObjectKind: "staff", ObjectID: staffRef(st.ID), BoardID: st.BoardID, SchoolID: st.SchoolID,
			Detail: map[string]any{"duty": string(as.Duty), "class_id": as.ClassID, "club_id": as.ClubID, "year": as.Year}})
	})
	return as, err
}

// Unassign removes a duty.
func (s *Service) Unassign(ctx context.Context, assignmentID int64) (Assignment, error) {
	var as Assignment
	err := s.tx(ctx, func(ctx context.Context) error {
		var err error
		as, err = s.Store.FindAssignmentByID(ctx, assignmentID)
		if err != nil {
			return err
		}
		st, a, err := s.manageable(ctx, as.StaffID)
		if err != nil {
			return err
		}
		if err := s.Store.DeleteAssignment(ctx, as.ID); err != nil {
			return err
		}
		return s.Audit.Record(ctx, audit.Event{Actor: audit.Actor{Kind: audit.Staff, ID: a.StaffID}, Action: "staff.unassign",
			ObjectKind: "staff", ObjectID: staffRef(st.ID), BoardID: st.BoardID, SchoolID: st.SchoolID,
			Detail: map[string]any{"duty": string(as.Duty), "class_id": as.ClassID, "club_id": as.ClubID, "year": as.Year}})
	})
	return as, err
}
