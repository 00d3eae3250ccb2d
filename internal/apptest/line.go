package apptest

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/renraku/renraku/internal/announce"
	"github.com/renraku/renraku/internal/app"
	"github.com/renraku/renraku/internal/config"
	"github.com/renraku/renraku/internal/demo"
	"github.com/renraku/renraku/internal/line"
	"github.com/renraku/renraku/internal/linesim"
	"github.com/renraku/renraku/internal/logging"
	"github.com/renraku/renraku/internal/pgtest"
	"github.com/renraku/renraku/internal/postgres"
	"github.com/renraku/renraku/internal/vault/vaulttest"
)

// LineWorld is the app wired to a LINE simulator, with the demo channel.
type LineWorld struct {
	App   *app.App
	Sim   *linesim.Sim
	Ch    line.Channel
	DBURL string
	Logs  *SyncBuffer
}

// StartLineWorld starts the app on a new database, wired to a new LINE simulator,
// with the demo schools and channel.
func StartLineWorld(t testing.TB) *LineWorld {
	t.Helper()
	return StartLineWorldBehind(t, nil)
}

// StartLineWorldBehind is StartLineWorld with the app reaching the simulator through
// wrap (nil: directly), so a test can answer some of LINE's endpoints itself.
func StartLineWorldBehind(t testing.TB, wrap func(http.Handler) http.Handler) *LineWorld {
	t.Helper()
	return StartLineWorldAt(t, pgtest.NewDBURL(t), wrap)
}

// StartLineWorldOn starts a LINE world on the migrated database at dbURL; opts adjust
// the configuration.
func StartLineWorldOn(t testing.TB, dbURL string, opts ...func(*config.Config)) *LineWorld {
	t.Helper()
	return StartLineWorldAt(t, dbURL, nil, opts...)
}

// StartLineWorldAt is the LINE world on dbURL, with the app reaching the simulator
// through wrap (nil: directly) and the configuration adjusted by opts.
func StartLineWorldAt(t testing.TB, dbURL string, wrap func(http.Handler) http.Handler, opts ...func(*config.Config)) *LineWorld {
	t.Helper()
	sim := linesim.New(linesim.Options{AllowHTTPURLs: true})
	h := sim.Handler()
	if wrap != nil {
		h = wrap(h)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	simURL := MustURL(srv.URL)
	keyset, key := vaulttest.Keyset(t)
	logs := &SyncBuffer{}
	cfg := &config.Config{DatabaseURL: dbURL, Addr: "127.0.0.1:0", ShutdownTimeout: 5 * time.Second,
		KeysetFile: keyset, MasterKey: key, LineAPIURL: simURL, LineDataAPIURL: simURL, ListRefresh: time.Second}
	for _, o := range opts {
		o(cfg)
	}
	a := app.New(cfg, logging.New(logs, slog.LevelDebug))
	if err := a.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// Some tests stop the app themselves first; a second Close may complain.
		if err := a.Close(context.Background()); err != nil {
			t.Logf("closing the app: %v", err)
		}
	})
	ch, err := demo.Seed(context.Background(), a.Services(), sim, a.URL())
	if err != nil {
		t.Fatal(err)
	}
	return &LineWorld{App: a, Sim: sim, Ch: ch, DBURL: dbURL, Logs: logs}
}

// StartDemoWorld starts a LINE world with the demo schools' classes and staff, and
// returns the staff's logins.
func StartDemoWorld(t *testing.T) (*LineWorld, []demo.Login) {
	t.Helper()
	w := StartLineWorld(t)
	logins, err := demo.SeedStaff(context.Background(), w.App.Services())
	if err != nil {
		t.Fatal(err)
	}
	return w, logins
}

// NewParent adds a LINE user (not yet a friend of the channel) named name.
func (w *LineWorld) NewParent(t testing.TB, name string) linesim.User {
	t.Helper()
	u, err := w.Sim.AddUser(linesim.User{DisplayName: name, Language: "ja", StatusMessage: name + "のひとこと"})
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// WaitBotText waits until the bot has sent user count messages containing want, and
// returns the chat.
func WaitBotText(t testing.TB, w *LineWorld, user, want string, count int) []linesim.ChatItem {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	items, err := w.Sim.WaitChat(ctx, w.Ch.LineChannelID, user, func(items []linesim.ChatItem) bool {
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

// Pick taps 「連絡する」 and the quick reply with label, as a parent does.
func Pick(t *testing.T, w *LineWorld, u linesim.User, label string, n int) {
	t.Helper()
	if _, err := w.Sim.Postback(w.Ch.LineChannelID, u.ID, line.PostbackData("menu.contact", ""), nil); err != nil {
		t.Fatal(err)
	}
	items := WaitBotText(t, w, u.ID, "相談先を選択してください", n)
	var action *linesim.Action
	for i := len(items) - 1; i >= 0 && action == nil; i-- {
		for _, a := range items[i].QuickReply {
			if a.Label == label {
				a := a
				action = &a
				break
			}
		}
	}
	if action == nil {
		t.Fatalf("no quick reply %q in %+v", label, items[len(items)-1].QuickReply)
	}
	if _, err := w.Sim.Tap(w.Ch.LineChannelID, u.ID, *action); err != nil {
		t.Fatal(err)
	}
	WaitBotText(t, w, u.ID, "「"+label+"」に連絡します", 1)
}

// WaitRows waits until the count query answers zero.
func WaitRows(t *testing.T, w *LineWorld, query string) {
	t.Helper()
	var n int
	for deadline := time.Now().Add(3 * time.Minute); ; time.Sleep(200 * time.Millisecond) {
		if err := w.App.Pool().QueryRow(context.Background(), query).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: still %d", query, n)
		}
	}
}

// CityFamilies adds n families of 1年1組 of the first demo school: in LINE (the
// simulator) and in renraku's database; with mixed, every tenth unverified and every
// tenth (other) having blocked the account. It returns the users who should receive a
// class announcement and those who should not.
func CityFamilies(t *testing.T, w *LineWorld, n int, mixed bool) (reach, not []linesim.User) {
	t.Helper()
	s := w.App.Services()
	sakuraID, class11, _ := SchoolAndClass(t, w, demo.Schools[0].Name, "1年1組")
	friends, err := w.Sim.AddFriends(w.Ch.LineChannelID, n, "ja")
	if err != nil {
		t.Fatal(err)
	}
	fams := make([]postgres.Family, 0, n)
	for i, u := range friends {
		f := postgres.Family{UserID: u.ID, ChannelID: w.Ch.ID, SchoolID: sakuraID, ClassID: class11, Nickname: fmt.Sprintf("保護者%05d", i),
			ChildName: fmt.Sprintf("児童 %05d", i), Verified: !mixed || i%10 != 7, Following: true}
		if mixed && i%10 == 3 {
			// Blocked in LINE too: the simulator would not deliver to them.
			bu, err := w.Sim.AddUser(linesim.User{DisplayName: "ブロック済み"})
			if err != nil {
				t.Fatal(err)
			}
			f.UserID, f.Following, u = bu.ID, false, bu
		}
		fams = append(fams, f)
		if f.Verified && f.Following {
			reach = append(reach, u)
		} else {
			not = append(not, u)
		}
	}
	if err := postgres.SeedFamilies(context.Background(), s.Pool, s.Vault, fams); err != nil {
		t.Fatal(err)
	}
	return reach, not
}

// WaitSent waits until an announcement has finished sending.
func WaitSent(t *testing.T, w *LineWorld, id int64, limit time.Duration) {
	t.Helper()
	var state string
	for deadline := time.Now().Add(limit); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if err := w.App.Services().Pool.QueryRow(context.Background(), `SELECT state FROM announcement WHERE id = $1`, id).Scan(&state); err != nil {
			t.Fatal(err)
		}
		if state == announce.Sent {
			return
		}
	}
	// The jobs' last errors say why, when a job failed.
	var errs []string
	_ = w.App.Services().Pool.QueryRow(context.Background(), `SELECT COALESCE(array_agg(kind || ': ' || (errors[array_length(errors, 1)]->>'error')), '{}')
		FROM river_job WHERE array_length(errors, 1) > 0`).Scan(&errs)
	t.Fatalf("announcement %d still %s; jobs' errors: %q", id, state, errs)
}
