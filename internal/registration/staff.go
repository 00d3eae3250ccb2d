package registration

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/renraku/renraku/internal/apperr"
	"github.com/renraku/renraku/internal/audit"
	"github.com/renraku/renraku/internal/authz"
	"github.com/renraku/renraku/internal/line"
	"github.com/renraku/renraku/internal/live"
	"github.com/renraku/renraku/internal/school"
)

func staffActor(a *authz.Actor) audit.Actor { return audit.Actor{Kind: audit.Staff, ID: a.StaffID} }

// Queue lists the registrations waiting for the actor: a homeroom or sub-homeroom
// teacher's classes, or every class of an administrator's school. The list shows
// the parents' registered names, relationships and nicknames and the children's names and
// classes, so viewing it is audited.
func (s *Service) Queue(ctx context.Context) ([]Request, error) {
	a := authz.ActorFrom(ctx)
	if err := authz.SignedIn(a); err != nil {
		return nil, err
	}
	var classIDs []int64
	schoolID := a.SchoolID
	if a.IsAdmin() {
		classIDs = nil // every class of the school (a board administrator: none here)
	} else {
		for _, x := range a.Assignments {
			if x.Duty == authz.Homeroom || x.Duty == authz.SubHomeroom {
				classIDs = append(classIDs, x.ClassID)
			}
		}
		if len(classIDs) == 0 {
			return nil, authz.Check(a, authz.ViewClassData, authz.Target{BoardID: a.BoardID, SchoolID: a.SchoolID, Year: a.Year})
		}
	}
	if schoolID == 0 {
		return nil, authz.Check(a, authz.ViewSchoolData, authz.Target{BoardID: a.BoardID})
	}
	var out []Request
	err := s.Tx.InTx(ctx, func(ctx context.Context) error {
		all, err := s.Store.FindPending(ctx, schoolID, classIDs)
		if err != nil {
			return err
		}
		for _, r := range all {
			if authz.Check(a, authz.ViewClassData, authz.Target{BoardID: r.BoardID, SchoolID: r.SchoolID, Year: r.Year, ClassID: r.ClassID}) == nil {
				out = append(out, r)
			}
		}
		return s.Audit.Record(ctx, audit.Event{Actor: staffActor(a), Action: "registration.queue_view", BoardID: a.BoardID, SchoolID: schoolID,
			Detail: map[string]any{"rows": len(out)}})
	})
	return out, err
}

// Decide approves or rejects a waiting registration; the parent is told in LINE.
func (s *Service) Decide(ctx context.Context, guardianshipID int64, approve bool) (Request, error) {
	a := authz.ActorFrom(ctx)
	if err := authz.SignedIn(a); err != nil {
		return Request{}, err
	}
	var r Request
	err := s.Tx.InTx(ctx, func(ctx context.Context) error {
		var err error
		if r, err = s.Store.FindGuardianship(ctx, guardianshipID); err != nil {
			return err
		}
		t := authz.Target{BoardID: r.BoardID, SchoolID: r.SchoolID, Year: r.Year, ClassID: r.ClassID}
		if err := authz.Check(a, authz.ViewClassData, t); err != nil {
			if authz.Check(a, authz.ViewSchool, t) != nil || a.SchoolID != r.SchoolID {
				return apperr.E(apperr.NotFound, "error.not_found.title", err)
			}
			return err
		}
		if r.Status != Pending {
			return apperr.E(apperr.Conflict, "reg.queue.decided", errors.New("already decided"))
		}
		status, textID, action := Verified, "reg.line.approved", "registration.approve"
		if !approve {
			status, textID, action = Rejected, "reg.line.rejected", "registration.reject"
		}
		if err := s.Store.DecideGuardianship(ctx, r.GuardianshipID, status, a.StaffID); err != nil {
			return err
		}
		r.Status = status
		f, err := s.Friends.FindFriend(ctx, r.FriendID)
		if err != nil {
			return err
		}
		g, err := s.Store.FindGuardianByFriend(ctx, r.FriendID)
		if err != nil {
			return err
		}
		msg := s.T(g.Language, textID, map[string]any{"Child": r.ChildName.Reveal(), "Class": r.ClassLabel})
		if _, err := s.Outbox.Queue(ctx, line.Send{Friend: f, Purpose: "registration", Messages: []line.Message{{Text: msg}}}); err != nil {
			return err
		}
		if err := s.Live.Publish(ctx, live.Event{Kind: live.RegistrationDecided, Board: r.BoardID, School: r.SchoolID, Year: r.Year,
			Class: r.ClassID, Staff: a.StaffID}); err != nil {
			return err
		}
		// Audited last, in the transaction of the work it records.
		return s.Audit.Record(ctx, audit.Event{Actor: staffActor(a), Action: action, ObjectKind: "guardianship",
			ObjectID: strconv.FormatInt(r.GuardianshipID, 10), BoardID: r.BoardID, SchoolID: r.SchoolID})
	})
	return r, err
}

// ClassMembers returns a class's children with their guardians' nicknames and
// verification, for the teachers whose duty the class is. The view is audited.
func (s *Service) ClassMembers(ctx context.Context, boardID, schoolID int64, year int, classID int64) ([]Member, error) {
	a := authz.ActorFrom(ctx)
	t := authz.Target{BoardID: boardID, SchoolID: schoolID, Year: year, ClassID: classID}
	if err := authz.Check(a, authz.ViewClassData, t); err != nil {
		if err := authz.Check(a, authz.ViewSchoolData, t); err != nil {
			return nil, err
		}
	}
	var out []Member
	err := s.Tx.InTx(ctx, func(ctx context.Context) error {
		var err error
		if out, err = s.Store.FindClassMembers(ctx, classID); err != nil {
			return err
		}
		return s.Audit.Record(ctx, audit.Event{Actor: staffActor(a), Action: "class.members_view", ObjectKind: "class",
			ObjectID: strconv.FormatInt(classID, 10), BoardID: boardID, SchoolID: schoolID, Detail: map[string]any{"children": len(out)}})
	})
	return out, err
}

// ClassPage is the class page: the class (school.Service's OpenClass, with the
// controls the actor may use) and its children with their guardians.
type ClassPage struct {
	school.ClassView
	Members []Member
}

// OpenClassPage returns the class page. Opening the class and reading its members are
// audited each, as OpenClass and ClassMembers do.
func (s *Service) OpenClassPage(ctx context.Context, classID int64) (ClassPage, error) {
	v, err := s.Classes.OpenClass(ctx, classID)
	if err != nil {
		return ClassPage{}, err
	}
	members, err := s.ClassMembers(ctx, v.School.BoardID, v.School.ID, v.Class.Year, v.Class.ID)
	if err != nil {
		return ClassPage{}, err
	}
	return ClassPage{ClassView: v, Members: members}, nil
}

// Codes lists a school year's classes with their registration codes (for the letters),
// for the school's administrators. Showing codes is audited.
func (s *Service) Codes(ctx context.Context, boardID, schoolID int64, year int) ([]ClassCode, error) {
	a := authz.ActorFrom(ctx)
	if err := authz.Check(a, authz.ManageStructure, authz.Target{BoardID: boardID, SchoolID: schoolID}); err != nil {
		return nil, err
	}
	var out []ClassCode
	err := s.Tx.InTx(ctx, func(ctx context.Context) error {
		var err error
		if out, err = s.Store.FindClassCodes(ctx, schoolID, year); err != nil {
			return err
		}
		return s.Audit.Record(ctx, audit.Event{Actor: staffActor(a), Action: "class.codes_view", ObjectKind: "school",
			ObjectID: strconv.FormatInt(schoolID, 10), BoardID: boardID, SchoolID: schoolID})
	})
	return out, err
}

// RenewClassCode gives a class a new registration code (NewCode), for the
// administrators of its school, and returns the school.
func (s *Service) RenewClassCode(ctx context.Context, classID int64) (school.School, error) {
	c, sc, err := s.Classes.ClassForConsole(ctx, classID)
	if err != nil {
		return school.School{}, err
	}
	return sc, s.NewCode(ctx, sc.BoardID, sc.ID, c.ID)
}

// NewCode makes (or replaces) a class's registration code; the old code stops working.
func (s *Service) NewCode(ctx context.Context, boardID, schoolID, classID int64) error {
	a := authz.ActorFrom(ctx)
	if err := authz.Check(a, authz.ManageStructure, authz.Target{BoardID: boardID, SchoolID: schoolID}); err != nil {
		return err
	}
	return s.Tx.InTx(ctx, func(ctx context.Context) error {
		codes, err := s.Store.FindClassCodes(ctx, schoolID, 0)
		if err != nil {
			return err
		}
		found := false
		for _, c := range codes {
			found = found || c.ClassID == classID
		}
		if !found {
			return apperr.E(apperr.NotFound, "error.not_found.title", errors.New("class of another school"))
		}
		if err := s.Store.SetClassCode(ctx, classID, newCode()); err != nil {
			return err
		}
		return s.Audit.Record(ctx, audit.Event{Actor: staffActor(a), Action: "class.code_new", ObjectKind: "class",
			ObjectID: strconv.FormatInt(classID, 10), BoardID: boardID, SchoolID: schoolID})
	})
}

// ClassWaiting is how many registrations of a class wait for the school, and since when
// the oldest has: counts only, for the work queue.
type ClassWaiting struct {
	BoardID, SchoolID int64
	ClassID           int64
	Year              int
	Label             string
	Count             int
	Since             time.Time
}

// Waiting counts the registrations waiting for the actor per class: a homeroom or
// sub-homeroom teacher's classes this year, or every class of an administrator's school
// (nothing for others). Counts and class labels name nobody, so they are not audited;
// opening the approvals page is.
func (s *Service) Waiting(ctx context.Context) ([]ClassWaiting, error) {
	a := authz.ActorFrom(ctx)
	if err := authz.SignedIn(a); err != nil {
		return nil, err
	}
	if a.SchoolID == 0 {
		return nil, nil
	}
	var classIDs []int64
	if !a.IsAdmin() {
		if classIDs = a.HomeroomClasses(); len(classIDs) == 0 {
			return nil, nil
		}
	}
	var out []ClassWaiting
	err := s.Tx.InTx(ctx, func(ctx context.Context) error {
		all, err := s.Store.CountPending(ctx, a.SchoolID, classIDs)
		for _, c := range all {
			if authz.Check(a, authz.ViewClassData, authz.Target{BoardID: c.BoardID, SchoolID: c.SchoolID, Year: c.Year, ClassID: c.ClassID}) == nil {
				out = append(out, c)
			}
		}
		return err
	})
	return out, err
}

// Coverage is how many of a school's families and children of its current year are
// registered (verified), against the enrolment its classes declare.
type Coverage struct {
	Families, Children int
	// Enrolment sums the classes' 在籍者数; Unset counts the classes without one.
	Enrolment, Unset int
}

// Coverage counts a school's registered families and children against its enrolment,
// for those who may see the school's figures (its administrators and the board's).
func (s *Service) Coverage(ctx context.Context, schoolID int64) (Coverage, error) {
	a := authz.ActorFrom(ctx)
	if err := authz.SignedIn(a); err != nil {
		return Coverage{}, err
	}
	var out Coverage
	err := s.Tx.InTx(ctx, func(ctx context.Context) error {
		boardID, err := s.Store.FindSchoolBoard(ctx, schoolID)
		if err != nil {
			return err
		}
		t := authz.Target{BoardID: boardID, SchoolID: schoolID}
		if err := authz.Check(a, authz.ViewSchoolData, t); err != nil {
			if authz.Check(a, authz.ViewSchool, t) != nil {
				return apperr.E(apperr.NotFound, "error.not_found.title", err)
			}
			return err
		}
		out, err = s.Store.CountCoverage(ctx, schoolID)
		return err
	})
	return out, err
}
