package app_test

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

	"github.com/renraku/renraku/internal/audit"
	"github.com/renraku/renraku/internal/browsertest"
	"github.com/renraku/renraku/internal/demo"
	"github.com/renraku/renraku/internal/linesim"
	"github.com/renraku/renraku/internal/postgres"
	"github.com/renraku/renraku/internal/school"
)

const (
	loginChannelID = "1650000001"
	liffID         = "1650000001-AbCdEfGh"
)

// withLIFF gives the demo channel a LINE Login channel and a LIFF app, in renraku and in
// the simulator.
func withLIFF(t testing.TB, w *lineWorld) {
	t.Helper()
	ctx := context.Background()
	s := w.app.Services()
	ch := w.ch
	ch.LoginChannelID, ch.LIFFID = loginChannelID, liffID
	sakura, err := s.Schools.FindSchool(ctx, demo.Schools[0].Name)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.LINE.SetChannel(ctx, audit.OperatorActor, sakura.ID, sakura.BoardID, ch); err != nil {
		t.Fatal(err)
	}
	if err := w.sim.AddChannel(linesim.ChannelConfig{ID: ch.LineChannelID, Secret: ch.Secret.Reveal(), AccessToken: ch.AccessToken.Reveal(),
		WebhookURL: w.app.URL() + "/line/webhook/" + ch.LineChannelID, Name: "みどり市 学校連絡",
		LoginChannelID: loginChannelID, LoginChannelSecret: "0123456789abcdef0123456789abcdef",
		// The LIFF app's endpoint URL is renraku's base URL (docs/OPERATIONS.md).
		LIFFApps: map[string]string{liffID: w.app.URL()}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.LINE.SyncRichMenus(ctx, ch); err != nil {
		t.Fatal(err)
	}
}

func TestRegistrationWithLIFF(t *testing.T) {
	t.Parallel()
	browsertest.RequireJapaneseFont(t)
	w := startLineWorld(t)
	withLIFF(t, w)
	if _, err := demo.SeedStaff(context.Background(), w.app.Services()); err != nil {
		t.Fatal(err)
	}
	u := w.newParent(t, "LIFF保護者")
	other := w.newParent(t, "別の人")
	if _, err := w.sim.Follow(w.ch.LineChannelID, u.ID); err != nil {
		t.Fatal(err)
	}
	link := linkIn(t, w, u.ID, "友だち追加ありがとうございます", 1)
	_, class11, _ := schoolAndClass(t, w, demo.Schools[0].Name, "1年1組")
	form := url.Values{"consent": {"yes"}, "name": {"林 由美"}, "relationship": {"mother"}, "child.0.name": {"林 はな"},
		"child.0.school": {itoa(mustSchool(t, w, 0))}, "child.0.class": {itoa(class11)}, "op": {"save"}}

	// Without the LIFF proof nothing is saved, even in the browser the link is bound to.
	b := newParentBrowser(t)
	if r := b.get(link); r.status != http.StatusOK {
		t.Fatalf("page: %d", r.status)
	}
	if r := b.post(link, form); r.status != http.StatusForbidden {
		t.Fatalf("submit without LIFF: %d", r.status)
	}
	// Someone else's ID token is refused.
	if r := b.post(link+"/liff", url.Values{"id_token": {w.sim.IssueIDToken(loginChannelID, other.ID, time.Hour)}}); r.status != http.StatusForbidden {
		t.Fatalf("another user's token: %d", r.status)
	}

	// In LINE's browser the page gets the parent's ID token from LIFF (here a stand-in
	// for LINE's SDK hands out the simulator's token), the server verifies it at LINE,
	// and the parent registers.
	token, err := json.Marshal(w.sim.IssueIDToken(loginChannelID, u.ID, time.Hour))
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
		chromedp.SetValue(chromedp.CSS(`#c0-school`), itoa(mustSchool(t, w, 0))),
		chromedp.SetValue(chromedp.CSS(`#c0-class`), itoa(class11)),
		chromedp.Click(chromedp.CSS(`[data-testid="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="registration-done"]`)),
	)
	if err != nil {
		body, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`main`)))
		t.Fatalf("register after LIFF: %v: %s", err, body)
	}
	browsertest.Screenshot(t, ctx, "registration-liff-done")
	waitBotText(t, w, u.ID, "先生の確認待ち：1人", 1)
	// The first browser lost the link to the LIFF-proved one: it gets only the LIFF
	// check, not the form with the stored data.
	if r := b.get(link); r.doc.Find(`[data-testid="liff-check"]`).Length() != 1 || r.doc.Find(`[data-testid="registration"]`).Length() != 0 {
		t.Errorf("the unproved browser: %d %s", r.status, text(r))
	}
}

// TestRolloverConfirmationWithLIFF: on a channel with a LIFF app, a parent's
// confirmation of next year's class waits for LIFF's proof of their LINE user, as
// registration does; another user's ID token is refused.
func TestRolloverConfirmationWithLIFF(t *testing.T) {
	t.Parallel()
	w := startLineWorld(t)
	withLIFF(t, w)
	s := w.app.Services()
	ctx := context.Background()
	if _, err := demo.SeedStaff(ctx, s); err != nil {
		t.Fatal(err)
	}
	sakura, err := s.Schools.FindSchool(ctx, demo.Schools[0].Name)
	if err != nil {
		t.Fatal(err)
	}
	users, err := w.sim.AddFriends(w.ch.LineChannelID, 2, "ja")
	if err != nil {
		t.Fatal(err)
	}
	_, class11, _ := schoolAndClass(t, w, demo.Schools[0].Name, "1年1組")
	if err := postgres.SeedFamilies(ctx, s.Pool, s.Vault, []postgres.Family{{UserID: users[0].ID, ChannelID: w.ch.ID, SchoolID: sakura.ID,
		ClassID: class11, Nickname: "りふ", ChildName: "林 そら", Verified: true, Following: true}}); err != nil {
		t.Fatal(err)
	}
	kocho := signedInAs(t, w, "sakura.kocho")
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
	link := linkIn(t, w, users[0].ID, "学年・組と部活動の確認", 1)
	var childID int64
	if err := s.Pool.QueryRow(ctx, `SELECT id FROM child`).Scan(&childID); err != nil {
		t.Fatal(err)
	}
	child := itoa(childID)
	form := url.Values{"child": {child}, "class_" + child: {itoa(classID(t, w, sakura.ID, next, "2年1組"))}}

	b := newParentBrowser(t)
	if r := b.get(link); r.status != http.StatusOK || r.doc.Find(`meta[name="renraku-liff"]`).Length() != 1 {
		t.Fatalf("page with LIFF: %d", r.status)
	}
	if r := b.post(link, form); r.status != http.StatusForbidden {
		t.Fatalf("confirmation without LIFF: %d", r.status)
	}
	if r := b.post(link+"/liff", url.Values{"id_token": {w.sim.IssueIDToken(loginChannelID, users[1].ID, time.Hour)}}); r.status != http.StatusForbidden {
		t.Fatalf("another user's token: %d", r.status)
	}
	if n := count(t, w, `SELECT count(*) FROM child_next`); n != 0 {
		t.Fatal("a refused confirmation was stored")
	}
	if r := b.post(link+"/liff", url.Values{"id_token": {w.sim.IssueIDToken(loginChannelID, users[0].ID, time.Hour)}}); r.status != http.StatusNoContent {
		t.Fatalf("the parent's token: %d", r.status)
	}
	if r := b.post(link, form); r.status != http.StatusOK || r.doc.Find(`[data-testid="rollover-parent-done"]`).Length() != 1 {
		t.Fatalf("confirmation after LIFF: %d", r.status)
	}
}
