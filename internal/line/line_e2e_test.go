package line_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strings"
	"testing"

	"github.com/renraku/renraku/internal/apptest"
	"github.com/renraku/renraku/internal/leaktest"
	"github.com/renraku/renraku/internal/line"
	"github.com/renraku/renraku/internal/linesim"
)

func TestFollowGetsWelcomeReply(t *testing.T) {
	t.Parallel()
	w := apptest.StartLineWorld(t)
	u := w.NewParent(t, "山田花子")
	if status, err := w.Sim.Follow(w.Ch.LineChannelID, u.ID); err != nil || status != http.StatusOK {
		t.Fatalf("follow: %d %v", status, err)
	}
	items := apptest.WaitBotText(t, w, u.ID, "友だち追加ありがとうございます", 1)
	for _, it := range items {
		if it.From == linesim.FromBot && it.Via != "reply" {
			t.Errorf("welcome sent by %s, want a (free) reply", it.Via)
		}
	}
	if m, ok := w.Sim.CurrentRichMenu(w.Ch.LineChannelID, u.ID); !ok || !strings.HasPrefix(m.Name, "renraku-guest") {
		t.Errorf("rich menu = %+v %v, want the guest menu as default", m.Name, ok)
	}
	// A text gets the pointer to the menu; an unknown postback the polite note.
	if _, err := w.Sim.SendText(w.Ch.LineChannelID, u.ID, "山田です。よろしくお願いします"); err != nil {
		t.Fatal(err)
	}
	apptest.WaitBotText(t, w, u.ID, "メニューからご利用ください", 1)
	if _, err := w.Sim.Postback(w.Ch.LineChannelID, u.ID, line.PostbackData("menu.someday", ""), nil); err != nil {
		t.Fatal(err)
	}
	apptest.WaitBotText(t, w, u.ID, "準備中", 1)
	// 連絡する before registering sends the registration link.
	if _, err := w.Sim.Postback(w.Ch.LineChannelID, u.ID, line.PostbackData("menu.contact", ""), nil); err != nil {
		t.Fatal(err)
	}
	apptest.WaitBotText(t, w, u.ID, "下のボタンから登録してください", 1)

	// Personal data: the LINE user ID, display name, status message and the text the
	// parent typed appear nowhere in the database dump or the logs.
	dump := leaktest.PgDump(t, w.DBURL)
	secrets := []string{u.ID, "山田花子", "山田です", u.StatusMessage, w.Ch.Secret.Reveal(), w.Ch.AccessToken.Reveal()}
	leaktest.AssertAbsent(t, "pg_dump", dump, secrets...)
	leaktest.AssertAbsent(t, "logs", w.Logs.Bytes(), secrets...)
}

func TestRedeliveredEventProcessedOnce(t *testing.T) {
	t.Parallel()
	w := apptest.StartLineWorld(t)
	u := w.NewParent(t, "佐藤")
	if _, err := w.Sim.SendText(w.Ch.LineChannelID, u.ID, "こんにちは"); err != nil {
		t.Fatal(err)
	}
	apptest.WaitBotText(t, w, u.ID, "メニューからご利用ください", 1)
	deliveries := w.Sim.Deliveries()
	last := deliveries[len(deliveries)-1]
	for i := 0; i < 3; i++ {
		if status, err := w.Sim.Redeliver(last.WebhookEventIDs[0]); err != nil || status != http.StatusOK {
			t.Fatalf("redeliver: %d %v", status, err)
		}
	}
	var events, outbound int
	pool := w.App.Pool()
	if err := pool.QueryRow(context.Background(), `SELECT (SELECT count(*) FROM line_event), (SELECT count(*) FROM line_outbound)`).Scan(&events, &outbound); err != nil {
		t.Fatalf("counting events and outbound messages: %v", err)
	}
	if events != 1 || outbound != 1 {
		t.Fatalf("events %d, outbound %d; want the redelivered event stored and answered once", events, outbound)
	}
}

func TestWebhookRefusals(t *testing.T) {
	t.Parallel()
	w := apptest.StartLineWorld(t)
	body := []byte(`{"destination":"Uxxx","events":[{"type":"message","mode":"active","timestamp":1700000000000,"webhookEventId":"01HZZZZZZZZZZZZZZZZZZZZZZZ","deliveryContext":{"isRedelivery":false},"source":{"type":"user","userId":"U0123456789abcdef0123456789abcdef"},"replyToken":"r","message":{"type":"text","id":"1","quoteToken":"q","text":"秘密の本文"}}]}`)
	sign := func(b []byte) string {
		m := hmac.New(sha256.New, []byte(w.Ch.Secret.Reveal()))
		m.Write(b)
		return base64.StdEncoding.EncodeToString(m.Sum(nil))
	}
	flipped := bytes.Clone(body)
	flipped[len(flipped)-5] ^= 1
	tests := []struct {
		name, channel, sig string
		body               []byte
		want               int
	}{
		{"verification request", w.Ch.LineChannelID, sign([]byte(`{"destination":"U1","events":[]}`)), []byte(`{"destination":"U1","events":[]}`), 200},
		{"bad signature", w.Ch.LineChannelID, sign(body)[:10] + "AAAA", body, 401},
		{"one byte changed", w.Ch.LineChannelID, sign(body), flipped, 401},
		{"no signature", w.Ch.LineChannelID, "", body, 401},
		{"malformed json", w.Ch.LineChannelID, sign([]byte(`{"events":[`)), []byte(`{"events":[`), 400},
		{"unknown channel", "1999999999", sign(body), body, 404},
		{"malformed channel", "abc", sign(body), body, 404},
		{"oversized", w.Ch.LineChannelID, "x", bytes.Repeat([]byte("a"), line.MaxWebhookBody+1), 413},
	}
	for _, tt := range tests {
		req := apptest.MustRequest(t, http.MethodPost, w.App.URL()+"/line/webhook/"+tt.channel, bytes.NewReader(tt.body))
		req.Header.Set("X-Line-Signature", tt.sig)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tt.want {
			t.Errorf("%s: status %d, want %d", tt.name, resp.StatusCode, tt.want)
		}
	}
	var n int
	if err := w.App.Pool().QueryRow(context.Background(), `SELECT count(*) FROM line_event`).Scan(&n); err != nil {
		t.Fatalf("counting stored events: %v", err)
	}
	if n != 0 {
		t.Fatalf("%d events stored from refused requests", n)
	}
	leaktest.AssertAbsent(t, "logs", w.Logs.Bytes(), "秘密の本文")
}
