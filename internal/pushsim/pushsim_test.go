package pushsim_test

import (
	"net/http"
	"strings"
	"testing"

	webpush "github.com/SherClockHolmes/webpush-go"

	"github.com/renraku/renraku/internal/pushsim"
)

// send pushes msg to sub as an application server does, with webpush-go.
func send(t *testing.T, sub pushsim.Subscription, msg string, private, public string) int {
	t.Helper()
	resp, err := webpush.SendNotification([]byte(msg), &webpush.Subscription{Endpoint: sub.Endpoint,
		Keys: webpush.Keys{P256dh: sub.P256dh, Auth: sub.Auth}}, &webpush.Options{Subscriber: "https://renraku.example", TTL: 60,
		VAPIDPublicKey: public, VAPIDPrivateKey: private, Topic: "message"})
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	return resp.StatusCode
}

func TestPushIsVerifiedDecryptedAndAnswered(t *testing.T) {
	t.Parallel()
	ps := pushsim.New()
	defer ps.Close()
	private, public, err := webpush.GenerateVAPIDKeys()
	if err != nil {
		t.Fatal(err)
	}
	sub := ps.Subscribe()
	long := strings.Repeat("連絡", 1000) // several kilobytes: more than one AES block, one record
	tests := []struct {
		name   string
		reply  []pushsim.Reply
		msg    string
		status int
	}{
		{name: "delivered", msg: `{"title":"新しい連絡があります"}`, status: http.StatusCreated},
		{name: "long payload", msg: long[:3000], status: http.StatusCreated},
		{name: "rate limited", reply: []pushsim.Reply{{Status: http.StatusTooManyRequests, RetryAfter: "1"}}, msg: "x", status: http.StatusTooManyRequests},
	}
	for _, tc := range tests {
		ps.Answer(sub.Endpoint, tc.reply...)
		if got := send(t, sub, tc.msg, private, public); got != tc.status {
			t.Fatalf("%s: status %d, want %d (rejected: %v)", tc.name, got, tc.status, ps.Rejected())
		}
	}
	pushes := ps.Pushes(sub.Endpoint)
	if len(pushes) != 2 || string(pushes[0].Plaintext) != tests[0].msg || string(pushes[1].Plaintext) != tests[1].msg {
		t.Fatalf("pushes: %d", len(pushes))
	}
	if pushes[0].VAPIDKey != public || pushes[0].Subject != "https://renraku.example" || pushes[0].Topic != "message" || pushes[0].TTL != 60 {
		t.Fatalf("push headers: %+v", pushes[0])
	}

	// A token signed by another key than k is refused, and so is a payload for another
	// subscription's keys.
	otherPrivate, _, _ := webpush.GenerateVAPIDKeys()
	if got := send(t, sub, "x", otherPrivate, public); got != http.StatusUnauthorized {
		t.Fatalf("forged token: %d", got)
	}
	other := ps.Subscribe()
	wrong := pushsim.Subscription{Endpoint: sub.Endpoint, P256dh: other.P256dh, Auth: other.Auth}
	if got := send(t, wrong, "x", private, public); got != http.StatusBadRequest {
		t.Fatalf("payload for other keys: %d", got)
	}
	if n := len(ps.Rejected()); n != 2 {
		t.Fatalf("rejected %d: %v", n, ps.Rejected())
	}

	// 410 ends the subscription.
	ps.Answer(sub.Endpoint, pushsim.Reply{Status: http.StatusGone})
	for range 2 {
		if got := send(t, sub, "x", private, public); got != http.StatusGone {
			t.Fatalf("gone: %d", got)
		}
	}
}
