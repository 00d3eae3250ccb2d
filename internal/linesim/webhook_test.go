package linesim_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"regexp"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/line/line-bot-sdk-go/v8/linebot/messaging_api"
	"github.com/line/line-bot-sdk-go/v8/linebot/webhook"

	"github.com/renraku/renraku/internal/linesim"
)

func messageID(t *testing.T, cb *webhook.CallbackRequest) string {
	t.Helper()
	e, ok := cb.Events[0].(webhook.MessageEvent)
	if !ok {
		t.Fatalf("event is %T, want MessageEvent", cb.Events[0])
	}
	switch m := e.Message.(type) {
	case webhook.TextMessageContent:
		return m.Id
	case webhook.ImageMessageContent:
		return m.Id
	case webhook.StickerMessageContent:
		return m.Id
	case webhook.LocationMessageContent:
		return m.Id
	}
	t.Fatalf("message is %T", e.Message)
	return ""
}

var ulidRE = regexp.MustCompile(`^[0-9A-HJKMNP-TV-Z]{26}$`)

// common checks what LINE puts on every event.
func common(t *testing.T, cb *webhook.CallbackRequest, bot, user string) {
	t.Helper()
	if cb.Destination != bot {
		t.Errorf("destination = %q, want %q", cb.Destination, bot)
	}
	if len(cb.Events) != 1 {
		t.Fatalf("%d events", len(cb.Events))
	}
	raw, err := json.Marshal(cb.Events[0])
	if err != nil {
		t.Fatal(err)
	}
	var e struct {
		Mode            string `json:"mode"`
		Timestamp       int64  `json:"timestamp"`
		WebhookEventID  string `json:"webhookEventId"`
		DeliveryContext *struct {
			IsRedelivery bool `json:"isRedelivery"`
		} `json:"deliveryContext"`
		Source struct {
			Type   string `json:"type"`
			UserID string `json:"userId"`
		} `json:"source"`
	}
	if err := json.Unmarshal(raw, &e); err != nil {
		t.Fatal(err)
	}
	if e.Mode != "active" || e.Timestamp == 0 || !ulidRE.MatchString(e.WebhookEventID) || e.DeliveryContext == nil ||
		e.Source.Type != "user" || e.Source.UserID != user {
		t.Errorf("common fields = %+v", e)
	}
}

func TestWebhookEvents(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		send  func(f *fixture, user string) (int, error)
		check func(t *testing.T, ev webhook.EventInterface)
		reply bool
	}{
		{
			name: "text",
			send: func(f *fixture, u string) (int, error) { return f.sim.SendText(testChannelID, u, "欠席します") },
			check: func(t *testing.T, ev webhook.EventInterface) {
				m := ev.(webhook.MessageEvent).Message.(webhook.TextMessageContent)
				if m.Text != "欠席します" || m.Id == "" || m.QuoteToken == "" {
					t.Errorf("text = %+v", m)
				}
			},
			reply: true,
		},
		{
			name: "image",
			send: func(f *fixture, u string) (int, error) {
				return f.sim.SendImage(testChannelID, u, []byte("jpeg"), "image/jpeg")
			},
			check: func(t *testing.T, ev webhook.EventInterface) {
				m := ev.(webhook.MessageEvent).Message.(webhook.ImageMessageContent)
				if m.ContentProvider == nil || m.ContentProvider.Type != webhook.ContentProviderTYPE_LINE {
					t.Errorf("image = %+v", m)
				}
			},
			reply: true,
		},
		{
			name: "sticker",
			send: func(f *fixture, u string) (int, error) { return f.sim.SendSticker(testChannelID, u, "446", "1988") },
			check: func(t *testing.T, ev webhook.EventInterface) {
				m := ev.(webhook.MessageEvent).Message.(webhook.StickerMessageContent)
				if m.PackageId != "446" || m.StickerId != "1988" {
					t.Errorf("sticker = %+v", m)
				}
			},
			reply: true,
		},
		{
			name: "location",
			send: func(f *fixture, u string) (int, error) {
				return f.sim.SendLocation(testChannelID, u, "学校", "東京都", 35.68, 139.76)
			},
			check: func(t *testing.T, ev webhook.EventInterface) {
				m := ev.(webhook.MessageEvent).Message.(webhook.LocationMessageContent)
				if m.Latitude != 35.68 || m.Address != "東京都" {
					t.Errorf("location = %+v", m)
				}
			},
			reply: true,
		},
		{
			name: "postback with params",
			send: func(f *fixture, u string) (int, error) {
				return f.sim.Postback(testChannelID, u, "action=absence", map[string]string{"date": "2026-11-21"})
			},
			check: func(t *testing.T, ev webhook.EventInterface) {
				p := ev.(webhook.PostbackEvent).Postback
				if diff := cmp.Diff(&webhook.PostbackContent{Data: "action=absence", Params: map[string]string{"date": "2026-11-21"}}, p); diff != "" {
					t.Errorf("postback (-want +got):\n%s", diff)
				}
			},
			reply: true,
		},
		{
			name: "unfollow",
			send: func(f *fixture, u string) (int, error) { return f.sim.Unfollow(testChannelID, u) },
			check: func(t *testing.T, ev webhook.EventInterface) {
				if e := ev.(webhook.UnfollowEvent); e.Source == nil {
					t.Error("unfollow without source")
				}
			},
		},
		{
			name: "unsend through Send",
			send: func(f *fixture, u string) (int, error) {
				return f.sim.Send(testChannelID, webhook.UnsendEvent{Source: &webhook.UserSource{UserId: u},
					Unsend: &webhook.UnsendDetail{MessageId: "325708"}})
			},
			check: func(t *testing.T, ev webhook.EventInterface) {
				if e := ev.(webhook.UnsendEvent); e.Unsend.MessageId != "325708" {
					t.Errorf("unsend = %+v", e.Unsend)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, linesim.Options{})
			u, _ := f.mustFriend(t, "A")
			status, err := tt.send(f, u.ID)
			if err != nil || status != http.StatusOK {
				t.Fatalf("send: %d %v", status, err)
			}
			cb := f.rc.next(t)
			common(t, cb, f.ch.BotUserID, u.ID)
			tt.check(t, cb.Events[0])
			if !tt.reply {
				return
			}
			token := replyToken(t, cb)
			api := f.api(t, testToken)
			req := &messaging_api.ReplyMessageRequest{ReplyToken: token, Messages: []messaging_api.MessageInterface{textMessage("はい")}}
			if res, _, err := api.ReplyMessageWithHttpInfo(req); err != nil || res.StatusCode != 200 {
				t.Fatalf("first reply: %v", err)
			}
			res, _, err := api.ReplyMessageWithHttpInfo(req)
			mustAnswer(t, res, err)
			if res.StatusCode != http.StatusBadRequest {
				t.Fatalf("second reply = %d, want 400", res.StatusCode)
			}
		})
	}
}

func TestFollowUnblocked(t *testing.T) {
	t.Parallel()
	f := newFixture(t, linesim.Options{})
	u, cb := f.mustFriend(t, "A")
	common(t, cb, f.ch.BotUserID, u.ID)
	if e := cb.Events[0].(webhook.FollowEvent); e.Follow == nil || e.Follow.IsUnblocked || e.ReplyToken == "" {
		t.Fatalf("first follow = %+v", e)
	}
	if _, err := f.sim.Follow(testChannelID, u.ID); !errors.Is(err, linesim.ErrAlreadyFriend) {
		t.Errorf("follow twice: %v", err)
	}
	if _, err := f.sim.Unfollow(testChannelID, u.ID); err != nil {
		t.Fatal(err)
	}
	f.rc.next(t)
	if _, err := f.sim.SendText(testChannelID, u.ID, "x"); !errors.Is(err, linesim.ErrBlocked) {
		t.Errorf("text after blocking: %v", err)
	}
	if _, err := f.sim.Follow(testChannelID, u.ID); err != nil {
		t.Fatal(err)
	}
	if e := f.rc.next(t).Events[0].(webhook.FollowEvent); !e.Follow.IsUnblocked {
		t.Errorf("follow after block: isUnblocked false")
	}
}

func TestRedeliver(t *testing.T) {
	t.Parallel()
	f := newFixture(t, linesim.Options{})
	u, _ := f.mustFriend(t, "A")
	f.rc.answer(http.StatusInternalServerError)
	status, err := f.sim.SendText(testChannelID, u.ID, "遅刻します")
	if status != 500 || !errors.Is(err, linesim.ErrWebhookStatus) {
		t.Fatalf("failed delivery: %d %v", status, err)
	}
	first := f.rc.next(t).Events[0].(webhook.MessageEvent)
	if first.DeliveryContext.IsRedelivery {
		t.Fatal("first attempt marked as redelivery")
	}
	f.rc.answer(http.StatusOK)
	if status, err := f.sim.Redeliver(first.WebhookEventId); err != nil || status != 200 {
		t.Fatalf("redeliver: %d %v", status, err)
	}
	again := f.rc.next(t).Events[0].(webhook.MessageEvent)
	if again.WebhookEventId != first.WebhookEventId || !again.DeliveryContext.IsRedelivery ||
		again.Message.(webhook.TextMessageContent).Text != "遅刻します" {
		t.Errorf("redelivered = %+v", again)
	}
	ds := f.sim.Deliveries()
	var got []int
	for _, d := range ds {
		got = append(got, d.Status)
	}
	if diff := cmp.Diff([]int{200, 500, 200}, got); diff != "" {
		t.Errorf("delivery statuses (-want +got):\n%s", diff)
	}
	if !ds[2].Redelivery || ds[2].WebhookEventIDs[0] != first.WebhookEventId {
		t.Errorf("last delivery = %+v", ds[2])
	}
}

func TestVerifyWebhook(t *testing.T) {
	t.Parallel()
	f := newFixture(t, linesim.Options{})
	if status, err := f.sim.VerifyWebhook(testChannelID); err != nil || status != 200 {
		t.Fatalf("verify: %d %v", status, err)
	}
	cb := f.rc.next(t)
	if cb.Destination != f.ch.BotUserID || len(cb.Events) != 0 {
		t.Errorf("verify request = %+v", cb)
	}
	if body := f.sim.Deliveries()[0].Body; !bytes.Contains(body, []byte(`"events":[]`)) {
		t.Errorf("body %s lacks an empty events array", body)
	}
}

func TestWebhookSignature(t *testing.T) {
	t.Parallel()
	// A receiver that knows the wrong secret must refuse the simulator's webhooks.
	bad := newReceiver(t, "wrong-secret")
	f := newFixture(t, linesim.Options{})
	if err := f.sim.SetWebhookURL(testChannelID, bad.srv.URL); err != nil {
		t.Fatal(err)
	}
	if status, err := f.sim.VerifyWebhook(testChannelID); status != http.StatusBadRequest {
		t.Errorf("status with the wrong secret = %d (%v), want 400", status, err)
	}
	bad.mu.Lock()
	defer bad.mu.Unlock()
	if len(bad.errs) != 1 || !errors.Is(bad.errs[0], webhook.ErrInvalidSignature) {
		t.Errorf("receiver errors = %v", bad.errs)
	}
}

func TestWebhookJSONShape(t *testing.T) {
	t.Parallel()
	var body []byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var buf bytes.Buffer
		if _, err := buf.ReadFrom(r.Body); err != nil {
			t.Errorf("reading the webhook body: %v", err)
		}
		body = buf.Bytes()
	}))
	defer srv.Close()
	sim := linesim.New(linesim.Options{})
	if err := sim.AddChannel(linesim.ChannelConfig{ID: "1", Secret: "s", AccessToken: "t", WebhookURL: srv.URL}); err != nil {
		t.Fatal(err)
	}
	u, err := sim.AddUser(linesim.User{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sim.Follow("1", u.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := sim.Postback("1", u.ID, "a=1", nil); err != nil {
		t.Fatal(err)
	}
	// LINE omits absent fields rather than sending null.
	if bytes.Contains(body, []byte("null")) {
		t.Errorf("postback body has null: %s", body)
	}
	var got struct {
		Events []map[string]any `json:"events"`
	}
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatal(err)
	}
	keys := func(m map[string]any) []string {
		var out []string
		for k := range m {
			out = append(out, k)
		}
		return out
	}
	want := []string{"type", "mode", "timestamp", "source", "webhookEventId", "deliveryContext", "replyToken", "postback"}
	if diff := cmp.Diff(want, keys(got.Events[0]), cmpSortStrings); diff != "" {
		t.Errorf("postback event keys (-want +got):\n%s", diff)
	}
}
