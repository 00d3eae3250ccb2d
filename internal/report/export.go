package report

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/go-pdf/fpdf"

	"github.com/renraku/renraku/internal/apperr"
	"github.com/renraku/renraku/internal/csvexport"
	"github.com/renraku/renraku/internal/pdffont"
)

// CSV writes a sheet as UTF-8 with a BOM (Excel opens it as such): each table under
// its own header row, every row starting with the month, a blank line between tables.
// Figures are number cells; names go through csvexport as text.
func (s *Service) CSV(sh Sheet, lang string) ([]byte, error) {
	month := s.T(lang, "report.month", nil)
	var t *csvexport.Table
	for i, tb := range sh.Tables {
		header := append([]string{month}, tb.Header...)
		if i == 0 {
			t = csvexport.NewTable(header...)
		} else {
			t.Row()
			t.TextRow(header...)
		}
		for _, row := range tb.Rows {
			rec := []csvexport.Cell{csvexport.Text(sh.Month.Format("2006-01"))}
			for _, c := range row {
				rec = append(rec, c.csv)
			}
			t.Row(rec...)
		}
	}
	f, err := t.Encode(csvexport.UTF8BOM)
	return f.Data, err
}

// PDF prints a sheet (in PrintLanguage), A4 landscape: its tables with every
// character of every cell (long ones wrap), figures right-aligned, and a bar chart of
// each day's absence reports and parents' messages.
func (s *Service) PDF(sh Sheet) ([]byte, error) {
	font, err := pdffont.Load(s.FontPath)
	if err != nil {
		return nil, apperr.E(apperr.Internal, "retention.certificate.font", err)
	}
	pdf := fpdf.New("L", "mm", "A4", "")
	pdf.AddUTF8FontFromBytes("jp", "", font)
	pdf.SetTitle(s.T(PrintLanguage, "report.title", nil), true)
	pdf.SetMargins(12, 12, 12)
	pdf.SetAutoPageBreak(false, 12)
	pdf.SetCellMargin(0)
	pdf.AddPage()
	pdf.SetFont("jp", "", 16)
	pdf.CellFormat(0, 10, sh.Heading, "", 1, "L", false, 0, "")
	note(pdf, sh.Note, 9)
	for _, tb := range sh.Tables {
		var widths []float64
		switch tb.ID {
		case "figures":
			// The school's name, then each figure as wide as its label needs.
			widths = []float64{48, 28, 32, 32, 36, 33, 32, 32}
		case "channels":
			widths = []float64{40, 113, 40, 40, 40}
		default:
			widths = []float64{70, 40}
		}
		if len(widths) != len(tb.Header) {
			widths = nil
			for range tb.Header {
				widths = append(widths, 273/float64(len(tb.Header)))
			}
		}
		pdf.Ln(2)
		pdf.SetFontSize(11)
		pdf.CellFormat(0, 7, tb.Title, "", 1, "L", false, 0, "")
		pdfTable(pdf, tb, widths)
		note(pdf, tb.Note, 8)
	}
	chart(pdf, s.T(PrintLanguage, "report.chart", nil), sh)
	var out bytes.Buffer
	if err := pdf.Output(&out); err != nil {
		return nil, fmt.Errorf("report: pdf: %w", err)
	}
	return out.Bytes(), nil
}

// note writes text in size points, wrapped to the page's width.
func note(pdf *fpdf.Fpdf, text string, size float64) {
	if text == "" {
		return
	}
	pdf.SetFontSize(size)
	for _, l := range pdffont.Wrap(pdf, text, 273) {
		pdf.CellFormat(0, size*0.55, l, "", 1, "L", false, 0, "")
	}
}

// pdfTable draws a table: the header centred on a tint, figures right-aligned, the
// total on a tint; a row that does not fit on the page starts a new one under the
// header again.
func pdfTable(pdf *fpdf.Fpdf, tb Table, widths []float64) {
	center := make([]string, len(tb.Header))
	align := make([]string, len(tb.Header))
	for i := range tb.Header {
		center[i], align[i] = "C", "L"
		if i < len(tb.Right) && tb.Right[i] {
			align[i] = "R"
		}
	}
	header := func() { pdfRow(pdf, widths, tb.Header, center, true, 8, nil) }
	header()
	for i, row := range tb.Rows {
		texts := make([]string, len(row))
		for j, c := range row {
			texts[j] = c.Text
		}
		pdfRow(pdf, widths, texts, align, tb.Total && i == len(tb.Rows)-1, 9, header)
	}
}

// pdfRow draws one row of cells, each wrapped to its width and centred vertically.
func pdfRow(pdf *fpdf.Fpdf, widths []float64, texts, align []string, tint bool, size float64, again func()) {
	const pad = 1.5
	pdf.SetFontSize(size)
	lh := size * 0.3528 * 1.3
	lines := make([][]string, len(texts))
	n := 1
	for i, t := range texts {
		lines[i] = pdffont.Wrap(pdf, t, widths[i]-2*pad)
		n = max(n, len(lines[i]))
	}
	h := float64(n)*lh + 2*pad
	left, _, _, bottom := pdf.GetMargins()
	if _, pageH := pdf.GetPageSize(); pdf.GetY()+h > pageH-bottom && again != nil {
		pdf.AddPage()
		again()
		pdf.SetFontSize(size)
	}
	y := pdf.GetY()
	x := left
	pdf.SetFillColor(235, 240, 245)
	for i := range texts {
		style := "D"
		if tint {
			style = "FD"
		}
		pdf.Rect(x, y, widths[i], h, style)
		top := y + pad + float64(n-len(lines[i]))*lh/2
		for j, l := range lines[i] {
			pdf.SetXY(x+pad, top+float64(j)*lh)
			pdf.CellFormat(widths[i]-2*pad, lh, l, "", 0, align[i], false, 0, "")
		}
		x += widths[i]
	}
	pdf.SetXY(left, y+h)
}

// chart draws a pair of bars a day (on a new page when the rest of this one is short).
func chart(pdf *fpdf.Fpdf, title string, sh Sheet) {
	const height, left = 35.0, 14.0
	if _, pageH := pdf.GetPageSize(); pdf.GetY()+height+22 > pageH-12 {
		pdf.AddPage()
	}
	pdf.Ln(3)
	pdf.SetFontSize(11)
	pdf.CellFormat(0, 7, title, "", 1, "L", false, 0, "")
	top := pdf.GetY() + 2
	most := max(sh.ChartMax, 1)
	slot := 265.0 / 31
	for i, d := range sh.Chart {
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
	pdf.CellFormat(0, 5, sh.Legend, "", 1, "L", false, 0, "")
}

// OpenSheet returns the report page of a month (zero: the current one) in a language.
// Viewing it is audited (Monthly).
func (s *Service) OpenSheet(ctx context.Context, month time.Time, lang string) (Sheet, error) {
	rep, err := s.Monthly(ctx, month, "page")
	if err != nil {
		return Sheet{}, err
	}
	return s.Sheet(rep, lang), nil
}

// Export is a month's report as a file.
type Export struct {
	// Month is the month reported on.
	Month time.Time
	Data  []byte
}

// Export returns a month's report (zero: the current one) as "csv" (in lang) or "pdf"
// (in PrintLanguage); another format is not found. The export is audited (Monthly).
func (s *Service) Export(ctx context.Context, month time.Time, format, lang string) (Export, error) {
	if format != "csv" && format != "pdf" {
		return Export{}, apperr.E(apperr.NotFound, "error.not_found.title", nil)
	}
	rep, err := s.Monthly(ctx, month, format)
	if err != nil {
		return Export{}, err
	}
	e := Export{Month: rep.Month}
	if format == "pdf" {
		e.Data, err = s.PDF(s.Sheet(rep, PrintLanguage))
	} else {
		e.Data, err = s.CSV(s.Sheet(rep, lang), lang)
	}
	if err != nil {
		return Export{}, err
	}
	return e, nil
}
