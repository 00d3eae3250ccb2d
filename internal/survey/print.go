package survey

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/go-pdf/fpdf"

	"github.com/renraku/renraku/internal/apperr"
	"github.com/renraku/renraku/internal/audit"
	"github.com/renraku/renraku/internal/pdffont"
	"github.com/renraku/renraku/internal/school"
)

// Print lays the answers the actor may see out for printing: A4, one class a page
// (a class's rows continue on the next page when they do not fit), each page with the
// survey's title, the class, its counts and a table of its units and their answers.
// Printing is audited with the pages' classes and rows.
func (s *Service) Print(ctx context.Context, id int64, lang string) ([]byte, error) {
	var sv Survey
	var units []ResultUnit
	err := s.Tx.InTx(ctx, func(ctx context.Context) error {
		a, found, readable, err := s.readableUnits(ctx, id)
		if err != nil {
			return err
		}
		sv, units = found, readable
		classes := map[int64]bool{}
		for _, u := range units {
			classes[u.ClassID] = true
		}
		return s.Audit.Record(ctx, audit.Event{Actor: staffActor(a), Action: "survey.print", ObjectKind: "survey",
			ObjectID: strconv.FormatInt(id, 10), BoardID: sv.BoardID, SchoolID: sv.SchoolID,
			Detail: map[string]any{"rows": len(units), "classes": len(classes)}})
	})
	if err != nil {
		return nil, err
	}
	font, err := pdffont.Load(s.FontPath)
	if err != nil {
		return nil, apperr.E(apperr.Internal, "survey_results.print.font", err)
	}
	return s.printPDF(lang, font, sv, units)
}

func (s *Service) printPDF(lang string, font []byte, sv Survey, units []ResultUnit) ([]byte, error) {
	t := func(id string, data map[string]any) string { return s.T(lang, id, data) }
	pdf := fpdf.New("P", "mm", "A4", "")
	pdf.AddUTF8FontFromBytes("jp", "", font)
	pdf.SetTitle(sv.Title.Reveal(), true)
	pdf.SetCreator("renraku", true)
	pdf.SetMargins(15, 15, 15)
	pdf.SetAutoPageBreak(false, 15)
	_, pageH := pdf.GetPageSize()
	const width = 180.0
	widths := []float64{48, 26, 106}
	const lineH, pad = 4.5, 1.5
	header := func() {
		pdf.SetFont("jp", "", 9)
		pdf.SetFillColor(235, 240, 245)
		who := t("survey_results.col.nickname", nil)
		if sv.PerChild {
			who = t("survey_results.col.child", nil) + "／" + who
		}
		for i, h := range []string{who, t("survey_results.col.answered_at", nil), t("survey_results.col.answers", nil)} {
			pdf.CellFormat(widths[i], 7, h, "1", 0, "C", true, 0, "")
		}
		pdf.Ln(-1)
	}
	for start := 0; start < len(units); {
		end := start
		for end < len(units) && units[end].ClassID == units[start].ClassID {
			end++
		}
		class := units[start:end]
		start = end
		var r Results
		r.Survey = sv
		summarise(&r, class)
		pdf.AddPage()
		pdf.SetFont("jp", "", 14)
		pdf.CellFormat(width, 9, pdffont.Fit(pdf, sv.Title.Reveal(), width), "", 1, "L", false, 0, "")
		pdf.SetFont("jp", "", 11)
		pdf.CellFormat(width, 7, t("survey_results.print.class", map[string]any{"Class": class[0].ClassLabel,
			"Answered": r.Answered, "Units": r.Units, "Deadline": sv.Deadline.In(school.Tokyo).Format("2006/01/02 15:04")}), "", 1, "L", false, 0, "")
		pdf.SetFont("jp", "", 9)
		for _, qr := range r.Questions {
			line := s.countsLine(lang, qr)
			if line == "" {
				continue
			}
			for _, l := range pdffont.Wrap(pdf, qr.Question.Text+"："+line, width) {
				pdf.CellFormat(width, 5, l, "", 1, "L", false, 0, "")
			}
		}
		pdf.Ln(2)
		header()
		for _, u := range class {
			who := u.Nickname().Reveal()
			if sv.PerChild {
				who = u.Child() + "\n" + who
			}
			at := t("survey_results.pending", nil)
			var answers []string
			if !u.AnsweredAt.IsZero() {
				at = u.AnsweredAt.In(school.Tokyo).Format("1/2 15:04")
				for _, q := range sv.Questions {
					if v, ok := u.Answers[q.Key]; ok {
						answers = append(answers, q.Text+"："+s.Display(lang, q, v))
					}
				}
			}
			cells := []string{who, at, strings.Join(answers, "\n")}
			lines := make([][]string, len(cells))
			rows := 1
			for i, c := range cells {
				lines[i] = pdffont.Wrap(pdf, c, widths[i]-2*pad)
				rows = max(rows, len(lines[i]))
			}
			h := float64(rows)*lineH + 2*pad
			if pdf.GetY()+h > pageH-15 {
				pdf.AddPage()
				header()
			}
			x0, y0 := pdf.GetXY()
			x := x0
			for i := range cells {
				pdf.Rect(x, y0, widths[i], h, "D")
				for j, l := range lines[i] {
					pdf.SetXY(x+pad, y0+pad+float64(j)*lineH)
					pdf.CellFormat(widths[i]-2*pad, lineH, l, "", 0, "L", false, 0, "")
				}
				x += widths[i]
			}
			pdf.SetXY(x0, y0+h)
		}
	}
	if len(units) == 0 {
		pdf.AddPage()
		pdf.SetFont("jp", "", 14)
		pdf.CellFormat(width, 9, pdffont.Fit(pdf, sv.Title.Reveal(), width), "", 1, "L", false, 0, "")
		pdf.SetFont("jp", "", 11)
		pdf.CellFormat(width, 7, t("survey_results.print.none", nil), "", 1, "L", false, 0, "")
	}
	var out bytes.Buffer
	if err := pdf.Output(&out); err != nil {
		return nil, fmt.Errorf("survey: print: %w", err)
	}
	return out.Bytes(), nil
}

// countsLine sums a question's answers in a line: 参加 3、不参加 1 / 合計 12人（平均 2.0人）/
// 同意 4; "" for text questions.
func (s *Service) countsLine(lang string, qr QuestionResult) string {
	q := qr.Question
	switch q.Kind {
	case Single, Multi, Date:
		parts := make([]string, len(qr.Bars))
		for i, b := range qr.Bars {
			parts[i] = b.Label + " " + strconv.Itoa(b.Count)
		}
		return strings.Join(parts, "、")
	case Number:
		return s.T(lang, "survey_results.number", map[string]any{"Total": qr.Total, "Average": strconv.FormatFloat(qr.Average, 'f', 1, 64), "Unit": q.Unit, "Count": qr.Numbers})
	case Consent:
		return s.T(lang, "survey_results.consent.count", map[string]any{"Agreed": qr.Agreed, "Answered": qr.Answered})
	}
	return ""
}
