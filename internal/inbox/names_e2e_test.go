package inbox_test

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/renraku/renraku/internal/apptest"
	"github.com/renraku/renraku/internal/demo"
	"github.com/renraku/renraku/internal/inbox"
	"github.com/renraku/renraku/internal/linesim"
)

// TestSearchNameIndex: the whole-school search matches names kept decrypted in the
// instance's index. A change made on another connection (a nickname saved, a child
// moved) reaches the index through the database's notification and the next search
// sees it; updates that change no name (a new message) drop nothing; a lost listener
// connection empties the index until it is back. Every search still shows only the
// conversations the person's duty gives and is audited, and no name reaches the logs.
func TestSearchNameIndex(t *testing.T) {
	t.Parallel()
	w := apptest.StartLineWorld(t)
	s := w.App.Services()
	ctx := context.Background()
	idx := s.Inbox.Names
	logins, err := demo.SeedStaff(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	sakuraID, class11, _ := apptest.SchoolAndClass(t, w, demo.Schools[0].Name, "1年1組")
	_, class12, _ := apptest.SchoolAndClass(t, w, demo.Schools[0].Name, "1年2組")
	code := apptest.ClassCodes(t, w, sakuraID)[class11]
	p1, _ := apptest.RegisteredParent(t, w, "木村 恵", "木村 あおい", code)
	p2, _ := apptest.RegisteredParent(t, w, "高橋 花", "高橋 そら", code)
	for _, p := range []struct {
		u    linesim.User
		text string
	}{{p1, "明日の遠足は雨でもありますか"}, {p2, "水筒を忘れました"}} {
		apptest.Pick(t, w, p.u, "1年1組 担任", 1)
		if _, err := w.Sim.SendText(w.Ch.LineChannelID, p.u.ID, p.text); err != nil {
			t.Fatal(err)
		}
	}
	apptest.WaitRows(t, w, `SELECT 2 - count(*) FROM message WHERE direction = 'in'`)
	// The first parent picked first: theirs is the first conversation.
	var conv1, conv2, friend1, child1 int64
	if err := s.Pool.QueryRow(ctx, `SELECT min(cv.id), max(cv.id) FROM conversation cv`).Scan(&conv1, &conv2); err != nil {
		t.Fatal(err)
	}
	if err := s.Pool.QueryRow(ctx, `SELECT gu.friend_id, cv.child_id FROM conversation cv JOIN guardian gu ON gu.id = cv.guardian_id
		WHERE cv.id = $1`, conv1).Scan(&friend1, &child1); err != nil {
		t.Fatal(err)
	}

	staff := func(login string) *apptest.StaffClient {
		c := apptest.NewStaffClient(t, w.App.URL())
		for _, l := range logins {
			if l.Login == login {
				c.Secret = l.TOTPSecret
			}
		}
		c.SignIn(login, demo.Password)
		return c
	}
	kocho, tannin, komon, other := staff("sakura.kocho"), staff("sakura.tannin11"), staff("sakura.komon"), staff("hikari.tannin1a")
	audited := func() int {
		return apptest.Count(t, w, `SELECT count(*) FROM audit_event WHERE action = 'inbox.list_view'`)
	}
	search := func(c *apptest.StaffClient, q string) int {
		t.Helper()
		before := audited()
		r := c.Post("/staff/inbox", url.Values{"q": {q}})
		if r.Status != 200 {
			t.Fatalf("search %q: %d", q, r.Status)
		}
		if got := audited(); got != before+1 {
			t.Errorf("search %q: %d audit events, want one", q, got-before)
		}
		return r.Doc.Find(`[data-testid="conversation"]`).Length()
	}
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		for deadline := time.Now().Add(15 * time.Second); !cond(); time.Sleep(20 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("waited in vain for %s", what)
			}
		}
	}
	waitFor("the index to listen", idx.Caching)

	// The principal's search fills the index; the others' searches, over the same index,
	// show only what their duty gives.
	if n := search(kocho, "木村"); n != 1 {
		t.Errorf("principal, 木村: %d", n)
	}
	if !idx.Holds(conv1) || !idx.Holds(conv2) {
		t.Fatalf("the index does not hold the school's conversations: %v", idx)
	}
	for _, c := range []struct {
		who  *apptest.StaffClient
		q    string
		want int
	}{{tannin, "木村", 1}, {tannin, "1年1組", 2}, {komon, "木村", 0}, {komon, "1年1組", 0}, {other, "木村", 0}, {other, "担任", 0}, {kocho, "木村恵", 1}, {kocho, "高橋 そら", 1}, {kocho, "担任", 2}} {
		if n := search(c.who, c.q); n != c.want {
			t.Errorf("%q: %d conversations, want %d", c.q, n, c.want)
		}
	}

	// A new message changes the conversation and the guardian but no name: nothing is
	// dropped. (Notifications arrive in commit order: once the probe's drop is seen,
	// any notification of the message would have been.)
	if _, err := w.Sim.SendText(w.Ch.LineChannelID, p1.ID, "よろしくお願いします"); err != nil {
		t.Fatal(err)
	}
	apptest.WaitRows(t, w, `SELECT 3 - count(*) FROM message WHERE direction = 'in'`)
	if _, err := s.Pool.Exec(ctx, `SELECT pg_notify($1, 'conversation:' || $2::bigint)`, inbox.NamesChannel, conv2); err != nil {
		t.Fatal(err)
	}
	waitFor("the probe", func() bool { return !idx.Holds(conv2) })
	if !idx.Holds(conv1) {
		t.Error("a new message dropped the conversation's names")
	}

	// The parent's nickname changes (saved by the registration's store, on the app's
	// pool): the database tells the index, which drops that guardian's conversation.
	err = s.Tx.InTx(ctx, func(ctx context.Context) error {
		g, err := s.Registration.Store.FindGuardianByFriend(ctx, friend1)
		if err != nil {
			return err
		}
		g.Nickname = "あおいママ"
		return s.Registration.Store.SaveGuardian(ctx, &g)
	})
	if err != nil {
		t.Fatal(err)
	}
	waitFor("the nickname's notification", func() bool { return !idx.Holds(conv1) })
	if n := search(kocho, "あおいママ"); n != 1 {
		t.Errorf("new nickname: %d", n)
	}
	if n := search(kocho, "恵"); n != 0 {
		t.Errorf("old nickname: %d", n)
	}
	// The child moves to 1年2組: found by the new class.
	if n := search(kocho, "1年2組"); n != 0 {
		t.Errorf("1年2組 before the move: %d", n)
	}
	if err := s.Tx.InTx(ctx, func(ctx context.Context) error { return s.Registration.Store.MoveChild(ctx, child1, class12, nil) }); err != nil {
		t.Fatal(err)
	}
	waitFor("the move's notification", func() bool { return !idx.Holds(conv1) })
	if n := search(kocho, "1年2組"); n != 1 {
		t.Errorf("1年2組 after the move: %d", n)
	}

	// The listener's connection is cut: the index empties (notifications may be missed)
	// and fills again once the listener is back.
	if !idx.Holds(conv1) {
		t.Fatal("the index lost the conversation")
	}
	if _, err := s.Pool.Exec(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
		WHERE datname = current_database() AND query LIKE 'LISTEN%`+inbox.NamesChannel+`%'`); err != nil {
		t.Fatal(err)
	}
	waitFor("the index to stop caching", func() bool { return !idx.Caching() })
	if idx.Holds(conv1) {
		t.Error("the index kept names while not listening")
	}
	waitFor("the listener to reconnect", idx.Caching)
	if n := search(kocho, "あおいママ"); n != 1 || !idx.Holds(conv1) {
		t.Errorf("after reconnecting: %d, held %v", n, idx.Holds(conv1))
	}

	// No name reached the logs.
	logs := w.Logs.String()
	for _, name := range []string{"木村", "あおい", "高橋", "そら"} {
		if strings.Contains(logs, name) {
			t.Errorf("%q in the logs", name)
		}
	}
}
