package linesim_test

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/line/line-bot-sdk-go/v8/linebot/messaging_api"
	"github.com/line/line-bot-sdk-go/v8/linebot/webhook"

	"github.com/renraku/renraku/internal/linesim"
)

func menuRequest(w, h int64, chatBar string) *messaging_api.RichMenuRequest {
	return &messaging_api.RichMenuRequest{
		Size: &messaging_api.RichMenuSize{Width: w, Height: h}, Selected: true, Name: "renraku-guest", ChatBarText: chatBar,
		Areas: []messaging_api.RichMenuArea{
			{Bounds: &messaging_api.RichMenuBounds{X: 0, Y: 0, Width: w / 2, Height: h},
				Action: &messaging_api.PostbackAction{Label: "欠席連絡", Data: "action=absence", DisplayText: "欠席連絡"}},
			{Bounds: &messaging_api.RichMenuBounds{X: w / 2, Y: 0, Width: w - w/2, Height: h},
				Action: &messaging_api.UriAction{Label: "お知らせ", Uri: "https://example.com/news"}},
		},
	}
}

func TestRichMenuCreateValidation(t *testing.T) {
	t.Parallel()
	f := newFixture(t, linesim.Options{})
	api := f.api(t, testToken)
	outside := menuRequest(2500, 843, "メニュー")
	outside.Areas[1].Bounds.Width = 2000
	tests := []struct {
		name string
		req  *messaging_api.RichMenuRequest
		want []messaging_api.ErrorDetail
	}{
		{"large", menuRequest(2500, 1686, "メニュー"), nil},
		{"compact", menuRequest(2500, 843, "メニュー"), nil},
		{"too tall", menuRequest(2500, 2000, "メニュー"),
			[]messaging_api.ErrorDetail{{Message: "invalid rich menu size: width must be 800-2500, height at least 250, width/height at least 1.45", Property: "size"}}},
		{"chat bar text of 15", menuRequest(2500, 843, strings.Repeat("あ", 15)),
			[]messaging_api.ErrorDetail{{Message: "Length must be between 0 and 14", Property: "chatBarText"}}},
		{"area outside the menu", outside,
			[]messaging_api.ErrorDetail{{Message: "must be within the rich menu size", Property: "areas[1].bounds"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res, id, err := api.CreateRichMenuWithHttpInfo(tt.req)
			mustAnswer(t, res, err)
			if tt.want == nil {
				if res.StatusCode != 200 || !strings.HasPrefix(id.RichMenuId, "richmenu-") {
					t.Fatalf("create = %d %+v", res.StatusCode, id)
				}
				return
			}
			if res.StatusCode != http.StatusBadRequest {
				t.Fatalf("status = %d, want 400", res.StatusCode)
			}
			if diff := cmp.Diff(tt.want, errorBody(t, res).Details); diff != "" {
				t.Errorf("details (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRichMenuImage(t *testing.T) {
	t.Parallel()
	padded := func(b []byte, n int) []byte { return append(b, bytes.Repeat([]byte{0}, n)...) }
	tests := []struct {
		name        string
		contentType string
		image       func(t *testing.T) []byte
		twice       bool
		wantStatus  int
	}{
		{"right size", "image/png", func(t *testing.T) []byte { return mustPNG(t, 2500, 843) }, false, 200},
		{"second upload", "image/png", func(t *testing.T) []byte { return mustPNG(t, 2500, 843) }, true, 400},
		{"wrong size", "image/png", func(t *testing.T) []byte { return mustPNG(t, 2500, 1686) }, false, 400},
		{"over 1 MB", "image/png", func(t *testing.T) []byte { return padded(mustPNG(t, 2500, 843), 1<<20) }, false, 400},
		{"over 2 MB", "image/png", func(t *testing.T) []byte { return padded(mustPNG(t, 2500, 843), 2<<20) }, false, 413},
		{"PNG labelled JPEG", "image/jpeg", func(t *testing.T) []byte { return mustPNG(t, 2500, 843) }, false, 400},
		{"GIF", "image/gif", func(t *testing.T) []byte { return []byte("GIF89a") }, false, 415},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, linesim.Options{})
			_, id, err := f.api(t, testToken).CreateRichMenuWithHttpInfo(menuRequest(2500, 843, "メニュー"))
			if err != nil {
				t.Fatal(err)
			}
			img := tt.image(t)
			upload := func() *http.Response {
				res, _, err := f.blob(t).SetRichMenuImageWithHttpInfo(id.RichMenuId, tt.contentType, bytes.NewReader(img))
				mustAnswer(t, res, err)
				return res
			}
			if tt.twice {
				if res := upload(); res.StatusCode != 200 {
					t.Fatalf("first upload = %d", res.StatusCode)
				}
			}
			res := upload()
			if res.StatusCode != tt.wantStatus {
				t.Fatalf("status = %d, want %d", res.StatusCode, tt.wantStatus)
			}
			if tt.twice {
				if got := errorBody(t, res).Message; got != "An image has already been uploaded to the richmenu" {
					t.Errorf("message = %q", got)
				}
			}
			if res.StatusCode != 200 {
				return
			}
			dl, _, err := f.blob(t).GetRichMenuImageWithHttpInfo(id.RichMenuId)
			if err != nil {
				t.Fatal(err)
			}
			defer dl.Body.Close()
			got, err := io.ReadAll(dl.Body)
			if err != nil {
				t.Fatalf("downloading the image: %v", err)
			}
			if !bytes.Equal(got, img) || dl.Header.Get("Content-Type") != "image/png" {
				t.Errorf("downloaded %d bytes (%s), uploaded %d", len(got), dl.Header.Get("Content-Type"), len(img))
			}
		})
	}
}

func TestRichMenuLifecycle(t *testing.T) {
	t.Parallel()
	f := newFixture(t, linesim.Options{})
	u, _ := f.mustFriend(t, "A")
	api, blob := f.api(t, testToken), f.blob(t)
	create := func(name string) string {
		req := menuRequest(2500, 843, "メニュー")
		req.Name = name
		_, id, err := api.CreateRichMenuWithHttpInfo(req)
		if err != nil {
			t.Fatal(err)
		}
		return id.RichMenuId
	}
	guest, member := create("guest"), create("member")

	res, _, err := api.SetDefaultRichMenuWithHttpInfo(guest)
	mustAnswer(t, res, err)
	if res.StatusCode != http.StatusBadRequest {
		t.Errorf("default without image = %d, want 400", res.StatusCode)
	}
	for _, id := range []string{guest, member} {
		if _, _, err := blob.SetRichMenuImageWithHttpInfo(id, "image/png", bytes.NewReader(mustPNG(t, 2500, 843))); err != nil {
			t.Fatal(err)
		}
	}
	res, _, err = api.GetDefaultRichMenuIdWithHttpInfo()
	mustAnswer(t, res, err)
	if res.StatusCode != http.StatusNotFound {
		t.Errorf("no default yet = %d", res.StatusCode)
	}
	if _, _, err := api.SetDefaultRichMenuWithHttpInfo(guest); err != nil {
		t.Fatal(err)
	}
	if _, d, err := api.GetDefaultRichMenuIdWithHttpInfo(); err != nil || d.RichMenuId != guest {
		t.Errorf("default = %+v %v", d, err)
	}
	current := func() string {
		m, ok := f.sim.CurrentRichMenu(testChannelID, u.ID)
		if !ok {
			return ""
		}
		return m.ID
	}
	if current() != guest {
		t.Errorf("current = %q, want the default", current())
	}
	if _, _, err := api.LinkRichMenuIdToUserWithHttpInfo(u.ID, member); err != nil {
		t.Fatal(err)
	}
	if _, got, err := api.GetRichMenuIdOfUserWithHttpInfo(u.ID); err != nil || got.RichMenuId != member {
		t.Errorf("user's menu = %+v %v", got, err)
	}
	m, _ := f.sim.CurrentRichMenu(testChannelID, u.ID)
	if m.ID != member || len(m.Areas) != 2 || m.Areas[0].Action.Data != "action=absence" || m.Image == nil {
		t.Errorf("current = %+v", m)
	}
	if _, _, err := api.UnlinkRichMenuIdFromUserWithHttpInfo(u.ID); err != nil {
		t.Fatal(err)
	}
	res, _, err = api.GetRichMenuIdOfUserWithHttpInfo(u.ID)
	mustAnswer(t, res, err)
	if res.StatusCode != http.StatusNotFound {
		t.Errorf("after unlink = %d", res.StatusCode)
	}
	if current() != guest {
		t.Errorf("after unlink current = %q", current())
	}
	_, list, err := api.GetRichMenuListWithHttpInfo()
	if err != nil || len(list.Richmenus) != 2 || list.Richmenus[1].Name != "member" {
		t.Fatalf("list = %+v %v", list, err)
	}
	if _, got, err := api.GetRichMenuWithHttpInfo(member); err != nil || got.ChatBarText != "メニュー" || len(got.Areas) != 2 {
		t.Errorf("get = %+v %v", got, err)
	} else if a, ok := got.Areas[1].Action.(messaging_api.UriAction); !ok || a.Uri != "https://example.com/news" {
		t.Errorf("area action = %#v", got.Areas[1].Action)
	}
	if _, _, err := api.DeleteRichMenuWithHttpInfo(guest); err != nil {
		t.Fatal(err)
	}
	if current() != "" {
		t.Errorf("deleting the default left %q", current())
	}
	res, _, err = api.GetRichMenuWithHttpInfo(guest)
	mustAnswer(t, res, err)
	if res.StatusCode != http.StatusNotFound {
		t.Errorf("deleted menu = %d", res.StatusCode)
	}
	if _, _, err := api.CancelDefaultRichMenuWithHttpInfo(); err != nil {
		t.Error(err)
	}
}

func TestRichMenuRateLimit(t *testing.T) {
	t.Parallel()
	f := newFixture(t, linesim.Options{})
	api := f.api(t, testToken)
	for i := range 100 {
		res, _, err := api.CreateRichMenuWithHttpInfo(menuRequest(2500, 843, "メニュー"))
		mustAnswer(t, res, err)
		if res.StatusCode != 200 {
			t.Fatalf("create %d = %d", i, res.StatusCode)
		}
	}
	res, _, err := api.CreateRichMenuWithHttpInfo(menuRequest(2500, 843, "メニュー"))
	mustAnswer(t, res, err)
	if res.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("101st create in an hour = %d, want 429", res.StatusCode)
	}
	f.clock.Advance(time.Hour)
	res, _, err = api.CreateRichMenuWithHttpInfo(menuRequest(2500, 843, "メニュー"))
	mustAnswer(t, res, err)
	if res.StatusCode != 200 {
		t.Fatalf("create an hour later = %d", res.StatusCode)
	}
}

func TestTapRichMenu(t *testing.T) {
	t.Parallel()
	f := newFixture(t, linesim.Options{})
	u, _ := f.mustFriend(t, "A")
	api := f.api(t, testToken)
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
	m, _ := f.sim.CurrentRichMenu(testChannelID, u.ID)

	res, err := f.sim.Tap(testChannelID, u.ID, m.Areas[0].Action)
	if err != nil || res.Status != 200 || res.URI != "" {
		t.Fatalf("tap postback: %+v %v", res, err)
	}
	pb := f.rc.next(t).Events[0].(webhook.PostbackEvent)
	if pb.Postback.Data != "action=absence" || pb.ReplyToken == "" {
		t.Errorf("postback = %+v", pb)
	}
	chat := f.sim.Chat(testChannelID, u.ID)
	if len(chat) != 1 || chat[0].From != linesim.FromUser || chat[0].Text != "欠席連絡" {
		t.Errorf("display text not shown: %+v", chat)
	}

	res, err = f.sim.Tap(testChannelID, u.ID, m.Areas[1].Action)
	if err != nil || res.URI != "https://example.com/news" || res.Status != 0 {
		t.Errorf("tap uri: %+v %v", res, err)
	}

	res, err = f.sim.TapDatetime(testChannelID, u.ID, linesim.Action{Type: "datetimepicker", Data: "pick", Mode: "date"}, "2026-12-01")
	if err != nil || res.Status != 200 {
		t.Fatalf("tap date picker: %+v %v", res, err)
	}
	if p := f.rc.next(t).Events[0].(webhook.PostbackEvent).Postback; p.Params["date"] != "2026-12-01" {
		t.Errorf("params = %v", p.Params)
	}
	if _, err := f.sim.Tap(testChannelID, u.ID, linesim.Action{Type: "message", Text: "はい"}); err != nil {
		t.Fatal(err)
	}
	if m := f.rc.next(t).Events[0].(webhook.MessageEvent).Message.(webhook.TextMessageContent); m.Text != "はい" {
		t.Errorf("message action sent %q", m.Text)
	}
}
