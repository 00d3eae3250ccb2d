package app_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/renraku/renraku/internal/apptest"
	"github.com/renraku/renraku/internal/config"
	"github.com/renraku/renraku/internal/demo"
	"github.com/renraku/renraku/internal/linesim"
	"github.com/renraku/renraku/internal/pgembed"
	"github.com/renraku/renraku/internal/schema"
)

// outage is how long PostgreSQL stays down: the drill.
const outage = 30 * time.Second

// TestDatabaseOutage stops the app's PostgreSQL for 30 s (an immediate shutdown, as a
// crash would) while LINE sends 100 events a second and a teacher has pages and the
// live inbox open, then starts it again on the same address. While it is down, webhooks
// are answered 5xx (so LINE keeps them), staff pages show the Japanese 503 page and
// /readyz answers 503; once it is back, the app serves again by itself, every event it
// acknowledged is processed exactly once (one answer each in LINE), and the live inbox
// carries new messages again.
func TestDatabaseOutage(t *testing.T) {
	if testing.Short() {
		t.Skip("the outage drill takes a minute and a half")
	}
	t.Parallel()
	ctx := context.Background()
	pg, appURL := startOwnPostgres(t)
	// A job River fetched just as the database went away (the answer lost on the way)
	// stays "running" until it is rescued; a shorter wait than production's ten minutes
	// keeps the drill short. Jobs time out at half of it, still longer than the outage.
	w := apptest.StartLineWorldOn(t, appURL, func(c *config.Config) { c.JobRescueAfter = 90 * time.Second })
	if _, err := demo.SeedStaff(ctx, w.App.Services()); err != nil {
		t.Fatal(err)
	}
	ch := w.Ch.LineChannelID

	// A registered parent writes to the homeroom teacher, whose inbox is open live.
	sakuraID, class11, _ := apptest.SchoolAndClass(t, w, demo.Schools[0].Name, "1年1組")
	if _, err := w.App.Pool().Exec(ctx, `UPDATE school SET office_open = '00:00', office_close = '23:59', office_days = '0123456' WHERE id = $1`, sakuraID); err != nil {
		t.Fatal(err)
	}
	kato, _ := apptest.RegisteredParent(t, w, "加藤 由美", "加藤 海", apptest.ClassCodes(t, w, sakuraID)[class11])
	apptest.Pick(t, w, kato, "1年1組 担任", 1)
	teacher := apptest.NewStaffClient(t, w.App.URL())
	teacher.SignIn("sakura.tannin11", demo.Password)

	// Twenty friends who have not registered: every text gets one pointer to the menu.
	var users []linesim.User
	for i := range 20 {
		u := w.NewParent(t, fmt.Sprintf("友だち%02d", i))
		if _, err := w.Sim.Follow(ch, u.ID); err != nil {
			t.Fatal(err)
		}
		users = append(users, u)
	}
	for _, u := range users {
		apptest.WaitBotText(t, w, u.ID, "友だち追加ありがとうございます", 1)
	}
	firstLoad := len(w.Sim.Deliveries())

	stopLoad := driveWebhooks(w.Sim, ch, users, 100)
	defer stopLoad()
	waitDeliveries(t, w.Sim, firstLoad+200) // LINE's traffic is under way

	notifierBefore := riverListens(w.Logs.Bytes())

	// PostgreSQL goes down.
	if err := pg.Halt(pgembed.Immediate); err != nil {
		t.Fatal(err)
	}
	down := time.Now()
	var downProbes, downPages int
	for time.Since(down) < outage {
		if resp, _ := apptest.Get(t, w.App.URL()+"/readyz"); resp.StatusCode != http.StatusServiceUnavailable {
			t.Errorf("database down: /readyz = %d, want 503", resp.StatusCode)
		} else {
			downProbes++
		}
		for _, path := range []string{"/staff/", "/staff/inbox"} {
			r := teacher.Get(path)
			if r.Status != http.StatusServiceUnavailable || !strings.Contains(r.Body, "一時的に利用できません") {
				t.Errorf("database down: %s = %d %q, want the Japanese 503 page", path, r.Status, apptest.Text(r))
			} else {
				downPages++
			}
		}
		time.Sleep(500 * time.Millisecond)
	}
	upStart := time.Now()

	// PostgreSQL comes back on the same address; the app needs nobody's help.
	if err := pg.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	back := time.Now()
	var recovered bool
	for !recovered && time.Since(back) < 5*time.Second {
		resp, _ := apptest.Get(t, w.App.URL()+"/readyz")
		recovered = resp.StatusCode == http.StatusOK && teacher.Get("/staff/").Status == http.StatusOK
		if !recovered {
			time.Sleep(100 * time.Millisecond)
		}
	}
	t.Logf("serving again %v after PostgreSQL accepted connections", time.Since(back).Round(100*time.Millisecond))
	if !recovered {
		resp, _ := apptest.Get(t, w.App.URL()+"/readyz")
		r := teacher.Get("/staff/")
		t.Errorf("not recovered 5 s after PostgreSQL accepted connections again: /readyz %d, /staff/ %d %q", resp.StatusCode, r.Status, apptest.Text(r))
	}
	waitDeliveries(t, w.Sim, len(w.Sim.Deliveries())+200) // LINE's traffic goes on
	stopLoad()

	// River elects a leader again (it runs the periodic jobs): its leadership lapsed
	// while the database was down.
	apptest.WaitRows(t, w, `SELECT 1 - count(*) FROM river_leader WHERE expires_at > now()`)
	// River's notifier (new jobs, leadership) listens again: it retries with a back-off
	// of at most about half a minute.
	for deadline := time.Now().Add(2 * time.Minute); riverListens(w.Logs.Bytes()) <= notifierBefore; time.Sleep(200 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("River's notifier did not listen again after the outage")
		}
	}

	// The live inbox: a new stream, fed by the app's LISTEN, hears the parent's message.
	stream := openInboxStream(t, teacher)
	if _, err := w.Sim.SendText(ch, kato.ID, "明日は遅れて登校します"); err != nil {
		t.Fatalf("parent's message after the outage: %v", err)
	}
	select {
	case <-stream:
	case <-time.After(30 * time.Second):
		t.Error("the open inbox was not told of a new message after the outage (LISTEN not resumed)")
	}

	// Every event: answered 200 only if stored, processed once, answered once in LINE.
	deliveries := w.Sim.Deliveries()[firstLoad:]
	type sent struct {
		user, token string
		acked       bool
	}
	events := map[string]*sent{}
	var duringOutage, refusedDuringOutage int
	for _, d := range deliveries {
		var body struct {
			Events []struct {
				WebhookEventID string `json:"webhookEventId"`
				ReplyToken     string `json:"replyToken"`
				Source         struct {
					UserID string `json:"userId"`
				} `json:"source"`
			} `json:"events"`
		}
		if err := json.Unmarshal(d.Body, &body); err != nil {
			t.Fatal(err)
		}
		for _, e := range body.Events {
			s := events[e.WebhookEventID]
			if s == nil {
				s = &sent{user: e.Source.UserID, token: e.ReplyToken}
				events[e.WebhookEventID] = s
			}
			s.acked = s.acked || d.Status == http.StatusOK
		}
		if d.Time.After(down) && d.Time.Add(d.Duration).Before(upStart) {
			duringOutage++
			if d.Status >= 500 {
				refusedDuringOutage++
			} else {
				t.Errorf("database down: webhook answered %d (%s), want 5xx so that LINE keeps the events", d.Status, d.Err)
			}
		}
	}
	if duringOutage < 100 || downProbes == 0 || downPages == 0 {
		t.Errorf("the outage saw %d webhooks, %d probes, %d staff pages", duringOutage, downProbes, downPages)
	}
	t.Logf("%d webhooks in all, %d during the outage (%d refused)", len(deliveries), duringOutage, refusedDuringOutage)

	apptest.WaitRows(t, w, `SELECT count(*) FROM line_event WHERE processed_at IS NULL`)
	apptest.WaitRows(t, w, `SELECT count(*) FROM line_outbound WHERE state = 'queued'`)
	rows, err := w.App.Pool().Query(ctx, `SELECT webhook_event_id, outcome FROM line_event WHERE event_type = 'message'`)
	if err != nil {
		t.Fatal(err)
	}
	outcomes, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) ([2]string, error) {
		var v [2]string
		return v, r.Scan(&v[0], &v[1])
	})
	if err != nil {
		t.Fatal(err)
	}
	stored := map[string]bool{}
	storedPerUser := map[string]int{}
	for _, o := range outcomes {
		stored[o[0]] = true
		if s := events[o[0]]; s != nil {
			storedPerUser[s.user]++
			if o[1] != "ok" {
				t.Errorf("event processed with outcome %q", o[1])
			}
		}
	}
	var acked int
	for id, s := range events {
		if s.acked {
			acked++
			if !stored[id] {
				t.Errorf("event %s was answered 200 but is not stored", id)
			}
		}
	}
	if acked < 300 {
		t.Errorf("only %d events acknowledged", acked)
	}
	answers := map[string]int{} // reply token → replies
	for _, u := range users {
		n := 0
		for _, it := range w.Sim.Chat(ch, u.ID) {
			if it.From == linesim.FromBot && strings.Contains(it.Text, "メニューからご利用ください") {
				n++
				if it.ReplyToken != "" {
					answers[it.ReplyToken]++
				}
			}
		}
		if n != storedPerUser[u.ID] {
			t.Errorf("%s: %d answers in LINE for %d stored events", u.DisplayName, n, storedPerUser[u.ID])
			logChat(t, w.Sim.Chat(ch, u.ID))
			logOddOutbound(t, w)
			if f := os.Getenv("RENRAKU_OUTAGE_LOG"); f != "" {
				if err := os.WriteFile(f, w.Logs.Bytes(), 0o600); err != nil {
					t.Logf("RENRAKU_OUTAGE_LOG: %v", err)
				}
			}
		}
	}
	for id, s := range events {
		if answers[s.token] > 1 {
			t.Errorf("event %s answered %d times", id, answers[s.token])
		}
	}
}

// startOwnPostgres starts a PostgreSQL server of the test's own, which it may stop and
// start (the shared one of DATABASE_URL serves every other test), migrates it as its
// superuser and returns it with the URL the server runs with (a member of the server's
// role).
func startOwnPostgres(t *testing.T) (*pgembed.Cluster, string) {
	t.Helper()
	// Not t.TempDir: its parent is closed to the postgres user when tests run as root.
	dir, err := os.MkdirTemp("", "renraku-outage-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	// Durable (not Throwaway): an immediate shutdown must not lose a commit the app
	// acknowledged.
	pg, err := pgembed.Start(context.Background(), pgembed.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pg.Stop() })
	m, err := schema.NewMigrator(pg.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if err := m.Up(); err != nil {
		t.Fatal(err)
	}
	appURL, err := schema.EnsureAppLogin(context.Background(), pg.URL, "renraku_outage_app", "")
	if err != nil {
		t.Fatal(err)
	}
	return pg, appURL
}

// driveWebhooks has LINE send texts from users at perSecond events a second until the
// returned function is called (once or more).
func driveWebhooks(sim *linesim.Sim, channelID string, users []linesim.User, perSecond int) func() {
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(time.Second / time.Duration(perSecond))
		defer tick.Stop()
		inFlight := make(chan struct{}, 4*perSecond)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			inFlight <- struct{}{}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer func() { <-inFlight }()
				// A refused delivery is what the outage is about: the test reads each
				// delivery's answer from the simulator afterwards.
				_, _ = sim.SendText(channelID, users[i%len(users)].ID, fmt.Sprintf("お知らせ確認 %d", i))
			}()
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() {
			close(stop)
			wg.Wait()
		})
	}
}

// riverListens counts the times River's notifier reported itself listening in the
// app's log.
func riverListens(log []byte) int {
	return bytes.Count(log, []byte(`"msg":"notifier.Notifier: Notifier healthy"`))
}

// waitDeliveries waits until the simulator has made n webhook requests.
func waitDeliveries(t *testing.T, sim *linesim.Sim, n int) {
	t.Helper()
	for deadline := time.Now().Add(60 * time.Second); len(sim.Deliveries()) < n; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("LINE sent %d webhooks, waiting for %d", len(sim.Deliveries()), n)
		}
	}
}

// openInboxStream opens the live inbox (server-sent events) and delivers a value for
// every message event on it.
func openInboxStream(t *testing.T, c *apptest.StaffClient) <-chan struct{} {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	req := apptest.MustRequest(t, http.MethodGet, c.Base+"/staff/inbox/events", nil).WithContext(ctx)
	// The staff client's timeout would cut a stream that never ends by itself.
	resp, err := (&http.Client{Jar: c.HTTP.Jar}).Do(req)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("inbox stream: %v %v", resp, err)
	}
	got := make(chan struct{}, 16)
	go func() {
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			if sc.Text() == "event: message" {
				select {
				case got <- struct{}{}:
				default:
				}
			}
		}
	}()
	return got
}

// logChat logs the times and kinds of the bot's answers in a chat, for a failure's
// diagnosis (the texts are the test's own).
func logChat(t *testing.T, items []linesim.ChatItem) {
	t.Helper()
	for _, it := range items {
		t.Logf("chat %s from=%v reply=%v %q", it.Time.Format("15:04:05.000"), it.From, it.ReplyToken != "", it.Text)
	}
}

// logOddOutbound logs the outbound rows that took more than one attempt or went out
// as a push, for a failure's diagnosis.
func logOddOutbound(t *testing.T, w *apptest.LineWorld) {
	t.Helper()
	rows, err := w.App.Pool().Query(context.Background(), `SELECT id, friend_id, state, method, attempts, last_error, created_at, sent_at, reply_deadline
		FROM line_outbound WHERE attempts > 1 OR method = 'push' ORDER BY id`)
	if err != nil {
		t.Log(err)
		return
	}
	defer rows.Close()
	for rows.Next() {
		var id, friend int64
		var state, method, lastErr string
		var attempts int
		var created time.Time
		var sent, deadline *time.Time
		if err := rows.Scan(&id, &friend, &state, &method, &attempts, &lastErr, &created, &sent, &deadline); err != nil {
			t.Log(err)
			return
		}
		t.Logf("outbound %d friend %d %s/%s attempts %d %q created %s sent %v deadline %v", id, friend, state, method, attempts, lastErr, created.Format("15:04:05.000"), sent, deadline)
	}
}
