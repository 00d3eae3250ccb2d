// Package report is the monthly operations report per school and board (SPEC P9, seed
// 002): registrations, registered guardians, absence reports, messages each way,
// announcements, LINE messages used against the quota, delivery failures and
// availability — counts only (P8), never a name.
package report

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/go-pdf/fpdf"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"

	"github.com/renraku/renraku/internal/apperr"
	"github.com/renraku/renraku/internal/audit"
	"github.com/renraku/renraku/internal/authz"
	"github.com/renraku/renraku/internal/clock"
	"github.com/renraku/renraku/internal/csvexport"
	"github.com/renraku/renraku/internal/jobs"
	"github.com/renraku/renraku/internal/pdffont"
	"github.com/renraku/renraku/internal/school"
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
	// Quota is the monthly limit (0: unknown or unlimited), read from LINE for the
	// current month only.
	Quota int64
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
	Minutes  int // minutes of the month so far
	Up       int // minutes with a beat
	// Withdrawals are counted for the board (a withdrawal deletes the school links).
	Withdrawals int
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
	Figures(ctx context.Context, db pgx.Tx, boardID, schoolID int64, from, to time.Time) ([]Row, error)
	Daily(ctx context.Context, db pgx.Tx, boardID, schoolID int64, from, to time.Time) ([]Day, error)
	Withdrawals(ctx context.Context, db pgx.Tx, boardID int64, from, to time.Time) (int, error)
	// Channels returns the month's LINE use and failures of the channels of a board's
	// schools (schoolID 0: all of them).
	Channels(ctx context.Context, db pgx.Tx, boardID, schoolID int64, from, to time.Time) ([]Channel, error)
	Beats(ctx context.Context, db pgx.Tx, from, to time.Time) (int, error)
	Beat(ctx context.Context, db pgx.Tx, at time.Time) error
	// FirstBeat returns the first minute renraku ever recorded.
	FirstBeat(ctx context.Context, db pgx.Tx) (time.Time, bool, error)
	BoardName(ctx context.Context, db pgx.Tx, boardID int64) (string, error)
}

// Service is the reports' use cases.
type Service struct {
	Pool     *pgxpool.Pool
	Store    Store
	Audit    *audit.Log
	FontPath string
	T        func(lang, id string, data map[string]any) string
	// Clock is the service's time (its zero value reads the system time; tests
	// set it on a running app while workers read it).
	Clock clock.Clock
	// Quota reads a channel's monthly limit from LINE (for the current month's report).
	Quota func(ctx context.Context, channelID int64) (int64, bool)
}

func (s *Service) now() time.Time {
	return s.Clock.Now()
}

// MonthStart is the first instant of t's month in Asia/Tokyo.
func MonthStart(t time.Time) time.Time {
	y, m, _ := t.In(school.Tokyo).Date()
	return time.Date(y, m, 1, 0, 0, 0, 0, school.Tokyo)
}

// Monthly returns the report of a month for the actor's board (administrators of the
// board: every school) or school. Viewing it is audited (format: page, csv, pdf).
func (s *Service) Monthly(ctx context.Context, month time.Time, format string) (Report, error) {
	a := authz.ActorFrom(ctx)
	if err := authz.Check(a, authz.ViewReports, authz.Target{BoardID: a.BoardIDOrZero(), SchoolID: a.SchoolIDOrZero()}); err != nil {
		return Report{}, err
	}
	from := MonthStart(month)
	to := from.AddDate(0, 1, 0)
	if from.After(s.now()) {
		return Report{}, apperr.E(apperr.Invalid, "report.month.future", errors.New("month in the future"))
	}
	r := Report{Month: from}
	err := pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error {
		var err error
		if r.Board, err = s.Store.BoardName(ctx, tx, a.BoardID); err != nil {
			return err
		}
		if r.Rows, err = s.Store.Figures(ctx, tx, a.BoardID, a.SchoolID, from, to); err != nil {
			return err
		}
		for _, row := range r.Rows {
			r.Total.Add(row)
		}
		if r.Daily, err = s.Store.Daily(ctx, tx, a.BoardID, a.SchoolID, from, to); err != nil {
			return err
		}
		if r.Channels, err = s.Store.Channels(ctx, tx, a.BoardID, a.SchoolID, from, to); err != nil {
			return err
		}
		if a.SchoolID == 0 {
			if r.Withdrawals, err = s.Store.Withdrawals(ctx, tx, a.BoardID, from, to); err != nil {
				return err
			}
		}
		end := to
		if now := s.now(); now.Before(end) {
			end = now
		}
		// Minutes before renraku was first started are not counted as down.
		start := from
		first, ok, err := s.Store.FirstBeat(ctx, tx)
		if err != nil {
			return err
		}
		if ok && first.After(start) {
			start = first
		}
		if end.After(start) {
			r.Minutes = int(end.Sub(start)/time.Minute) + 1
		}
		if r.Up, err = s.Store.Beats(ctx, tx, from, end); err != nil {
			return err
		}
		return s.Audit.Record(ctx, tx, audit.Event{Actor: audit.Actor{Kind: audit.Staff, ID: a.StaffID}, Action: "report.view",
			BoardID: a.BoardID, SchoolID: a.SchoolID, Detail: map[string]any{"month": from.Format("2006-01"), "format": format}})
	})
	if err == nil && s.Quota != nil && MonthStart(s.now()).Equal(from) {
		for i := range r.Channels {
			if q, ok := s.Quota(ctx, r.Channels[i].ID); ok {
				r.Channels[i].Quota = q
			}
		}
	}
	return r, err
}

// columns are the report's figures in order, with their message IDs.
var columns = []struct {
	id  string
	get func(Row) int
}{
	{"report.registrations", func(r Row) int { return r.Registrations }},
	{"report.guardians", func(r Row) int { return r.Guardians }},
	{"report.absences", func(r Row) int { return r.AbsenceReports }},
	{"report.messages_in", func(r Row) int { return r.MessagesIn }},
	{"report.messages_out", func(r Row) int { return r.MessagesOut }},
	{"report.announcements", func(r Row) int { return r.Announcements }},
	{"report.safety_alerts", func(r Row) int { return r.SafetyAlerts }},
}

// Columns returns the figures' labels in lang and a row's values, in order.
func (s *Service) Columns(lang string) []string {
	out := make([]string, len(columns))
	for i, c := range columns {
		out[i] = s.T(lang, c.id, nil)
	}
	return out
}

// Values returns a row's figures in the order of Columns.
func Values(r Row) []int {
	out := make([]int, len(columns))
	for i, c := range columns {
		out[i] = c.get(r)
	}
	return out
}

// RowName is a row's name in lang: its school, or the board for the board's own.
func (s *Service) RowName(lang string, r Row) string {
	if r.SchoolID == 0 {
		return s.T(lang, "report.board_row", nil)
	}
	return r.School
}

// CSV writes the report as UTF-8 with a BOM (Excel opens it as such). Counts are
// typed number cells; school and channel names go through csvexport as text.
func (s *Service) CSV(r Report, lang string) ([]byte, error) {
	t := csvexport.NewTable(append([]string{s.T(lang, "report.month", nil), s.T(lang, "report.school", nil)}, s.Columns(lang)...)...)
	month := csvexport.Text(r.Month.Format("2006-01"))
	text := func(id string, data map[string]any) csvexport.Cell { return csvexport.Text(s.T(lang, id, data)) }
	for _, row := range append(r.Rows, Row{School: s.T(lang, "report.total", nil), SchoolID: -1}) {
		vals := Values(row)
		if row.SchoolID == -1 {
			vals = Values(r.Total)
		}
		name := row.School
		if row.SchoolID != -1 {
			name = s.RowName(lang, row)
		}
		rec := []csvexport.Cell{month, csvexport.Text(name)}
		for _, v := range vals {
			rec = append(rec, csvexport.Int(v))
		}
		t.Row(rec...)
	}
	for _, c := range r.Channels {
		quota := csvexport.Text("")
		if c.Quota > 0 {
			quota = csvexport.Int(c.Quota)
		}
		t.Row(month, text("report.channel", map[string]any{"ID": c.LineChannelID, "Schools": c.Schools}),
			text("report.line_messages", nil), csvexport.Int(c.Used), text("report.quota", nil), quota,
			text("report.failures", nil), csvexport.Int(c.Failures))
	}
	t.Row(month, text("report.availability", nil), csvexport.Float(r.Availability(), 2))
	if r.Withdrawals > 0 || len(r.Rows) > 1 {
		t.Row(month, text("report.withdrawals", nil), csvexport.Int(r.Withdrawals))
	}
	f, err := t.Encode(csvexport.UTF8BOM)
	return f.Data, err
}

// PDF prints the report in Japanese, A4 landscape, with a bar chart of each day's
// absence reports and parents' messages.
func (s *Service) PDF(r Report) ([]byte, error) {
	font, err := pdffont.Load(s.FontPath)
	if err != nil {
		return nil, apperr.E(apperr.Internal, "retention.certificate.font", err)
	}
	t := func(id string, data map[string]any) string { return s.T(reportLanguage, id, data) }
	pdf := fpdf.New("L", "mm", "A4", "")
	pdf.AddUTF8FontFromBytes("jp", "", font)
	pdf.SetTitle(t("report.title", nil), true)
	pdf.SetMargins(12, 12, 12)
	pdf.AddPage()
	pdf.SetFont("jp", "", 16)
	pdf.CellFormat(0, 10, t("report.heading", map[string]any{"Board": r.Board, "Month": r.Month.Format(t("report.month_layout", nil))}), "", 1, "L", false, 0, "")
	pdf.SetFont("jp", "", 9)
	pdf.CellFormat(0, 6, t("report.note", nil), "", 1, "L", false, 0, "")
	pdf.Ln(2)
	cols := s.Columns(reportLanguage)
	w0, w := 52.0, (273.0-52.0)/float64(len(cols))
	pdf.SetFillColor(235, 240, 245)
	pdf.SetFontSize(7.5)
	pdf.CellFormat(w0, 10, t("report.school", nil), "1", 0, "C", true, 0, "")
	for _, c := range cols {
		pdf.CellFormat(w, 10, pdffont.Fit(pdf, c, w-1.5), "1", 0, "C", true, 0, "")
	}
	pdf.SetFontSize(9)
	pdf.Ln(-1)
	line := func(name string, row Row) {
		pdf.CellFormat(w0, 7, pdffont.Fit(pdf, name, w0-2), "1", 0, "L", false, 0, "")
		for _, v := range Values(row) {
			pdf.CellFormat(w, 7, strconv.Itoa(v), "1", 0, "R", false, 0, "")
		}
		pdf.Ln(-1)
	}
	for _, row := range r.Rows {
		line(s.RowName(reportLanguage, row), row)
	}
	line(t("report.total", nil), r.Total)
	pdf.Ln(3)
	for _, c := range r.Channels {
		quota := t("report.quota_unknown", nil)
		if c.Quota > 0 {
			quota = strconv.FormatInt(c.Quota, 10)
		}
		pdf.CellFormat(0, 6, t("report.channel_line", map[string]any{"ID": c.LineChannelID, "Schools": c.Schools, "Used": c.Used,
			"Quota": quota, "Failures": c.Failures}), "", 1, "L", false, 0, "")
	}
	pdf.CellFormat(0, 6, t("report.availability_line", map[string]any{"Percent": fmt.Sprintf("%.2f", r.Availability()), "Up": r.Up, "Minutes": r.Minutes}), "", 1, "L", false, 0, "")
	if len(r.Rows) > 1 {
		pdf.CellFormat(0, 6, t("report.withdrawals_line", map[string]any{"Count": r.Withdrawals}), "", 1, "L", false, 0, "")
	}
	// The chart: a pair of bars a day.
	pdf.Ln(3)
	pdf.CellFormat(0, 6, t("report.chart", nil), "", 1, "L", false, 0, "")
	top, height, left := pdf.GetY()+2, 45.0, 14.0
	most := 1
	for _, d := range r.Daily {
		most = max(most, d.Absences, d.Messages)
	}
	slot := 265.0 / 31
	for i, d := range r.Daily {
		x := left + float64(i)*slot
		for j, v := range []int{d.Absences, d.Messages} {
			h := height * float64(v) / float64(most)
			if j == 0 {
				pdf.SetFillColor(6, 199, 85)
			} else {
				pdf.SetFillColor(70, 110, 200)
			}
			pdf.Rect(x+float64(j)*slot/2.6, top+height-h, slot/2.8, h, "F")
		}
		pdf.SetXY(x, top+height+1)
		pdf.SetFontSize(6)
		pdf.CellFormat(slot, 3, strconv.Itoa(d.Day.Day()), "", 0, "C", false, 0, "")
	}
	pdf.SetFontSize(8)
	pdf.SetXY(left, top+height+6)
	pdf.CellFormat(0, 5, t("report.legend", map[string]any{"Max": most}), "", 1, "L", false, 0, "")
	var out bytes.Buffer
	if err := pdf.Output(&out); err != nil {
		return nil, fmt.Errorf("report: pdf: %w", err)
	}
	return out.Bytes(), nil
}

// reportLanguage is the language of the board's printed reports.
const reportLanguage = "ja"

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
	return pgx.BeginFunc(ctx, w.s.Pool, func(tx pgx.Tx) error { return w.s.Store.Beat(ctx, tx, w.s.now()) })
}

// Workers registers the minute's beat (on one instance, the job queue's leader).
func (s *Service) Workers(w *river.Workers) []*river.PeriodicJob {
	river.AddWorker(w, &beatWorker{s: s})
	return []*river.PeriodicJob{river.NewPeriodicJob(river.PeriodicInterval(time.Minute),
		func() (river.JobArgs, *river.InsertOpts) { return BeatArgs{}, nil }, &river.PeriodicJobOpts{RunOnStart: true})}
}
