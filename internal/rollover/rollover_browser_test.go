package rollover_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/renraku/renraku/internal/apptest"
	"github.com/renraku/renraku/internal/browsertest"
	"github.com/renraku/renraku/internal/demo"
	"github.com/renraku/renraku/internal/postgres"
	"github.com/renraku/renraku/internal/school"
	"github.com/renraku/renraku/internal/staff/stafftest"
)

// TestRolloverInChromium: the administrator prepares the next year on the console
// (copies the structure, saves the plan) and asks parents in March; a parent on a
// phone opens the LINE link, moves the child to another class and confirms; the
// console then counts the confirmation.
func TestRolloverInChromium(t *testing.T) {
	t.Parallel()
	browsertest.RequireJapaneseFont(t)
	w, logins := apptest.StartDemoWorld(t)
	s := w.App.Services()
	ctx := context.Background()
	sakura, err := s.Schools.FindSchool(ctx, demo.Schools[0].Name)
	if err != nil {
		t.Fatal(err)
	}
	users, err := w.Sim.AddFriends(w.Ch.LineChannelID, 1, "ja")
	if err != nil {
		t.Fatal(err)
	}
	if err := postgres.SeedFamilies(ctx, s.Pool, s.Vault, []postgres.Family{{UserID: users[0].ID, ChannelID: w.Ch.ID, SchoolID: sakura.ID,
		ClassID: apptest.ClassID(t, w, sakura.ID, sakura.CurrentYear, "1年1組"), Nickname: "はなのはは", ChildName: "花田 はな", Verified: true, Following: true}}); err != nil {
		t.Fatal(err)
	}
	var secret string
	for _, l := range logins {
		if l.Login == "sakura.kocho" {
			secret = l.TOTPSecret
		}
	}
	next := sakura.CurrentYear + 1
	pc := browsertest.New(t, 1280, 900)
	// The code of the next step: the current one may have been used at enrolment.
	code := stafftest.MustCode(t, secret, time.Now().Add(30*time.Second))
	base := w.App.URL() + "/admin/schools/" + strconv.FormatInt(sakura.ID, 10) + "/rollover"
	step, cancel := context.WithTimeout(pc, 30*time.Second)
	defer cancel()
	err = chromedp.Do(step,
		chromedp.Navigate(w.App.URL()+"/staff/login"),
		chromedp.SendKeys(chromedp.CSS(`#f-login`), "sakura.kocho"),
		chromedp.SendKeys(chromedp.CSS(`#f-password`), demo.Password),
		chromedp.Click(chromedp.CSS(`[data-testid="signin-submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="second-factor"]`)),
		chromedp.SendKeys(chromedp.CSS(`#f-code`), code),
		chromedp.Click(chromedp.CSS(`[data-testid="code-submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="staff-home"]`)),
		chromedp.Navigate(base),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="rollover"]`)),
		chromedp.Click(chromedp.CSS(`[data-testid="rollover-copy"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="rollover-classes"]`)),
		chromedp.SetValue(chromedp.CSS(`#f-switch_on`), strconv.Itoa(next)+"-04-06"),
		chromedp.Click(chromedp.CSS(`[data-testid="rollover-save"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="rollover-planned"]`)),
	)
	if err != nil {
		browsertest.Screenshot(t, pc, "rollover-failed")
		t.Fatal(err)
	}
	text, err := chromedp.Run(pc, chromedp.Text(chromedp.CSS(`[data-testid="rollover-classes"]`)))
	if err != nil || !strings.Contains(text, "6年1組") {
		t.Fatalf("next year's classes: %q (%v)", text, err)
	}
	s.Rollover.Clock.Set(time.Date(next, time.March, 2, 9, 0, 0, 0, school.Tokyo))
	err = chromedp.Do(step,
		chromedp.Click(chromedp.CSS(`[data-testid="rollover-ask"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="rollover-asked"]`)),
	)
	if err != nil {
		t.Fatal(err)
	}
	browsertest.Screenshot(t, pc, "rollover-console")
	link := apptest.LinkIn(t, w, users[0].ID, "学年・組と部活動の確認", 1)

	// On the phone: 2年1組 is offered first; the parent picks 2年1組 anyway, ticks a club.
	phone := browsertest.New(t, 360, 740)
	err = chromedp.Do(phone,
		chromedp.Navigate(link),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="rollover-child"]`)),
	)
	if err != nil {
		t.Fatal(err)
	}
	shown, err := chromedp.Run(phone, chromedp.Text(chromedp.CSS(`main`)))
	if err != nil || !strings.Contains(shown, "花田 はな") || !strings.Contains(shown, "今年度: 1年1組") {
		t.Fatalf("the parent's page: %s (%v)", shown, err)
	}
	selected, err := chromedp.Run(phone, chromedp.Value(chromedp.CSS(`[data-testid="rollover-class"]`)))
	if want := strconv.FormatInt(apptest.ClassID(t, w, sakura.ID, next, "2年1組"), 10); err != nil || selected != want {
		t.Fatalf("pre-filled class %q (%v), want 2年1組 (%s)", selected, err, want)
	}
	err = chromedp.Do(phone,
		chromedp.Click(chromedp.CSS(`input[type=checkbox]`)),
		chromedp.Click(chromedp.CSS(`[data-testid="rollover-submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="rollover-parent-done"]`)),
	)
	if err != nil {
		t.Fatal(err)
	}
	browsertest.Screenshot(t, phone, "rollover-parent")
	err = chromedp.Do(pc,
		chromedp.Navigate(base),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="rollover-confirmed"]`)),
	)
	if err != nil {
		t.Fatal(err)
	}
	confirmed, err := chromedp.Run(pc, chromedp.Text(chromedp.CSS(`[data-testid="rollover-confirmed"]`)))
	if err != nil || strings.TrimSpace(confirmed) != "1" {
		t.Fatalf("the console counts %q confirmations (%v)", confirmed, err)
	}
}
