package web

import (
	"net/http"
	"strconv"
	"time"

	"github.com/renraku/renraku/internal/apperr"
	"github.com/renraku/renraku/internal/csvexport"
	"github.com/renraku/renraku/internal/school"
	"github.com/renraku/renraku/web/view"
)

// reportMonth reads ?month=YYYY-MM (zero: the current month, as the reports' clock has
// it).
func reportMonth(r *http.Request) (time.Time, error) {
	m := r.URL.Query().Get("month")
	if m == "" {
		return time.Time{}, nil
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
	sh, err := s.Reports.OpenSheet(r.Context(), month, localizer(r).Lang())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	m := sh.Month.Format("2006-01")
	v := view.ReportPage{Month: m, Heading: sh.Heading, Note: sh.Note, Legend: sh.Legend, ChartMax: sh.ChartMax,
		CSV: "/admin/reports/export?format=csv&month=" + m, PDF: "/admin/reports/export?format=pdf&month=" + m,
		Prev: "/admin/reports?month=" + sh.Month.AddDate(0, -1, 0).Format("2006-01")}
	if !sh.Current {
		v.Next = "/admin/reports?month=" + sh.Month.AddDate(0, 1, 0).Format("2006-01")
	}
	for _, tb := range sh.Tables {
		vt := view.ReportTable{ID: tb.ID, Title: tb.Title, Header: tb.Header, Right: tb.Right, Total: tb.Total, Note: tb.Note}
		for _, row := range tb.Rows {
			cells := make([]string, len(row))
			for i, c := range row {
				cells[i] = c.Text
			}
			vt.Rows = append(vt.Rows, cells)
		}
		v.Tables = append(v.Tables, vt)
	}
	for _, d := range sh.Chart {
		b := view.ReportBar{Day: strconv.Itoa(d.Day.Day()), Absences: d.Absences, Messages: d.Messages}
		if sh.ChartMax > 0 {
			b.AbsH, b.MsgH = 100*d.Absences/sh.ChartMax, 100*d.Messages/sh.ChartMax
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
	e, err := s.Reports.Export(r.Context(), month, format, localizer(r).Lang())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	name := "renraku-report-" + e.Month.Format("2006-01")
	if format == "pdf" {
		servePDF(w, name+".pdf", e.Data)
		return
	}
	s.sendCSV(w, r, name+".csv", csvexport.File{Data: e.Data, Encoding: csvexport.UTF8BOM})
}
