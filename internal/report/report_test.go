package report_test

import (
	"context"
	"encoding/csv"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/google/go-cmp/cmp"

	"github.com/renraku/renraku/internal/absence"
	"github.com/renraku/renraku/internal/announce"
	"github.com/renraku/renraku/internal/apptest"
	"github.com/renraku/renraku/internal/demo"
	"github.com/renraku/renraku/internal/inbox"
	"github.com/renraku/renraku/internal/postgres/pgtx"
	"github.com/renraku/renraku/internal/report"
	"github.com/renraku/renraku/internal/school"
)

// TestMonthlyReport: a month's registrations, absence reports, messages each way,
// announcements, LINE use and availability, counted per school for the board
// (with the total) and for a school's own administrator. The page, the CSV (UTF-8 for
// Excel) and the PDF (its text extracted) show the same figures for the month, even
// when the running minute's beat arrives between them; a LINE account without a limit
// reads 上限なし, as on the channel page. Counts only.
func TestMonthlyReport(t *testing.T) {
	t.Parallel()
	w, logins := apptest.StartDemoWorld(t)
	s := w.App.Services()
	ctx := context.Background()
	apptest.CityFamilies(t, w, 6, false)
	sakuraID, class11, _ := apptest.SchoolAndClass(t, w, demo.Schools[0].Name, "1年1組")
	err := s.Tx.InTx(ctx, func(ctx context.Context) error {
		tx := pgtx.Tx(ctx)
		var g, c int64
		if err := tx.QueryRow(ctx, `SELECT guardian_id, child_id FROM guardianship ORDER BY id LIMIT 1`).Scan(&g, &c); err != nil {
			return err
		}
		conv, err := s.Inbox.Store.OpenConversation(ctx, g, inbox.Choice{Target: inbox.Homeroom, ChildID: c, ClassID: class11, SchoolID: sakuraID})
		if err != nil {
			return err
		}
		for _, dir := range []string{"in", "in", "in", "out"} {
			if err := s.Inbox.Store.AddMessage(ctx, conv, &inbox.Message{Direction: dir, Kind: "text", Body: "連絡"}, 0); err != nil {
				return err
			}
		}
		for i := range 2 {
			rep := &absence.Report{ChildID: c, GuardianID: g, SchoolID: sakuraID, ClassID: class11, Kind: "absent",
				From: time.Now().AddDate(0, 0, i), To: time.Now().AddDate(0, 0, i), Detail: absence.Detail{Reason: "illness"}, Status: absence.Sent}
			if _, err := s.Absence.Store.SaveReport(ctx, rep, []byte{byte(i), 9}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	kocho := apptest.SignedInAs(t, w, "sakura.kocho")
	id, err := s.Announce.Create(kocho, announce.Compose{Kind: announce.Notice, Audience: announce.Audience{SchoolID: sakuraID, Whole: true},
		Title: "12月の予定", Body: "本文"}, "学校全体")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Announce.Send(kocho, id, false); err != nil {
		t.Fatal(err)
	}
	apptest.WaitSent(t, w, id, 20*time.Second)

	// The job queue's leader records each minute it is up.
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		var n int
		if err := s.Pool.QueryRow(ctx, `SELECT count(*) FROM availability_beat`).Scan(&n); err != nil {
			t.Fatalf("counting availability beats: %v", err)
		}
		if n > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no availability beat recorded")
		}
	}
	// The report's clock stops 20 seconds into a minute whose beat is not recorded
	// yet; renraku was up the ten minutes before (or since the month began).
	at := time.Now().In(school.Tokyo).Truncate(time.Minute).Add(20 * time.Second)
	minute := at.Truncate(time.Minute)
	first := minute.Add(-10 * time.Minute)
	if start := report.MonthStart(at); first.Before(start) {
		first = start
	}
	s.Reports.Clock.Set(at)
	t.Cleanup(s.Reports.Clock.Reset)
	if _, err := s.Pool.Exec(ctx, `INSERT INTO availability_beat (at) SELECT generate_series($1::timestamptz, $2::timestamptz, interval '1 minute')
		ON CONFLICT DO NOTHING`, first, minute.Add(-time.Minute)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Pool.Exec(ctx, `DELETE FROM availability_beat WHERE at >= $1`, minute); err != nil {
		t.Fatal(err)
	}
	minutes := strconv.Itoa(int(minute.Sub(first) / time.Minute))
	month := at.Format("2006-01")

	board := apptest.NewStaffClientSignedIn(t, w, logins, "midori.kyoiku")
	page := board.Get("/admin/reports?month=" + month)
	if page.Status != http.StatusOK {
		t.Fatalf("report: %d %s", page.Status, apptest.Text(page))
	}
	tables := reportPageTables(page)
	want := map[string][][]string{
		// registrations 6, guardians 6, absence reports 2, messages in 3, out 1, announcements 1, safety 0.
		"figures": {{demo.Schools[0].Name, "6", "6", "2", "3", "1", "1", "0"}, {demo.Schools[1].Name, "0", "0", "0", "0", "0", "0", "0"},
			{"合計", "6", "6", "2", "3", "1", "1", "0"}},
		// The simulator's account has no monthly limit: 上限なし, as on the channel page.
		"channels":  {{w.Ch.LineChannelID, demo.Schools[0].Name + "・" + demo.Schools[1].Name, "6", "上限なし", "0"}},
		"operation": {{"稼働率（％）", "100.00"}, {"稼働した時間（分）", minutes}, {"集計した時間（分）", minutes}, {"退会した保護者（人）", "0"}},
	}
	if diff := cmp.Diff(want, tables); diff != "" {
		t.Errorf("the page's tables (-want +got):\n%s", diff)
	}
	channel := board.Get("/admin/schools/" + strconv.FormatInt(sakuraID, 10) + "/channel")
	if q := channel.Doc.Find(`[data-testid="channel-quota"]`).Text(); !strings.Contains(q, "上限なし") {
		t.Errorf("channel page: %q", q)
	}
	// Figures are right-aligned, their headers too.
	if n := page.Doc.Find(`[data-testid="report-figures"] thead th.num`).Length(); n != 7 {
		t.Errorf("%d right-aligned figure headers", n)
	}
	if page.Doc.Find(`[data-testid="report-chart"] rect`).Length() < 56 {
		t.Error("the chart has no bars")
	}

	// Half a minute later that minute's beat is in; the CSV (UTF-8 with a BOM) and the
	// PDF show the same figures as the page did.
	if _, err := s.Pool.Exec(ctx, `INSERT INTO availability_beat (at) VALUES ($1)`, minute); err != nil {
		t.Fatal(err)
	}
	s.Reports.Clock.Set(at.Add(30 * time.Second))
	c := board.Get("/admin/reports/export?format=csv&month=" + month)
	if c.Status != http.StatusOK || !strings.HasPrefix(c.Body, "\ufeff") {
		t.Fatalf("csv: %d", c.Status)
	}
	cr := csv.NewReader(strings.NewReader(strings.TrimPrefix(c.Body, "\ufeff")))
	cr.FieldsPerRecord = -1 // each table has its own header and width
	records, err := cr.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	fromCSV := map[string][][]string{}
	ids := []string{"figures", "channels", "operation"}
	section := -1
	for _, rec := range records {
		if rec[0] == "月" {
			section++
			continue
		}
		if rec[0] != month || section < 0 || section >= len(ids) {
			t.Fatalf("csv row %q", rec)
		}
		fromCSV[ids[section]] = append(fromCSV[ids[section]], rec[1:])
	}
	if diff := cmp.Diff(tables, fromCSV); diff != "" {
		t.Errorf("CSV differs from the page (-page +csv):\n%s", diff)
	}

	p := board.Get("/admin/reports/export?format=pdf&month=" + month)
	if p.Status != http.StatusOK || !strings.HasPrefix(p.Body, "%PDF-") {
		t.Fatalf("pdf: %d", p.Status)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "r.pdf"), []byte(p.Body), 0o600); err != nil {
		t.Fatalf("saving the PDF: %v", err)
	}
	out, err := exec.Command("pdftotext", "-layout", filepath.Join(dir, "r.pdf"), "-").CombinedOutput()
	if err != nil {
		t.Fatalf("pdftotext: %v %s", err, out)
	}
	var lines []string
	for _, l := range strings.Split(string(out), "\n") {
		lines = append(lines, strings.Join(strings.Fields(l), " "))
	}
	for _, id := range ids {
		for _, row := range tables[id] {
			if !slices.Contains(lines, strings.Join(row, " ")) {
				t.Errorf("the PDF has no line %q:\n%s", strings.Join(row, " "), out)
			}
		}
	}
	if b, err := exec.Command("pdftoppm", "-png", "-r", "60", "-singlefile", filepath.Join(dir, "r.pdf"), filepath.Join(dir, "r")).CombinedOutput(); err != nil {
		t.Fatalf("pdftoppm: %v %s", err, b)
	}
	png, err := os.ReadFile(filepath.Join(dir, "r.png"))
	if err != nil || len(png) < 5000 {
		t.Fatalf("rendered report: %d bytes %v", len(png), err)
	}
	if shots := os.Getenv("RENRAKU_SCREENSHOT_DIR"); shots != "" {
		if err := os.WriteFile(filepath.Join(shots, "monthly-report.png"), png, 0o644); err != nil {
			t.Errorf("saving the screenshot: %v", err)
		}
	}

	// A school's administrator sees their school only.
	own := apptest.NewStaffClientSignedIn(t, w, logins, "sakura.kocho").Get("/admin/reports")
	if n := own.Doc.Find(`[data-testid="report-figures-row"]`).Length(); n != 1 || !strings.Contains(apptest.Text(own), "さくら小学校") || strings.Contains(apptest.Text(own), "退会") {
		t.Errorf("school administrator's report: %d rows", n)
	}
	var views int
	if err := s.Pool.QueryRow(ctx, `SELECT count(*) FROM audit_event WHERE action = 'report.view'`).Scan(&views); err != nil || views < 4 {
		t.Errorf("report views audited: %d %v", views, err)
	}
}

// reportPageTables reads the report page's tables: per table, each body row's cells.
func reportPageTables(page apptest.Response) map[string][][]string {
	out := map[string][][]string{}
	page.Doc.Find(`[data-testid^="report-"] table`).Each(func(_ int, tb *goquery.Selection) {
		id, _ := tb.Closest(`[data-testid^="report-"]`).Attr("data-testid")
		id = strings.TrimPrefix(id, "report-")
		tb.Find("tbody tr").Each(func(_ int, tr *goquery.Selection) {
			var cells []string
			tr.Children().Each(func(_ int, c *goquery.Selection) { cells = append(cells, strings.TrimSpace(c.Text())) })
			out[id] = append(out[id], cells)
		})
	})
	return out
}
