package retention

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/go-pdf/fpdf"

	"github.com/renraku/renraku/internal/apperr"
	"github.com/renraku/renraku/internal/audit"
	"github.com/renraku/renraku/internal/pdffont"
	"github.com/renraku/renraku/internal/school"
)

// certificateLanguage is the language of the board's official documents.
const certificateLanguage = "ja"

func (s *Service) font() ([]byte, error) { return pdffont.Load(s.FontPath) }

// Certificate prints the board's certificate of deletion (消去証明書) for a period: every
// deletion record of it, by date, category, count, reason and policy. Printing it is
// audited.
func (s *Service) Certificate(ctx context.Context, from, to time.Time) ([]byte, error) {
	a, err := board(ctx)
	if err != nil {
		return nil, err
	}
	records, err := s.Records(ctx, from, to)
	if err != nil {
		return nil, err
	}
	var name string
	err = s.Tx.InTx(ctx, func(ctx context.Context) error {
		if name, err = s.Store.BoardName(ctx, a.BoardID); err != nil {
			return err
		}
		return s.Audit.Record(ctx, audit.Event{Actor: audit.Actor{Kind: audit.Staff, ID: a.StaffID}, Action: "retention.certificate",
			BoardID: a.BoardID, Detail: map[string]any{"from": from.Format("2006-01-02"), "to": to.Format("2006-01-02"), "records": len(records)}})
	})
	if err != nil {
		return nil, err
	}
	font, err := s.font()
	if err != nil {
		return nil, apperr.E(apperr.Internal, "retention.certificate.font", err)
	}
	t := func(id string, data map[string]any) string { return s.T(certificateLanguage, id, data) }
	return certificatePDF(t, font, name, from, to, s.now(), records)
}

// certificatePDF lays the certificate out in Japanese, the language of the board's
// official documents.
func certificatePDF(t func(string, map[string]any) string, font []byte, board string, from, to, issued time.Time, records []Record) ([]byte, error) {
	jp := func(t time.Time) string { return t.In(school.Tokyo).Format("2006年1月2日") }
	pdf := fpdf.New("P", "mm", "A4", "")
	pdf.AddUTF8FontFromBytes("jp", "", font)
	pdf.SetTitle(t("retention.certificate.title", nil), true)
	pdf.SetCreator("renraku", true)
	pdf.SetMargins(20, 20, 20)
	pdf.SetAutoPageBreak(true, 20)
	pdf.AddPage()
	pdf.SetFont("jp", "", 20)
	pdf.CellFormat(0, 14, t("retention.certificate.title", nil), "", 1, "C", false, 0, "")
	pdf.Ln(4)
	pdf.SetFont("jp", "", 11)
	pdf.CellFormat(0, 7, t("retention.certificate.issued", map[string]any{"Date": jp(issued)}), "", 1, "R", false, 0, "")
	pdf.CellFormat(0, 7, t("retention.certificate.issuer", map[string]any{"Board": board}), "", 1, "R", false, 0, "")
	pdf.Ln(6)
	// fpdf's MultiCell drops a character at each break in Japanese text: wrap here.
	for _, line := range pdffont.Wrap(pdf, t("retention.certificate.statement", map[string]any{"From": jp(from), "To": jp(to)}), 170) {
		pdf.CellFormat(0, 7, line, "", 1, "L", false, 0, "")
	}
	pdf.Ln(4)
	widths := []float64{28, 58, 16, 30, 38}
	head := []string{t("retention.at", nil), t("retention.category", nil), t("retention.count", nil), t("retention.reason", nil), t("retention.basis", nil)}
	pdf.SetFont("jp", "", 9)
	const lineH, pad = 4.5, 1.5
	header := func() {
		pdf.SetFillColor(235, 240, 245)
		for i, h := range head {
			pdf.CellFormat(widths[i], 8, h, "1", 0, "C", true, 0, "")
		}
		pdf.Ln(-1)
	}
	header()
	_, pageH := pdf.GetPageSize()
	_, _, _, bottom := pdf.GetMargins()
	total := 0
	for _, r := range records {
		where := t("retention.category."+r.Category, nil)
		if r.SchoolName != "" {
			where = r.SchoolName + " " + where
		}
		cells := []string{r.OccurredAt.In(school.Tokyo).Format("2006/01/02 15:04"), where, strconv.Itoa(r.Count), t("retention.reason."+r.Reason, nil), basis(t, r.Reason, r.Policy)}
		// Every cell is wrapped whole; the row is as tall as its longest cell.
		lines := make([][]string, len(cells))
		rows := 1
		for i, c := range cells {
			lines[i] = pdffont.Wrap(pdf, c, widths[i]-2*pad)
			rows = max(rows, len(lines[i]))
		}
		h := float64(rows)*lineH + 2*pad
		if pdf.GetY()+h > pageH-bottom {
			pdf.AddPage()
			header()
		}
		x0, y0 := pdf.GetXY()
		x := x0
		for i := range cells {
			pdf.Rect(x, y0, widths[i], h, "D")
			align := "L"
			if i == 2 {
				align = "R"
			}
			for j, line := range lines[i] {
				pdf.SetXY(x+pad, y0+pad+float64(j)*lineH)
				pdf.CellFormat(widths[i]-2*pad, lineH, line, "", 0, align, false, 0, "")
			}
			x += widths[i]
		}
		pdf.SetXY(x0, y0+h)
		total += r.Count
	}
	if len(records) == 0 {
		pdf.CellFormat(170, 8, t("retention.records_none", nil), "1", 1, "C", false, 0, "")
	}
	pdf.Ln(4)
	pdf.CellFormat(0, 7, t("retention.certificate.total", map[string]any{"Records": len(records), "Total": total}), "", 1, "L", false, 0, "")
	pdf.Ln(10)
	pdf.CellFormat(0, 7, t("retention.certificate.end", nil), "", 1, "R", false, 0, "")
	var out bytes.Buffer
	if err := pdf.Output(&out); err != nil {
		return nil, fmt.Errorf("retention: certificate: %w", err)
	}
	return out.Bytes(), nil
}

// basis says on what ground a record's data were deleted: its period ("message_days=730"
// reads 保存期間 730日), the board's policy, or the parent's own request.
func basis(t func(string, map[string]any) string, reason, policy string) string {
	if _, days, ok := strings.Cut(policy, "="); ok {
		if n, err := strconv.Atoi(days); err == nil {
			return t("retention.basis.days", map[string]any{"Days": n})
		}
	}
	switch {
	case policy == "single_year":
		return t("retention.basis.single_year", nil)
	case policy == "delete_on_leave=off":
		return t("retention.basis.keep_on_leave", nil)
	case reason == "withdrawal":
		return t("retention.basis.request", nil)
	case reason == "guardian_update":
		return t("retention.basis.guardian_update", nil)
	case reason == "graduation" || reason == "transfer":
		return t("retention.basis.delete_on_leave", nil)
	}
	return policy
}
