package app_test

import (
	"context"
	"encoding/csv"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/jackc/pgx/v5"

	"github.com/renraku/renraku/internal/absence"
	"github.com/renraku/renraku/internal/announce"
	"github.com/renraku/renraku/internal/demo"
	"github.com/renraku/renraku/internal/inbox"
)

// TestMonthlyReport: a month's registrations, absence reports, messages each way,
// announcements, LINE use and availability, counted per school for the board
// (with the total) and for a school's own administrator; the CSV opens in Excel as
// UTF-8; the PDF renders. Counts only.
func TestMonthlyReport(t *testing.T) {
	t.Parallel()
	w, logins := startDemoWorld(t)
	s := w.app.Services()
	ctx := context.Background()
	cityFamilies(t, w, 6, false)
	sakuraID, class11, _ := schoolAndClass(t, w, demo.Schools[0].Name, "1年1組")
	err := pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error {
		var g, c int64
		if err := tx.QueryRow(ctx, `SELECT guardian_id, child_id FROM guardianship ORDER BY id LIMIT 1`).Scan(&g, &c); err != nil {
			return err
		}
		conv, err := s.Inbox.Store.OpenConversation(ctx, tx, g, inbox.Choice{Target: inbox.Homeroom, ChildID: c, ClassID: class11, SchoolID: sakuraID})
		if err != nil {
			return err
		}
		for _, dir := range []string{"in", "in", "in", "out"} {
			if err := s.Inbox.Store.AddMessage(ctx, tx, conv, &inbox.Message{Direction: dir, Kind: "text", Body: "連絡"}, 0); err != nil {
				return err
			}
		}
		for i := range 2 {
			rep := &absence.Report{ChildID: c, GuardianID: g, SchoolID: sakuraID, ClassID: class11, Kind: "absent",
				From: time.Now().AddDate(0, 0, i), To: time.Now().AddDate(0, 0, i), Detail: absence.Detail{Reason: "illness"}, Status: absence.Sent}
			if _, err := s.Absence.Store.SaveReport(ctx, tx, rep, []byte{byte(i), 9}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	kocho := signedInAs(t, w, "sakura.kocho")
	id, err := s.Announce.Create(kocho, announce.Compose{Kind: announce.Notice, Audience: announce.Audience{SchoolID: sakuraID, Whole: true},
		Title: "12月の予定", Body: "本文"}, "学校全体")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Announce.Send(kocho, id, false); err != nil {
		t.Fatal(err)
	}
	waitSent(t, w, id, 20*time.Second)

	// The job queue's leader records each minute it is up.
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		var n int
		_ = s.Pool.QueryRow(ctx, `SELECT count(*) FROM availability_beat`).Scan(&n)
		if n > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no availability beat recorded")
		}
	}
	board := newStaffClientSignedIn(t, w, logins, "midori.kyoiku")
	page := board.get("/admin/reports")
	if page.status != http.StatusOK {
		t.Fatalf("report: %d %s", page.status, text(page))
	}
	var sakuraRow string
	page.doc.Find(`[data-testid="report-row"]`).Each(func(_ int, r *goquery.Selection) {
		if strings.Contains(r.Text(), "さくら小学校") {
			var cells []string
			r.Find("td").Each(func(_ int, c *goquery.Selection) { cells = append(cells, strings.TrimSpace(c.Text())) })
			sakuraRow = strings.Join(cells, " ")
		}
	})
	// registrations 6, guardians 6, absence reports 2, messages in 3, out 1, announcements 1, safety 0.
	if !strings.HasSuffix(sakuraRow, "6 6 2 3 1 1 0") {
		t.Errorf("さくら row: %q", sakuraRow)
	}
	if n := page.doc.Find(`[data-testid="report-row"]`).Length(); n != 2 {
		t.Errorf("%d school rows for the board", n)
	}
	if ch := page.doc.Find(`[data-testid="report-channel"]`).Text(); !strings.Contains(ch, "今月の通数 6") {
		t.Errorf("LINE use: %q", ch)
	}
	if a := page.doc.Find(`[data-testid="report-availability"]`).Text(); !strings.Contains(a, "稼働率") || strings.Contains(a, "稼働率 0.00") {
		t.Errorf("availability: %q", a)
	}
	if page.doc.Find(`[data-testid="report-chart"] rect`).Length() < 56 {
		t.Error("the chart has no bars")
	}

	// The CSV (UTF-8 with a BOM) has the same figures.
	c := board.get("/admin/reports/export?format=csv")
	if c.status != http.StatusOK || !strings.HasPrefix(c.body, "\ufeff") {
		t.Fatalf("csv: %d", c.status)
	}
	cr := csv.NewReader(strings.NewReader(strings.TrimPrefix(c.body, "\ufeff")))
	cr.FieldsPerRecord = -1 // the LINE accounts' and availability lines are shorter
	records, err := cr.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, rec := range records {
		if len(rec) > 4 && strings.Contains(rec[1], "さくら小学校") && rec[4] == "2" {
			found = true
		}
	}
	if !found {
		t.Errorf("csv: %v", records)
	}

	// The PDF renders.
	p := board.get("/admin/reports/export?format=pdf")
	if p.status != http.StatusOK || !strings.HasPrefix(p.body, "%PDF-") {
		t.Fatalf("pdf: %d", p.status)
	}
	dir := t.TempDir()
	_ = os.WriteFile(filepath.Join(dir, "r.pdf"), []byte(p.body), 0o600)
	if b, err := exec.Command("pdftoppm", "-png", "-r", "60", "-singlefile", filepath.Join(dir, "r.pdf"), filepath.Join(dir, "r")).CombinedOutput(); err != nil {
		t.Fatalf("pdftoppm: %v %s", err, b)
	}
	png, err := os.ReadFile(filepath.Join(dir, "r.png"))
	if err != nil || len(png) < 5000 {
		t.Fatalf("rendered report: %d bytes %v", len(png), err)
	}
	if shots := os.Getenv("RENRAKU_SCREENSHOT_DIR"); shots != "" {
		_ = os.WriteFile(filepath.Join(shots, "monthly-report.png"), png, 0o644)
	}

	// A school's administrator sees their school only.
	own := newStaffClientSignedIn(t, w, logins, "sakura.kocho").get("/admin/reports")
	if n := own.doc.Find(`[data-testid="report-row"]`).Length(); n != 1 || !strings.Contains(text(own), "さくら小学校") {
		t.Errorf("school administrator's report: %d rows", n)
	}
	var views int
	if err := s.Pool.QueryRow(ctx, `SELECT count(*) FROM audit_event WHERE action = 'report.view'`).Scan(&views); err != nil || views < 4 {
		t.Errorf("report views audited: %d %v", views, err)
	}
}
