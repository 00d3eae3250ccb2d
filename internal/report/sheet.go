package report

import (
	"strconv"
	"time"

	"github.com/renraku/renraku/internal/csvexport"
)

// Sheet is a month's report as it is read, in one language. The page, the CSV and the
// PDF each print the Sheet that Service.Sheet makes of a Report, cell by cell, so they
// cannot show different figures or word a figure differently.
type Sheet struct {
	Month   time.Time
	Heading string
	Note    string
	// Tables are the figures per school (with the total), the LINE official accounts,
	// and availability and withdrawals.
	Tables []Table
	// Chart is each day's absence reports and parents' messages; ChartMax the largest.
	Chart    []Day
	ChartMax int
	Legend   string
	// Current is set for the month that is running (there is no next month yet).
	Current bool
}

// Table is one titled grid of a Sheet.
type Table struct {
	// ID names the table for the page's test hooks: figures, channels, operation.
	ID     string
	Title  string
	Header []string
	// Right marks the columns of figures, which are right-aligned in every format.
	Right []bool
	Rows  [][]Cell
	// Total is set when the last row is the total of the others.
	Total bool
	// Note explains the table, under it (empty: nothing to explain).
	Note string
}

// Cell is one value of a Table as it is shown; a figure is also a number in the CSV.
type Cell struct {
	Text string
	csv  csvexport.Cell
}

func textCell(s string) Cell { return Cell{Text: s, csv: csvexport.Text(s)} }

func intCell[N ~int | ~int64](n N) Cell {
	return Cell{Text: strconv.FormatInt(int64(n), 10), csv: csvexport.Int(n)}
}

// percentCell shows a share with two decimals, the same text in the CSV.
func percentCell(p float64) Cell {
	return Cell{Text: strconv.FormatFloat(p, 'f', 2, 64), csv: csvexport.Float(p, 2)}
}

// figures are a row's counts in order, with their labels' message IDs.
var figures = []struct {
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

// Sheet words a report in lang: the one computation behind the page, the CSV and the
// PDF.
func (s *Service) Sheet(r Report, lang string) Sheet {
	t := func(id string, data map[string]any) string { return s.T(lang, id, data) }
	sh := Sheet{Month: r.Month, Current: r.Current, Chart: r.Daily,
		Heading: t("report.heading", map[string]any{"Board": r.Board, "Month": r.Month.Format(t("report.month_layout", nil))}),
		Note:    t("report.note", nil)}

	fig := Table{ID: "figures", Title: t("report.figures_title", nil), Header: []string{t("report.school", nil)}, Right: []bool{false}, Total: true}
	for _, f := range figures {
		fig.Header = append(fig.Header, t(f.id, nil))
		fig.Right = append(fig.Right, true)
	}
	row := func(name string, r Row) []Cell {
		out := []Cell{textCell(name)}
		for _, f := range figures {
			out = append(out, intCell(f.get(r)))
		}
		return out
	}
	for _, x := range r.Rows {
		name := x.School
		if x.SchoolID == 0 {
			name = t("report.board_row", nil)
		}
		fig.Rows = append(fig.Rows, row(name, x))
	}
	fig.Rows = append(fig.Rows, row(t("report.total", nil), r.Total))
	sh.Tables = append(sh.Tables, fig)

	if len(r.Channels) > 0 {
		ch := Table{ID: "channels", Title: t("report.channels_title", nil),
			Header: []string{t("report.channel_id", nil), t("report.school", nil), t("report.line_messages", nil), t("report.quota", nil), t("report.failures", nil)},
			Right:  []bool{false, false, true, true, true}}
		for _, c := range r.Channels {
			var quota Cell
			switch {
			case !c.Quota.Known:
				quota = textCell(t("report.unknown", nil))
				ch.Note = t("report.quota_note", nil)
			case !c.Quota.Limited:
				quota = textCell(t("report.quota_none", nil))
			default:
				quota = intCell(c.Quota.Max)
			}
			ch.Rows = append(ch.Rows, []Cell{textCell(c.LineChannelID), textCell(c.Schools), intCell(c.Used), quota, intCell(c.Failures)})
		}
		sh.Tables = append(sh.Tables, ch)
	}

	// No minute is over yet (renraku has just started): there is no share to give.
	availability := textCell(t("report.unknown", nil))
	if r.Minutes > 0 {
		availability = percentCell(r.Availability())
	}
	op := Table{ID: "operation", Title: t("report.operation_title", nil), Header: []string{t("report.item", nil), t("report.value", nil)},
		Right: []bool{false, true}, Note: t("report.availability_note", nil),
		Rows: [][]Cell{
			{textCell(t("report.availability", nil)), availability},
			{textCell(t("report.minutes_up", nil)), intCell(r.Up)},
			{textCell(t("report.minutes", nil)), intCell(r.Minutes)},
		}}
	if r.BoardWide {
		op.Title = t("report.operation_title_board", nil)
		op.Rows = append(op.Rows, []Cell{textCell(t("report.withdrawals", nil)), intCell(r.Withdrawals)})
	}
	sh.Tables = append(sh.Tables, op)

	for _, d := range r.Daily {
		sh.ChartMax = max(sh.ChartMax, d.Absences, d.Messages)
	}
	sh.Legend = t("report.legend", map[string]any{"Max": sh.ChartMax})
	return sh
}
