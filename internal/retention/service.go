package retention

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/riverqueue/river"

	"github.com/renraku/renraku/internal/apperr"
	"github.com/renraku/renraku/internal/audit"
	"github.com/renraku/renraku/internal/authz"
	"github.com/renraku/renraku/internal/clock"
	"github.com/renraku/renraku/internal/files"
	"github.com/renraku/renraku/internal/jobs"
	"github.com/renraku/renraku/internal/school"
	"github.com/renraku/renraku/internal/txn"
)

// Service is retention's use cases.
type Service struct {
	Tx    txn.Transactor
	Store Store
	Files files.Store
	Audit *audit.Log
	Log   *slog.Logger
	// FontPath is a TrueType font with Japanese glyphs for certificates ("" searches
	// the usual places).
	FontPath string
	// T translates into a language (certificates are printed in Japanese).
	T func(lang, id string, data map[string]any) string
	// Clock is the service's time (its zero value reads the system time; tests
	// set it on a running app while workers read it).
	Clock clock.Clock
	// EndFriends finishes ending the registrations of LINE friends whose guardians the
	// single-year deletion removed (copies wiped, told, guest menu); it returns how many
	// copies it wiped.
	EndFriends func(ctx context.Context, friendIDs []int64) (int, error)
}

func (s *Service) now() time.Time {
	return s.Clock.Now()
}

// board authorises the board's own retention settings and records.
func board(ctx context.Context) (*authz.Actor, error) {
	a := authz.ActorFrom(ctx)
	if err := authz.Check(a, authz.ManageBoard, authz.Target{BoardID: a.BoardIDOrZero()}); err != nil {
		return nil, err
	}
	return a, nil
}

// Policy returns the board's policy (the defaults until one is saved).
func (s *Service) Policy(ctx context.Context) (Policy, error) {
	a, err := board(ctx)
	if err != nil {
		return Policy{}, err
	}
	var p Policy
	err = s.Tx.InTx(ctx, func(ctx context.Context) error {
		p, err = s.Store.FindPolicy(ctx, a.BoardID)
		return err
	})
	return p, err
}

// SavePolicy checks and stores the board's retention periods.
func (s *Service) SavePolicy(ctx context.Context, p Policy) error {
	a, err := board(ctx)
	if err != nil {
		return err
	}
	f := apperr.Fields{}
	for name, v := range map[string]int{"message_days": p.MessageDays, "absence_days": p.AbsenceDays, "announcement_days": p.AnnouncementDays,
		"survey_days": p.SurveyDays} {
		if v < MinDays || v > MaxDays {
			f.Add(name, "retention.days.invalid")
		}
	}
	if err := f.Err(); err != nil {
		return err
	}
	p.BoardID = a.BoardID
	return s.Tx.InTx(ctx, func(ctx context.Context) error {
		old, err := s.Store.FindPolicy(ctx, a.BoardID)
		if err != nil {
			return err
		}
		// Switched on, the single-year deletion first runs at the end of this school
		// year, never at once.
		p.SingleYearDone = old.SingleYearDone
		if p.SingleYear && !old.SingleYear {
			p.SingleYearDone = school.YearOf(s.now())
		}
		if err := s.Store.SavePolicy(ctx, p); err != nil {
			return err
		}
		return s.Audit.Record(ctx, audit.Event{Actor: audit.Actor{Kind: audit.Staff, ID: a.StaffID}, Action: "retention.policy",
			BoardID: a.BoardID, Detail: map[string]any{"message_days": p.MessageDays, "absence_days": p.AbsenceDays, "announcement_days": p.AnnouncementDays,
				"survey_days": p.SurveyDays, "delete_on_leave": p.DeleteOnLeave, "single_year": p.SingleYear}})
	})
}

// Preview says what the board's policy would delete now (a dry run: nothing changes).
func (s *Service) Preview(ctx context.Context) ([]Item, error) {
	a, err := board(ctx)
	if err != nil {
		return nil, err
	}
	return s.apply(ctx, a.BoardID, true, "board_admin:"+strconv.FormatInt(a.StaffID, 10), audit.Actor{Kind: audit.Staff, ID: a.StaffID})
}

// RunNow applies the board's policy at once, as the daily job would.
func (s *Service) RunNow(ctx context.Context) ([]Item, error) {
	a, err := board(ctx)
	if err != nil {
		return nil, err
	}
	return s.apply(ctx, a.BoardID, false, "board_admin:"+strconv.FormatInt(a.StaffID, 10), audit.Actor{Kind: audit.Staff, ID: a.StaffID})
}

// Apply runs a board's policy for the system (the nightly job); dry only counts.
func (s *Service) Apply(ctx context.Context, boardID int64, dry bool) ([]Item, error) {
	return s.apply(ctx, boardID, dry, "system", audit.SystemActor)
}

// ApplyByOperator runs a board's policy for `renraku retention run` (an operator on the
// server), recorded as such.
func (s *Service) ApplyByOperator(ctx context.Context, boardID int64, dry bool) ([]Item, error) {
	return s.apply(ctx, boardID, dry, "operator", audit.OperatorActor)
}

func (s *Service) apply(ctx context.Context, boardID int64, dry bool, actor string, who audit.Actor) ([]Item, error) {
	var items []Item
	var keys []string
	err := s.Tx.InTx(ctx, func(ctx context.Context) error {
		p, err := s.Store.FindPolicy(ctx, boardID)
		if err != nil {
			return err
		}
		if p.SingleYear && school.YearOf(s.now()) > p.SingleYearDone {
			ye, friends, err := s.Store.YearEnd(ctx, boardID, dry)
			if err != nil {
				return err
			}
			if !dry {
				copies := 0
				if s.EndFriends != nil {
					if copies, err = s.EndFriends(ctx, friends); err != nil {
						return err
					}
				}
				ye = append(ye, Item{Category: "line_copy", Count: copies, Reason: "year_end", Policy: "single_year"})
				if err := s.Store.MarkYearEnd(ctx, boardID, school.YearOf(s.now())); err != nil {
					return err
				}
			}
			items = append(items, ye...)
		}
		more, k, err := s.Store.Apply(ctx, p, s.now(), dry)
		if err != nil {
			return err
		}
		items, keys = append(items, more...), k
		if dry {
			return nil
		}
		if err := s.Store.RecordRun(ctx, boardID, newRunID(), actor, items); err != nil {
			return err
		}
		detail := map[string]any{}
		for _, it := range items {
			detail[it.Reason+"."+it.Category] = it.Count
		}
		return s.Audit.Record(ctx, audit.Event{Actor: who, Action: "retention.run", BoardID: boardID, Detail: detail})
	})
	if err != nil {
		return nil, err
	}
	for _, k := range keys {
		if err := s.Files.Delete(ctx, k); err != nil && s.Log != nil {
			s.Log.Error("retention: handout file not removed", "err", err)
		}
	}
	return items, nil
}

func newRunID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	b[6], b[8] = b[6]&0x0f|0x40, b[8]&0x3f|0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// Records lists the board's deletion records of a period (from and to are days in
// Asia/Tokyo, both included). Viewing them is audited.
func (s *Service) Records(ctx context.Context, from, to time.Time) ([]Record, error) {
	a, err := board(ctx)
	if err != nil {
		return nil, err
	}
	if to.Before(from) {
		return nil, apperr.Fields{"to": "retention.period.invalid"}.Err()
	}
	var out []Record
	err = s.Tx.InTx(ctx, func(ctx context.Context) error {
		if out, err = s.Store.FindRecords(ctx, a.BoardID, school.Day(from), school.Day(to).AddDate(0, 0, 1)); err != nil {
			return err
		}
		return s.Audit.Record(ctx, audit.Event{Actor: audit.Actor{Kind: audit.Staff, ID: a.StaffID}, Action: "retention.records_view",
			BoardID: a.BoardID, Detail: map[string]any{"rows": len(out)}})
	})
	return out, err
}

// Page is the board's retention page: what the policy would delete now, and the last
// year's deletion records, with the period the certificate form suggests (this school
// year's start to today, in Asia/Tokyo by the service's clock).
type Page struct {
	Preview  []Item
	Records  []Record
	From, To time.Time
}

// OpenPage returns the board's retention page. Viewing the records is audited.
func (s *Service) OpenPage(ctx context.Context) (Page, error) {
	var p Page
	var err error
	if p.Preview, err = s.Preview(ctx); err != nil {
		return Page{}, err
	}
	now := s.now().In(school.Tokyo)
	p.From, p.To = school.YearStart(school.YearOf(now)), now
	if p.Records, err = s.Records(ctx, now.AddDate(-1, 0, 0), now); err != nil {
		return Page{}, err
	}
	return p, nil
}

// ApplyArgs is the daily job that applies every board's policy.
type ApplyArgs struct{}

// Kind names the job.
func (ApplyArgs) Kind() string { return "retention.apply" }

// InsertOpts puts it on the maintenance queue.
func (ApplyArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{Queue: jobs.QueueMaintenance} }

type applyWorker struct {
	river.WorkerDefaults[ApplyArgs]
	s *Service
}

func (w *applyWorker) Work(ctx context.Context, _ *river.Job[ApplyArgs]) error {
	var ids []int64
	err := w.s.Tx.InTx(ctx, func(ctx context.Context) error {
		var err error
		ids, err = w.s.Store.BoardIDs(ctx)
		return err
	})
	if err != nil {
		return err
	}
	var failed error
	for _, id := range ids {
		if _, err := w.s.Apply(ctx, id, false); err != nil {
			failed = errors.Join(failed, fmt.Errorf("board %d: %w", id, err))
		}
	}
	return failed
}

// RunHour is the hour (Asia/Tokyo) the daily job runs: at night, away from the
// morning's absence reports.
const RunHour = 2

// Workers registers the daily job and returns its schedule (02:00 every night, on one
// instance).
func (s *Service) Workers(w *river.Workers) []*river.PeriodicJob {
	river.AddWorker(w, &applyWorker{s: s})
	return []*river.PeriodicJob{river.NewPeriodicJob(jobs.Daily(RunHour),
		func() (river.JobArgs, *river.InsertOpts) { return ApplyArgs{}, nil }, nil)}
}
