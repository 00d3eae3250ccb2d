package app_test

import (
	"encoding/csv"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/chromedp/chromedp"

	"github.com/renraku/renraku/internal/apptest"
	"github.com/renraku/renraku/internal/browsertest"
	"github.com/renraku/renraku/internal/demo"
	"github.com/renraku/renraku/internal/school"
	"github.com/renraku/renraku/internal/staff/stafftest"
)

// rawCode matches an action code or a JSON detail as the log stores them.
var rawCode = regexp.MustCompile(`\b[a-z]+(_[a-z]+)*\.[a-z_]+\b|\{"|#\d`)

// TestAuditLogInWords: the school's and the board's audit pages show each row in
// words — the action's label, the object named as staff name it (1年1組, a
// registration by its class, never a child's or a parent's name), the actor with
// their role (a principal is 学校管理者), the detail as labelled values — and the
// CSV export has the same words beside the codes in columns of their own.
func TestAuditLogInWords(t *testing.T) {
	t.Parallel()
	browsertest.RequireJapaneseFont(t)
	w, logins := apptest.StartDemoWorld(t)
	s := w.App.Services()
	sakuraID, class11, _ := apptest.SchoolAndClass(t, w, demo.Schools[0].Name, "1年1組")
	secrets := map[string]string{}
	for _, l := range logins {
		secrets[l.Login] = l.TOTPSecret
	}
	// A parent registers without a code; the homeroom teacher approves; the principal
	// exports the class's absences.
	apptest.RegisterWithNickname(t, w, "山田 花子", "grandmother", "はなばあば", "山田 太郎", class11)
	tannin := apptest.SignedInAs(t, w, "sakura.tannin11")
	queue, err := s.Registration.Queue(tannin)
	if err != nil || len(queue) != 1 {
		t.Fatalf("queue: %d %v", len(queue), err)
	}
	if _, err := s.Registration.Decide(tannin, queue[0].GuardianshipID, true); err != nil {
		t.Fatal(err)
	}
	kocho := apptest.NewStaffClient(t, w.App.URL())
	kocho.Secret = secrets["sakura.kocho"]
	kocho.SignIn("sakura.kocho", demo.Password)
	today := time.Now().In(school.Tokyo).Format("2006-01-02")
	if r := kocho.Get("/staff/absences/export?class=" + apptest.Itoa(class11) + "&date=" + today); r.Status != http.StatusOK {
		t.Fatalf("absence export: %d", r.Status)
	}
	personal := []string{"山田 花子", "山田 太郎", "はなばあば", "のLINE"}

	// The school's page, over HTTP.
	page := kocho.Get("/admin/schools/" + apptest.Itoa(sakuraID) + "/audit")
	if page.Status != http.StatusOK {
		t.Fatalf("school audit page: %d", page.Status)
	}
	rows := map[string]string{} // action label → the row's text
	table := page.Doc.Find(`[data-testid="audit-table"] tbody`)
	table.Find(`[data-testid="audit-row"]`).Each(func(_ int, row *goquery.Selection) {
		action := strings.TrimSpace(row.Find(`[data-testid="audit-action"]`).Text())
		if _, ok := rows[action]; !ok {
			rows[action] = strings.Join(strings.Fields(row.Text()), " ")
		}
	})
	for _, tt := range []struct{ action, want string }{
		{"保護者の登録を承認した", "保護者の登録 No."},
		{"保護者の登録を承認した", "（1年1組）"},
		{"保護者の登録を承認した", "教職員"},
		{"欠席連絡をCSVで出力した", "学級 1年1組"},
		{"欠席連絡をCSVで出力した", "学校管理者"},
		{"欠席連絡をCSVで出力した", "文字コードUTF-8（BOM付き）"},
	} {
		if row, ok := rows[tt.action]; !ok || !strings.Contains(row, tt.want) {
			t.Errorf("row %q lacks %q: %q", tt.action, tt.want, row)
		}
	}
	tableText := table.Text()
	if m := rawCode.FindString(tableText); m != "" {
		t.Errorf("the school's audit page shows the code %q", m)
	}
	for _, p := range personal {
		if strings.Contains(page.Body, p) {
			t.Errorf("the school's audit page shows %q", p)
		}
	}

	// The CSV: words and, in columns of their own, the codes.
	r := kocho.Get("/admin/schools/" + apptest.Itoa(sakuraID) + "/audit/export")
	if r.Status != http.StatusOK {
		t.Fatalf("export: %d", r.Status)
	}
	records, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(r.Body, "\ufeff"))).ReadAll()
	if err != nil || len(records) < 2 {
		t.Fatalf("export CSV: %d records, %v", len(records), err)
	}
	col := map[string]int{}
	for i, h := range records[0] {
		col[h] = i
	}
	for _, h := range []string{"操作", "操作コード", "役割", "対象種別", "対象種別コード", "対象", "詳細", "詳細（JSON）"} {
		if _, ok := col[h]; !ok {
			t.Fatalf("CSV header %v lacks %s", records[0], h)
		}
	}
	found := map[string]bool{}
	for _, rec := range records[1:] {
		switch rec[col["操作コード"]] {
		case "registration.approve":
			found["approve"] = rec[col["操作"]] == "保護者の登録を承認した" && rec[col["対象種別コード"]] == "guardianship" &&
				strings.HasSuffix(rec[col["対象"]], "（1年1組）") && rec[col["役割"]] == "教職員"
		case "absence.export":
			found["export"] = rec[col["操作"]] == "欠席連絡をCSVで出力した" && strings.HasPrefix(rec[col["対象"]], "学級 1年1組") &&
				rec[col["役割"]] == "学校管理者" && strings.Contains(rec[col["詳細"]], "文字コード：UTF-8（BOM付き）") &&
				strings.Contains(rec[col["詳細（JSON）"]], `"encoding":"utf-8-bom"`)
		}
	}
	if !found["approve"] || !found["export"] {
		t.Errorf("CSV rows in words with their codes: %v", found)
	}
	for _, p := range personal {
		if strings.Contains(r.Body, p) {
			t.Errorf("the CSV shows %q", p)
		}
	}

	// The board's page in Chromium: the principal is 学校管理者; filtering by a
	// labelled action keeps only its rows.
	ctx := browsertest.New(t, 1366, 900)
	code := stafftest.MustCode(t, secrets["midori.kyoiku"], time.Now().Add(30*time.Second))
	err = chromedp.Do(ctx,
		chromedp.Navigate(w.App.URL()+"/staff/login"),
		chromedp.SendKeys(chromedp.CSS(`#f-login`), "midori.kyoiku"),
		chromedp.SendKeys(chromedp.CSS(`#f-password`), demo.Password),
		chromedp.Click(chromedp.CSS(`[data-testid="signin-submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="second-factor"]`)),
		chromedp.SendKeys(chromedp.CSS(`#f-code`), code),
		chromedp.Click(chromedp.CSS(`[data-testid="code-submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="staff-home"]`)),
		chromedp.Navigate(w.App.URL()+"/admin/audit"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="audit-row"]`)),
	)
	if err != nil {
		browsertest.Screenshot(t, ctx, "audit-board-failed")
		t.Fatal(err)
	}
	browsertest.Screenshot(t, ctx, "audit-board")
	body, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`[data-testid="audit-table"] tbody`)))
	if err != nil {
		t.Fatalf("reading the board's audit table: %v", err)
	}
	if m := rawCode.FindString(body); m != "" {
		t.Errorf("the board's audit page shows the code %q", m)
	}
	if !strings.Contains(body, "桜井 校長") || !strings.Contains(body, "学校管理者") {
		t.Errorf("the principal and their role are missing from the board's page")
	}
	err = chromedp.Do(ctx,
		chromedp.SetValue(chromedp.CSS(`#f-action`), "registration.approve"),
		chromedp.Click(chromedp.CSS(`[data-testid="audit-filter"]`)),
	)
	if err != nil {
		t.Fatal(err)
	}
	// The filtered page, loaded (not the old one's total, still visible while the
	// browser navigates: a screenshot taken then waits out its deadline). The server
	// marks the chosen action selected; the old page only had its value set.
	if err := chromedp.Do(ctx,
		chromedp.WaitReady(chromedp.CSS(`#f-action option[value="registration.approve"][selected]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="audit-total"]`)),
	); err != nil {
		t.Fatalf("the filtered audit page: %v", err)
	}
	browsertest.Screenshot(t, ctx, "audit-board-filtered")
	actions, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll('[data-testid="audit-action"]')].map(e => e.textContent.trim())`))
	if err != nil || len(actions) != 1 || actions[0] != "保護者の登録を承認した" {
		t.Errorf("filtered by 保護者の登録を承認した: %q (%v)", actions, err)
	}
	for _, p := range personal {
		html, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.documentElement.outerHTML`))
		if err != nil {
			t.Fatalf("reading the board's audit page: %v", err)
		}
		if strings.Contains(html, p) {
			t.Errorf("the board's audit page shows %q", p)
		}
	}
}
