package notify_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/renraku/renraku/internal/announce"
	"github.com/renraku/renraku/internal/app"
	"github.com/renraku/renraku/internal/apptest"
	"github.com/renraku/renraku/internal/demo"
	"github.com/renraku/renraku/internal/linesim"
	"github.com/renraku/renraku/internal/live"
	"github.com/renraku/renraku/internal/notify"
	"github.com/renraku/renraku/internal/postgres"
	"github.com/renraku/renraku/internal/postgres/pgtx"
	"github.com/renraku/renraku/internal/pushsim"
)

// Names and words a notification must never carry.
const (
	parentName = "木村 恵"
	childName  = "木村 あおい"
	parentText = "明日の遠足は雨でもありますか"
)

// world is a running app with the demo school, a registered parent who wrote to the
// homeroom teacher, and a push service.
type world struct {
	w      *apptest.LineWorld
	s      *app.Services
	ps     *pushsim.Server
	school int64
	year   int
	class  int64
	conv   int64
	board  int64
	logins []demo.Login
	parent linesim.User // the registered parent, who wrote to the homeroom teacher
}

func newWorld(t *testing.T) *world {
	t.Helper()
	w := apptest.StartLineWorld(t)
	s := w.App.Services()
	ctx := context.Background()
	logins, err := demo.SeedStaff(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	ps := pushsim.New()
	t.Cleanup(ps.Close)
	// The push service is on 127.0.0.1 (http): allow it, as production allows the
	// browsers' push services. A short pace keeps the grouping test quick.
	s.Notify.Endpoint = func(u *url.URL) bool { return u.Scheme == "http" && u.Hostname() == "127.0.0.1" }
	s.Notify.Pace = 4 * time.Second
	if _, made, err := s.Notify.GenerateVAPID(ctx, false); err != nil || !made {
		t.Fatalf("vapid: %v %v", made, err)
	}
	sakura, class11, _ := apptest.SchoolAndClass(t, w, demo.Schools[0].Name, "1年1組")
	code := apptest.ClassCodes(t, w, sakura)[class11]
	p, _ := apptest.RegisteredParent(t, w, parentName, childName, code)
	apptest.Pick(t, w, p, "1年1組 担任", 1)
	if _, err := w.Sim.SendText(w.Ch.LineChannelID, p.ID, parentText); err != nil {
		t.Fatal(err)
	}
	wd := &world{w: w, s: s, ps: ps, school: sakura, class: class11, logins: logins, parent: p}
	waitCount(t, wd, 1, `SELECT count(*) FROM message m JOIN conversation c ON c.id = m.conversation_id WHERE c.class_id = $1`, class11)
	if err := s.Pool.QueryRow(ctx, `SELECT c.id, sc.current_year, sc.board_id FROM conversation c JOIN school sc ON sc.id = c.school_id
		WHERE c.class_id = $1`, class11).Scan(&wd.conv, &wd.year, &wd.board); err != nil {
		t.Fatal(err)
	}
	// The set-up's registration and message were published to the notifications as
	// any change is (the features' fan-out): their notifications, waiting for the
	// teachers under the default hours, are not the tests'. Start from none.
	apptest.WaitQuiet(t, s.Pool)
	if n := apptest.Count(t, w, `SELECT count(*) FROM notify_pending WHERE kind = 'message'`); n == 0 {
		t.Fatal("the parent's message in the set-up was not published to the notifications")
	}
	if _, err := s.Pool.Exec(ctx, `DELETE FROM notify_pending`); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Pool.Exec(ctx, `DELETE FROM river_job WHERE kind LIKE 'notify.%'`); err != nil {
		t.Fatal(err)
	}
	return wd
}

// publish publishes e as a feature does: inside its transaction.
func (wd *world) publish(t *testing.T, e live.Event) {
	t.Helper()
	if e.Board == 0 {
		e.Board, e.School, e.Year = wd.board, wd.school, wd.year
	}
	if err := wd.s.Tx.InTx(context.Background(), func(ctx context.Context) error { return wd.s.Notify.Publish(ctx, e) }); err != nil {
		t.Fatal(err)
	}
}

func (wd *world) message() live.Event {
	return live.Event{Kind: live.Message, Target: "homeroom", Class: wd.class, Conversation: wd.conv}
}

// signIn signs a demo teacher in and makes the notification window the four hours
// around now, every day, so the test does not depend on the hour it runs at.
func (wd *world) signIn(t *testing.T, login string, kinds ...live.Kind) *apptest.StaffClient {
	t.Helper()
	c := apptest.NewStaffClientSignedIn(t, wd.w, wd.logins, login)
	now := time.Now().In(notify.Tokyo)
	m := now.Hour()*60 + now.Minute()
	form := url.Values{"hours": {"own"}, "start": {notify.Clock((m + 1440 - 120) % 1440)}, "end": {notify.Clock((m + 120) % 1440)},
		"day": {"0", "1", "2", "3", "4", "5", "6"}}
	for _, k := range kinds {
		form.Set("kind."+string(k), "on")
	}
	if r := c.Post("/staff/account/notifications", form); r.Status != http.StatusSeeOther {
		t.Fatalf("save notification choices: %d %s", r.Status, apptest.Text(r))
	}
	return c
}

// postJSON posts v as notify.js does: JSON with the CSRF token in a header.
func postJSON(t *testing.T, c *apptest.StaffClient, path string, v any) apptest.Response {
	t.Helper()
	c.Get("/staff/account") // the page's token
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	req := apptest.MustRequest(t, http.MethodPost, c.Base+path, strings.NewReader(string(b)))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-CSRF-Token", c.CSRF)
	return c.Do(req)
}

func subscribe(t *testing.T, c *apptest.StaffClient, sub pushsim.Subscription) {
	t.Helper()
	body := map[string]any{"endpoint": sub.Endpoint, "keys": map[string]string{"p256dh": sub.P256dh, "auth": sub.Auth}}
	if r := postJSON(t, c, "/staff/account/notifications/subscribe", body); r.Status != http.StatusNoContent {
		t.Fatalf("subscribe: %d %s", r.Status, r.Body)
	}
}

// waitPushes waits until endpoint's browser has received n pushes and returns them.
func waitPushes(t *testing.T, ps *pushsim.Server, endpoint string, n int) []notify.Notification {
	t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		changed := ps.Changed()
		if got := ps.Pushes(endpoint); len(got) >= n {
			out := make([]notify.Notification, len(got))
			for i, p := range got {
				if err := json.Unmarshal(p.Plaintext, &out[i]); err != nil {
					t.Fatalf("push %d is not a notification: %v", i, err)
				}
			}
			return out
		}
		select {
		case <-changed:
		case <-deadline:
			t.Fatalf("%d pushes arrived, want %d (rejected: %v)", len(ps.Pushes(endpoint)), n, ps.Rejected())
		}
	}
}

// waitCount waits until query counts want rows.
func waitCount(t *testing.T, wd *world, want int, query string, args ...any) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		n := apptest.Count(t, wd.w, query, args...)
		if n == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %d rows, want %d", query, n, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func staffID(t *testing.T, wd *world, login string) int64 {
	t.Helper()
	st, err := wd.s.Staff.FindByLogin(context.Background(), login)
	if err != nil {
		t.Fatal(err)
	}
	return st.ID
}

// noPersonalData fails when a notification names the parent, the child or what the
// parent wrote.
func noPersonalData(t *testing.T, what string, texts ...string) {
	t.Helper()
	for _, s := range texts {
		for _, bad := range []string{parentName, childName, "木村", "あおい", parentText, "遠足"} {
			if strings.Contains(s, bad) {
				t.Errorf("%s carries personal data %q: %s", what, bad, s)
			}
		}
	}
}

const subsOf = `SELECT count(*) FROM push_subscription WHERE staff_id = $1`

func TestWebPushEndToEnd(t *testing.T) {
	t.Parallel()
	wd := newWorld(t)
	ctx := context.Background()
	all := []live.Kind{live.Message, live.Absence, live.Registration, live.Delivery}
	tannin := wd.signIn(t, "sakura.tannin11", all...)
	// The sub-homeroom teacher switched messages off.
	fuku := wd.signIn(t, "sakura.tannin12", live.Absence, live.Registration, live.Delivery)
	tanninID, fukuID := staffID(t, wd, "sakura.tannin11"), staffID(t, wd, "sakura.tannin12")
	pc, laptop, fukuPC := wd.ps.Subscribe(), wd.ps.Subscribe(), wd.ps.Subscribe()
	subscribe(t, tannin, pc)
	subscribe(t, tannin, laptop)
	subscribe(t, fuku, fukuPC)

	var kocho *apptest.StaffClient // the school administrator, signed in below
	steps := apptest.NewSteps(t)
	steps.Use(tannin, fuku)
	steps.Run("the account page shows the choices and the devices", func(t *testing.T) {
		r := tannin.Get("/staff/account")
		if got := strings.TrimSpace(r.Doc.Find(`[data-testid="notify-devices"]`).Text()); !strings.Contains(got, "2台") {
			t.Errorf("devices: %q", got)
		}
		if r.Doc.Find(`[data-testid="push-off"]`).Length() != 0 {
			t.Error("the page says Web Push is off although a key pair exists")
		}
		if key, _ := r.Doc.Find(`#notify-device`).Attr("data-key"); len(key) < 80 {
			t.Errorf("VAPID public key on the page: %q", key)
		}
		if _, ok := r.Doc.Find(`[data-testid="notify-hours-own"]`).Attr("checked"); !ok {
			t.Error("own hours not shown as chosen")
		}
		r = fuku.Get("/staff/account")
		if _, on := r.Doc.Find(`[data-testid="notify-kind-message"]`).Attr("checked"); on {
			t.Error("messages shown on for the teacher who switched them off")
		}
	})
	steps.Run("a refused choice comes back with the reason, in Japanese", func(t *testing.T) {
		r := fuku.Post("/staff/account/notifications", url.Values{"kind.absence": {"on"}, "hours": {"own"}, "start": {"8時"}, "end": {"17:00"}})
		if r.Status != http.StatusUnprocessableEntity {
			t.Fatalf("status %d", r.Status)
		}
		page := apptest.Text(r)
		for _, want := range []string{"時刻を「08:00」の形で入力してください。", "通知する曜日を1つ以上選んでください。"} {
			if !strings.Contains(page, want) {
				t.Errorf("the page does not say %q: %s", want, page)
			}
		}
		if v, _ := r.Doc.Find(`#f-start`).Attr("value"); v != "8時" {
			t.Errorf("what was typed is not shown again: %q", v)
		}
	})
	steps.Run("a new message reaches each of the homeroom teacher's browsers, with no personal data", func(t *testing.T) {
		wd.publish(t, wd.message())
		for _, sub := range []pushsim.Subscription{pc, laptop} {
			got := waitPushes(t, wd.ps, sub.Endpoint, 1)[0]
			want := notify.Notification{Kind: live.Message, Title: "新しい連絡があります", Body: "1年1組 担任", Link: "/staff/inbox/" + apptest.Itoa(wd.conv)}
			if got != want {
				t.Errorf("push %+v, want %+v", got, want)
			}
			p := wd.ps.Pushes(sub.Endpoint)[0]
			noPersonalData(t, "push", string(p.Plaintext))
			if p.Topic != "message" || p.Subject == "" {
				t.Errorf("push headers: topic %q, subject %q", p.Topic, p.Subject)
			}
		}
		if r := wd.ps.Rejected(); len(r) != 0 {
			t.Errorf("the push service refused: %v", r)
		}
		// The sub-homeroom teacher switched messages off: nothing waits for them.
		if n := apptest.Count(t, wd.w, `SELECT count(*) FROM notify_pending WHERE staff_id = $1 AND kind = 'message'`, fukuID); n != 0 {
			t.Errorf("a message waits for the teacher who switched messages off")
		}
	})
	steps.Run("messages within the pace are grouped into one notification with their count", func(t *testing.T) {
		for range 3 {
			wd.publish(t, wd.message())
		}
		got := waitPushes(t, wd.ps, pc.Endpoint, 2)
		if len(got) != 2 || got[1].Title != "新しい連絡が3件あります" || got[1].Body != "1年1組 担任" {
			t.Fatalf("pushes: %+v", got)
		}
		waitCount(t, wd, 1, `SELECT count(*) FROM notify_pending WHERE staff_id = $1 AND kind = 'message' AND count = 0 AND due_at IS NULL`, tanninID)
	})
	steps.Run("410 from the push service removes the subscription", func(t *testing.T) {
		wd.ps.Answer(laptop.Endpoint, pushsim.Reply{Status: http.StatusGone})
		wd.publish(t, live.Event{Kind: live.Absence, Class: wd.class})
		got := waitPushes(t, wd.ps, pc.Endpoint, 3)[2]
		if got.Title != "欠席・遅刻の連絡があります" || got.Body != "1年1組 担任" || got.Link != "/staff/absences?class="+apptest.Itoa(wd.class) {
			t.Errorf("absence push: %+v", got)
		}
		waitCount(t, wd, 1, subsOf, tanninID)
	})
	steps.Run("404 removes it too; the registration reaches both teachers of the class", func(t *testing.T) {
		wd.ps.Answer(fukuPC.Endpoint, pushsim.Reply{Status: http.StatusNotFound})
		wd.publish(t, live.Event{Kind: live.Registration, Class: wd.class})
		got := waitPushes(t, wd.ps, pc.Endpoint, 4)[3]
		if got.Title != "承認待ちの登録があります" || got.Link != "/staff/approvals" {
			t.Errorf("registration push: %+v", got)
		}
		waitCount(t, wd, 0, subsOf, fukuID)
	})
	steps.Run("429 and 503 are retried, and the push then delivered", func(t *testing.T) {
		wd.ps.Answer(pc.Endpoint, pushsim.Reply{Status: http.StatusTooManyRequests, RetryAfter: "1"}, pushsim.Reply{Status: http.StatusServiceUnavailable})
		// A change made by the homeroom teacher themself notifies only the others.
		wd.publish(t, live.Event{Kind: live.Registration, Class: wd.class, Staff: fukuID})
		got := waitPushes(t, wd.ps, pc.Endpoint, 5)[4]
		if got.Title != "承認待ちの登録があります" {
			t.Errorf("retried push: %+v", got)
		}
		if n := wd.ps.Queued(pc.Endpoint); n != 0 {
			t.Errorf("%d refusals not used: the push was not retried", n)
		}
		if n := apptest.Count(t, wd.w, subsOf, tanninID); n != 1 {
			t.Errorf("a retried subscription was removed")
		}
	})
	steps.Run("a safety alert's finished delivery is told to its creator; a notice's is not", func(t *testing.T) {
		kocho = wd.signIn(t, "sakura.kocho", all...)
		kochoID := staffID(t, wd, "sakura.kocho")
		alertPC := wd.ps.Subscribe()
		subscribe(t, kocho, alertPC)
		store := &postgres.AnnounceStore{Vault: wd.s.Vault}
		mk := func(kind string) int64 {
			a := announce.Announcement{BoardID: wd.board, SchoolID: wd.school, Kind: kind, Audience: announce.Audience{SchoolID: wd.school, Whole: true},
				AudienceLabel: "全校", Title: "不審者情報", Body: "下校時に注意してください", State: "sent", CreatedBy: kochoID}
			if err := wd.s.Tx.InTx(ctx, func(ctx context.Context) error { return store.CreateAnnouncement(ctx, &a) }); err != nil {
				t.Fatal(err)
			}
			return a.ID
		}
		notice, alert := mk(announce.Notice), mk(announce.Safety)
		wd.publish(t, live.Event{Kind: live.Delivery, Announcement: notice, Staff: kochoID})
		waitCount(t, wd, 1, `SELECT count(*) FROM river_job WHERE kind = 'notify.event' AND state = 'completed' AND (args->'event'->>'announcement')::bigint = $1`, notice)
		if n := apptest.Count(t, wd.w, `SELECT count(*) FROM notify_pending WHERE staff_id = $1`, kochoID); n != 0 {
			t.Errorf("a notice's delivery was queued as a notification")
		}
		wd.publish(t, live.Event{Kind: live.Delivery, Announcement: alert, Staff: kochoID})
		got := waitPushes(t, wd.ps, alertPC.Endpoint, 1)
		want := notify.Notification{Kind: live.Delivery, Title: "緊急連絡の配信が完了しました", Body: demo.Schools[0].Name, Link: "/staff/announcements/" + apptest.Itoa(alert)}
		if len(got) != 1 || got[0] != want {
			t.Errorf("delivery pushes %+v, want %+v", got, want)
		}
	})
	steps.Run("a rolled-back change notifies no one", func(t *testing.T) {
		before := apptest.Count(t, wd.w, `SELECT count(*) FROM river_job WHERE kind = 'notify.event'`)
		boom := errors.New("rolled back")
		err := wd.s.Tx.InTx(ctx, func(ctx context.Context) error {
			e := wd.message()
			e.Board, e.School, e.Year = wd.board, wd.school, wd.year
			if err := wd.s.Notify.Publish(ctx, e); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatal(err)
		}
		if after := apptest.Count(t, wd.w, `SELECT count(*) FROM river_job WHERE kind = 'notify.event'`); after != before {
			t.Errorf("notify.event jobs: %d after a rolled-back publish, %d before", after, before)
		}
		// Outside any transaction, publishing is refused rather than sent at once.
		if err := wd.s.Notify.Publish(ctx, wd.message()); !errors.Is(err, pgtx.ErrNoTx) {
			t.Errorf("publish outside a transaction: %v", err)
		}
	})
	steps.Run("a dump holds no readable endpoint or key", func(t *testing.T) {
		rows, err := wd.s.Pool.Query(ctx, `SELECT t::text FROM push_subscription t UNION ALL SELECT v::text FROM vapid_key v`)
		if err != nil {
			t.Fatal(err)
		}
		dump := ""
		for rows.Next() {
			var s string
			if err := rows.Scan(&s); err != nil {
				t.Fatal(err)
			}
			dump += s + "\n"
		}
		if rows.Err() != nil || dump == "" {
			t.Fatalf("dump: %v (%d bytes)", rows.Err(), len(dump))
		}
		u, _ := url.Parse(pc.Endpoint)
		var private string
		if err := wd.s.Tx.InTx(ctx, func(ctx context.Context) error {
			k, err := (wd.s.Notify.Store).FindVAPID(ctx)
			private = k.Private
			return err
		}); err != nil {
			t.Fatal(err)
		}
		for _, secret := range []string{pc.Endpoint, u.Path, u.Host, pc.P256dh, pc.Auth, private} {
			if strings.Contains(dump, secret) || strings.Contains(dump, hexOf(secret)) {
				t.Errorf("the dump holds %q in clear", secret)
			}
		}
	})
	steps.Run("this browser's subscription is removed from the account page's script", func(t *testing.T) {
		if r := postJSON(t, tannin, "/staff/account/notifications/unsubscribe", map[string]string{"endpoint": pc.Endpoint}); r.Status != http.StatusNoContent {
			t.Fatalf("unsubscribe: %d", r.Status)
		}
		if n := apptest.Count(t, wd.w, subsOf, tanninID); n != 0 {
			t.Errorf("%d subscriptions after unsubscribing", n)
		}
	})
	steps.Run("a subscription refused: not a push service, bad keys", func(t *testing.T) {
		bad := []map[string]any{
			{"endpoint": "https://intranet.example/admin", "keys": map[string]string{"p256dh": pc.P256dh, "auth": pc.Auth}},
			{"endpoint": laptop.Endpoint, "keys": map[string]string{"p256dh": "AAAA", "auth": pc.Auth}},
		}
		for _, b := range bad {
			if r := postJSON(t, tannin, "/staff/account/notifications/subscribe", b); r.Status != http.StatusUnprocessableEntity && r.Status != http.StatusBadRequest {
				t.Errorf("bad subscription %v: %d", b["endpoint"], r.Status)
			}
		}
	})
	steps.Run("signing out everywhere ends the subscriptions", func(t *testing.T) {
		subscribe(t, tannin, wd.ps.Subscribe())
		if n := apptest.Count(t, wd.w, subsOf, tanninID); n != 1 {
			t.Fatalf("%d subscriptions", n)
		}
		if r := tannin.Post("/staff/account/signout-all", nil); r.Status != http.StatusSeeOther {
			t.Fatalf("sign out everywhere: %d", r.Status)
		}
		if n := apptest.Count(t, wd.w, subsOf, tanninID); n != 0 {
			t.Errorf("%d subscriptions after signing out everywhere", n)
		}
	})
	steps.Run("disabling the account ends its subscriptions", func(t *testing.T) {
		subscribe(t, fuku, wd.ps.Subscribe())
		kocho.Get("/admin/staff/" + strconv.FormatInt(fukuID, 10))
		if r := kocho.Post("/admin/staff/"+strconv.FormatInt(fukuID, 10)+"/disable", nil); r.Status != http.StatusSeeOther {
			t.Fatalf("disable: %d %s", r.Status, apptest.Text(r))
		}
		if n := apptest.Count(t, wd.w, subsOf, fukuID); n != 0 {
			t.Errorf("%d subscriptions of a disabled account", n)
		}
	})
	steps.Run("the logs hold no personal data", func(t *testing.T) {
		noPersonalData(t, "the logs", wd.w.Logs.String())
	})
}

func hexOf(s string) string {
	const digits = "0123456789abcdef"
	out := make([]byte, 0, 2*len(s))
	for i := 0; i < len(s); i++ {
		out = append(out, digits[s[i]>>4], digits[s[i]&15])
	}
	return string(out)
}

// TestBurstIsGroupedAndPaced: 200 parents write within moments (the 7:40 rush).
// The homeroom teacher gets one notification at once and the rest grouped, never more
// than one per pace, and the counts add up to every message: none lost, none twice.
func TestBurstIsGroupedAndPaced(t *testing.T) {
	t.Parallel()
	wd := newWorld(t)
	tannin := wd.signIn(t, "sakura.tannin11", live.Message)
	pc := wd.ps.Subscribe()
	subscribe(t, tannin, pc)
	// A second browser's push service is down: its pushes fail and are retried.
	down := pushsim.New()
	gone := down.Subscribe()
	subscribe(t, tannin, gone)
	down.Close()
	const n = 200
	start := time.Now()
	for i := 0; i < n; i += 20 {
		// Twenty webhooks' worth of messages per transaction.
		err := wd.s.Tx.InTx(context.Background(), func(ctx context.Context) error {
			for range 20 {
				e := wd.message()
				e.Board, e.School, e.Year = wd.board, wd.school, wd.year
				if err := wd.s.Notify.Publish(ctx, e); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	total := func(ns []notify.Notification) int {
		sum := 0
		for _, x := range ns {
			if x.Title == "新しい連絡があります" {
				sum++
			} else {
				c, err := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(x.Title, "新しい連絡が"), "件あります"))
				if err != nil {
					t.Fatalf("title %q", x.Title)
				}
				sum += c
			}
		}
		return sum
	}
	var got []notify.Notification
	for k := 1; ; k++ {
		got = waitPushes(t, wd.ps, pc.Endpoint, k)
		if total(got) >= n {
			break
		}
	}
	elapsed := time.Since(start)
	if sum := total(got); sum != n {
		t.Errorf("the notifications count %d messages, want %d", sum, n)
	}
	if limit := 2 + int(elapsed/wd.s.Notify.Pace); len(got) > limit {
		t.Errorf("%d notifications in %s at one per %s", len(got), elapsed, wd.s.Notify.Pace)
	}
	// The failure is recorded without the endpoint, which identifies the browser.
	waitCount(t, wd, 1, `SELECT LEAST(count(*), 1) FROM river_job WHERE kind = 'notify.push' AND cardinality(errors) > 0`)
	var errs string
	if err := wd.s.Pool.QueryRow(context.Background(), `SELECT string_agg(errors::text, ' ') FROM river_job WHERE kind = 'notify.push'`).Scan(&errs); err != nil {
		t.Fatal(err)
	}
	path := gone.Endpoint[strings.LastIndex(gone.Endpoint, "/"):]
	if !strings.Contains(errs, "connect") || strings.Contains(errs, path) || strings.Contains(wd.w.Logs.String(), path) {
		t.Errorf("a failed push's error: %s", errs)
	}
	t.Logf("%d messages → %d notifications in %s (pace %s): %v", n, len(got), elapsed.Round(time.Millisecond), wd.s.Notify.Pace, got)
}
