package line_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/renraku/renraku/internal/apptest"
	"github.com/renraku/renraku/internal/browsertest"
	"github.com/renraku/renraku/internal/demo"
	"github.com/renraku/renraku/internal/linesim"
	"github.com/renraku/renraku/internal/postgres"
)

// menuActions returns the channel's guest or member menu's actions by label.
func menuActions(t *testing.T, w *apptest.LineWorld, kind string) map[string]linesim.Action {
	t.Helper()
	for _, m := range w.Sim.RichMenus(w.Ch.LineChannelID) {
		if strings.HasPrefix(m.Name, "renraku-"+kind+"-") {
			out := map[string]linesim.Action{}
			for _, a := range m.Areas {
				out[a.Action.Label] = a.Action
			}
			return out
		}
	}
	t.Fatalf("no %s menu on LINE", kind)
	return nil
}

// withLIFFStub makes LINE's LIFF SDK in a Chromium tab a stand-in that hands out
// idToken, as LINE's browser would for the signed-in user.
func withLIFFStub(t *testing.T, ctx context.Context, idToken string) {
	t.Helper()
	token, err := json.Marshal(idToken)
	if err != nil {
		t.Fatal(err)
	}
	stub := `Object.defineProperty(window, "liff", {writable: false, configurable: false, value: {
		init: function () { return Promise.resolve(); }, isLoggedIn: function () { return true; },
		login: function () {}, getIDToken: function () { return ` + string(token) + `; } }});`
	err = chromedp.Do(ctx,
		chromedp.Navigate("about:blank"),
		func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
			_, err := cdp.Call(ctx, tg, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: stub})
			return chromedp.Void{}, err
		})
	if err != nil {
		t.Fatal(err)
	}
}

// TestRichMenuOpensPagesThroughLIFF: without LIFF every menu button is a postback the
// bot answers; once the channel has a LIFF app, the page buttons are URI actions to the
// LIFF app, and following one in LINE's browser (the ID token proving the parent)
// opens the parent's absence form in one tap.
func TestRichMenuOpensPagesThroughLIFF(t *testing.T) {
	t.Parallel()
	browsertest.RequireJapaneseFont(t)
	w := apptest.StartLineWorld(t)
	s := w.App.Services()
	ctx := context.Background()
	if _, err := demo.SeedStaff(ctx, s); err != nil {
		t.Fatal(err)
	}
	for label, a := range menuActions(t, w, "member") {
		if a.Type != "postback" {
			t.Errorf("without LIFF, %s is a %s action", label, a.Type)
		}
	}

	apptest.WithLIFF(t, w)
	base := "https://liff.line.me/" + apptest.LIFFID + "/p/liff/" + w.Ch.LineChannelID + "/"
	member := menuActions(t, w, "member")
	for label, want := range map[string]string{"遅刻・欠席連絡": base + "absence", "自分の情報を更新する": base + "update", "配布プリント": base + "handouts",
		"連絡する": "", "学校ウェブサイト": "", "部活動サイト": ""} {
		a := member[label]
		switch {
		case want == "" && a.Type != "postback":
			t.Errorf("%s: a %s action, want the postback the bot answers", label, a.Type)
		case want != "" && (a.Type != "uri" || a.URI != want):
			t.Errorf("%s: %s %q, want uri %q", label, a.Type, a.URI, want)
		}
	}
	if a := menuActions(t, w, "guest")["登録する"]; a.Type != "uri" || a.URI != base+"register" {
		t.Errorf("登録する: %s %q", a.Type, a.URI)
	}

	// A registered parent taps 遅刻・欠席連絡: LINE opens the LIFF app, whose page
	// proves the parent with the ID token and goes on to their form.
	users, err := w.Sim.AddFriends(w.Ch.LineChannelID, 1, "ja")
	if err != nil {
		t.Fatal(err)
	}
	parent := users[0]
	sakuraID, class11, _ := apptest.SchoolAndClass(t, w, demo.Schools[0].Name, "1年1組")
	if err := postgres.SeedFamilies(ctx, s.Pool, s.Vault, []postgres.Family{{UserID: parent.ID, ChannelID: w.Ch.ID, SchoolID: sakuraID,
		ClassID: class11, Nickname: "りふ", ChildName: "林 そら", Verified: true, Following: true}}); err != nil {
		t.Fatal(err)
	}
	tap, err := w.Sim.Tap(w.Ch.LineChannelID, parent.ID, member["遅刻・欠席連絡"])
	if err != nil || tap.URI != w.App.URL()+"/p/liff/"+w.Ch.LineChannelID+"/absence" {
		t.Fatalf("tap: %+v %v", tap, err)
	}
	phone := browsertest.New(t, 360, 740)
	withLIFFStub(t, phone, w.Sim.IssueIDToken(apptest.LoginChannelID, parent.ID, time.Hour))
	err = chromedp.Do(phone,
		chromedp.Navigate(tap.URI),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="absence"]`)),
	)
	if err != nil {
		body, _ := chromedp.Run(phone, chromedp.Text(chromedp.CSS(`body`)))
		t.Fatalf("the LIFF page did not open the absence form: %v: %s", err, body)
	}
	form, err := chromedp.Run(phone, chromedp.Text(chromedp.CSS(`[data-testid="absence"]`)))
	if err != nil {
		t.Fatalf("reading the LIFF-opened form: %v", err)
	}
	where, err := chromedp.Run(phone, chromedp.Evaluate[string](`location.pathname`))
	if err != nil {
		t.Fatalf("reading the LIFF-opened form's path: %v", err)
	}
	if !strings.Contains(form, "林 そら") || !strings.HasPrefix(where, "/p/absence/") {
		t.Errorf("the form at %s: %q", where, form)
	}
	browsertest.Screenshot(t, phone, "liff-absence")
	// No bot message was needed.
	if n := len(w.Sim.Chat(w.Ch.LineChannelID, parent.ID)); n != 0 {
		t.Errorf("%d chat items after a one-tap open", n)
	}
	// The form works: a report is sent from it.
	err = chromedp.Do(phone,
		chromedp.Click(chromedp.CSS(`[data-testid="absence-submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="absence-done"]`)),
	)
	if err != nil {
		body, _ := chromedp.Run(phone, chromedp.Text(chromedp.CSS(`main`)))
		t.Fatalf("submit from the LIFF-opened form: %v: %s", err, body)
	}

	// LINE's first redirect reaches the app's endpoint with the page in liff.state: the
	// answer is the same LIFF page, whose liff.init goes on to it.
	pb := apptest.NewParentBrowser(t)
	r := pb.Get(w.App.URL() + "/?liff.state=" + url.QueryEscape("/p/liff/"+w.Ch.LineChannelID+"/absence"))
	id, _ := r.Doc.Find(`meta[name="renraku-liff"]`).Attr("content")
	verify, _ := r.Doc.Find(`meta[name="renraku-liff"]`).Attr("data-verify")
	if r.Status != http.StatusOK || id != apptest.LIFFID || verify != "/p/liff/"+w.Ch.LineChannelID+"/absence" {
		t.Errorf("first redirect: %d, LIFF %q, verify %q", r.Status, id, verify)
	}
	// An unknown page, a forged token, someone not a friend: refused.
	entry := w.App.URL() + "/p/liff/" + w.Ch.LineChannelID + "/absence"
	if r := pb.Get(w.App.URL() + "/p/liff/" + w.Ch.LineChannelID + "/admin"); r.Status != http.StatusNotFound {
		t.Errorf("unknown page: %d", r.Status)
	}
	stranger := w.NewParent(t, "友だちでない人")
	// In the browser, the page says so.
	other := browsertest.New(t, 360, 740)
	withLIFFStub(t, other, w.Sim.IssueIDToken(apptest.LoginChannelID, stranger.ID, time.Hour))
	if err := chromedp.Do(other, chromedp.Navigate(entry), chromedp.WaitVisible(chromedp.CSS(`body[data-liff="refused"]`))); err != nil {
		t.Fatal(err)
	}
	if msg, err := chromedp.Run(other, chromedp.Text(chromedp.CSS(`[data-testid="liff-status"]`))); err != nil {
		t.Fatalf("reading the refused LIFF page's status: %v", err)
	} else if !strings.Contains(msg, "友だち追加してから") {
		t.Errorf("refused LIFF page: %q", msg)
	}
	browsertest.Screenshot(t, other, "liff-refused")
	for name, tok := range map[string]string{"forged": "not-a-token", "not a friend": w.Sim.IssueIDToken(apptest.LoginChannelID, stranger.ID, time.Hour)} {
		if r := pb.Post(entry, url.Values{"id_token": {tok}}); r.Status != http.StatusForbidden {
			t.Errorf("%s: %d %s", name, r.Status, apptest.Text(r))
		}
	}
	// A friend not registered yet is sent to registration, whatever they tapped.
	guest := w.NewParent(t, "登録前の人")
	if _, err := w.Sim.Follow(w.Ch.LineChannelID, guest.ID); err != nil {
		t.Fatal(err)
	}
	apptest.WaitBotText(t, w, guest.ID, "友だち追加ありがとうございます", 1)
	r = pb.Post(entry, url.Values{"id_token": {w.Sim.IssueIDToken(apptest.LoginChannelID, guest.ID, time.Hour)}})
	var next struct{ Next string }
	if err := json.Unmarshal([]byte(r.Body), &next); r.Status != http.StatusOK || err != nil || !strings.Contains(next.Next, "/p/register/") {
		t.Errorf("a guest's absence page: %d %s (%v)", r.Status, r.Body, err)
	}
}
