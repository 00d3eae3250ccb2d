package line_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/renraku/renraku/internal/apptest"
	"github.com/renraku/renraku/internal/audit"
	"github.com/renraku/renraku/internal/line"
	"github.com/renraku/renraku/internal/linesim"
	"github.com/renraku/renraku/internal/vault"
)

// Tests of the webhook's group commit and of batched processing: many requests at
// once are each stored once and answered once by reply; a failing event in a batch is
// undone alone and its user's later events wait for it; a user whose events another
// worker holds is taken up again; what an event undone recorded for the audit log goes
// with it; a reply that fails for the moment is sent by a job of its own, once.

// userID is the i-th made-up LINE user of a test.
func userID(tag string, i int) string {
	return fmt.Sprintf("U%s%0*d", tag, 32-len(tag), i)
}

// postbackEvent is one postback event of a webhook body.
func postbackEvent(id, user, data string, at int64) string {
	return fmt.Sprintf(`{"type":"postback","mode":"active","timestamp":%d,"webhookEventId":%q,"deliveryContext":{"isRedelivery":false},"source":{"type":"user","userId":%q},"replyToken":"00000000000000000000000000000000","postback":{"data":%q}}`,
		at, id, user, data)
}

func textEvent(id, user, token, text string, at int64) string {
	return fmt.Sprintf(`{"type":"message","mode":"active","timestamp":%d,"webhookEventId":%q,"deliveryContext":{"isRedelivery":false},"source":{"type":"user","userId":%q},"replyToken":%q,"message":{"type":"text","id":"%d","quoteToken":"q","text":%q}}`,
		at, id, user, token, at, text)
}

// post sends a signed webhook request with events to the app and returns the status.
func post(t *testing.T, w *apptest.LineWorld, events ...string) int {
	t.Helper()
	body := []byte(`{"destination":"Ubot","events":[` + strings.Join(events, ",") + `]}`)
	m := hmac.New(sha256.New, []byte(w.Ch.Secret.Reveal()))
	m.Write(body)
	req, err := http.NewRequest(http.MethodPost, w.App.URL()+"/line/webhook/"+w.Ch.LineChannelID, bytes.NewReader(body))
	if err != nil {
		t.Error(err)
		return 0
	}
	req.Header.Set("X-Line-Signature", base64.StdEncoding.EncodeToString(m.Sum(nil)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Error(err)
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// waitEvents waits until every event whose webhookEventId starts with prefix is
// processed, and returns their outcomes by ID.
func waitEvents(t *testing.T, w *apptest.LineWorld, prefix string, n int) map[string]string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		rows, err := w.App.Pool().Query(context.Background(),
			`SELECT webhook_event_id, outcome FROM line_event WHERE webhook_event_id LIKE $1 AND processed_at IS NOT NULL`, prefix+"%")
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]string{}
		for rows.Next() {
			var id, outcome string
			if err := rows.Scan(&id, &outcome); err != nil {
				t.Fatal(err)
			}
			got[id] = outcome
		}
		rows.Close()
		if len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d events processed: %v", len(got), n, got)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestConcurrentWebhooksStoredOnceAndAnsweredByReply(t *testing.T) {
	t.Parallel()
	w := apptest.StartLineWorld(t)
	const n = 40
	users := make([]linesim.User, n)
	for i := range users {
		users[i] = w.NewParent(t, fmt.Sprintf("保護者%d", i))
	}
	// Every user's message at once, each one twice (LINE redelivers after a timeout).
	at := time.Now().UnixMilli()
	var wg sync.WaitGroup
	for i, u := range users {
		ev := textEvent(fmt.Sprintf("01CONC%020d", i), u.ID, w.Sim.IssueReplyToken(w.Ch.LineChannelID, u.ID), "こんにちは", at+int64(i))
		for range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if status := post(t, w, ev); status != http.StatusOK {
					t.Errorf("webhook answered %d", status)
				}
			}()
		}
	}
	wg.Wait()
	outcomes := waitEvents(t, w, "01CONC", n)
	for id, o := range outcomes {
		if o != "ok" {
			t.Errorf("event %s: outcome %q", id, o)
		}
	}
	apptest.WaitQuiet(t, w.App.Pool())
	var events, outbound, replies int
	if err := w.App.Pool().QueryRow(context.Background(), `SELECT (SELECT count(*) FROM line_event),
		(SELECT count(*) FROM line_outbound), (SELECT count(*) FROM line_outbound WHERE state = 'sent' AND method = 'reply')`).
		Scan(&events, &outbound, &replies); err != nil {
		t.Fatal(err)
	}
	if events != n || outbound != n || replies != n {
		t.Fatalf("events %d, outbound %d, sent by reply %d; want %d of each", events, outbound, replies, n)
	}
}

// flaky is a postback handler that fails the first failures calls for data "fail"
// and records the order of the calls that succeed.
type flaky struct {
	mu       sync.Mutex
	failures int
	calls    callLog
	onCall   func(ctx context.Context, in *line.Incoming) error
}

func (f *flaky) handle(ctx context.Context, in *line.Incoming) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	_, args, _ := line.ParsePostbackData(in.Postback.Data)
	if strings.HasPrefix(args, "fail") && f.failures > 0 {
		f.failures--
		return fmt.Errorf("test: %s fails", args)
	}
	if f.onCall != nil {
		if err := f.onCall(ctx, in); err != nil {
			return err
		}
	}
	f.calls.add(args)
	return nil
}

func (f *flaky) order() []string { return f.calls.list() }

// callLog records the calls of a test's handler, in order.
type callLog struct {
	mu    sync.Mutex
	calls []string
}

func (l *callLog) add(c string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls = append(l.calls, c)
}

func (l *callLog) list() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.calls...)
}

// positions maps each call to its place in the order, failing t for a call made twice
// with effect.
func (l *callLog) positions(t *testing.T) map[string]int {
	t.Helper()
	calls := l.list()
	pos := map[string]int{}
	for i, c := range calls {
		if _, dup := pos[c]; dup {
			t.Errorf("%s handled twice with effect: %v", c, calls)
		}
		pos[c] = i
	}
	return pos
}

func TestFailingEventUndoneAloneAndItsUsersLaterEventsWait(t *testing.T) {
	t.Parallel()
	w := apptest.StartLineWorld(t)
	// The first two calls fail: the batch done in one go, and again with savepoints.
	f := &flaky{failures: 2}
	w.App.Services().LINE.HandlePostback("test.flaky", f.handle)
	a, b := userID("a", 1), userID("b", 1)
	at := time.Now().UnixMilli()
	data := func(args string) string { return line.PostbackData("test.flaky", args) }
	if status := post(t, w,
		postbackEvent("01FAILa1", a, data("fail-a1"), at),
		postbackEvent("01FAILb1", b, data("b1"), at+1),
		postbackEvent("01FAILa2", a, data("a2"), at+2),
	); status != http.StatusOK {
		t.Fatalf("webhook answered %d", status)
	}
	outcomes := waitEvents(t, w, "01FAIL", 3)
	for id, o := range outcomes {
		if o != "ok" {
			t.Errorf("event %s: outcome %q, want ok (the retry succeeds)", id, o)
		}
	}
	got := f.order()
	pos := f.calls.positions(t)
	if len(pos) != 3 || pos["fail-a1"] > pos["a2"] {
		t.Fatalf("handled %v; want each once, a1 before a2", got)
	}
}

// TestBusyUserTakenUpAgain: a user whose events another worker holds (their advisory
// lock) is passed over, the others' events are processed, and the user's are taken up
// once the lock is free (the pump's poll wakes an idle worker to look again).
func TestBusyUserTakenUpAgain(t *testing.T) {
	t.Parallel()
	w := apptest.StartLineWorld(t)
	f := &flaky{}
	w.App.Services().LINE.HandlePostback("test.flaky", f.handle)
	u := userID("c", 1)
	at := time.Now().UnixMilli()
	if status := post(t, w, postbackEvent("01BUSY1", u, line.PostbackData("test.flaky", "first"), at)); status != http.StatusOK {
		t.Fatalf("webhook answered %d", status)
	}
	waitEvents(t, w, "01BUSY1", 1)
	var channelID int64
	var key []byte
	ctx := context.Background()
	if err := w.App.Pool().QueryRow(ctx, `SELECT channel_id, user_key FROM line_event WHERE webhook_event_id = '01BUSY1'`).Scan(&channelID, &key); err != nil {
		t.Fatal(err)
	}
	// Another worker (here: this connection) holds the user's events.
	conn, err := w.App.Pool().Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, line.UserLockKey(channelID, key)); err != nil {
		t.Fatal(err)
	}
	// The user's second event, and after it one of another user: the pump passes over
	// the first (its user is held) and processes the second.
	if status := post(t, w,
		postbackEvent("01BUSY2", u, line.PostbackData("test.flaky", "second"), at+1),
		postbackEvent("01BUSY3", userID("c", 2), line.PostbackData("test.flaky", "other"), at+2),
	); status != http.StatusOK {
		t.Fatalf("webhook answered %d", status)
	}
	waitEvents(t, w, "01BUSY3", 1)
	if n := apptest.Count(t, w, `SELECT count(*) FROM line_event WHERE webhook_event_id = '01BUSY2' AND processed_at IS NOT NULL`); n != 0 {
		t.Fatal("event processed while its user's lock was held elsewhere")
	}
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_unlock($1)`, line.UserLockKey(channelID, key)); err != nil {
		t.Fatal(err)
	}
	if o := waitEvents(t, w, "01BUSY2", 1)["01BUSY2"]; o != "ok" {
		t.Fatalf("outcome %q", o)
	}
	if got := f.order(); len(got) != 3 || got[0] != "first" || got[2] != "second" {
		t.Fatalf("handled %v", got)
	}
}

func TestAuditOfAnEventUndoneIsDroppedWithIt(t *testing.T) {
	t.Parallel()
	w := apptest.StartLineWorld(t)
	// Each event records an audit event; "fail-audited" records it and then fails, the
	// first two times (the batch in one go, then with savepoints), and succeeds when
	// retried by its own job.
	var mu sync.Mutex
	attempts := map[string]int{}
	w.App.Services().LINE.HandlePostback("test.audited", func(ctx context.Context, in *line.Incoming) error {
		_, args, _ := line.ParsePostbackData(in.Postback.Data)
		if err := w.App.Services().Audit.Record(ctx, audit.Event{Actor: audit.OperatorActor, Action: "line.channel.set",
			ObjectKind: "line_channel", ObjectID: args}); err != nil {
			return err
		}
		mu.Lock()
		defer mu.Unlock()
		attempts[args]++
		if args == "fail-audited" && attempts[args] <= 2 {
			return fmt.Errorf("test: %s fails", args)
		}
		return nil
	})
	at := time.Now().UnixMilli()
	data := func(args string) string { return line.PostbackData("test.audited", args) }
	if status := post(t, w,
		postbackEvent("01AUDa", userID("d", 1), data("before"), at),
		postbackEvent("01AUDb", userID("d", 2), data("fail-audited"), at+1),
		postbackEvent("01AUDc", userID("d", 3), data("after"), at+2),
	); status != http.StatusOK {
		t.Fatalf("webhook answered %d", status)
	}
	for id, o := range waitEvents(t, w, "01AUD", 3) {
		if o != "ok" {
			t.Errorf("event %s: outcome %q", id, o)
		}
	}
	mu.Lock()
	if attempts["fail-audited"] != 3 {
		t.Errorf("failing handler ran %d times, want 3", attempts["fail-audited"])
	}
	mu.Unlock()
	// One audit row per event that took effect, none from the attempts undone.
	for _, obj := range []string{"before", "fail-audited", "after"} {
		if n := apptest.Count(t, w, `SELECT count(*) FROM audit_event WHERE action = 'line.channel.set' AND object_id = $1`, obj); n != 1 {
			t.Errorf("%s: %d audit rows, want 1", obj, n)
		}
	}
	rep, err := w.App.Services().Audit.Verify(context.Background(), w.App.Pool())
	if err != nil || !rep.OK {
		t.Fatalf("audit chain: %v %v", rep, err)
	}
}

func TestFailedReplyOfABatchSentOnceByItsOwnJob(t *testing.T) {
	t.Parallel()
	w := apptest.StartLineWorld(t)
	users := make([]linesim.User, 3)
	for i := range users {
		users[i] = w.NewParent(t, fmt.Sprintf("保護者%d", i))
		if _, err := w.Sim.Follow(w.Ch.LineChannelID, users[i].ID); err != nil {
			t.Fatal(err)
		}
		apptest.WaitBotText(t, w, users[i].ID, "友だち追加ありがとうございます", 1)
	}
	apptest.WaitQuiet(t, w.App.Pool())
	w.Sim.FailNext(linesim.EndpointReply, 1, http.StatusInternalServerError)
	at := time.Now().UnixMilli()
	var evs []string
	for i, u := range users {
		evs = append(evs, textEvent(fmt.Sprintf("01REPL%d", i), u.ID, w.Sim.IssueReplyToken(w.Ch.LineChannelID, u.ID), "よろしく", at+int64(i)))
	}
	if status := post(t, w, evs...); status != http.StatusOK {
		t.Fatalf("webhook answered %d", status)
	}
	for _, u := range users {
		items := apptest.WaitBotText(t, w, u.ID, "メニューからご利用ください", 1)
		n := 0
		for _, it := range items {
			if it.From == linesim.FromBot && strings.Contains(it.Text, "メニューからご利用ください") {
				n++
				if it.Via != "reply" {
					t.Errorf("answer sent by %s, want reply", it.Via)
				}
			}
		}
		if n != 1 {
			t.Errorf("%d answers, want 1", n)
		}
	}
	apptest.WaitQuiet(t, w.App.Pool())
	if n := apptest.Count(t, w, `SELECT count(*) FROM line_outbound WHERE purpose = 'reply' AND (state <> 'sent' OR method <> 'reply')`); n != 0 {
		t.Fatalf("%d answers not sent by reply", n)
	}
}

// TestPumpTakesUpWaitingEvents: with every pump worker busy, events arriving one
// request at a time wait; the first worker free takes them up together (one
// transaction, one time marked processed), passes over a user whom another worker
// holds, and nothing is handled twice or out of a user's order.
func TestPumpTakesUpWaitingEvents(t *testing.T) {
	t.Parallel()
	w := apptest.StartLineWorld(t)
	const workers = line.PumpWorkers
	g := holdWorkers(t, w, "01TAKEg")
	data := func(args string) string { return line.PostbackData("test.gate", args) }
	at := time.Now().UnixMilli()
	release := g.release
	// Three requests waiting: x and y from new users, z from gate1's user.
	for _, ev := range []string{
		postbackEvent("01TAKEx", userID("f", 1), data("x"), at+10),
		postbackEvent("01TAKEy", userID("f", 2), data("y"), at+11),
		postbackEvent("01TAKEz", userID("e", 1), data("z"), at+12),
	} {
		if status := post(t, w, ev); status != http.StatusOK {
			t.Fatalf("webhook answered %d", status)
		}
	}
	// One worker free: it takes up x and y, and leaves z (gate1's user is held).
	release(1)
	waitEvents(t, w, "01TAKE", 3) // gate0, x, y
	processedAt := func(id string) (at *time.Time) {
		if err := w.App.Pool().QueryRow(context.Background(),
			`SELECT processed_at FROM line_event WHERE webhook_event_id = $1`, id).Scan(&at); err != nil {
			t.Fatal(err)
		}
		return at
	}
	x, y := processedAt("01TAKEx"), processedAt("01TAKEy")
	if x == nil || y == nil || !x.Equal(*y) {
		t.Errorf("x processed at %v, y at %v: want one transaction for both", x, y)
	}
	if z := processedAt("01TAKEz"); z != nil {
		t.Errorf("z processed at %v while its user's earlier event is held", z)
	}
	release(workers)
	waitEvents(t, w, "01TAKE", workers+3)
	apptest.WaitQuiet(t, w.App.Pool())
	calls := g.handled()
	pos := g.calls.positions(t)
	if len(pos) != workers+3 || pos["gate1"] > pos["z"] {
		t.Errorf("handled %v: want each once, gate1 before z", calls)
	}
}

// TestFailingEventLeftToItsOwnJob: an event that failed waits for its own job's next
// attempt (outcome "retry"); the pump leaves it and its user alone, so one failing
// event does not send every batch into savepoints.
func TestFailingEventLeftToItsOwnJob(t *testing.T) {
	t.Parallel()
	w := apptest.StartLineWorld(t)
	var mu sync.Mutex
	failing := 0
	w.App.Services().LINE.HandlePostback("test.broken", func(ctx context.Context, in *line.Incoming) error {
		_, args, _ := line.ParsePostbackData(in.Postback.Data)
		if args == "broken" {
			mu.Lock()
			defer mu.Unlock()
			failing++
			return fmt.Errorf("test: always fails")
		}
		return nil
	})
	calls := func() int {
		mu.Lock()
		defer mu.Unlock()
		return failing
	}
	data := func(args string) string { return line.PostbackData("test.broken", args) }
	at := time.Now().UnixMilli()
	if status := post(t, w, postbackEvent("01LEFTbroken", userID("a", 9), data("broken"), at)); status != http.StatusOK {
		t.Fatalf("webhook answered %d", status)
	}
	apptest.WaitRows(t, w, `SELECT CASE WHEN EXISTS (SELECT 1 FROM line_event WHERE webhook_event_id = '01LEFTbroken' AND outcome = 'retry' AND processed_at IS NULL) THEN 0 ELSE 1 END`)
	before := calls()
	for i := range 6 {
		if status := post(t, w, postbackEvent(fmt.Sprintf("01LEFTok%d", i), userID("b", 90+i), data("ok"), at+1+int64(i))); status != http.StatusOK {
			t.Fatalf("webhook answered %d", status)
		}
	}
	waitEvents(t, w, "01LEFTok", 6)
	// Its own job tries again at River's back-off (1 s, then 16 s): once or twice here
	// at most; taken up by the pump, it would have failed twice in each batch.
	if n := calls() - before; n > 2 {
		t.Errorf("the failing event was tried %d more times while six others were processed", n)
	}
}

// gated holds every pump worker in a handler until released.
type gated struct {
	calls    callLog
	released int
	gates    []chan struct{}
}

// holdWorkers registers the postback handler test.gate (it records each call's
// argument; "gateN" waits for release) and takes every pump worker with a gate of its
// own, one after another, each in a request of its own (event IDs prefix+N, users
// "e" 0…). Every worker is released when the test ends.
func holdWorkers(t *testing.T, w *apptest.LineWorld, prefix string) *gated {
	t.Helper()
	g := &gated{}
	entered := make(chan struct{}, 16)
	byName := map[string]chan struct{}{}
	for i := range line.PumpWorkers {
		c := make(chan struct{})
		g.gates = append(g.gates, c)
		byName[fmt.Sprintf("gate%d", i)] = c
	}
	w.App.Services().LINE.HandlePostback("test.gate", func(ctx context.Context, in *line.Incoming) error {
		_, args, _ := line.ParsePostbackData(in.Postback.Data)
		if c, ok := byName[args]; ok {
			entered <- struct{}{}
			select {
			case <-c:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		g.calls.add(args)
		return nil
	})
	t.Cleanup(func() { g.release(len(g.gates)) })
	at := time.Now().UnixMilli()
	for i := range g.gates {
		ev := postbackEvent(fmt.Sprintf("%s%d", prefix, i), userID("e", i), line.PostbackData("test.gate", fmt.Sprintf("gate%d", i)), at+int64(i))
		if status := post(t, w, ev); status != http.StatusOK {
			t.Fatalf("webhook answered %d", status)
		}
		select {
		case <-entered:
		case <-time.After(30 * time.Second):
			t.Fatalf("gate %d never reached", i)
		}
	}
	return g
}

// release frees the first n workers held.
func (g *gated) release(n int) {
	for ; g.released < n; g.released++ {
		close(g.gates[g.released])
	}
}

// handled lists the arguments of the calls that returned, in order.
func (g *gated) handled() []string { return g.calls.list() }

// TestFollowOfAnotherJobKeepsItsLanguage: a user's message that arrives before the
// user's earlier follow (LINE's order is the events' time, not that of the requests)
// waits for the follow, which is processed where the user's language is read from
// their LINE profile first: the friend is greeted in English.
func TestFollowOfAnotherJobKeepsItsLanguage(t *testing.T) {
	t.Parallel()
	w := apptest.StartLineWorld(t)
	u, err := w.Sim.AddUser(linesim.User{DisplayName: "Parent", Language: "en"})
	if err != nil {
		t.Fatal(err)
	}
	g := holdWorkers(t, w, "01LANGg")
	// The message's request first; the follow (which the simulator delivers, as LINE
	// would, with the time it happens) comes before it in LINE's order.
	later := time.Now().Add(5 * time.Second).UnixMilli()
	if status := post(t, w, textEvent("01LANGtext", u.ID, w.Sim.IssueReplyToken(w.Ch.LineChannelID, u.ID), "hello", later)); status != http.StatusOK {
		t.Fatalf("webhook answered %d", status)
	}
	if status, err := w.Sim.Follow(w.Ch.LineChannelID, u.ID); err != nil || status != http.StatusOK {
		t.Fatalf("follow: %d %v", status, err)
	}
	g.release(1)
	const ofUser = `FROM line_event WHERE user_key = (SELECT user_key FROM line_event WHERE webhook_event_id = '01LANGtext')`
	apptest.WaitRows(t, w, `SELECT count(*) `+ofUser+` AND processed_at IS NULL`)
	var lang string
	if err := w.App.Pool().QueryRow(context.Background(), `SELECT f.language FROM line_friend f
		WHERE f.user_key = (SELECT user_key FROM line_event WHERE webhook_event_id = '01LANGtext')`).Scan(&lang); err != nil {
		t.Fatal(err)
	}
	if lang != "en" {
		t.Errorf("friend's language %q, want en (from the profile, read before the follow is processed)", lang)
	}
	var first, second time.Time
	if err := w.App.Pool().QueryRow(context.Background(), `SELECT processed_at `+ofUser+` AND event_type = 'follow'`).Scan(&first); err != nil {
		t.Fatal(err)
	}
	if err := w.App.Pool().QueryRow(context.Background(), `SELECT processed_at `+ofUser+` AND event_type = 'message'`).Scan(&second); err != nil {
		t.Fatal(err)
	}
	if second.Before(first) {
		t.Errorf("message processed at %v, before the follow at %v", second, first)
	}
}

// TestEventsOfAnotherInstanceTakenUp: events that another instance committed and never
// processed (it stopped after its group commit: no job, and this instance's pump was
// never told of them) are found among the oldest pending and processed in order.
func TestEventsOfAnotherInstanceTakenUp(t *testing.T) {
	t.Parallel()
	w, s, f := flakyWorld(t)
	u := userID("ab", 1)
	at := time.Now()
	var evs []line.StoredEvent
	for i, args := range []string{"first", "second"} {
		id := fmt.Sprintf("01ORPH%d", i)
		occurred := at.Add(time.Duration(i) * time.Millisecond)
		evs = append(evs, line.StoredEvent{ChannelID: w.Ch.ID, WebhookEventID: id, Type: "postback", UserID: vault.Personal(u),
			OccurredAt: occurred, ReceivedAt: at, Payload: []byte(postbackEvent(id, u, line.PostbackData("test.flaky", args), occurred.UnixMilli()))})
	}
	// What the other instance's group commit wrote: the events alone.
	if err := w.App.Services().Tx.InTx(context.Background(), func(ctx context.Context) error {
		_, err := s.Store.InsertEvents(ctx, evs)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	for id, o := range waitEvents(t, w, "01ORPH", 2) {
		if o != "ok" {
			t.Errorf("event %s: outcome %q", id, o)
		}
	}
	if got := f.order(); len(got) != 2 || got[0] != "first" || got[1] != "second" {
		t.Fatalf("handled %v, want first then second", got)
	}
}

// TestEventsProcessedByJobsWithoutPump: an instance whose pump is stopped (as while it
// shuts down) still stores events, with a job for them, and they are processed.
func TestEventsProcessedByJobsWithoutPump(t *testing.T) {
	t.Parallel()
	w, s, _ := flakyWorld(t)
	if err := s.StopPump(context.Background()); err != nil {
		t.Fatal(err)
	}
	at := time.Now().UnixMilli()
	if status := post(t, w,
		postbackEvent("01NOPUMPa", userID("cd", 1), line.PostbackData("test.flaky", "a"), at),
		postbackEvent("01NOPUMPb", userID("cd", 2), line.PostbackData("test.flaky", "b"), at+1),
	); status != http.StatusOK {
		t.Fatalf("webhook answered %d", status)
	}
	if n := apptest.Count(t, w, `SELECT count(*) FROM river_job WHERE kind = 'line.process_events'`); n != 1 {
		t.Errorf("%d processing jobs, want 1", n)
	}
	for id, o := range waitEvents(t, w, "01NOPUMP", 2) {
		if o != "ok" {
			t.Errorf("event %s: outcome %q", id, o)
		}
	}
}

// flakyWorld starts a world whose postback test.flaky is handled by a flaky handler
// that never fails.
func flakyWorld(t *testing.T) (*apptest.LineWorld, *line.Service, *flaky) {
	t.Helper()
	w := apptest.StartLineWorld(t)
	f := &flaky{}
	s := w.App.Services().LINE
	s.HandlePostback("test.flaky", f.handle)
	return w, s, f
}

// TestNewUsersOfABatchRecordedOnce: messages from users renraku does not know yet (who
// befriended the account before it was connected) record each user once, with their
// user ID, when their events are processed together; a user whose message is followed
// by an unfollow ends up not following; the others' messages are answered.
func TestNewUsersOfABatchRecordedOnce(t *testing.T) {
	t.Parallel()
	w := apptest.StartLineWorld(t)
	s := w.App.Services().LINE
	ctx := context.Background()
	const n = 6
	users := make([]linesim.User, n)
	at := time.Now().UnixMilli()
	var events []string
	for i := range users {
		users[i] = w.NewParent(t, fmt.Sprintf("保護者%d", i))
		events = append(events, textEvent(fmt.Sprintf("01NEWU%020d", i), users[i].ID,
			w.Sim.IssueReplyToken(w.Ch.LineChannelID, users[i].ID), "こんにちは", at+int64(i)))
	}
	last := users[n-1].ID
	events = append(events, fmt.Sprintf(`{"type":"unfollow","mode":"active","timestamp":%d,"webhookEventId":"01NEWU%020d","deliveryContext":{"isRedelivery":false},"source":{"type":"user","userId":%q}}`,
		at+n, n, last))
	if status := post(t, w, events...); status != http.StatusOK {
		t.Fatalf("webhook answered %d", status)
	}
	for id, o := range waitEvents(t, w, "01NEWU", n+1) {
		if o != "ok" {
			t.Errorf("event %s: outcome %q", id, o)
		}
	}
	apptest.WaitQuiet(t, w.App.Pool())

	var friends int
	if err := w.App.Pool().QueryRow(ctx, `SELECT count(*) FROM line_friend`).Scan(&friends); err != nil {
		t.Fatal(err)
	}
	if friends != n {
		t.Errorf("%d friend rows, want %d", friends, n)
	}
	for i, u := range users {
		f, err := s.FindFriendByUserID(ctx, w.Ch.ID, vault.Personal(u.ID))
		if err != nil {
			t.Fatalf("user %d: %v", i, err)
		}
		if f.UserID.Reveal() != u.ID || f.Following != (u.ID != last) {
			t.Errorf("user %d: recorded as %s following=%v", i, f.UserID.Reveal(), f.Following)
		}
	}
	// The last user unfollowed: whether their answer went before that was processed
	// depends on timing; the others' answers went by reply.
	gone, err := s.FindFriendByUserID(ctx, w.Ch.ID, vault.Personal(last))
	if err != nil {
		t.Fatal(err)
	}
	var outbound, replies int
	if err := w.App.Pool().QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE state = 'sent' AND method = 'reply' AND friend_id <> $1)
		FROM line_outbound`, gone.ID).Scan(&outbound, &replies); err != nil {
		t.Fatal(err)
	}
	if outbound != n || replies != n-1 {
		t.Errorf("%d answers queued, %d of the following users' sent by reply; want %d and %d", outbound, replies, n, n-1)
	}
}

// TestMessageThatCannotBeStoredFailsItsEventAlone: a batch stores its events' messages
// together at its end; when that fails, the batch is done again event by event, so
// only the event whose message cannot be stored fails, and the others' answers go.
func TestMessageThatCannotBeStoredFailsItsEventAlone(t *testing.T) {
	t.Parallel()
	w, s, f := flakyWorld(t)
	f.onCall = func(ctx context.Context, in *line.Incoming) error {
		_, args, _ := line.ParsePostbackData(in.Postback.Data)
		to := *in.Friend
		if args == "bad" {
			to.ID = 1 << 40 // no such friend: the message's row is refused
		}
		_, err := s.Queue(ctx, line.Send{Friend: to, Purpose: "test", Reply: in, Messages: []line.Message{{Text: "受け付けました"}}})
		return err
	}
	good, bad := w.NewParent(t, "保護者A"), w.NewParent(t, "保護者B")
	at := time.Now().UnixMilli()
	data := func(args string) string { return line.PostbackData("test.flaky", args) }
	if status := post(t, w,
		postbackEvent("01STOREbad", bad.ID, data("bad"), at),
		postbackEvent("01STOREgood", good.ID, data("good"), at+1),
	); status != http.StatusOK {
		t.Fatalf("webhook answered %d", status)
	}
	if o := waitEvents(t, w, "01STOREgood", 1)["01STOREgood"]; o != "ok" {
		t.Fatalf("good event: outcome %q", o)
	}
	apptest.WaitBotText(t, w, good.ID, "受け付けました", 1)
	var outcome string
	var processed bool
	if err := w.App.Pool().QueryRow(context.Background(), `SELECT outcome, processed_at IS NOT NULL FROM line_event WHERE webhook_event_id = '01STOREbad'`).
		Scan(&outcome, &processed); err != nil {
		t.Fatal(err)
	}
	if outcome == "ok" {
		t.Errorf("bad event: outcome ok (processed %v), want it failed", processed)
	}
	var rows int
	if err := w.App.Pool().QueryRow(context.Background(), `SELECT count(*) FROM line_outbound`).Scan(&rows); err != nil {
		t.Fatal(err)
	}
	if rows != 1 {
		t.Errorf("%d messages stored, want the good event's one", rows)
	}
}

// TestPollWakesAnIdleWorker: the pump's poll for events nobody handed it is taken by
// whichever worker is idle. Here every worker but one is held in a batch; events
// written without a hand-off (as by an instance that stopped after its commit) are
// still found and processed.
func TestPollWakesAnIdleWorker(t *testing.T) {
	t.Parallel()
	w, s, f := flakyWorld(t)
	g := holdWorkers(t, w, "01IDLEg")
	g.release(1)
	apptest.WaitRows(t, w, `SELECT count(*) FROM line_event WHERE webhook_event_id = '01IDLEg0' AND processed_at IS NULL`)
	u := userID("cd", 1)
	at := time.Now()
	ev := line.StoredEvent{ChannelID: w.Ch.ID, WebhookEventID: "01IDLEorphan", Type: "postback", UserID: vault.Personal(u),
		OccurredAt: at, ReceivedAt: at, Payload: []byte(postbackEvent("01IDLEorphan", u, line.PostbackData("test.flaky", "orphan"), at.UnixMilli()))}
	if err := w.App.Services().Tx.InTx(context.Background(), func(ctx context.Context) error {
		_, err := s.Store.InsertEvents(ctx, []line.StoredEvent{ev})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if o := waitEvents(t, w, "01IDLEorphan", 1)["01IDLEorphan"]; o != "ok" {
		t.Fatalf("orphan event: outcome %q", o)
	}
	if got := f.order(); len(got) != 1 || got[0] != "orphan" {
		t.Errorf("handled %v, want the orphan event", got)
	}
}

// TestPostbacksReadAhead: a postback action's read-ahead runs in the batch before its
// events are handled, for each user's first event there, and the handler takes what
// was kept for its own event (nothing for a later event of the same user in the same
// batch); a batch done again event by event reads nothing ahead.
func TestPostbacksReadAhead(t *testing.T) {
	t.Parallel()
	w := apptest.StartLineWorld(t)
	svc := w.App.Services().LINE
	var mu sync.Mutex
	aheadFor := map[string]int{}  // args → times read ahead
	took := map[string][]string{} // args → what its handler took, per call
	failOnce := map[string]bool{"c1": true}
	svc.HandlePostbackAhead("test.ahead", func(ctx context.Context, evs []line.Ahead) error {
		mu.Lock()
		defer mu.Unlock()
		for _, ev := range evs {
			if ev.Friend.ID == 0 || !ev.Friend.Following {
				t.Errorf("read ahead for %s with friend %+v", ev.Args, ev.Friend)
			}
			aheadFor[ev.Args]++
			line.KeepAhead(ctx, ev.EventID, "kept:"+ev.Args)
		}
		return nil
	})
	svc.HandlePostback("test.ahead", func(ctx context.Context, in *line.Incoming) error {
		_, args, _ := line.ParsePostbackData(in.Postback.Data)
		v, ok := line.TakeAhead(ctx, in.EventID)
		mu.Lock()
		defer mu.Unlock()
		if ok {
			took[args] = append(took[args], v.(string))
		} else {
			took[args] = append(took[args], "")
		}
		if failOnce[args] {
			failOnce[args] = false
			return errors.New("test: c1 fails once")
		}
		return nil
	})
	a, b, c := userID("ad", 1), userID("bd", 1), userID("cd", 1)
	at := time.Now().UnixMilli()
	data := func(args string) string { return line.PostbackData("test.ahead", args) }
	if status := post(t, w,
		postbackEvent("01AHEADa1", a, data("a1"), at),
		postbackEvent("01AHEADb1", b, data("b1"), at+1),
		postbackEvent("01AHEADa2", a, data("a2"), at+2),
	); status != http.StatusOK {
		t.Fatalf("webhook answered %d", status)
	}
	waitEvents(t, w, "01AHEAD", 3)
	// c1 fails in its batch done in one go: done again with savepoints, where its
	// handler finds nothing read ahead.
	if status := post(t, w, postbackEvent("01AHEADc1", c, data("c1"), at+3)); status != http.StatusOK {
		t.Fatalf("webhook answered %d", status)
	}
	waitEvents(t, w, "01AHEADc1", 1)
	mu.Lock()
	defer mu.Unlock()
	for args, vs := range took {
		for _, v := range vs {
			if v != "" && v != "kept:"+args {
				t.Errorf("handler of %s took %q", args, v)
			}
		}
	}
	// b1 and a1 are each their user's first event in whatever batch takes them.
	for _, args := range []string{"a1", "b1"} {
		if aheadFor[args] != 1 || !slices.Equal(took[args], []string{"kept:" + args}) {
			t.Errorf("%s: read ahead %d times, handler took %q", args, aheadFor[args], took[args])
		}
	}
	// a2 is read ahead only when a batch of its own takes it.
	if want := map[int]string{0: "", 1: "kept:a2"}[aheadFor["a2"]]; len(took["a2"]) != 1 || took["a2"][0] != want {
		t.Errorf("a2: read ahead %d times, handler took %q", aheadFor["a2"], took["a2"])
	}
	if aheadFor["c1"] != 1 || !slices.Equal(took["c1"], []string{"kept:c1", ""}) {
		t.Errorf("c1: read ahead %d times, handler took %q (want the read-ahead, then nothing when done again)", aheadFor["c1"], took["c1"])
	}
}
