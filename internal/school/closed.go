package school

import (
	"context"
	"errors"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/renraku/renraku/internal/apperr"
	"github.com/renraku/renraku/internal/audit"
	"github.com/renraku/renraku/internal/authz"
)

// ClosedDay is a day a school marks closed besides weekends (祝日, 創立記念日, 臨時休校 …).
// The parent's absence form skips it when it chooses the default date.
type ClosedDay struct {
	Day  time.Time // midnight, Asia/Tokyo
	Note string    // what the day is, for the console (at most MaxClosedNote characters)
}

// MaxClosedNote is the longest note of a closed day.
const MaxClosedNote = 40

// ClosedDayStore keeps schools' closed days.
type ClosedDayStore interface {
	// FindClosedDays lists a school's closed days from a day on, in order.
	FindClosedDays(ctx context.Context, schoolID int64, from time.Time) ([]ClosedDay, error)
	// AddClosedDay stores a closed day; one already marked is a conflict.
	AddClosedDay(ctx context.Context, schoolID int64, d ClosedDay) error
	// DeleteClosedDay removes a closed day; one not marked is not found.
	DeleteClosedDay(ctx context.Context, schoolID int64, day time.Time) error
}

// ClosedDays returns a school's closed days of its current school year and later, for
// its administrators.
func (s *Service) ClosedDays(ctx context.Context, schoolID int64) (School, []ClosedDay, error) {
	var sc School
	var out []ClosedDay
	err := s.Tx.InTx(ctx, func(ctx context.Context) error {
		var err error
		if sc, err = s.school(ctx, schoolID, authz.ManageSchool); err != nil {
			return err
		}
		out, err = s.Closed.FindClosedDays(ctx, sc.ID, YearStart(sc.CurrentYear))
		return err
	})
	return sc, out, err
}

// ParseDay reads a date ("2006-01-02") as a day in Asia/Tokyo.
func ParseDay(v string) (time.Time, error) {
	return time.ParseInLocation("2006-01-02", strings.TrimSpace(v), Tokyo)
}

// AddClosedDay marks a day (YYYY-MM-DD) closed, with an optional note. Audited.
func (s *Service) AddClosedDay(ctx context.Context, schoolID int64, day, note string) error {
	d, err := ParseDay(day)
	f := apperr.Fields{}
	if err != nil || d.Year() < 2000 || d.Year() > 2100 {
		f.Add("day", "school.closed.day_invalid")
	}
	note = strings.TrimSpace(note)
	if utf8.RuneCountInString(note) > MaxClosedNote {
		f.Add("note", "school.closed.note_too_long")
	}
	if err := f.Err(); err != nil {
		return err
	}
	return s.Tx.InTx(ctx, func(ctx context.Context) error {
		sc, err := s.school(ctx, schoolID, authz.ManageSchool)
		if err != nil {
			return err
		}
		if err := s.Closed.AddClosedDay(ctx, sc.ID, ClosedDay{Day: d, Note: note}); err != nil {
			if apperr.KindOf(err) == apperr.Conflict {
				return apperr.Fields{"day": "school.closed.exists"}.Err()
			}
			return err
		}
		return s.Audit.Record(ctx, audit.Event{Actor: actorOf(authz.ActorFrom(ctx)), Action: "school.closed_day_add", ObjectKind: "school",
			ObjectID: id(sc.ID), BoardID: sc.BoardID, SchoolID: sc.ID, Detail: map[string]any{"day": d.Format("2006-01-02")}})
	})
}

// RemoveClosedDay makes a marked day a school day again. Audited.
func (s *Service) RemoveClosedDay(ctx context.Context, schoolID int64, day string) error {
	d, err := ParseDay(day)
	if err != nil {
		return apperr.E(apperr.NotFound, "error.not_found.title", errors.New("not a day"))
	}
	return s.Tx.InTx(ctx, func(ctx context.Context) error {
		sc, err := s.school(ctx, schoolID, authz.ManageSchool)
		if err != nil {
			return err
		}
		if err := s.Closed.DeleteClosedDay(ctx, sc.ID, d); err != nil {
			return err
		}
		return s.Audit.Record(ctx, audit.Event{Actor: actorOf(authz.ActorFrom(ctx)), Action: "school.closed_day_remove", ObjectKind: "school",
			ObjectID: id(sc.ID), BoardID: sc.BoardID, SchoolID: sc.ID, Detail: map[string]any{"day": d.Format("2006-01-02")}})
	})
}
