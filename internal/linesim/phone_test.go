package linesim_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"
	"github.com/google/go-cmp/cmp"
	"github.com/line/line-bot-sdk-go/v8/linebot/messaging_api"
	"github.com/line/line-bot-sdk-go/v8/linebot/webhook"

	"github.com/renraku/renraku/internal/linesim"
)

// phoneFixture is a fixture whose parent has received a text with quick replies, a
// buttons template and a default rich menu, with the phone page served.
type phoneFixture struct {
	*fixture
	user  linesim.User
	phone *httptest.Server
}

// noRedirect lets a test see the phone page's 303s.
var noRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

func newPhoneFixture(t *testing.T) *phoneFixture {
	t.Helper()
	f := newFixture(t, linesim.Options{HTMXPath: "/static/vendor/htmx.js"})
	u, _ := f.mustFriend(t, "鈴木一郎")
	api := f.api(t, testToken)
	msgs := []messaging_api.MessageInterface{
		&messaging_api.TemplateMessage{AltText: "欠席の確認", Template: &messaging_api.ButtonsTemplate{
			Title: "欠席連絡", Text: "理由を選んでください",
			Actions: []messaging_api.ActionInterface{
				&messaging_api.PostbackAction{Label: "体調不良", Data: "reason=sick", DisplayText: "体調不良"},
				&messaging_api.UriAction{Label: "詳しく", Uri: "https://example.com/absence"},
			}}},
		&messaging_api.TextMessage{Text: "いつからですか?", QuickReply: &messaging_api.QuickReply{Items: []messaging_api.QuickReplyItem{
			{Type: "action", Action: &messaging_api.PostbackAction{Label: "今日", Data: "day=today", DisplayText: "今日"}},
			{Type: "action", Action: &messaging_api.DatetimePickerAction{Label: "日付を選ぶ", Data: "day=pick", Mode: "date"}},
			{Type: "action", Action: &messaging_api.UriAction{Label: "ヘルプ", Uri: "https://example.com/help"}},
		}}},
	}
	if _, _, err := api.PushMessageWithHttpInfo(&messaging_api.PushMessageRequest{To: u.ID, Messages: msgs}, ""); err != nil {
		t.Fatal(err)
	}
	_, id, err := api.CreateRichMenuWithHttpInfo(menuRequest(2500, 843, "メニュー"))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.blob(t).SetRichMenuImageWithHttpInfo(id.RichMenuId, "image/png", bytes.NewReader(mustPNG(t, 2500, 843))); err != nil {
		t.Fatal(err)
	}
	if _, _, err := api.SetDefaultRichMenuWithHttpInfo(id.RichMenuId); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/_sim/phone/", f.sim.PhoneHandler("/_sim/phone"))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return &phoneFixture{fixture: f, user: u, phone: srv}
}

func (p *phoneFixture) get(t *testing.T, path string) *goquery.Document {
	t.Helper()
	res, err := http.Get(p.phone.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET %s = %d", path, res.StatusCode)
	}
	doc, err := goquery.NewDocumentFromReader(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

func (p *phoneFixture) who() url.Values {
	return url.Values{"user": {p.user.ID}, "ch": {testChannelID}}
}

func texts(s *goquery.Selection) []string {
	var out []string
	s.Each(func(_ int, e *goquery.Selection) { out = append(out, strings.TrimSpace(e.Text())) })
	return out
}

func TestPhonePage(t *testing.T) {
	t.Parallel()
	p := newPhoneFixture(t)
	doc := p.get(t, "/_sim/phone/phone?"+p.who().Encode())

	items := doc.Find(`[data-testid="chat-item"]`)
	var kinds []string
	items.Each(func(_ int, e *goquery.Selection) {
		kinds = append(kinds, e.AttrOr("data-from", "")+":"+e.AttrOr("data-kind", ""))
	})
	if diff := cmp.Diff([]string{"bot:template", "bot:text"}, kinds); diff != "" {
		t.Errorf("chat items (-want +got):\n%s", diff)
	}
	if got := items.Eq(1).Find(".text").Text(); got != "いつからですか?" {
		t.Errorf("text bubble = %q", got)
	}
	if diff := cmp.Diff([]string{"体調不良", "詳しく"}, texts(doc.Find(`[data-testid="template-button"]`))); diff != "" {
		t.Errorf("template buttons (-want +got):\n%s", diff)
	}
	quick := doc.Find(`[data-testid="quick-item"]`)
	if diff := cmp.Diff([]string{"今日", "日付を選ぶ", "ヘルプ"}, texts(quick)); diff != "" {
		t.Errorf("quick replies (-want +got):\n%s", diff)
	}
	if typ := quick.Eq(1).Find(`input[name="value"]`).AttrOr("type", ""); typ != "date" {
		t.Errorf("date picker input type = %q", typ)
	}
	if a := quick.Eq(2); a.AttrOr("href", "") != "https://example.com/help" || a.AttrOr("target", "") != "_blank" {
		t.Errorf("uri quick reply = %v", a.Nodes)
	}

	areas := doc.Find(`[data-testid="richmenu-area"]`)
	var got []string
	areas.Each(func(_ int, a *goquery.Selection) {
		got = append(got, a.AttrOr("coords", "")+" "+a.AttrOr("alt", "")+" "+a.AttrOr("target", "-"))
	})
	if diff := cmp.Diff([]string{"0,0,170,114 欠席連絡 -", "170,0,340,114 お知らせ _blank"}, got); diff != "" {
		t.Errorf("rich menu areas (-want +got):\n%s", diff)
	}
	if img := doc.Find(`[data-testid="richmenu"] img`); img.AttrOr("usemap", "") != "#richmenu-map" || img.AttrOr("width", "") != "340" {
		t.Errorf("rich menu image = %v", img.Nodes)
	}
	if hx := doc.Find(`.talk`); hx.AttrOr("hx-trigger", "") != "every 2s" || !strings.Contains(hx.AttrOr("hx-get", ""), "/_sim/phone/phone/chat?") {
		t.Errorf("chat polling attributes = %v", hx.Nodes)
	}

	// The app's Content-Security-Policy allows only same-origin script files.
	doc.Find("script").Each(func(_ int, s *goquery.Selection) {
		if s.AttrOr("src", "") != "/static/vendor/htmx.js" || strings.TrimSpace(s.Text()) != "" {
			t.Errorf("script element %v", s.Nodes)
		}
	})
	doc.Find("*").Each(func(_ int, e *goquery.Selection) {
		for _, a := range e.Nodes[0].Attr {
			if a.Key == "style" || strings.HasPrefix(a.Key, "on") {
				t.Errorf("<%s> has inline %s", goquery.NodeName(e), a.Key)
			}
		}
	})
}

func TestPhoneTaps(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		do    func(t *testing.T, p *phoneFixture) *http.Response
		check func(t *testing.T, ev webhook.EventInterface)
	}{
		{
			name: "template button",
			do: func(t *testing.T, p *phoneFixture) *http.Response {
				doc := p.get(t, "/_sim/phone/phone?"+p.who().Encode())
				return submit(t, p, doc.Find(`form[data-testid="template-button"]`).First(), nil)
			},
			check: func(t *testing.T, ev webhook.EventInterface) {
				if d := ev.(webhook.PostbackEvent).Postback.Data; d != "reason=sick" {
					t.Errorf("data = %q", d)
				}
			},
		},
		{
			name: "date picker quick reply",
			do: func(t *testing.T, p *phoneFixture) *http.Response {
				doc := p.get(t, "/_sim/phone/phone?"+p.who().Encode())
				return submit(t, p, doc.Find(`form[data-testid="quick-item"]`).Eq(1), url.Values{"value": {"2026-12-03"}})
			},
			check: func(t *testing.T, ev webhook.EventInterface) {
				if p := ev.(webhook.PostbackEvent).Postback; p.Data != "day=pick" || p.Params["date"] != "2026-12-03" {
					t.Errorf("postback = %+v", p)
				}
			},
		},
		{
			name: "rich menu area",
			do: func(t *testing.T, p *phoneFixture) *http.Response {
				doc := p.get(t, "/_sim/phone/phone?"+p.who().Encode())
				res, err := noRedirect.Get(p.phone.URL + doc.Find(`[data-testid="richmenu-area"]`).First().AttrOr("href", ""))
				if err != nil {
					t.Fatal(err)
				}
				return res
			},
			check: func(t *testing.T, ev webhook.EventInterface) {
				if d := ev.(webhook.PostbackEvent).Postback.Data; d != "action=absence" {
					t.Errorf("data = %q", d)
				}
			},
		},
		{
			name: "typed text",
			do: func(t *testing.T, p *phoneFixture) *http.Response {
				doc := p.get(t, "/_sim/phone/phone?"+p.who().Encode())
				return submit(t, p, doc.Find(`form[data-testid="composer"]`), url.Values{"text": {"よろしくお願いします"}})
			},
			check: func(t *testing.T, ev webhook.EventInterface) {
				if m := ev.(webhook.MessageEvent).Message.(webhook.TextMessageContent); m.Text != "よろしくお願いします" {
					t.Errorf("text = %q", m.Text)
				}
			},
		},
		{
			name: "block",
			do: func(t *testing.T, p *phoneFixture) *http.Response {
				doc := p.get(t, "/_sim/phone/phone?"+p.who().Encode())
				return submit(t, p, doc.Find(`button[data-testid="block"]`).Closest("form"), nil)
			},
			check: func(t *testing.T, ev webhook.EventInterface) {
				if _, ok := ev.(webhook.UnfollowEvent); !ok {
					t.Errorf("event = %T", ev)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := newPhoneFixture(t)
			res := tt.do(t, p)
			res.Body.Close()
			if res.StatusCode != http.StatusSeeOther || !strings.Contains(res.Header.Get("Location"), "/_sim/phone/phone?") {
				t.Fatalf("answer = %d to %q", res.StatusCode, res.Header.Get("Location"))
			}
			if strings.Contains(res.Header.Get("Location"), "msg=") {
				t.Errorf("the page reports an error: %s", res.Header.Get("Location"))
			}
			tt.check(t, p.rc.next(t).Events[0])
		})
	}
}

// submit posts a form from a page as a browser would, with extra fields set.
func submit(t *testing.T, p *phoneFixture, form *goquery.Selection, extra url.Values) *http.Response {
	t.Helper()
	if form.Length() != 1 {
		t.Fatalf("found %d forms", form.Length())
	}
	vals := url.Values{}
	form.Find("input[name]").Each(func(_ int, in *goquery.Selection) {
		vals.Set(in.AttrOr("name", ""), in.AttrOr("value", ""))
	})
	for k, v := range extra {
		vals[k] = v
	}
	res, err := noRedirect.PostForm(p.phone.URL+form.AttrOr("action", ""), vals)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestPhoneOverview(t *testing.T) {
	t.Parallel()
	p := newPhoneFixture(t)
	res, err := noRedirect.PostForm(p.phone.URL+"/_sim/phone/users", url.Values{"name": {"新しい保護者"}, "lang": {"en"}})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	loc, err := url.Parse(res.Header.Get("Location"))
	if res.StatusCode != http.StatusSeeOther || err != nil || !linesim.ValidUserID(loc.Query().Get("user")) {
		t.Fatalf("create user answered %d to %q", res.StatusCode, res.Header.Get("Location"))
	}
	page := p.get(t, loc.String())
	if got := page.Find(`[data-testid="follow"]`).Text(); !strings.Contains(got, "友だち追加") {
		t.Errorf("new parent's page offers %q", got)
	}

	doc := p.get(t, "/_sim/phone/")
	var names []string
	doc.Find(`[data-testid="user"] strong`).Each(func(_ int, s *goquery.Selection) { names = append(names, s.Text()) })
	if diff := cmp.Diff([]string{"鈴木一郎", "新しい保護者"}, names); diff != "" {
		t.Errorf("parents (-want +got):\n%s", diff)
	}
	if n := doc.Find(`[data-testid="user"]`).First().Find(`[data-testid="phone-link"]`).Length(); n != 2 {
		t.Errorf("%d phone links for two channels", n)
	}
}

func TestPhoneRefusesCrossSiteTaps(t *testing.T) {
	t.Parallel()
	p := newPhoneFixture(t)
	doc := p.get(t, "/_sim/phone/phone?"+p.who().Encode())
	req, err := http.NewRequest(http.MethodGet, p.phone.URL+doc.Find(`[data-testid="richmenu-area"]`).First().AttrOr("href", ""), nil)
	if err != nil {
		t.Fatalf("menu tap request: %v", err)
	}
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	res, err := noRedirect.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusForbidden {
		t.Errorf("cross-site menu tap = %d, want 403", res.StatusCode)
	}
	form := url.Values{"user": {p.user.ID}, "ch": {testChannelID}, "text": {"x"}}
	if req, err = http.NewRequest(http.MethodPost, p.phone.URL+"/_sim/phone/phone/text", strings.NewReader(form.Encode())); err != nil {
		t.Fatalf("text post request: %v", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", "https://evil.example")
	res, err = noRedirect.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusForbidden {
		t.Errorf("cross-origin post = %d, want 403", res.StatusCode)
	}
}
