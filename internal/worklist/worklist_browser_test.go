package worklist_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/renraku/renraku/internal/apptest"
	"github.com/renraku/renraku/internal/browsertest"
	"github.com/renraku/renraku/internal/demo"
	"github.com/renraku/renraku/internal/staff/stafftest"
)

// browserSignIn signs a demo account in through the pages (with its authenticator
// code when the account has a second factor) and waits for the home page.
func (ww *workWorld) browserSignIn(t *testing.T, ctx context.Context, login string) {
	t.Helper()
	actions := []chromedp.Action[chromedp.Void]{
		chromedp.Navigate(ww.w.App.URL() + "/staff/login"),
		chromedp.SendKeys(chromedp.CSS(`#f-login`), login),
		chromedp.SendKeys(chromedp.CSS(`#f-password`), demo.Password),
		chromedp.Click(chromedp.CSS(`[data-testid="signin-submit"]`)),
	}
	for _, l := range ww.logins {
		if l.Login == login && l.TOTPSecret != "" {
			// The code of the next step: the current one may have been used at enrolment.
			code := stafftest.MustCode(t, l.TOTPSecret, time.Now().Add(30*time.Second))
			actions = append(actions, chromedp.WaitVisible(chromedp.CSS(`[data-testid="second-factor"]`)),
				chromedp.SendKeys(chromedp.CSS(`#f-code`), code), chromedp.Click(chromedp.CSS(`[data-testid="code-submit"]`)))
		}
	}
	actions = append(actions, chromedp.WaitVisible(chromedp.CSS(`[data-testid="work-queue"]`)))
	step, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(step, actions...); err != nil {
		browsertest.Screenshot(t, ctx, "signin-failed-"+login)
		t.Fatalf("sign in %s: %v", login, err)
	}
}

// waitTitle waits until the tab's title is want.
func waitTitle(t *testing.T, ctx context.Context, want string) {
	t.Helper()
	step, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	_, err := chromedp.Run(step, chromedp.Poll[bool](`document.title === `+jsString(want)))
	if err != nil {
		got, _ := chromedp.Run(ctx, chromedp.Title())
		t.Fatalf("title %q, want %q (%v)", got, want, err)
	}
}

func jsString(s string) string { return `"` + strings.ReplaceAll(s, `"`, `\"`) + `"` }

// TestHomeQueuesInChromium walks the home page as the homeroom teacher, the school's
// administrator and the board's: the queue at the top, its count in the tab's title;
// after a parent writes through the simulator, the open page's count and title change
// without a reload (the live stream's event), and a reload shows the same.
func TestHomeQueuesInChromium(t *testing.T) {
	t.Parallel()
	browsertest.RequireJapaneseFont(t)
	ww := startWorkWorld(t)
	w, s := ww.w, ww.w.App.Services()
	if _, err := s.Pool.Exec(context.Background(), `UPDATE class SET enrolment = 5 WHERE id = $1`, ww.class11); err != nil {
		t.Fatal(err)
	}

	teacher := browsertest.New(t, 1280, 900)
	ww.browserSignIn(t, teacher, "sakura.tannin11")
	waitTitle(t, teacher, "(2) ホーム | renraku 学校連絡")
	text, err := chromedp.Run(teacher, chromedp.Text(chromedp.CSS(`[data-testid="work-queue"]`)))
	if err != nil || !strings.Contains(text, "1年1組：今日の欠席・遅刻などの連絡 未確認 1件") || !strings.Contains(text, "1年1組 担任：未対応の連絡 1件") {
		t.Fatalf("the teacher's queue: %q (%v)", text, err)
	}
	browsertest.Screenshot(t, teacher, "work-teacher")

	// The page's live stream is open before the parent writes.
	if err := chromedp.Do(teacher, chromedp.WaitReady(chromedp.CSS(`body[data-live="open"]`))); err != nil {
		t.Fatalf("the home page's live stream: %v", err)
	}

	// Another parent of 1年1組 writes to the homeroom teacher.
	p3, _ := apptest.RegisteredParent(t, w, "山田 花子", "山田 太郎", apptest.ClassCodes(t, w, ww.sakura)[ww.class11])
	apptest.Pick(t, w, p3, "1年1組 担任", 1)
	if _, err := w.Sim.SendText(w.Ch.LineChannelID, p3.ID, "今日は迎えに行きます"); err != nil {
		t.Fatal(err)
	}
	apptest.WaitRows(t, w, `SELECT CASE WHEN count(*) >= 2 THEN 0 ELSE 1 END FROM message WHERE direction = 'in'`)

	// The message's live event reaches the open page (live.js turns it into
	// work-changed): htmx fetches the queue again and work.js carries its total into the
	// title, without a reload.
	waitTitle(t, teacher, "(3) ホーム | renraku 学校連絡")
	if text, err = chromedp.Run(teacher, chromedp.Text(chromedp.CSS(`[data-testid="work-queue"]`))); err != nil {
		t.Fatal(err)
	} else if !strings.Contains(text, "1年1組 担任：未対応の連絡 2件") {
		t.Errorf("after the parent wrote, fetched again: %q", text)
	}
	// A reload shows the same.
	if err := chromedp.Do(teacher, chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(`[data-testid="work-queue"]`))); err != nil {
		t.Fatal(err)
	}
	waitTitle(t, teacher, "(3) ホーム | renraku 学校連絡")
	browsertest.Screenshot(t, teacher, "work-teacher-after-message")

	admin := browsertest.New(t, 1280, 1000)
	ww.browserSignIn(t, admin, "sakura.kocho")
	if text, err = chromedp.Run(admin, chromedp.Text(chromedp.CSS(`[data-testid="work-queue"]`))); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"1年2組：登録の承認待ち 1件", "LINEの今月の送信数", "1年1組 担任：未対応の連絡 2件"} {
		if !strings.Contains(text, want) {
			t.Errorf("the administrator's queue lacks %q: %q", want, text)
		}
	}
	waitTitle(t, admin, "(5) ホーム | renraku 学校連絡")
	browsertest.Screenshot(t, admin, "work-school-admin")

	board := browsertest.New(t, 1280, 900)
	ww.browserSignIn(t, board, "midori.kyoiku")
	rows, err := chromedp.Run(board, chromedp.Text(chromedp.CSS(`[data-testid="work-board"] tbody`)))
	if err != nil || !strings.Contains(rows, demo.Schools[0].Name) || !strings.Contains(rows, demo.Schools[1].Name) || !strings.Contains(rows, "在籍5人") {
		t.Errorf("the board's rows: %q (%v)", rows, err)
	}
	browsertest.Screenshot(t, board, "work-board")
}
