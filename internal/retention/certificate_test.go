package retention

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/renraku/renraku/internal/i18n"
	"github.com/renraku/renraku/internal/pdffont"
	"github.com/renraku/renraku/internal/school"
	"github.com/renraku/renraku/web"
)

// TestCertificateKeepsEveryCharacter: the certificate of deletion is an official
// document. Its text, extracted with pdftotext, holds every character of the statement
// and of every cell (no character lost at a line break, no cell cut short with "…"),
// and every record states its basis, surveys' lines (deleted after their period, or a
// withdrawn parent's answers) included.
func TestCertificateKeepsEveryCharacter(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("pdftotext"); err != nil {
		t.Fatal("pdftotext is missing: run `make test`, which installs poppler-utils")
	}
	font, err := pdffont.Load("")
	if err != nil {
		t.Fatal(err)
	}
	cat, err := i18n.Load(web.Catalog)
	if err != nil {
		t.Fatal(err)
	}
	loc := cat.Localizer("ja")
	tr := func(id string, data map[string]any) string { return loc.T(id, data) }
	at := time.Date(2026, 12, 6, 9, 30, 0, 0, school.Tokyo)
	from, to := time.Date(2026, 4, 1, 0, 0, 0, 0, school.Tokyo), time.Date(2026, 12, 6, 0, 0, 0, 0, school.Tokyo)
	records := []Record{
		{OccurredAt: at, SchoolName: "市立さくら小学校", Category: "absence_report", Count: 12, Reason: "retention", Policy: "absence_days=365"},
		{OccurredAt: at, SchoolName: "市立みなと中学校", Category: "conversation", Count: 3, Reason: "withdrawal"},
		{OccurredAt: at, SchoolName: "市立ひがしやま第二小学校", Category: "guardianship", Count: 1, Reason: "transfer"},
		{OccurredAt: at, Category: "child", Count: 2, Reason: "graduation", Policy: "delete_on_leave=off"},
		{OccurredAt: at, Category: "guardian", Count: 40, Reason: "year_end", Policy: "single_year"},
		{OccurredAt: at, Category: "child", Count: 1, Reason: "guardian_update"},
		{OccurredAt: at, Category: "survey", Count: 2, Reason: "retention", Policy: "survey_days=365"},
		{OccurredAt: at, Category: "survey_answer", Count: 1, Reason: "withdrawal"},
	}
	// Surveys have lines of their own: "アンケート・出欠確認 … 保存期間 365日".
	if got := tr("retention.category.survey", nil); got != "アンケート・出欠確認" {
		t.Errorf("the surveys' category reads %q", got)
	}
	// Enough rows to run onto a second page.
	for i := 0; i < 40; i++ {
		records = append(records, Record{OccurredAt: at, SchoolName: "市立さくら小学校", Category: "message", Count: i + 1, Reason: "retention", Policy: "message_days=730"})
	}
	pdf, err := certificatePDF(tr, font, "さくら市教育委員会", from, to, at, records)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "certificate.pdf")
	if d := os.Getenv("CERT_OUT"); d != "" {
		path = d
	}
	if err := os.WriteFile(path, pdf, 0o644); err != nil {
		t.Fatal(err)
	}
	// -raw keeps the order in which the text was drawn: each cell's lines follow
	// each other, so with white space removed a wrapped cell reads whole.
	out, err := exec.Command("pdftotext", "-raw", "-enc", "UTF-8", path, "-").Output()
	if err != nil {
		t.Fatal(err)
	}
	got := squeeze(string(out))
	if strings.Contains(got, "…") {
		t.Error("a cell was cut short with …")
	}
	want := []string{tr("retention.certificate.title", nil),
		tr("retention.certificate.statement", map[string]any{"From": "2026年4月1日", "To": "2026年12月6日"})}
	for _, r := range records[:8] {
		where := tr("retention.category."+r.Category, nil)
		if r.SchoolName != "" {
			where = r.SchoolName + " " + where
		}
		b := basis(tr, r.Reason, r.Policy)
		if b == "" {
			t.Errorf("record %+v has no basis", r)
		}
		want = append(want, "2026/12/06 09:30", where, tr("retention.reason."+r.Reason, nil), b)
	}
	want = append(want, tr("retention.certificate.total", map[string]any{"Records": len(records), "Total": 62 + 40*41/2}))
	pos := 0
	for _, w := range want {
		i := strings.Index(got[pos:], squeeze(w))
		if i < 0 {
			t.Fatalf("the certificate's text lacks %q after position %d:\n%s", w, pos, out)
		}
		pos += i + len(squeeze(w))
	}
	if pages := strings.Count(string(out), "\f"); pages < 2 {
		t.Errorf("%d pages, want the table to run onto a second", pages)
	}
}

// squeeze removes all white space, so text wrapped over lines compares whole.
func squeeze(s string) string {
	return strings.Join(strings.Fields(s), "")
}
