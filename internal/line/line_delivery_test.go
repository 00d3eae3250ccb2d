package line_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/renraku/renraku/internal/app"
	"github.com/renraku/renraku/internal/apptest"
	"github.com/renraku/renraku/internal/line"
	"github.com/renraku/renraku/internal/linesim"
	"github.com/renraku/renraku/internal/logging"
	"github.com/renraku/renraku/internal/vault"
)

// A push refused with 429 is retried with back-off; one whose answer is lost (LINE accepted it, the connection failed) is retried
// with the same X-Line-Retry-Key: LINE answers 409 and the parent gets it once.
func TestPushRetryDeliversOnce(t *testing.T) {
	t.Parallel()
	w := apptest.StartLineWorld(t)
	u := w.NewParent(t, "田中")
	if _, err := w.Sim.Follow(w.Ch.LineChannelID, u.ID); err != nil {
		t.Fatal(err)
	}
	apptest.WaitBotText(t, w, u.ID, "友だち追加ありがとうございます", 1)

	svc := w.App.Services().LINE
	f, err := svc.FindFriendByUserID(context.Background(), w.Ch.ID, vault.Personal(u.ID))
	if err != nil {
		t.Fatal(err)
	}
	// First LINE's rate limit, then a lost answer after acceptance.
	w.Sim.FailNext(linesim.EndpointPush, 1, 429)
	w.Sim.FailNextAfterAccept(linesim.EndpointPush, 1, 500)
	err = w.App.Services().Tx.InTx(context.Background(), func(ctx context.Context) error {
		_, err := svc.Queue(ctx, line.Send{Friend: f, Purpose: "test", Messages: []line.Message{{Text: "【1年1組 担任】明日の持ち物です"}}})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for {
		var state, method string
		// Past the deadline the query fails too; the check below says what was awaited.
		if err := w.App.Pool().QueryRow(ctx, `SELECT state, method FROM line_outbound WHERE purpose = 'test'`).Scan(&state, &method); err != nil && ctx.Err() == nil {
			t.Fatalf("reading the push's state: %v", err)
		}
		if state == line.StateSent {
			if method != "push" {
				t.Errorf("method = %s", method)
			}
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("push not marked sent (state %q)", state)
		}
		time.Sleep(100 * time.Millisecond)
	}
	n := 0
	for _, it := range w.Sim.Chat(w.Ch.LineChannelID, u.ID) {
		if strings.Contains(it.Text, "明日の持ち物") {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("message delivered %d times, want once", n)
	}
	var attempts int
	if err := w.App.Pool().QueryRow(ctx, `SELECT attempts FROM line_outbound WHERE purpose = 'test'`).Scan(&attempts); err != nil {
		t.Fatalf("reading the push's attempts: %v", err)
	}
	if attempts != 3 {
		t.Errorf("attempts = %d, want 3 (429, lost answer, 409)", attempts)
	}
}

// A reply LINE took but whose answer was lost (a 500 after acceptance) is not sent
// again as a push: the retry finds the token used within its lifetime, which only the
// lost attempt can have done, and records the message as delivered.
func TestLostReplyAnswerDeliversOnce(t *testing.T) {
	t.Parallel()
	w := apptest.StartLineWorld(t)
	u := w.NewParent(t, "松本")
	if _, err := w.Sim.Follow(w.Ch.LineChannelID, u.ID); err != nil {
		t.Fatal(err)
	}
	apptest.WaitBotText(t, w, u.ID, "友だち追加ありがとうございます", 1)

	w.Sim.FailNextAfterAccept(linesim.EndpointReply, 1, http.StatusInternalServerError)
	if _, err := w.Sim.SendText(w.Ch.LineChannelID, u.ID, "こんにちは"); err != nil {
		t.Fatal(err)
	}
	// Waits for the answer to leave the queue (zero once it has).
	apptest.WaitRows(t, w, `SELECT 1 - count(*) FROM line_outbound WHERE purpose = 'reply' AND state <> 'queued'`)
	var state, method, lastErr string
	var attempts int
	if err := w.App.Pool().QueryRow(context.Background(), `SELECT state, method, attempts, last_error FROM line_outbound WHERE purpose = 'reply'`).Scan(&state, &method, &attempts, &lastErr); err != nil {
		t.Fatal(err)
	}
	if state != line.StateSent || method != "reply" || attempts != 2 {
		t.Errorf("outbound %s/%s after %d attempts (%s), want sent/reply after 2", state, method, attempts, lastErr)
	}
	n := 0
	for _, it := range w.Sim.Chat(w.Ch.LineChannelID, u.ID) {
		if strings.Contains(it.Text, "メニューからご利用ください") {
			n++
		}
	}
	if n != 1 {
		t.Errorf("answer delivered %d times, want once", n)
	}
}

// Events stored by an instance that dies before processing them are processed by the
// next instance: here the first "instance" can only enqueue.
func TestStoredEventsSurviveRestart(t *testing.T) {
	t.Parallel()
	w := apptest.StartLineWorld(t)
	u := w.NewParent(t, "高橋")
	if _, err := w.Sim.Follow(w.Ch.LineChannelID, u.ID); err != nil {
		t.Fatal(err)
	}
	apptest.WaitBotText(t, w, u.ID, "友だち追加ありがとうございます", 1)
	// The webhook lands on a process that stores but runs no workers (as if it
	// crashed right after answering LINE).
	tools, err := app.OpenTools(context.Background(), w.App.Config(), logging.New(&apptest.SyncBuffer{}, slog.LevelError))
	if err != nil {
		t.Fatal(err)
	}
	defer tools.Close()
	body := fmt.Sprintf(`{"destination":"U0","events":[{"type":"message","mode":"active","timestamp":%d,"webhookEventId":"01JRESTARTRESTARTRESTART01","deliveryContext":{"isRedelivery":false},"source":{"type":"user","userId":%q},"replyToken":"nonexistent-token","message":{"type":"text","id":"9","quoteToken":"q","text":"再起動テスト"}}]}`,
		time.Now().UnixMilli(), u.ID)
	m := hmac.New(sha256.New, []byte(w.Ch.Secret.Reveal()))
	m.Write([]byte(body))
	if _, err := tools.LINE.Ingest(context.Background(), w.Ch.LineChannelID, base64.StdEncoding.EncodeToString(m.Sum(nil)), []byte(body)); err != nil {
		t.Fatal(err)
	}
	// The running app (the "next instance") picks the job up; the reply token is not
	// LINE's, so the answer falls back to push.
	items := apptest.WaitBotText(t, w, u.ID, "メニューからご利用ください", 1)
	for _, it := range items {
		if strings.Contains(it.Text, "メニューからご利用ください") && (!it.Delivered || it.Via != "push") {
			t.Errorf("answer delivered=%v via %s, want a delivered push", it.Delivered, it.Via)
		}
	}
}

// A user's events are processed in LINE's order even though several workers (4 on the
// events queue) pick up their jobs concurrently.
func TestPerUserOrdering(t *testing.T) {
	t.Parallel()
	w := apptest.StartLineWorld(t)
	users := []linesim.User{w.NewParent(t, "一"), w.NewParent(t, "二"), w.NewParent(t, "三")}
	const each = 15
	for i := 0; i < each; i++ {
		for _, u := range users {
			if _, err := w.Sim.SendText(w.Ch.LineChannelID, u.ID, fmt.Sprintf("メッセージ%02d", i)); err != nil {
				t.Fatal(err)
			}
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for {
		var pending int
		err := w.App.Pool().QueryRow(ctx, `SELECT count(*) FROM line_event WHERE processed_at IS NULL`).Scan(&pending)
		if err != nil && ctx.Err() == nil {
			t.Fatalf("counting pending events: %v", err)
		}
		if err == nil && pending == 0 {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("%d events still pending", pending)
		}
		time.Sleep(100 * time.Millisecond)
	}
	// Within each user, processing order equals LINE's order.
	var misordered, total int
	err := w.App.Pool().QueryRow(ctx, `
		SELECT count(*) FILTER (WHERE rank_line <> rank_done), count(*) FROM (
			SELECT rank() OVER (PARTITION BY user_key ORDER BY occurred_at, id) AS rank_line,
			       rank() OVER (PARTITION BY user_key ORDER BY processed_at, id) AS rank_done
			FROM line_event WHERE outcome = 'ok') x`).Scan(&misordered, &total)
	if err != nil {
		t.Fatal(err)
	}
	if total != len(users)*each || misordered != 0 {
		t.Fatalf("%d of %d events processed out of order", misordered, total)
	}
}
