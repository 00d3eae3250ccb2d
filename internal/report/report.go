// Package report is the monthly operations report per school and board (SPEC P9, seed
// 002): registrations, registered guardians, absence reports, messages each way,
// announcements, LINE messages used against the quota, delivery failures and
// availability — counts only (P8), never a name.
package report

import (
	"context"
	"errors"
	"time"

	"github.com/riverqueue/river"

	"github.com/renraku/renraku/internal/apperr"
	"github.com/renraku/renraku/internal/audit"
	"github.com/renraku/renraku/internal/authz"
	"github.com/renraku/renraku/internal/clock"
	"github.com/renraku/renraku/internal/jobs"
	"github.com/renraku/renraku/internal/school"
	"github.com/renraku/renraku/internal/txn"
)

// Row is one school's figures for a month (SchoolID 0: the board's own, e.g. its
// safety alerts, or its total).
type Row struct {
	SchoolID       int64
	School         string
	Registrations  int // guardians who registered in the month
	Guardians      int // registered guardians (verified, following) now
	AbsenceReports int
	MessagesIn     int // parents' messages
	MessagesOut    int // staff replies
	Announcements  int
	SafetyAlerts   int
}

// Channel is one LINE official account's month: the messages counted against its
// quota (pushes and each multicast recipient) and the deliveries that failed.
type Channel struct {
	ID            int64
	LineChannelID string
	Schools       string
	Used          int
	Failures      int
	// Quota is the monthly limit, read from LINE for the current month only.
	Quota Limit
}

// Limit is a LINE official account's monthly message limit as LINE states it.
type Limit struct {
	// Known is set when LINE told it: LINE tells the current month's limit only.
	Known bool
	// Limited is false for an account without a monthly limit.
	Limited bool
	// Max is the number of messages a month when Limited.
	Max int64
}

// Add adds another row's figures.
func (r *Row) Add(o Row) {
	r.Registrations += o.Registrations
	r.Guardians += o.Guardians
	r.AbsenceReports += o.AbsenceReports
	r.MessagesIn += o.MessagesIn
	r.MessagesOut += o.MessagesOut
	r.Announcements += o.Announcements
	r.SafetyAlerts += o.SafetyAlerts
}

// Report is a month's report.
type Report struct {
	Month    time.Time // the first day, Asia/Tokyo
	Board    string
	Rows     []Row
	Total    Row
	Channels []Channel
	Daily    []Day
	// Minutes are the month's minutes that are over (the current one is not, and may
	// still get its beat), from the first minute renraku ever ran.
	Minutes int
	// Up are the minutes of Minutes with a beat.
	Up int
	// Current is set for the month that is running.
	Current bool
	// Withdrawals are counted for the board (a withdrawal deletes the school links),
	// when the report is BoardWide (the board's administrators').
	Withdrawals int
	BoardWide   bool
}

// Availability is the share of the month's minutes renraku was up, in percent.
func (r Report) Availability() float64 {
	if r.Minutes == 0 {
		return 0
	}
	return 100 * float64(r.Up) / float64(r.Minutes)
}

// Day is one day's absence reports and parents' messages, for the chart.
type Day struct {
	Day      time.Time
	Absences int
	Messages int
}

// Store reads the figures.
type Store interface {
	// Figures returns the month's rows for a board's schools (schoolID 0: all of them)
	// and the board's own row.
	Figures(ctx context.Context, boardID, schoolID int64, from, to time.Time) ([]Row, error)
	Daily(ctx context.Context, boardID, schoolID int64, from, to time.Time) ([]Day, error)
	Withdrawals(ctx context.Context, boardID int64, from, to time.Time) (int, error)
	// Channels returns the month's LINE use and failures of the channels of a board's
	// schools (schoolID 0: all of them).
	Channels(ctx context.Context, boardID, schoolID int64, from, to time.Time) ([]Channel, error)
	Beats(ctx context.Context, from, to time.Time) (int, error)
	Beat(ctx context.Context, at time.Time) error
	// FirstBeat returns the first minute renraku ever recorded.
	FirstBeat(ctx context.Context) (time.Time, bool, error)
	BoardName(ctx context.Context, boardID int64) (string, error)
}

// Service is the reports' use cases.
type Service struct {
	Tx       txn.Transactor
	Store    Store
	Audit    *audit.Log
	FontPath string
	T        func(lang, id string, data map[string]any) string
	// Clock is the service's time (its zero value reads the system time; tests
	// set it on a running app while workers read it).
	Clock clock.Clock
	// Quota reads a channel's monthly limit from LINE (for the current month's report).
	Quota func(ctx context.Context, channelID int64) Limit
}

func (s *Service) now() time.Time {
	return s.Clock.Now()
}

// MonthStart is the first instant of t's month in Asia/Tokyo.
func MonthStart(t time.Time) time.Time {
	y, m, _ := t.In(school.Tokyo).Date()
	return time.Date(y, m, 1, 0, 0, 0, 0, school.Tokyo)
}

// Monthly returns the report of a month (zero: the current one) for the actor's board
// (administrators of the board: every school) or school. Viewing it is audited
// (format: page, csv, pdf).
func (s *Service) Monthly(ctx context.Context, month time.Time, format string) (Report, error) {
	a := authz.ActorFrom(ctx)
	if err := authz.Check(a, authz.ViewReports, authz.Target{BoardID: a.BoardIDOrZero(), SchoolID: a.SchoolIDOrZero()}); err != nil {
		return Report{}, err
	}
	if month.IsZero() {
		month = s.now()
	}
	from := MonthStart(month)
	to := from.AddDate(0, 1, 0)
	if from.After(s.now()) {
		return Report{}, apperr.E(apperr.Invalid, "report.month.future", errors.New("month in the future"))
	}
	r := Report{Month: from, Current: MonthStart(s.now()).Equal(from)}
	err := s.Tx.InTx(ctx, func(ctx context.Context) error {
		var err error
		if r.Board, err = s.Store.BoardName(ctx, a.BoardID); err != nil {
			return err
		}
		if r.Rows, err = s.Store.Figures(ctx, a.BoardID, a.SchoolID, from, to); err != nil {
			return err
		}
		for _, row := range r.Rows {
			r.Total.Add(row)
		}
		if r.Daily, err = s.Store.Daily(ctx, a.BoardID, a.SchoolID, from, to); err != nil {
			return err
		}
		if r.Channels, err = s.Store.Channels(ctx, a.BoardID, a.SchoolID, from, to); err != nil {
			return err
		}
		if r.BoardWide = a.SchoolID == 0; r.BoardWide {
			if r.Withdrawals, err = s.Store.Withdrawals(ctx, a.BoardID, from, to); err != nil {
				return err
			}
		}
		// Only minutes that are over count: the running one may not have its beat yet,
		// and counting it made the same month read 90.91% and, a moment later, 100%.
		end := to
		if now := s.now().Truncate(time.Minute); now.Before(end) {
			end = now
		}
		// Minutes before renraku was first started are not counted as down.
		start := from
		first, ok, err := s.Store.FirstBeat(ctx)
		if err != nil {
			return err
		}
		if ok && first.After(start) {
			start = first
		}
		if end.After(start) {
			r.Minutes = int(end.Sub(start) / time.Minute)
		}
		if r.Up, err = s.Store.Beats(ctx, start, end); err != nil {
			return err
		}
		r.Up = min(r.Up, r.Minutes)
		return s.Audit.Record(ctx, audit.Event{Actor: audit.Actor{Kind: audit.Staff, ID: a.StaffID}, Action: "report.view",
			BoardID: a.BoardID, SchoolID: a.SchoolID, Detail: map[string]any{"month": from.Format("2006-01"), "format": format}})
	})
	if err == nil && s.Quota != nil && r.Current {
		for i := range r.Channels {
			r.Channels[i].Quota = s.Quota(ctx, r.Channels[i].ID)
		}
	}
	return r, err
}

// PrintLanguage is the language of the board's printed (PDF) reports.
const PrintLanguage = "ja"

// BeatArgs is the job that records a minute of availability.
type BeatArgs struct{}

// Kind names the job.
func (BeatArgs) Kind() string { return "report.beat" }

// InsertOpts puts it on the maintenance queue.
func (BeatArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{Queue: jobs.QueueMaintenance} }

type beatWorker struct {
	river.WorkerDefaults[BeatArgs]
	s *Service
}

func (w *beatWorker) Work(ctx context.Context, _ *river.Job[BeatArgs]) error {
	return w.s.Tx.InTx(ctx, func(ctx context.Context) error { return w.s.Store.Beat(ctx, w.s.now()) })
}

// Workers registers the minute's beat (on one instance, the job queue's leader).
func (s *Service) Workers(w *river.Workers) []*river.PeriodicJob {
	river.AddWorker(w, &beatWorker{s: s})
	return []*river.PeriodicJob{river.NewPeriodicJob(river.PeriodicInterval(time.Minute),
		func() (river.JobArgs, *river.InsertOpts) { return BeatArgs{}, nil }, &river.PeriodicJobOpts{RunOnStart: true})}
}
