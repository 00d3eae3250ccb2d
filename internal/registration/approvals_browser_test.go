package registration_test

import (
	"context"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/renraku/renraku/internal/apptest"
	"github.com/renraku/renraku/internal/browsertest"
	"github.com/renraku/renraku/internal/demo"
)

// TestApprovalsPageShowsWhatTheTeacherDecidesOnInChromium: each waiting registration
// is a card with the child and their class, the parent's registered name and 続柄, a
// nickname that differs from the name, whether the child already has a confirmed
// guardian, and when the parent registered (in Japanese). No LINE identity appears,
// the cards keep their padding, and the view is audited.
func TestApprovalsPageShowsWhatTheTeacherDecidesOnInChromium(t *testing.T) {
	t.Parallel()
	browsertest.RequireJapaneseFont(t)
	w, _ := apptest.StartDemoWorld(t)
	s := w.App.Services()
	sakuraID, class11, _ := apptest.SchoolAndClass(t, w, demo.Schools[0].Name, "1年1組")
	kocho := apptest.SignedInAs(t, w, "sakura.kocho")
	sakura, err := s.Schools.Get(kocho, sakuraID)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Registration.NewCode(kocho, sakura.BoardID, sakuraID, class11); err != nil {
		t.Fatal(err)
	}
	code := apptest.ClassCodes(t, w, sakuraID)[class11]
	// A mother with the class code (verified), then someone else naming her child.
	if _, _, r := registerAs(t, w, "青木 春子", "mother", [3]string{"青木 一郎", apptest.Itoa(class11), code}); r.Status != http.StatusOK {
		t.Fatalf("mother: %d", r.Status)
	}
	if _, _, r := registerAs(t, w, "見知らぬ 人", "father", [3]string{"青木 一郎", apptest.Itoa(class11), code}); r.Status != http.StatusOK {
		t.Fatalf("further guardian: %d", r.Status)
	}
	// A grandmother without a code, with a nickname of her own.
	apptest.RegisterWithNickname(t, w, "山田 花子", "grandmother", "はなばあば", "山田 太郎", class11)

	ctx := browsertest.New(t, 1366, 900)
	err = chromedp.Do(ctx,
		chromedp.Navigate(w.App.URL()+"/staff/login"),
		chromedp.SendKeys(chromedp.CSS(`#f-login`), "sakura.tannin11"),
		chromedp.SendKeys(chromedp.CSS(`#f-password`), demo.Password),
		chromedp.Click(chromedp.CSS(`[data-testid="signin-submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="staff-home"]`)),
		chromedp.Navigate(w.App.URL()+"/staff/approvals"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="approval"]:nth-of-type(2)`)),
	)
	if err != nil {
		browsertest.Screenshot(t, ctx, "approvals-details-failed")
		t.Fatal(err)
	}
	browsertest.Screenshot(t, ctx, "approvals-details")
	type card struct{ Child, Class, Guardian, Relationship, Nickname, Others, At, Text string }
	cards, err := chromedp.Run(ctx, chromedp.Evaluate[[]card](`[...document.querySelectorAll('[data-testid="approval"]')].map(c => {
		const q = id => (c.querySelector('[data-testid="' + id + '"]') || {textContent: ""}).textContent.trim();
		return {Child: q("approval-child"), Class: q("approval-class"), Guardian: q("approval-guardian"), Relationship: q("approval-relationship"),
			Nickname: q("approval-nickname"), Others: q("approval-others"), At: q("approval-at"), Text: c.innerText};
	})`))
	if err != nil {
		t.Fatal(err)
	}
	if len(cards) != 2 {
		t.Fatalf("%d cards, want 2: %+v", len(cards), cards)
	}
	jaDateTime := regexp.MustCompile(`^20\d\d年\d{1,2}月\d{1,2}日（[日月火水木金土]）\d\d:\d\d$`)
	want := []card{
		{Child: "青木 一郎", Class: "1年1組", Guardian: "見知らぬ 人", Relationship: "父", Others: "あり"},
		{Child: "山田 太郎", Class: "1年1組", Guardian: "山田 花子", Relationship: "祖母", Nickname: "はなばあば", Others: "なし"},
	}
	for i, c := range cards {
		got := c
		got.At, got.Text = "", ""
		if got != want[i] {
			t.Errorf("card %d = %+v, want %+v", i, got, want[i])
		}
		if !jaDateTime.MatchString(c.At) {
			t.Errorf("card %d registered at %q, want a Japanese date and time", i, c.At)
		}
	}
	if !strings.Contains(cards[0].Text, "この児童にはすでに確認済みの保護者がいます") {
		t.Errorf("the first card lacks the warning: %q", cards[0].Text)
	}
	body, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`body`)))
	if err != nil {
		t.Fatalf("reading the approvals page: %v", err)
	}
	for _, leak := range []string{"のLINE", "のひとこと", "青木 春子"} {
		if strings.Contains(body, leak) {
			t.Errorf("the approvals page shows %q", leak)
		}
	}
	// The card's text starts inside its padding, not on its border.
	inset, err := chromedp.Run(ctx, chromedp.Evaluate[float64](`(() => {
		const c = document.querySelector('[data-testid="approval"]');
		return document.querySelector('[data-testid="approval-guardian"]').getBoundingClientRect().left - c.getBoundingClientRect().left;
	})()`))
	if err != nil || inset < 12 {
		t.Errorf("the card's content is %vpx from its left edge (%v), want padding", inset, err)
	}
	var rows int
	err = s.Pool.QueryRow(context.Background(), `SELECT (detail->>'rows')::int FROM audit_event e JOIN staff st ON st.id = e.actor_id
		WHERE e.action = 'registration.queue_view' AND e.actor_kind = 'staff' ORDER BY e.seq DESC LIMIT 1`).Scan(&rows)
	if err != nil || rows != 2 {
		t.Errorf("audit of the approvals page: %d rows (%v), want 2", rows, err)
	}

	// On a school phone, nothing is wider than the screen.
	phone := browsertest.New(t, 360, 740)
	err = chromedp.Do(phone,
		chromedp.Navigate(w.App.URL()+"/staff/login"),
		chromedp.SendKeys(chromedp.CSS(`#f-login`), "sakura.tannin11"),
		chromedp.SendKeys(chromedp.CSS(`#f-password`), demo.Password),
		chromedp.Click(chromedp.CSS(`[data-testid="signin-submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="staff-home"]`)),
		chromedp.Navigate(w.App.URL()+"/staff/approvals"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="approval-nickname"]`)),
	)
	if err != nil {
		t.Fatal(err)
	}
	browsertest.Screenshot(t, phone, "approvals-details-phone")
	overflow, err := chromedp.Run(phone, chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth`))
	if err != nil || overflow {
		t.Errorf("approvals page wider than 360 px (%v)", err)
	}
}
