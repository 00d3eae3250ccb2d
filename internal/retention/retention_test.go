package retention_test

import (
	"context"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/renraku/renraku/internal/absence"
	"github.com/renraku/renraku/internal/announce"
	"github.com/renraku/renraku/internal/apptest"
	"github.com/renraku/renraku/internal/demo"
	"github.com/renraku/renraku/internal/inbox"
	"github.com/renraku/renraku/internal/line"
	"github.com/renraku/renraku/internal/postgres/pgtx"
	"github.com/renraku/renraku/internal/retention"
	"github.com/renraku/renraku/internal/school"
)

// TestRetentionDryRunRunAndCertificate: old messages, absence reports and
// announcements (with a handout) and new ones; the dry run counts the old ones and
// deletes nothing; the board administrator's run deletes exactly them and writes
// deletion records; the certificate of deletion is a PDF that renders, in Japanese.
func TestRetentionDryRunRunAndCertificate(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("pdftoppm"); err != nil {
		t.Fatal("pdftoppm missing: `make test` installs poppler-utils")
	}
	w, logins := apptest.StartDemoWorld(t)
	s := w.App.Services()
	ctx := context.Background()
	apptest.CityFamilies(t, w, 4, false)
	sakuraID, class11, _ := apptest.SchoolAndClass(t, w, demo.Schools[0].Name, "1年1組")
	old := time.Now().AddDate(0, 0, -800)

	// Two conversations (one old, one recent), two reports, two announcements.
	var guardians, children []int64
	rows, err := s.Pool.Query(ctx, `SELECT gs.guardian_id, gs.child_id FROM guardianship gs ORDER BY 1`)
	if err != nil {
		t.Fatalf("families: %v", err)
	}
	families, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) ([2]int64, error) {
		var v [2]int64
		return v, r.Scan(&v[0], &v[1])
	})
	if err != nil {
		t.Fatalf("families: %v", err)
	}
	for _, f := range families {
		guardians, children = append(guardians, f[0]), append(children, f[1])
	}
	err = s.Tx.InTx(ctx, func(ctx context.Context) error {
		tx := pgtx.Tx(ctx)
		for i := range 2 {
			conv, err := s.Inbox.Store.OpenConversation(ctx, guardians[i], inbox.Choice{Target: inbox.Homeroom, ChildID: children[i], ClassID: class11, SchoolID: sakuraID})
			if err != nil {
				return err
			}
			for range 3 {
				if err := s.Inbox.Store.AddMessage(ctx, conv, &inbox.Message{Direction: "in", Kind: "text", Body: "持ち物について"}, 0); err != nil {
					return err
				}
			}
			day := time.Now()
			if i == 0 {
				day = old
				if _, err := tx.Exec(ctx, `UPDATE message SET created_at = $2 WHERE conversation_id = $1`, conv, old); err != nil {
					return err
				}
				if _, err := tx.Exec(ctx, `UPDATE conversation SET last_message_at = $2 WHERE id = $1`, conv, old); err != nil {
					return err
				}
			}
			rep := &absence.Report{ChildID: children[i], GuardianID: guardians[i], SchoolID: sakuraID, ClassID: class11, Kind: "absent",
				From: day, To: day, Detail: absence.Detail{Reason: "illness"}, Status: absence.Sent}
			if _, err := s.Absence.Store.SaveReport(ctx, rep, []byte{byte(i), 1, 2, 3}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// A message sent in LINE to a registered parent long ago: its copy goes with the
	// conversations' period (the row stays: it counts the month's LINE use).
	var outID int64
	err = s.Tx.InTx(ctx, func(ctx context.Context) error {
		tx := pgtx.Tx(ctx)
		var friendID int64
		if err := tx.QueryRow(ctx, `SELECT friend_id FROM guardian WHERE id = $1`, guardians[0]).Scan(&friendID); err != nil {
			return err
		}
		f, err := s.LINE.FindFriend(ctx, friendID)
		if err != nil {
			return err
		}
		outID, err = s.LINE.Queue(ctx, line.Send{Friend: f, Purpose: "staff_reply", Messages: []line.Message{{Text: "【1年1組 担任】昨年度のお返事"}}})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		var state string
		if err := s.Pool.QueryRow(ctx, `SELECT state FROM line_outbound WHERE id = $1`, outID).Scan(&state); err != nil {
			t.Fatalf("reading the reply's state: %v", err)
		}
		if state == "sent" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the reply was never sent (%s)", state)
		}
	}
	if _, err := s.Pool.Exec(ctx, `UPDATE line_outbound SET created_at = $2 WHERE id = $1`, outID, old); err != nil {
		t.Fatal(err)
	}
	kocho := apptest.SignedInAs(t, w, "sakura.kocho")
	var oldAnnouncement int64
	for i, title := range []string{"昨年度の学年だより", "今月の学年だより"} {
		id, err := s.Announce.Create(kocho, announce.Compose{Kind: announce.Notice, Audience: announce.Audience{SchoolID: sakuraID, Whole: true},
			Title: title, Body: "本文", Files: []announce.Upload{{Name: "たより.pdf", Data: apptest.SamplePDF(title)}}}, "学校全体")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Announce.Send(kocho, id, false); err != nil {
			t.Fatal(err)
		}
		apptest.WaitSent(t, w, id, 20*time.Second)
		if i == 0 {
			oldAnnouncement = id
			if _, err := s.Pool.Exec(ctx, `UPDATE announcement SET created_at = $2 WHERE id = $1`, id, old); err != nil {
				t.Fatal(err)
			}
		}
	}
	counts := func() map[string]int {
		out := map[string]int{}
		for _, table := range []string{"message", "conversation", "absence_report", "announcement", "handout", "file_blob", "announcement_recipient"} {
			var n int
			if err := s.Pool.QueryRow(ctx, `SELECT count(*) FROM `+table).Scan(&n); err != nil {
				t.Fatal(err)
			}
			out[table] = n
		}
		return out
	}
	before := counts()

	// The board administrator's page: a dry run first.
	admin := apptest.NewStaffClient(t, w.App.URL())
	for _, l := range logins {
		if l.Login == "midori.kyoiku" {
			admin.Secret = l.TOTPSecret
		}
	}
	admin.SignIn("midori.kyoiku", demo.Password)
	page := admin.Get("/admin/board/retention")
	if page.Status != http.StatusOK {
		t.Fatalf("retention page: %d %s", page.Status, apptest.Text(page))
	}
	for category, want := range map[string]string{"message": "3", "conversation": "1", "line_copy": "1", "absence_report": "1", "announcement": "1", "handout": "1"} {
		if got := strings.TrimSpace(page.Doc.Find(`[data-testid="preview-` + category + `"]`).Text()); got != want {
			t.Errorf("dry run %s = %q, want %s", category, got, want)
		}
	}
	if after := counts(); len(after) != len(before) || after["message"] != before["message"] || after["announcement"] != before["announcement"] {
		t.Fatalf("the dry run deleted something: %v → %v", before, after)
	}
	if r := admin.Post("/admin/board/retention", url.Values{"message_days": {"0"}, "absence_days": {"730"}, "announcement_days": {"730"}, "survey_days": {"365"}}); r.Status != http.StatusUnprocessableEntity {
		t.Errorf("0 days accepted: %d", r.Status)
	}

	// The real run deletes exactly what the dry run counted.
	if r := admin.Post("/admin/board/retention/run", nil); r.Status != http.StatusSeeOther || r.Location != "/admin/board/retention" {
		t.Fatalf("run now: %d → %q", r.Status, r.Location)
	}
	// The result is the page's notice, once; the page is not nested in itself.
	if r := admin.Get("/admin/board/retention"); r.Status != http.StatusOK || !strings.Contains(apptest.Text(r), "8件を消去しました") || r.Doc.Find("header").Length() != 1 {
		t.Fatalf("run: %d %s", r.Status, apptest.Text(r))
	}
	after := counts()
	for table, gone := range map[string]int{"message": 3, "conversation": 1, "absence_report": 1, "announcement": 1, "handout": 1, "file_blob": 1} {
		if before[table]-after[table] != gone {
			t.Errorf("%s: %d → %d, want %d fewer", table, before[table], after[table], gone)
		}
	}
	if _, err := s.Announce.Get(kocho, oldAnnouncement); err == nil {
		t.Error("the old announcement is still there")
	}
	var records int
	if err := s.Pool.QueryRow(ctx, `SELECT count(*) FROM deletion_record WHERE reason = 'retention' AND actor LIKE 'board_admin:%' AND run_id IS NOT NULL`).Scan(&records); err != nil {
		t.Fatal(err)
	}
	if records != 6 {
		t.Errorf("%d deletion records, want one per category (6)", records)
	}
	var wiped bool
	if err := s.Pool.QueryRow(ctx, `SELECT messages_enc IS NULL FROM line_outbound WHERE id = $1`, outID).Scan(&wiped); err != nil || !wiped {
		t.Errorf("the old message copy is kept (%v)", err)
	}
	// A second run finds nothing more; the system's run (the daily job) agrees.
	if items, err := s.Retention.Apply(ctx, w.Ch.BoardID, true); err != nil || total(items) != 0 {
		t.Errorf("after the run, a dry run finds %v %v", items, err)
	}

	// The certificate of this period: a PDF that renders.
	today := time.Now().In(school.Tokyo).Format("2006-01-02")
	cert := admin.Get("/admin/board/retention/certificate?from=" + today + "&to=" + today)
	if cert.Status != http.StatusOK || !strings.HasPrefix(cert.Body, "%PDF-") {
		t.Fatalf("certificate: %d %.80q", cert.Status, cert.Body)
	}
	dir := t.TempDir()
	pdfPath := filepath.Join(dir, "certificate.pdf")
	if err := os.WriteFile(pdfPath, []byte(cert.Body), 0o600); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "certificate")
	if b, err := exec.Command("pdftoppm", "-png", "-r", "60", "-singlefile", pdfPath, out).CombinedOutput(); err != nil {
		t.Fatalf("pdftoppm: %v %s", err, b)
	}
	png, err := os.ReadFile(out + ".png")
	if err != nil || len(png) < 5000 {
		t.Fatalf("rendered certificate: %d bytes %v", len(png), err)
	}
	if shots := os.Getenv("RENRAKU_SCREENSHOT_DIR"); shots != "" {
		if err := os.WriteFile(filepath.Join(shots, "retention-certificate.png"), png, 0o644); err != nil {
			t.Errorf("saving the screenshot: %v", err)
		}
	}
	if text, err := exec.Command("pdftotext", pdfPath, "-").Output(); err == nil {
		for _, want := range []string{"消去証明書", "保存期間の経過", "みどり市"} {
			if !strings.Contains(string(text), want) {
				t.Errorf("certificate lacks %q: %s", want, text)
			}
		}
	}
	// A school administrator has no board settings.
	if r := apptest.NewStaffClientSignedIn(t, w, logins, "sakura.kocho").Get("/admin/board/retention"); r.Status != http.StatusForbidden {
		t.Errorf("school administrator on the board's retention page: %d", r.Status)
	}
}

func total(items []retention.Item) int {
	n := 0
	for _, it := range items {
		n += it.Count
	}
	return n
}
