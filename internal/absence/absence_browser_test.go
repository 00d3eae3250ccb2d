package absence_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/renraku/renraku/internal/absence"
	"github.com/renraku/renraku/internal/apptest"
	"github.com/renraku/renraku/internal/browsertest"
	"github.com/renraku/renraku/internal/demo"
)

func TestAbsenceInChromium(t *testing.T) {
	t.Parallel()
	browsertest.RequireJapaneseFont(t)
	w := apptest.StartLineWorld(t)
	s := w.App.Services()
	ctx := context.Background()
	if _, err := demo.SeedStaff(ctx, s); err != nil {
		t.Fatal(err)
	}
	sakuraID, class11, _ := apptest.SchoolAndClass(t, w, demo.Schools[0].Name, "1年1組")
	u, _ := apptest.RegisteredParent(t, w, "森 さやか", "森 ゆうた", apptest.ClassCodes(t, w, sakuraID)[class11])
	link := apptest.AbsenceLink(t, w, u, 1)

	// The homeroom teacher opens today's list on a PC: nothing yet.
	teacher := browsertest.New(t, 1280, 800)
	err := chromedp.Do(teacher,
		chromedp.Navigate(w.App.URL()+"/staff/login"),
		chromedp.SendKeys(chromedp.CSS(`#f-login`), "sakura.tannin11"),
		chromedp.SendKeys(chromedp.CSS(`#f-password`), demo.Password),
		chromedp.Click(chromedp.CSS(`[data-testid="signin-submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="to-absences"]`)),
		chromedp.Click(chromedp.CSS(`[data-testid="to-absences"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="absence-table"]`)),
	)
	if err != nil {
		t.Fatal(err)
	}

	// The parent reports 遅刻 on a phone: without a time first, then with one.
	phone := browsertest.New(t, 360, 740)
	err = chromedp.Do(phone,
		chromedp.Navigate(link),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="absence"]`)),
		chromedp.Click(chromedp.CSS(`[data-testid="kind-late"]`)),
		// Today, the list the teacher has open (the form suggests the next school day
		// in the evening and at weekends).
		chromedp.SetValue(chromedp.CSS(`#f-from`), absence.Today(time.Now()).Format("2006-01-02")),
		chromedp.SetValue(chromedp.CSS(`#f-reason`), "hospital"),
		chromedp.Click(chromedp.CSS(`[data-testid="absence-submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="form-message"]`)),
	)
	if err != nil {
		t.Fatal(err)
	}
	body, err := chromedp.Run(phone, chromedp.Text(chromedp.CSS(`main`)))
	if err != nil || !strings.Contains(body, "時刻を入力してください") {
		t.Fatalf("no message for the missing time: %s (%v)", body, err)
	}
	browsertest.Screenshot(t, phone, "absence-error")
	err = chromedp.Do(phone,
		chromedp.SetValue(chromedp.CSS(`#f-time`), "10:15"),
		chromedp.SendKeys(chromedp.CSS(`#f-note`), "歯医者に寄ってから登校します"),
		chromedp.Click(chromedp.CSS(`[data-testid="absence-submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="absence-done"]`)),
	)
	if err != nil {
		body, _ := chromedp.Run(phone, chromedp.Text(chromedp.CSS(`main`)))
		t.Fatalf("submit: %v: %s", err, body)
	}
	browsertest.Screenshot(t, phone, "absence-done")
	// The confirmation names the child, as the LINE message does.
	if done, err := chromedp.Run(phone, chromedp.Text(chromedp.CSS(`[data-testid="absence-done"]`))); err != nil || !strings.Contains(done, "森 ゆうたさんの遅刻") {
		t.Fatalf("confirmation %q (%v) does not name the child", done, err)
	}

	// The open list shows it without a reload (the test app refreshes every second).
	waitCtx, cancel := context.WithTimeout(teacher, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(waitCtx, chromedp.WaitVisible(chromedp.CSS(`[data-testid="absence-row"]`))); err != nil {
		t.Fatalf("the new report did not appear: %v", err)
	}
	row, err := chromedp.Run(teacher, chromedp.Text(chromedp.CSS(`[data-testid="absence-row"]`)))
	if err != nil || !strings.Contains(row, "森 ゆうた") || !strings.Contains(row, "10:15") || !strings.Contains(row, "歯医者") {
		t.Errorf("row: %q (%v)", row, err)
	}
	err = chromedp.Do(teacher,
		chromedp.Click(chromedp.CSS(`[data-testid="ack-all"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="flash"]`)),
	)
	if err != nil {
		t.Fatal(err)
	}
	state, err := chromedp.Run(teacher, chromedp.Text(chromedp.CSS(`[data-testid="absence-status"]`)))
	if err != nil || !strings.Contains(state, "確認済") {
		t.Errorf("after acknowledging: %q (%v)", state, err)
	}
	browsertest.Screenshot(t, teacher, "absence-list")
}
