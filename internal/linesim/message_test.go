package linesim_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/line/line-bot-sdk-go/v8/linebot/messaging_api"

	"github.com/renraku/renraku/internal/linesim"
)

func TestReply(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		// prepare returns the token to reply with, given a fresh one from a follow.
		prepare    func(t *testing.T, f *fixture, fresh string) string
		wantStatus int
		wantMsg    string
	}{
		{
			name:       "fresh token",
			prepare:    func(t *testing.T, f *fixture, fresh string) string { return fresh },
			wantStatus: http.StatusOK,
		},
		{
			name: "token used twice",
			prepare: func(t *testing.T, f *fixture, fresh string) string {
				res, _, err := f.api(t, testToken).ReplyMessageWithHttpInfo(&messaging_api.ReplyMessageRequest{
					ReplyToken: fresh, Messages: []messaging_api.MessageInterface{textMessage("first")}})
				if err != nil || res.StatusCode != http.StatusOK {
					t.Fatalf("first reply: %v", err)
				}
				return fresh
			},
			wantStatus: http.StatusBadRequest,
			wantMsg:    "Invalid reply token",
		},
		{
			name: "token expired",
			prepare: func(t *testing.T, f *fixture, fresh string) string {
				f.clock.Advance(time.Minute)
				return fresh
			},
			wantStatus: http.StatusBadRequest,
			wantMsg:    "Invalid reply token",
		},
		{
			name:       "made-up token",
			prepare:    func(t *testing.T, f *fixture, fresh string) string { return "0123456789abcdef0123456789abcdef" },
			wantStatus: http.StatusBadRequest,
			wantMsg:    "Invalid reply token",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, linesim.Options{})
			u, cb := f.mustFriend(t, "保護者A")
			token := tt.prepare(t, f, replyToken(t, cb))

			res, body, err := f.api(t, testToken).ReplyMessageWithHttpInfo(&messaging_api.ReplyMessageRequest{
				ReplyToken: token, Messages: []messaging_api.MessageInterface{textMessage("ようこそ")}})
			if res.StatusCode != tt.wantStatus {
				t.Fatalf("status = %d, want %d (err %v)", res.StatusCode, tt.wantStatus, err)
			}
			if res.Header.Get("x-line-request-id") == "" {
				t.Error("no x-line-request-id")
			}
			if tt.wantStatus != http.StatusOK {
				if got := errorBody(t, res).Message; got != tt.wantMsg {
					t.Errorf("message = %q, want %q", got, tt.wantMsg)
				}
				return
			}
			if len(body.SentMessages) != 1 || body.SentMessages[0].Id == "" || body.SentMessages[0].QuoteToken == "" {
				t.Errorf("sentMessages = %+v", body.SentMessages)
			}
			chat := f.sim.Chat(testChannelID, u.ID)
			if len(chat) != 1 || chat[0].Text != "ようこそ" || chat[0].From != linesim.FromBot || !chat[0].Delivered || chat[0].Via != "reply" {
				t.Errorf("chat = %+v", chat)
			}
			if got := f.sim.QuotaUsage(testChannelID); got != 0 {
				t.Errorf("replies are free; usage = %d", got)
			}
		})
	}
}

func TestPushRetryKey(t *testing.T) {
	t.Parallel()
	const key = "123e4567-e89b-12d3-a456-426614174000"
	tests := []struct {
		name      string
		keys      []string
		wantCodes []int
		wantChat  int
	}{
		{"no key, twice", []string{"", ""}, []int{200, 200}, 2},
		{"same key, twice", []string{key, key}, []int{200, 409}, 1},
		{"same key, upper case", []string{key, strings.ToUpper(key)}, []int{200, 409}, 1},
		{"different keys", []string{key, "223e4567-e89b-12d3-a456-426614174000"}, []int{200, 200}, 2},
		{"not a UUID", []string{"retry-1"}, []int{400}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, linesim.Options{})
			u, _ := f.mustFriend(t, "保護者A")
			api := f.api(t, testToken)
			var firstID string
			var codes []int
			for i, k := range tt.keys {
				res, _, err := api.PushMessageWithHttpInfo(&messaging_api.PushMessageRequest{
					To: u.ID, Messages: []messaging_api.MessageInterface{textMessage("お知らせ")}}, k)
				mustAnswer(t, res, err)
				codes = append(codes, res.StatusCode)
				if i == 0 {
					firstID = res.Header.Get("x-line-request-id")
				}
				if res.StatusCode == http.StatusConflict {
					if got := res.Header.Get("x-line-accepted-request-id"); got != firstID {
						t.Errorf("x-line-accepted-request-id = %q, want the first request's %q", got, firstID)
					}
					er := errorBody(t, res)
					if er.Message != "The retry key is already accepted" || len(er.SentMessages) != 1 {
						t.Errorf("409 body = %+v", er)
					}
				}
			}
			if diff := cmp.Diff(tt.wantCodes, codes); diff != "" {
				t.Errorf("status codes (-want +got):\n%s", diff)
			}
			if got := len(f.sim.Chat(testChannelID, u.ID)); got != tt.wantChat {
				t.Errorf("chat has %d messages, want %d", got, tt.wantChat)
			}
			if got := f.sim.QuotaUsage(testChannelID); got != int64(tt.wantChat) {
				t.Errorf("usage = %d, want %d", got, tt.wantChat)
			}
		})
	}
}

func TestRetryKeyExpires(t *testing.T) {
	t.Parallel()
	const key = "123e4567-e89b-12d3-a456-426614174000"
	f := newFixture(t, linesim.Options{})
	u, _ := f.mustFriend(t, "保護者A")
	api := f.api(t, testToken)
	push := func() int {
		res, _, err := api.PushMessageWithHttpInfo(&messaging_api.PushMessageRequest{
			To: u.ID, Messages: []messaging_api.MessageInterface{textMessage("x")}}, key)
		mustAnswer(t, res, err)
		return res.StatusCode
	}
	if got := push(); got != 200 {
		t.Fatalf("first push = %d", got)
	}
	f.clock.Advance(23 * time.Hour)
	if got := push(); got != 409 {
		t.Fatalf("push after 23 h = %d, want 409", got)
	}
	f.clock.Advance(time.Hour)
	if got := push(); got != 200 {
		t.Fatalf("push after 24 h = %d, want 200", got)
	}
}

func TestPushRecipients(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name          string
		to            func(t *testing.T, f *fixture) string
		wantStatus    int
		wantDelivered bool
		wantUsage     int64
	}{
		{
			name:          "friend",
			to:            func(t *testing.T, f *fixture) string { u, _ := f.mustFriend(t, "A"); return u.ID },
			wantStatus:    200,
			wantDelivered: true,
			wantUsage:     1,
		},
		{
			name: "blocked the account",
			to: func(t *testing.T, f *fixture) string {
				u, _ := f.mustFriend(t, "A")
				if _, err := f.sim.Unfollow(testChannelID, u.ID); err != nil {
					t.Fatal(err)
				}
				f.rc.next(t)
				return u.ID
			},
			wantStatus: 200,
		},
		{
			name: "never followed",
			to: func(t *testing.T, f *fixture) string {
				u, err := f.sim.AddUser(linesim.User{DisplayName: "B"})
				if err != nil {
					t.Fatal(err)
				}
				return u.ID
			},
			wantStatus: 200,
		},
		{
			name:       "unknown user",
			to:         func(t *testing.T, f *fixture) string { return linesim.NewUserID() },
			wantStatus: 400,
		},
		{
			name:       "not a user ID",
			to:         func(t *testing.T, f *fixture) string { return "U123" },
			wantStatus: 400,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, linesim.Options{})
			to := tt.to(t, f)
			res, body, err := f.api(t, testToken).PushMessageWithHttpInfo(&messaging_api.PushMessageRequest{
				To: to, Messages: []messaging_api.MessageInterface{textMessage("お知らせ")}}, "")
			mustAnswer(t, res, err)
			if res.StatusCode != tt.wantStatus {
				t.Fatalf("status = %d, want %d", res.StatusCode, tt.wantStatus)
			}
			if res.StatusCode != 200 {
				return
			}
			if err != nil {
				t.Fatalf("accepted push: %v", err)
			}
			if len(body.SentMessages) != 1 {
				t.Errorf("sentMessages = %+v", body.SentMessages)
			}
			chat := f.sim.Chat(testChannelID, to)
			if len(chat) != 1 || chat[0].Delivered != tt.wantDelivered {
				t.Errorf("chat = %+v, want one message delivered=%v", chat, tt.wantDelivered)
			}
			if got := f.sim.QuotaUsage(testChannelID); got != tt.wantUsage {
				t.Errorf("usage = %d, want %d", got, tt.wantUsage)
			}
		})
	}
}

func TestMulticast(t *testing.T) {
	t.Parallel()
	f := newFixture(t, linesim.Options{})
	a, _ := f.mustFriend(t, "A")
	b, _ := f.mustFriend(t, "B")
	api := f.api(t, testToken)

	t.Run("501 recipients", func(t *testing.T) {
		to := make([]string, 501)
		for i := range to {
			to[i] = linesim.NewUserID()
		}
		res, _, err := api.MulticastWithHttpInfo(&messaging_api.MulticastRequest{To: to,
			Messages: []messaging_api.MessageInterface{textMessage("x")}}, "")
		mustAnswer(t, res, err)
		if res.StatusCode != http.StatusBadRequest {
			t.Fatalf("status = %d, want 400", res.StatusCode)
		}
		want := messaging_api.ErrorResponse{Message: "The request body has 1 error(s)",
			Details: []messaging_api.ErrorDetail{{Message: "Size must be between 1 and 500", Property: "to"}}}
		if diff := cmp.Diff(want, errorBody(t, res)); diff != "" {
			t.Errorf("body (-want +got):\n%s", diff)
		}
	})
	t.Run("500 recipients, two of them friends", func(t *testing.T) {
		to := []string{a.ID, b.ID}
		for len(to) < 500 {
			to = append(to, linesim.NewUserID())
		}
		const key = "323e4567-e89b-12d3-a456-426614174000"
		res, body, err := api.MulticastWithHttpInfo(&messaging_api.MulticastRequest{To: to,
			Messages: []messaging_api.MessageInterface{textMessage("一斉連絡"), textMessage("2通目")}}, key)
		if err != nil || res.StatusCode != http.StatusOK || body == nil || len(*body) != 0 {
			t.Fatalf("multicast: %d %v %v", res.StatusCode, body, err)
		}
		for _, u := range []string{a.ID, b.ID} {
			if chat := f.sim.Chat(testChannelID, u); len(chat) != 2 || chat[0].Via != "multicast" {
				t.Errorf("chat of %s = %+v", u, chat)
			}
		}
		if got := f.sim.QuotaUsage(testChannelID); got != 2 {
			t.Errorf("usage = %d, want 2 (per recipient, not per bubble)", got)
		}
		res, _, err = api.MulticastWithHttpInfo(&messaging_api.MulticastRequest{To: to,
			Messages: []messaging_api.MessageInterface{textMessage("一斉連絡")}}, key)
		mustAnswer(t, res, err)
		if res.StatusCode != http.StatusConflict || res.Header.Get("x-line-accepted-request-id") == "" {
			t.Errorf("repeat: status %d, accepted id %q", res.StatusCode, res.Header.Get("x-line-accepted-request-id"))
		}
	})
}

func TestMessageValidation(t *testing.T) {
	t.Parallel()
	f := newFixture(t, linesim.Options{})
	u, _ := f.mustFriend(t, "A")
	api := f.api(t, testToken)
	items := func(n int) *messaging_api.QuickReply {
		qr := &messaging_api.QuickReply{}
		for range n {
			qr.Items = append(qr.Items, messaging_api.QuickReplyItem{Type: "action",
				Action: &messaging_api.MessageAction{Label: "はい", Text: "はい"}})
		}
		return qr
	}
	buttons := func(n int, data string) messaging_api.MessageInterface {
		tpl := &messaging_api.ButtonsTemplate{Text: "選んでください"}
		for range n {
			tpl.Actions = append(tpl.Actions, &messaging_api.PostbackAction{Label: "選ぶ", Data: data})
		}
		return &messaging_api.TemplateMessage{AltText: "選択", Template: tpl}
	}
	tests := []struct {
		name     string
		messages []messaging_api.MessageInterface
		want     []messaging_api.ErrorDetail // nil: accepted
	}{
		{"5000 UTF-16 units", []messaging_api.MessageInterface{textMessage(strings.Repeat("😀", 2500))}, nil},
		{"5001 UTF-16 units", []messaging_api.MessageInterface{textMessage(strings.Repeat("😀", 2500) + "a")},
			[]messaging_api.ErrorDetail{{Message: "Length must be between 0 and 5000", Property: "messages[0].text"}}},
		{"empty text", []messaging_api.MessageInterface{textMessage("")},
			[]messaging_api.ErrorDetail{{Message: "May not be empty", Property: "messages[0].text"}}},
		{"no messages", nil,
			[]messaging_api.ErrorDetail{{Message: "Size must be between 1 and 5", Property: "messages"}}},
		{"six messages", []messaging_api.MessageInterface{textMessage("1"), textMessage("2"), textMessage("3"),
			textMessage("4"), textMessage("5"), textMessage("6")},
			[]messaging_api.ErrorDetail{{Message: "Size must be between 1 and 5", Property: "messages"}}},
		{"13 quick replies", []messaging_api.MessageInterface{&messaging_api.TextMessage{Text: "?", QuickReply: items(13)}}, nil},
		{"14 quick replies", []messaging_api.MessageInterface{&messaging_api.TextMessage{Text: "?", QuickReply: items(14)}},
			[]messaging_api.ErrorDetail{{Message: "Size must be between 1 and 13", Property: "messages[0].quickReply.items"}}},
		{"postback data 300", []messaging_api.MessageInterface{buttons(1, strings.Repeat("d", 300))}, nil},
		{"postback data 301", []messaging_api.MessageInterface{buttons(1, strings.Repeat("d", 301))},
			[]messaging_api.ErrorDetail{{Message: "Length must be between 0 and 300", Property: "messages[0].template.actions[0].data"}}},
		{"five buttons", []messaging_api.MessageInterface{buttons(5, "a")},
			[]messaging_api.ErrorDetail{{Message: "Size must be between 1 and 4", Property: "messages[0].template.actions"}}},
		{"http image", []messaging_api.MessageInterface{&messaging_api.ImageMessage{
			OriginalContentUrl: "http://example.com/a.png", PreviewImageUrl: "https://example.com/a.png"}},
			[]messaging_api.ErrorDetail{{Message: "must be an HTTPS URL", Property: "messages[0].originalContentUrl"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res, _, err := api.PushMessageWithHttpInfo(&messaging_api.PushMessageRequest{To: u.ID, Messages: tt.messages}, "")
			mustAnswer(t, res, err)
			if tt.want == nil {
				if res.StatusCode != http.StatusOK {
					t.Fatalf("status = %d, want 200: %+v", res.StatusCode, errorBody(t, res))
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

func TestAuthentication(t *testing.T) {
	t.Parallel()
	f := newFixture(t, linesim.Options{})
	tests := []struct {
		name  string
		token string
		want  string
	}{
		{"wrong token", "not-the-token", "Authentication failed. Confirm that the access token in the authorization header is valid."},
		{"another channel's token is fine", "other-token", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res, _, err := f.api(t, tt.token).GetMessageQuotaWithHttpInfo()
			mustAnswer(t, res, err)
			if tt.want == "" {
				if res.StatusCode != http.StatusOK {
					t.Fatalf("status = %d", res.StatusCode)
				}
				return
			}
			if res.StatusCode != http.StatusUnauthorized {
				t.Fatalf("status = %d, want 401", res.StatusCode)
			}
			if got := errorBody(t, res).Message; got != tt.want {
				t.Errorf("message = %q", got)
			}
		})
	}
	t.Run("no header", func(t *testing.T) {
		t.Parallel()
		res, err := http.Get(f.baseURL() + "/v2/bot/message/quota")
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		if res.StatusCode != http.StatusUnauthorized || res.Header.Get("x-line-request-id") == "" {
			t.Errorf("status = %d, request id %q", res.StatusCode, res.Header.Get("x-line-request-id"))
		}
	})
}

func TestProfile(t *testing.T) {
	t.Parallel()
	f := newFixture(t, linesim.Options{})
	friend, _ := f.mustFriend(t, "山田花子")
	stranger, err := f.sim.AddUser(linesim.User{DisplayName: "他人"})
	if err != nil {
		t.Fatal(err)
	}
	api := f.api(t, testToken)

	res, p, err := api.GetProfileWithHttpInfo(friend.ID)
	if err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("friend: %v", err)
	}
	want := messaging_api.UserProfileResponse{DisplayName: "山田花子", UserId: friend.ID, PictureUrl: "https://example.com/p.png", Language: "ja"}
	if diff := cmp.Diff(want, *p); diff != "" {
		t.Errorf("profile (-want +got):\n%s", diff)
	}
	res, _, err = api.GetProfileWithHttpInfo(stranger.ID)
	mustAnswer(t, res, err)
	if res.StatusCode != http.StatusNotFound || errorBody(t, res).Message != "Not found" {
		t.Errorf("stranger: status %d", res.StatusCode)
	}
}

func TestQuota(t *testing.T) {
	t.Parallel()
	f := newFixture(t, linesim.Options{})
	u, _ := f.mustFriend(t, "A")
	if err := f.sim.SetMonthlyQuota(testChannelID, 2); err != nil {
		t.Fatal(err)
	}
	api := f.api(t, testToken)
	res, q, err := api.GetMessageQuotaWithHttpInfo()
	if err != nil || res.StatusCode != 200 || q.Type != messaging_api.QuotaType_LIMITED || q.Value != 2 {
		t.Fatalf("quota = %+v, %v", q, err)
	}
	push := func() *http.Response {
		res, _, err := api.PushMessageWithHttpInfo(&messaging_api.PushMessageRequest{To: u.ID,
			Messages: []messaging_api.MessageInterface{textMessage("x")}}, "")
		mustAnswer(t, res, err)
		return res
	}
	for i := range 2 {
		if res := push(); res.StatusCode != 200 {
			t.Fatalf("push %d = %d", i, res.StatusCode)
		}
	}
	res = push()
	if res.StatusCode != http.StatusTooManyRequests || errorBody(t, res).Message != "You have reached your monthly limit." {
		t.Fatalf("push over quota = %d", res.StatusCode)
	}
	_, c, err := api.GetMessageQuotaConsumptionWithHttpInfo()
	if err != nil || c.TotalUsage != 2 {
		t.Fatalf("consumption = %+v, %v", c, err)
	}
	f.clock.Advance(11 * 24 * time.Hour) // into December, in Japan time
	if res := push(); res.StatusCode != 200 {
		t.Fatalf("push in a new month = %d", res.StatusCode)
	}
}

func TestRateLimit(t *testing.T) {
	t.Parallel()
	f := newFixture(t, linesim.Options{RateLimits: map[string]linesim.RateLimit{
		linesim.EndpointQuota: {Requests: 2, Per: time.Second},
	}})
	api := f.api(t, testToken)
	status := func() int {
		res, _, err := api.GetMessageQuotaWithHttpInfo()
		mustAnswer(t, res, err)
		if res.StatusCode == http.StatusTooManyRequests {
			if got := errorBody(t, res).Message; got != "The API rate limit has been exceeded. Try again later." {
				t.Errorf("429 message = %q", got)
			}
		}
		return res.StatusCode
	}
	got := []int{status(), status(), status()}
	f.clock.Advance(time.Second)
	got = append(got, status())
	if diff := cmp.Diff([]int{200, 200, 429, 200}, got); diff != "" {
		t.Errorf("status codes (-want +got):\n%s", diff)
	}
	// Another channel has its own window.
	res, _, err := f.api(t, "other-token").GetMessageQuotaWithHttpInfo()
	mustAnswer(t, res, err)
	if res.StatusCode != 200 {
		t.Errorf("other channel = %d", res.StatusCode)
	}
}

func TestFaultInjection(t *testing.T) {
	t.Parallel()
	const key = "423e4567-e89b-12d3-a456-426614174000"
	f := newFixture(t, linesim.Options{})
	u, _ := f.mustFriend(t, "A")
	api := f.api(t, testToken)
	push := func() *http.Response {
		res, _, err := api.PushMessageWithHttpInfo(&messaging_api.PushMessageRequest{To: u.ID,
			Messages: []messaging_api.MessageInterface{textMessage("x")}}, key)
		mustAnswer(t, res, err)
		return res
	}

	f.sim.FailNext(linesim.EndpointPush, 1, http.StatusInternalServerError)
	res := push()
	if res.StatusCode != 500 || errorBody(t, res).Message != "An error occurred in the backend server." {
		t.Fatalf("injected failure = %d", res.StatusCode)
	}
	if n := len(f.sim.Chat(testChannelID, u.ID)); n != 0 {
		t.Fatalf("a failure before acceptance delivered %d messages", n)
	}
	f.sim.FailNextAfterAccept(linesim.EndpointPush, 1, http.StatusInternalServerError)
	if res := push(); res.StatusCode != 500 {
		t.Fatalf("lost answer = %d", res.StatusCode)
	}
	if res := push(); res.StatusCode != http.StatusConflict {
		t.Fatalf("retry after a lost answer = %d, want 409", res.StatusCode)
	}
	if n := len(f.sim.Chat(testChannelID, u.ID)); n != 1 {
		t.Errorf("delivered %d times, want once", n)
	}
	if got := f.sim.CallCount(linesim.EndpointPush); got != 3 {
		t.Errorf("CallCount = %d, want 3", got)
	}
}

func TestMessageContent(t *testing.T) {
	t.Parallel()
	f := newFixture(t, linesim.Options{})
	u, _ := f.mustFriend(t, "A")
	img := mustPNG(t, 4, 3)
	if _, err := f.sim.SendImage(testChannelID, u.ID, img, "image/png"); err != nil {
		t.Fatal(err)
	}
	cb := f.rc.next(t)
	id := f.sim.Chat(testChannelID, u.ID)[0].ID
	if got := messageID(t, cb); got != id {
		t.Fatalf("event message id %q, chat %q", got, id)
	}
	res, _, err := f.blob(t).GetMessageContentWithHttpInfo(id)
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("content: %v", err)
	}
	defer res.Body.Close()
	if res.Header.Get("Content-Type") != "image/png" {
		t.Errorf("content type %q", res.Header.Get("Content-Type"))
	}
	res2, _, err := f.blob(t).GetMessageContentWithHttpInfo("999")
	mustAnswer(t, res2, err)
	if res2.StatusCode != http.StatusNotFound {
		t.Errorf("unknown content = %d", res2.StatusCode)
	}
}
