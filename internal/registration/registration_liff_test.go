package registration_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/renraku/renraku/internal/apptest"
	"github.com/renraku/renraku/internal/browsertest"
	"github.com/renraku/renraku/internal/demo"
	"github.com/renraku/renraku/internal/postgres"
	"github.com/renraku/renraku/internal/school"
)

func TestRegistrationWithLIFF(t *testing.T) {
	t.Parallel()
	browsertest.RequireJapaneseFont(t)
	w := apptest.StartLineWorld(t)
	apptest.WithLIFF(t, w)
	if _, err := demo.SeedStaff(context.Background(), w.App.Services()); err != nil {
		t.Fatal(err)
	}
	u := w.NewParent(t, "LIFF保護者")
	other := w.NewParent(t, "別の人")
	if _, err := w.Sim.Follow(w.Ch.LineChannelID, u.ID); err != nil {
		t.Fatal(err)
	}
	link := apptest.LinkIn(t, w, u.ID, "友だち追加ありがとうございます", 1)
	_, class11, _ := apptest.SchoolAndClass(t, w, demo.Schools[0].Name, "1年1組")
	form := url.Values{"consent": {"yes"}, "name": {"林 由美"}, "relationship": {"mother"}, "child.0.name": {"林 はな"},
		"child.0.school": {apptest.Itoa(apptest.MustSchool(t, w, 0))}, "child.0.class": {apptest.Itoa(class11)}, "op": {"save"}}

	// Without the LIFF proof nothing is saved, even in the browser the link is bound to.
	b := apptest.NewParentBrowser(t)
	if r := b.Get(link); r.Status != http.StatusOK {
		t.Fatalf("page: %d", r.Status)
	}
	if r := b.Post(link, form); r.Status != http.StatusForbidden {
		t.Fatalf("submit without LIFF: %d", r.Status)
	}
	// Someone else's ID token is refused.
	if r := b.Post(link+"/liff", url.Values{"id_token": {w.Sim.IssueIDToken(apptest.LoginChannelID, other.ID, time.Hour)}}); r.Status != http.StatusForbidden {
		t.Fatalf("another user's token: %d", r.Status)
	}

	// In LINE's browser the page gets the parent's ID token from LIFF (here a stand-in
	// for LINE's SDK hands out the simulator's token), the server verifies it at LINE,
	// and the parent registers.
	token, err := json.Marshal(w.Sim.IssueIDToken(apptest.LoginChannelID, u.ID, time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	stub := `Object.defineProperty(window, "liff", {writable: false, configurable: false, value: {
		init: function () { return Promise.resolve(); }, isLoggedIn: function () { return true; },
		login: function () {}, getIDToken: function () { return ` + string(token) + `; } }});`
	ctx := browsertest.New(t, 360, 740)
	err = chromedp.Do(ctx,
		chromedp.Navigate("about:blank"),
		func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
			_, err := cdp.Call(ctx, tg, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: stub})
			return chromedp.Void{}, err
		},
		// The link was first opened in another browser: this one proves itself with
		// LIFF and then gets the form.
		chromedp.Navigate(link),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="registration"]`)),
		chromedp.WaitVisible(chromedp.CSS(`body[data-liff="verified"]`)),
	)
	if err != nil {
		state, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body.getAttribute("data-liff") || ""`))
		t.Fatalf("LIFF verification in the page: %v (state %q)", err, state)
	}
	err = chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`[data-testid="consent"]`)),
		chromedp.SendKeys(chromedp.CSS(`#f-name`), "林 由美"),
		chromedp.SendKeys(chromedp.CSS(`#c0-name`), "林 はな"),
		chromedp.SetValue(chromedp.CSS(`#c0-school`), apptest.Itoa(apptest.MustSchool(t, w, 0))),
		chromedp.SetValue(chromedp.CSS(`#c0-class`), apptest.Itoa(class11)),
		chromedp.Click(chromedp.CSS(`[data-testid="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="registration-done"]`)),
	)
	if err != nil {
		body, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`main`)))
		t.Fatalf("register after LIFF: %v: %s", err, body)
	}
	browsertest.Screenshot(t, ctx, "registration-liff-done")
	apptest.WaitBotText(t, w, u.ID, "先生の確認待ち：1人", 1)
	// The first browser lost the link to the LIFF-proved one: it gets only the LIFF
	// check, not the form with the stored data.
	if r := b.Get(link); r.Doc.Find(`[data-testid="liff-check"]`).Length() != 1 || r.Doc.Find(`[data-testid="registration"]`).Length() != 0 {
		t.Errorf("the unproved browser: %d %s", r.Status, apptest.Text(r))
	}
}

// TestRolloverConfirmationWithLIFF: on a channel with a LIFF app, a parent's
// confirmation of next year's class waits for LIFF's proof of their LINE user, as
// registration does; another user's ID token is refused.
func TestRolloverConfirmationWithLIFF(t *testing.T) {
	t.Parallel()
	w := apptest.StartLineWorld(t)
	apptest.WithLIFF(t, w)
	s := w.App.Services()
	ctx := context.Background()
	if _, err := demo.SeedStaff(ctx, s); err != nil {
		t.Fatal(err)
	}
	sakura, err := s.Schools.FindSchool(ctx, demo.Schools[0].Name)
	if err != nil {
		t.Fatal(err)
	}
	users, err := w.Sim.AddFriends(w.Ch.LineChannelID, 2, "ja")
	if err != nil {
		t.Fatal(err)
	}
	_, class11, _ := apptest.SchoolAndClass(t, w, demo.Schools[0].Name, "1年1組")
	if err := postgres.SeedFamilies(ctx, s.Pool, s.Vault, []postgres.Family{{UserID: users[0].ID, ChannelID: w.Ch.ID, SchoolID: sakura.ID,
		ClassID: class11, Nickname: "りふ", ChildName: "林 そら", Verified: true, Following: true}}); err != nil {
		t.Fatal(err)
	}
	kocho := apptest.SignedInAs(t, w, "sakura.kocho")
	next := sakura.CurrentYear + 1
	if _, err := s.Rollover.CopyStructure(kocho, sakura.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.Rollover.SavePlan(kocho, sakura.ID, []int{6}, time.Date(next, time.April, 6, 0, 0, 0, 0, school.Tokyo)); err != nil {
		t.Fatal(err)
	}
	s.Rollover.Clock.Set(time.Date(next, time.March, 2, 9, 0, 0, 0, school.Tokyo))
	if _, err := s.Rollover.Ask(kocho, sakura.ID); err != nil {
		t.Fatal(err)
	}
	link := apptest.LinkIn(t, w, users[0].ID, "学年・組と部活動の確認", 1)
	var childID int64
	if err := s.Pool.QueryRow(ctx, `SELECT id FROM child`).Scan(&childID); err != nil {
		t.Fatal(err)
	}
	child := apptest.Itoa(childID)
	form := url.Values{"child": {child}, "class_" + child: {apptest.Itoa(apptest.ClassID(t, w, sakura.ID, next, "2年1組"))}}

	b := apptest.NewParentBrowser(t)
	if r := b.Get(link); r.Status != http.StatusOK || r.Doc.Find(`meta[name="renraku-liff"]`).Length() != 1 {
		t.Fatalf("page with LIFF: %d", r.Status)
	}
	if r := b.Post(link, form); r.Status != http.StatusForbidden {
		t.Fatalf("confirmation without LIFF: %d", r.Status)
	}
	if r := b.Post(link+"/liff", url.Values{"id_token": {w.Sim.IssueIDToken(apptest.LoginChannelID, users[1].ID, time.Hour)}}); r.Status != http.StatusForbidden {
		t.Fatalf("another user's token: %d", r.Status)
	}
	if n := apptest.Count(t, w, `SELECT count(*) FROM child_next`); n != 0 {
		t.Fatal("a refused confirmation was stored")
	}
	if r := b.Post(link+"/liff", url.Values{"id_token": {w.Sim.IssueIDToken(apptest.LoginChannelID, users[0].ID, time.Hour)}}); r.Status != http.StatusNoContent {
		t.Fatalf("the parent's token: %d", r.Status)
	}
	if r := b.Post(link, form); r.Status != http.StatusOK || r.Doc.Find(`[data-testid="rollover-parent-done"]`).Length() != 1 {
		t.Fatalf("confirmation after LIFF: %d", r.Status)
	}
}
