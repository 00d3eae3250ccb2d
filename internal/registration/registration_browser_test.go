package registration_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/renraku/renraku/internal/apptest"
	"github.com/renraku/renraku/internal/browsertest"
	"github.com/renraku/renraku/internal/demo"
	"github.com/renraku/renraku/internal/linesim"
)

func TestRegistrationPageInChromium(t *testing.T) {
	t.Parallel()
	browsertest.RequireJapaneseFont(t)
	w := apptest.StartLineWorld(t)
	if _, err := demo.SeedStaff(context.Background(), w.App.Services()); err != nil {
		t.Fatal(err)
	}
	u := w.NewParent(t, "表示名")
	if _, err := w.Sim.Follow(w.Ch.LineChannelID, u.ID); err != nil {
		t.Fatal(err)
	}
	link := apptest.LinkIn(t, w, u.ID, "友だち追加ありがとうございます", 1)
	_, class11, _ := apptest.SchoolAndClass(t, w, demo.Schools[0].Name, "1年1組")
	_, class1A, _ := apptest.SchoolAndClass(t, w, demo.Schools[1].Name, "1年A組")

	ctx := browsertest.New(t, 360, 740)
	err := chromedp.Do(ctx,
		chromedp.Navigate(link),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="registration"]`)),
		chromedp.SendKeys(chromedp.CSS(`#f-name`), "佐藤 良子"),
		chromedp.SetValue(chromedp.CSS(`#f-relationship`), "mother"),
		chromedp.SendKeys(chromedp.CSS(`#c0-name`), "佐藤 さくら"),
		// Without consent, and without a class.
		chromedp.Click(chromedp.CSS(`[data-testid="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="error-consent"]`)),
	)
	if err != nil {
		t.Fatal(err)
	}
	msgs, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`main`)))
	if err != nil {
		t.Fatalf("reading the error page: %v", err)
	}
	for _, want := range []string{"登録には同意が必要です", "学校を選んでください"} {
		if !strings.Contains(msgs, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	// What was typed is still there.
	name, err := chromedp.Run(ctx, chromedp.Value(chromedp.CSS(`#c0-name`)))
	if err != nil || name != "佐藤 さくら" {
		t.Errorf("child's name after the error: %q (%v)", name, err)
	}
	browsertest.Screenshot(t, ctx, "registration-errors")
	overflow, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth`))
	if err != nil || overflow {
		t.Errorf("registration page wider than 360 px (%v)", err)
	}

	// Fix it, add a second child (a junior high school sibling) and register.
	err = chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`[data-testid="consent"]`)),
		chromedp.SetValue(chromedp.CSS(`#c0-school`), apptest.Itoa(apptest.MustSchool(t, w, 0))),
		chromedp.SetValue(chromedp.CSS(`#c0-class`), apptest.Itoa(class11)),
		chromedp.Click(chromedp.CSS(`[data-testid="add-child"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#c1-name`)),
		chromedp.SendKeys(chromedp.CSS(`#c1-name`), "佐藤 ひかる"),
		chromedp.SetValue(chromedp.CSS(`#c1-school`), apptest.Itoa(apptest.MustSchool(t, w, 1))),
		chromedp.SetValue(chromedp.CSS(`#c1-class`), apptest.Itoa(class1A)),
	)
	if err != nil {
		t.Fatal(err)
	}
	browsertest.Screenshot(t, ctx, "registration-filled")
	err = chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`[data-testid="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="registration-done"]`)),
	)
	if err != nil {
		body, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`main`)))
		t.Fatalf("submit: %v: %s", err, body)
	}
	done, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`[data-testid="registration-done"]`)))
	if err != nil || !strings.Contains(done, "佐藤 さくら") || !strings.Contains(done, "佐藤 ひかる") || !strings.Contains(done, "先生の確認待ち") {
		t.Errorf("done page: %q (%v)", done, err)
	}
	browsertest.Screenshot(t, ctx, "registration-done")
	apptest.WaitBotText(t, w, u.ID, "先生の確認待ち：2人", 1)
}

func TestRegistrationPageInTheParentsLanguage(t *testing.T) {
	t.Parallel()
	w := apptest.StartLineWorld(t)
	u, err := w.Sim.AddUser(linesimUser("English speaker", "en"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Sim.Follow(w.Ch.LineChannelID, u.ID); err != nil {
		t.Fatal(err)
	}
	link := apptest.LinkIn(t, w, u.ID, "Thank you for adding us", 1)
	b := apptest.NewParentBrowser(t)
	r := b.Get(link)
	if r.Status != http.StatusOK || r.Doc.Find("h1").Text() != "Register for school messages" {
		t.Fatalf("English page: %d %q", r.Status, r.Doc.Find("h1").Text())
	}
	r = b.Get(link + "?lang=ja")
	if r.Doc.Find("h1").Text() != "連絡サービスの登録" {
		t.Errorf("switched to Japanese: %q", r.Doc.Find("h1").Text())
	}
}

func linesimUser(name, lang string) linesim.User {
	return linesim.User{DisplayName: name, Language: lang}
}

// TestApprovalsWarningsInChromium: the homeroom teacher's approvals page shows, on a
// school phone's width, that the child already has a guardian and that this guardian
// answered 「心当たりがない」.
func TestApprovalsWarningsInChromium(t *testing.T) {
	t.Parallel()
	browsertest.RequireJapaneseFont(t)
	w, _ := apptest.StartDemoWorld(t)
	s := w.App.Services()
	sakuraID, class11, _ := apptest.SchoolAndClass(t, w, demo.Schools[0].Name, "1年1組")
	kocho := apptest.SignedInAs(t, w, "sakura.kocho")
	sakura := mustGetSchool(t, kocho, s, sakuraID)
	if err := s.Registration.NewCode(kocho, sakura.BoardID, sakuraID, class11); err != nil {
		t.Fatal(err)
	}
	code := apptest.ClassCodes(t, w, sakuraID)[class11]
	mother, _, _ := registerAs(t, w, "青木 春子", "mother", [3]string{"青木 一郎", apptest.Itoa(class11), code})
	if _, _, r := registerAs(t, w, "見知らぬ 人", "father", [3]string{"青木 一郎", apptest.Itoa(class11), code}); r.Status != http.StatusOK {
		t.Fatalf("further guardian: %d", r.Status)
	}
	items := apptest.WaitBotText(t, w, mother.ID, "別のLINEアカウントから登録がありました", 1)
	for _, it := range items {
		for _, a := range it.Actions {
			if a.Label == "心当たりがない" {
				if _, err := w.Sim.Tap(w.Ch.LineChannelID, mother.ID, a); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	apptest.WaitBotText(t, w, mother.ID, "学校にお知らせしました", 1)

	phone := browsertest.New(t, 360, 740)
	err := chromedp.Do(phone,
		chromedp.Navigate(w.App.URL()+"/staff/login"),
		chromedp.SendKeys(chromedp.CSS(`#f-login`), "sakura.tannin11"),
		chromedp.SendKeys(chromedp.CSS(`#f-password`), demo.Password),
		chromedp.Click(chromedp.CSS(`[data-testid="signin-submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="staff-home"]`)),
		chromedp.Navigate(w.App.URL()+"/staff/approvals"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="approval-disputed"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="approval-has-guardian"]`)),
	)
	if err != nil {
		browsertest.Screenshot(t, phone, "approvals-failed")
		t.Fatal(err)
	}
	browsertest.Screenshot(t, phone, "approvals-warnings")
	row, err := chromedp.Run(phone, chromedp.Text(chromedp.CSS(`[data-testid="approval"]`)))
	if err != nil {
		t.Fatalf("reading the approval: %v", err)
	}
	for _, want := range []string{"青木 一郎", "この児童にはすでに確認済みの保護者がいます", "「心当たりがない」と連絡がありました"} {
		if !strings.Contains(row, want) {
			t.Errorf("approval row lacks %q: %q", want, row)
		}
	}
	overflow, err := chromedp.Run(phone, chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth`))
	if err != nil || overflow {
		t.Errorf("approvals page wider than 360 px (%v)", err)
	}
}
