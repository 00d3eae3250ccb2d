package app_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/renraku/renraku/internal/app"
	"github.com/renraku/renraku/internal/config"
	"github.com/renraku/renraku/internal/demo"
	"github.com/renraku/renraku/internal/leaktest"
	"github.com/renraku/renraku/internal/line"
	"github.com/renraku/renraku/internal/linesim"
	"github.com/renraku/renraku/internal/logging"
	"github.com/renraku/renraku/internal/pgtest"
	"github.com/renraku/renraku/internal/vault/vaulttest"

	"log/slog"
)

// lineWorld is the app wired to a LINE simulator, with the demo channel.
type lineWorld struct {
	app   *app.App
	sim   *linesim.Sim
	ch    line.Channel
	dbURL string
	logs  *syncBuffer
}

func startLineWorld(t testing.TB) *lineWorld {
	t.Helper()
	return startLineWorldBehind(t, nil)
}

// startLineWorldBehind is startLineWorld with the app reaching the simulator through
// wrap (nil: directly), so a test can answer some of LINE's endpoints itself.
func startLineWorldBehind(t testing.TB, wrap func(http.Handler) http.Handler) *lineWorld {
	t.Helper()
	return startLineWorldAt(t, pgtest.NewDBURL(t), wrap)
}

// startLineWorldOn starts a LINE world on the migrated database at dbURL; opts adjust
// the configuration.
func startLineWorldOn(t testing.TB, dbURL string, opts ...func(*config.Config)) *lineWorld {
	t.Helper()
	return startLineWorldAt(t, dbURL, nil, opts...)
}

// startLineWorldAt is the LINE world on dbURL, with the app reaching the simulator
// through wrap (nil: directly) and the configuration adjusted by opts.
func startLineWorldAt(t testing.TB, dbURL string, wrap func(http.Handler) http.Handler, opts ...func(*config.Config)) *lineWorld {
	t.Helper()
	sim := linesim.New(linesim.Options{AllowHTTPURLs: true})
	h := sim.Handler()
	if wrap != nil {
		h = wrap(h)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	simURL := mustURL(srv.URL)
	keyset, key := vaulttest.Keyset(t)
	logs := &syncBuffer{}
	cfg := &config.Config{DatabaseURL: dbURL, Addr: "127.0.0.1:0", ShutdownTimeout: 5 * time.Second,
		KeysetFile: keyset, MasterKey: key, LineAPIURL: simURL, LineDataAPIURL: simURL, ListRefresh: time.Second}
	for _, o := range opts {
		o(cfg)
	}
	a := app.New(cfg, logging.New(logs, slog.LevelDebug))
	if err := a.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Close(context.Background()) })
	ch, err := demo.Seed(context.Background(), a.Services(), sim, a.URL())
	if err != nil {
		t.Fatal(err)
	}
	return &lineWorld{app: a, sim: sim, ch: ch, dbURL: dbURL, logs: logs}
}

// startDemoWorld starts a LINE world with the demo schools' classes and staff, and
// returns the staff's logins.
func startDemoWorld(t *testing.T) (*lineWorld, []demo.Login) {
	t.Helper()
	w := startLineWorld(t)
	logins, err := demo.SeedStaff(context.Background(), w.app.Services())
	if err != nil {
		t.Fatal(err)
	}
	return w, logins
}

func (w *lineWorld) newParent(t testing.TB, name string) linesim.User {
	t.Helper()
	u, err := w.sim.AddUser(linesim.User{DisplayName: name, Language: "ja", StatusMessage: name + "のひとこと"})
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func waitBotText(t testing.TB, w *lineWorld, user, want string, count int) []linesim.ChatItem {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	items, err := w.sim.WaitChat(ctx, w.ch.LineChannelID, user, func(items []linesim.ChatItem) bool {
		n := 0
		for _, it := range items {
			if it.From == linesim.FromBot && strings.Contains(it.Text, want) {
				n++
			}
		}
		return n >= count
	})
	if err != nil {
		t.Fatalf("waiting for %q: %v (chat: %+v)", want, err, items)
	}
	return items
}

func TestFollowGetsWelcomeReply(t *testing.T) {
	t.Parallel()
	w := startLineWorld(t)
	u := w.newParent(t, "山田花子")
	if status, err := w.sim.Follow(w.ch.LineChannelID, u.ID); err != nil || status != http.StatusOK {
		t.Fatalf("follow: %d %v", status, err)
	}
	items := waitBotText(t, w, u.ID, "友だち追加ありがとうございます", 1)
	for _, it := range items {
		if it.From == linesim.FromBot && it.Via != "reply" {
			t.Errorf("welcome sent by %s, want a (free) reply", it.Via)
		}
	}
	if m, ok := w.sim.CurrentRichMenu(w.ch.LineChannelID, u.ID); !ok || !strings.HasPrefix(m.Name, "renraku-guest") {
		t.Errorf("rich menu = %+v %v, want the guest menu as default", m.Name, ok)
	}
	// A text gets the pointer to the menu; an unknown postback the polite note.
	if _, err := w.sim.SendText(w.ch.LineChannelID, u.ID, "山田です。よろしくお願いします"); err != nil {
		t.Fatal(err)
	}
	waitBotText(t, w, u.ID, "メニューからご利用ください", 1)
	if _, err := w.sim.Postback(w.ch.LineChannelID, u.ID, line.PostbackData("menu.someday", ""), nil); err != nil {
		t.Fatal(err)
	}
	waitBotText(t, w, u.ID, "準備中", 1)
	// 連絡する before registering sends the registration link.
	if _, err := w.sim.Postback(w.ch.LineChannelID, u.ID, line.PostbackData("menu.contact", ""), nil); err != nil {
		t.Fatal(err)
	}
	waitBotText(t, w, u.ID, "下のボタンから登録してください", 1)

	// Personal data: the LINE user ID, display name, status message and the text the
	// parent typed appear nowhere in the database dump or the logs.
	dump := leaktest.PgDump(t, w.dbURL)
	secrets := []string{u.ID, "山田花子", "山田です", u.StatusMessage, w.ch.Secret.Reveal(), w.ch.AccessToken.Reveal()}
	leaktest.AssertAbsent(t, "pg_dump", dump, secrets...)
	leaktest.AssertAbsent(t, "logs", w.logs.Bytes(), secrets...)
}

func TestRedeliveredEventProcessedOnce(t *testing.T) {
	t.Parallel()
	w := startLineWorld(t)
	u := w.newParent(t, "佐藤")
	if _, err := w.sim.SendText(w.ch.LineChannelID, u.ID, "こんにちは"); err != nil {
		t.Fatal(err)
	}
	waitBotText(t, w, u.ID, "メニューからご利用ください", 1)
	deliveries := w.sim.Deliveries()
	last := deliveries[len(deliveries)-1]
	for i := 0; i < 3; i++ {
		if status, err := w.sim.Redeliver(last.WebhookEventIDs[0]); err != nil || status != http.StatusOK {
			t.Fatalf("redeliver: %d %v", status, err)
		}
	}
	var events, outbound int
	pool := w.app.Pool()
	if err := pool.QueryRow(context.Background(), `SELECT (SELECT count(*) FROM line_event), (SELECT count(*) FROM line_outbound)`).Scan(&events, &outbound); err != nil {
		t.Fatalf("counting events and outbound messages: %v", err)
	}
	if events != 1 || outbound != 1 {
		t.Fatalf("events %d, outbound %d; want the redelivered event stored and answered once", events, outbound)
	}
}

func TestWebhookRefusals(t *testing.T) {
	t.Parallel()
	w := startLineWorld(t)
	body := []byte(`{"destination":"Uxxx","events":[{"type":"message","mode":"active","timestamp":1700000000000,"webhookEventId":"01HZZZZZZZZZZZZZZZZZZZZZZZ","deliveryContext":{"isRedelivery":false},"source":{"type":"user","userId":"U0123456789abcdef0123456789abcdef"},"replyToken":"r","message":{"type":"text","id":"1","quoteToken":"q","text":"秘密の本文"}}]}`)
	sign := func(b []byte) string {
		m := hmac.New(sha256.New, []byte(w.ch.Secret.Reveal()))
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
		{"verification request", w.ch.LineChannelID, sign([]byte(`{"destination":"U1","events":[]}`)), []byte(`{"destination":"U1","events":[]}`), 200},
		{"bad signature", w.ch.LineChannelID, sign(body)[:10] + "AAAA", body, 401},
		{"one byte changed", w.ch.LineChannelID, sign(body), flipped, 401},
		{"no signature", w.ch.LineChannelID, "", body, 401},
		{"malformed json", w.ch.LineChannelID, sign([]byte(`{"events":[`)), []byte(`{"events":[`), 400},
		{"unknown channel", "1999999999", sign(body), body, 404},
		{"malformed channel", "abc", sign(body), body, 404},
		{"oversized", w.ch.LineChannelID, "x", bytes.Repeat([]byte("a"), line.MaxWebhookBody+1), 413},
	}
	for _, tt := range tests {
		req := mustRequest(t, http.MethodPost, w.app.URL()+"/line/webhook/"+tt.channel, bytes.NewReader(tt.body))
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
	if err := w.app.Pool().QueryRow(context.Background(), `SELECT count(*) FROM line_event`).Scan(&n); err != nil {
		t.Fatalf("counting stored events: %v", err)
	}
	if n != 0 {
		t.Fatalf("%d events stored from refused requests", n)
	}
	leaktest.AssertAbsent(t, "logs", w.logs.Bytes(), "秘密の本文")
}
