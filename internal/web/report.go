package web

import (
	"net/http"
	"strconv"
	"time"

	"github.com/renraku/renraku/internal/apperr"
	"github.com/renraku/renraku/internal/csvexport"
	"github.com/renraku/renraku/internal/report"
	"github.com/renraku/renraku/internal/school"
	"github.com/renraku/renraku/web/view"
)

// reportMonth reads ?month=YYYY-MM (default: this month in Asia/Tokyo).
func reportMonth(r *http.Request) (time.Time, error) {
	m := r.URL.Query().Get("month")
	if m == "" {
		return report.MonthStart(time.Now()), nil
	}
	t, err := time.ParseInLocation("2006-01", m, school.Tokyo)
	if err != nil {
		return t, apperr.E(apperr.Invalid, "report.month.invalid", err)
	}
	return t, nil
}

func (s *Server) reportPage(w http.ResponseWriter, r *http.Request) {
	month, err := reportMonth(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	rep, err := s.Reports.Monthly(r.Context(), month, "page")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	loc := localizer(r)
	lang := loc.Lang()
	m := rep.Month.Format("2006-01")
	v := view.ReportPage{Month: m, Heading: loc.T("report.heading", map[string]any{"Board": rep.Board, "Month": rep.Month.Format(loc.T("report.month_layout"))}),
		Columns: s.Reports.Columns(lang), CSV: "/admin/reports/export?format=csv&month=" + m, PDF: "/admin/reports/export?format=pdf&month=" + m,
		Prev:         "/admin/reports?month=" + rep.Month.AddDate(0, -1, 0).Format("2006-01"),
		Availability: loc.T("report.availability_line", map[string]any{"Percent": strconv.FormatFloat(rep.Availability(), 'f', 2, 64), "Up": rep.Up, "Minutes": rep.Minutes})}
	if next := rep.Month.AddDate(0, 1, 0); !next.After(time.Now()) {
		v.Next = "/admin/reports?month=" + next.Format("2006-01")
	}
	for _, row := range rep.Rows {
		v.Rows = append(v.Rows, view.ReportRow{Name: s.Reports.RowName(lang, row), Values: report.Values(row)})
	}
	v.Total = view.ReportRow{Name: loc.T("report.total"), Values: report.Values(rep.Total)}
	for _, c := range rep.Channels {
		quota := loc.T("report.quota_unknown")
		if c.Quota > 0 {
			quota = strconv.FormatInt(c.Quota, 10)
		}
		v.Channels = append(v.Channels, loc.T("report.channel_line", map[string]any{"ID": c.LineChannelID, "Schools": c.Schools, "Used": c.Used,
			"Quota": quota, "Failures": c.Failures}))
	}
	if len(rep.Rows) > 1 {
		v.Withdrawals = loc.T("report.withdrawals_line", map[string]any{"Count": rep.Withdrawals})
	}
	for _, d := range rep.Daily {
		v.ChartMax = max(v.ChartMax, d.Absences, d.Messages)
	}
	for _, d := range rep.Daily {
		b := view.ReportBar{Day: strconv.Itoa(d.Day.Day()), Absences: d.Absences, Messages: d.Messages}
		if v.ChartMax > 0 {
			b.AbsH, b.MsgH = 100*d.Absences/v.ChartMax, 100*d.Messages/v.ChartMax
		}
		v.Chart = append(v.Chart, b)
	}
	s.render(w, r, http.StatusOK, view.MonthlyReport(s.page(r, "report.title"), v))
}

func (s *Server) reportExport(w http.ResponseWriter, r *http.Request) {
	month, err := reportMonth(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	format := r.URL.Query().Get("format")
	if format != "csv" && format != "pdf" {
		s.fail(w, r, apperr.E(apperr.NotFound, "error.not_found.title", nil))
		return
	}
	rep, err := s.Reports.Monthly(r.Context(), month, format)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	name := "renraku-report-" + rep.Month.Format("2006-01")
	if format == "pdf" {
		pdf, err := s.Reports.PDF(rep)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		servePDF(w, name+".pdf", pdf)
		return
	}
	data, err := s.Reports.CSV(rep, localizer(r).Lang())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.sendCSV(w, r, name+".csv", csvexport.File{Data: data, Encoding: csvexport.UTF8BOM})
}
