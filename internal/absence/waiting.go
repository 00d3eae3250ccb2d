package absence

import (
	"context"
	"time"

	"github.com/renraku/renraku/internal/apperr"
	"github.com/renraku/renraku/internal/authz"
)

// ClassPending is how many of a class's reports covering today are not yet acknowledged,
// and since when the oldest has waited: counts only, for the work queue.
type ClassPending struct {
	BoardID, SchoolID int64
	ClassID           int64
	Year              int
	Label             string
	Count             int
	Since             time.Time
}

// Pending is today's unacknowledged reports of the classes the actor keeps the list of,
// and whether the school's cut-off has passed (the lists should have been read by now).
type Pending struct {
	Day         time.Time
	Cutoff      string
	AfterCutoff bool
	Classes     []ClassPending
}

// Unacknowledged counts today's reports not yet acknowledged per class: a homeroom or
// sub-homeroom teacher's classes this year, every class of an administrator's school
// (nothing for others). Counts and class labels name nobody, so they are not audited;
// opening the list is.
func (s *Service) Unacknowledged(ctx context.Context) (Pending, error) {
	a := authz.ActorFrom(ctx)
	if err := authz.SignedIn(a); err != nil {
		return Pending{}, err
	}
	now := s.now()
	out := Pending{Day: Today(now)}
	if a.SchoolID == 0 {
		return out, nil
	}
	var classIDs []int64
	if !a.IsAdmin() {
		if classIDs = a.HomeroomClasses(); len(classIDs) == 0 {
			return out, nil
		}
	}
	err := s.Tx.InTx(ctx, func(ctx context.Context) error {
		set, err := s.Store.FindSettings(ctx, a.SchoolID)
		if err != nil {
			return err
		}
		out.Cutoff, out.AfterCutoff = set.Cutoff, AfterCutoff(set, now.In(out.Day.Location()), out.Day)
		all, err := s.Store.CountUnacknowledged(ctx, a.SchoolID, out.Day, classIDs)
		for _, c := range all {
			if authz.Check(a, authz.ViewClassData, authz.Target{BoardID: c.BoardID, SchoolID: c.SchoolID, Year: c.Year, ClassID: c.ClassID}) == nil {
				out.Classes = append(out.Classes, c)
			}
		}
		return err
	})
	return out, err
}

// DayCounts counts a school's reports covering today (absences, lateness, early
// leaving), for those who may see the school's figures. Counts only; not audited.
func (s *Service) DayCounts(ctx context.Context, schoolID int64) (Counts, error) {
	a := authz.ActorFrom(ctx)
	if err := authz.SignedIn(a); err != nil {
		return Counts{}, err
	}
	var out Counts
	err := s.Tx.InTx(ctx, func(ctx context.Context) error {
		set, err := s.Store.FindSettings(ctx, schoolID)
		if err != nil {
			return err
		}
		t := authz.Target{BoardID: set.BoardID, SchoolID: schoolID}
		if err := authz.Check(a, authz.ViewSchoolData, t); err != nil {
			if authz.Check(a, authz.ViewSchool, t) != nil {
				return apperr.E(apperr.NotFound, "error.not_found.title", err)
			}
			return err
		}
		out, err = s.Store.CountDay(ctx, schoolID, s.Today())
		return err
	})
	return out, err
}

// NearClosure reports whether a class that does not raise the 学級閉鎖 alert comes near
// it: on a school day, with its enrolment set, at least AlertMin−1 pupils (and one)
// absent with fever or 出席停止 and at least 4/5 of the alert's share. The work queue
// shows such classes beside those over it, so the administrators see a class coming.
func NearClosure(set Settings, schoolDay bool, enrolment *int, closure int) bool {
	if _, _, alert := ClosureAlert(set, schoolDay, enrolment, closure); alert || !schoolDay || enrolment == nil || *enrolment <= 0 || closure == 0 {
		return false
	}
	return closure >= set.AlertMin-1 && closure*100*5 >= set.AlertPercent**enrolment*4
}
