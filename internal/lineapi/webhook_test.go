package lineapi_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/renraku/renraku/internal/lineapi"
)

const user = "U0123456789abcdef0123456789abcdef"

// TestParseCallback: each kind of event the features read comes out in renraku's
// terms, with its JSON kept byte for byte as LINE sent it; ParseEvent reads the kept
// JSON the same way.
func TestParseCallback(t *testing.T) {
	t.Parallel()
	src := `"source":{"type":"user","userId":"` + user + `"}`
	tests := []struct {
		name  string
		event string
		want  lineapi.Event
	}{
		{
			name:  "follow",
			event: `{"type":"follow","mode":"active","timestamp":1700000000000,"webhookEventId":"01HF","deliveryContext":{"isRedelivery":true},` + src + `,"replyToken":"rt1","follow":{"isUnblocked":false}}`,
			want: lineapi.Event{Type: "follow", WebhookEventID: "01HF", Timestamp: 1700000000000, Redelivery: true,
				Source: "user", UserID: user, ReplyToken: "rt1"},
		},
		{
			name:  "postback",
			event: `{"type":"postback","mode":"active","timestamp":1,"webhookEventId":"e2",` + src + `,"replyToken":"rt2","postback":{"data":"v1|menu.contact|"}}`,
			want: lineapi.Event{Type: "postback", WebhookEventID: "e2", Timestamp: 1, Source: "user", UserID: user, ReplyToken: "rt2",
				Postback: &lineapi.Postback{Data: "v1|menu.contact|"}},
		},
		{
			name:  "postback without data",
			event: `{"type":"postback","mode":"active","timestamp":1,"webhookEventId":"e3",` + src + `}`,
			want:  lineapi.Event{Type: "postback", WebhookEventID: "e3", Timestamp: 1, Source: "user", UserID: user},
		},
		{
			name:  "text",
			event: `{"type":"message","mode":"active","timestamp":1,"webhookEventId":"e4",` + src + `,"replyToken":"rt4","message":{"type":"text","id":"m4","quoteToken":"q","text":"明日は欠席します"}}`,
			want: lineapi.Event{Type: "message", WebhookEventID: "e4", Timestamp: 1, Source: "user", UserID: user, ReplyToken: "rt4",
				Message: &lineapi.UserMessage{Kind: lineapi.MessageText, ID: "m4", Text: "明日は欠席します"}},
		},
		{
			name:  "image",
			event: `{"type":"message","mode":"active","timestamp":1,"webhookEventId":"e5",` + src + `,"message":{"type":"image","id":"m5","quoteToken":"q","contentProvider":{"type":"line"}}}`,
			want: lineapi.Event{Type: "message", WebhookEventID: "e5", Timestamp: 1, Source: "user", UserID: user,
				Message: &lineapi.UserMessage{Kind: lineapi.MessageImage, ID: "m5"}},
		},
		{
			name:  "message sticker",
			event: `{"type":"message","mode":"active","timestamp":1,"webhookEventId":"e6",` + src + `,"message":{"type":"sticker","id":"m6","quoteToken":"q","packageId":"1","stickerId":"2","stickerResourceType":"MESSAGE","text":"ありがとう"}}`,
			want: lineapi.Event{Type: "message", WebhookEventID: "e6", Timestamp: 1, Source: "user", UserID: user,
				Message: &lineapi.UserMessage{Kind: lineapi.MessageSticker, ID: "m6", Text: "ありがとう"}},
		},
		{
			name:  "location",
			event: `{"type":"message","mode":"active","timestamp":1,"webhookEventId":"e7",` + src + `,"message":{"type":"location","id":"m7","latitude":35.6,"longitude":139.7}}`,
			want: lineapi.Event{Type: "message", WebhookEventID: "e7", Timestamp: 1, Source: "user", UserID: user,
				Message: &lineapi.UserMessage{Kind: lineapi.MessageOther}},
		},
		{
			name:  "group source",
			event: `{"type":"join","mode":"active","timestamp":1,"webhookEventId":"e8","source":{"type":"group","groupId":"C1"},"replyToken":"rt8"}`,
			want:  lineapi.Event{Type: "join", WebhookEventID: "e8", Timestamp: 1, Source: "group", ReplyToken: "rt8"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			body := []byte(`{"destination":"Ubot","events":[` + tc.event + `]}`)
			evs, err := lineapi.ParseCallback(body)
			if err != nil {
				t.Fatal(err)
			}
			if len(evs) != 1 {
				t.Fatalf("%d events", len(evs))
			}
			if !bytes.Equal(evs[0].Raw, []byte(tc.event)) {
				t.Errorf("raw event changed:\n%s\nwant\n%s", evs[0].Raw, tc.event)
			}
			ignoreRaw := cmpopts.IgnoreFields(lineapi.Event{}, "Raw")
			if d := cmp.Diff(tc.want, evs[0], ignoreRaw); d != "" {
				t.Errorf("event (-want +got):\n%s", d)
			}
			again, err := lineapi.ParseEvent(evs[0].Raw)
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(evs[0], again, ignoreRaw); d != "" {
				t.Errorf("stored event read differently (-callback +stored):\n%s", d)
			}
			// What the webhook stores: the same fields but the content, the same JSON.
			env, err := lineapi.ParseEnvelope(body)
			if err != nil || len(env) != 1 {
				t.Fatalf("envelope: %v, %d events", err, len(env))
			}
			if !bytes.Equal(env[0].Raw, []byte(tc.event)) {
				t.Errorf("envelope's raw event changed:\n%s", env[0].Raw)
			}
			want := tc.want
			want.Postback, want.Message = nil, nil
			if d := cmp.Diff(want, env[0], ignoreRaw); d != "" {
				t.Errorf("envelope (-want +got):\n%s", d)
			}
		})
	}
}

// TestParseCallbackRefuses: what LINE cannot have sent is ErrNotCallback, and the error
// does not quote the body.
func TestParseCallbackRefuses(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, body string }{
		{"not JSON", `{"events":[`},
		{"events not a list", `{"events":{"type":"follow"}}`},
		{"event without type", `{"events":[{"timestamp":1,"source":{"type":"user","userId":"` + user + `"}}]}`},
		{"timestamp not a number", `{"events":[{"type":"unfollow","timestamp":"秘密","webhookEventId":"e"}]}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			for name, parse := range map[string]func([]byte) ([]lineapi.Event, error){
				"ParseCallback": lineapi.ParseCallback, "ParseEnvelope": lineapi.ParseEnvelope} {
				_, err := parse([]byte(tc.body))
				if !errors.Is(err, lineapi.ErrNotCallback) {
					t.Fatalf("%s: err = %v, want ErrNotCallback", name, err)
				}
				if bytes.Contains([]byte(err.Error()), []byte(user)) || bytes.Contains([]byte(err.Error()), []byte("秘密")) {
					t.Errorf("%s: error quotes the body: %v", name, err)
				}
			}
		})
	}
	evs, err := lineapi.ParseCallback([]byte(`{"destination":"Ubot","events":[]}`))
	if err != nil || len(evs) != 0 {
		t.Fatalf("verification request: %v, %d events", err, len(evs))
	}
}

func TestValidSignature(t *testing.T) {
	t.Parallel()
	body, err := json.Marshal(map[string]any{"destination": "Ubot", "events": []any{}})
	if err != nil {
		t.Fatalf("encoding the webhook body: %v", err)
	}
	mac := hmac.New(sha256.New, []byte("0123456789abcdef0123456789abcdef"))
	mac.Write(body)
	sig := base64.StdEncoding.EncodeToString(mac.Sum(nil))
	for _, tc := range []struct {
		name, secret, sig string
		body              []byte
		want              bool
	}{
		{"signed", "0123456789abcdef0123456789abcdef", sig, body, true},
		{"other secret", "fedcba9876543210fedcba9876543210", sig, body, false},
		{"body changed", "0123456789abcdef0123456789abcdef", sig, append(body, ' '), false},
		{"no signature", "0123456789abcdef0123456789abcdef", "", body, false},
	} {
		if got := lineapi.ValidSignature(tc.secret, tc.sig, tc.body); got != tc.want {
			t.Errorf("%s: ValidSignature = %v, want %v", tc.name, got, tc.want)
		}
	}
}
