// Command workbench measures the staff work queue and its notifications at the morning
// peak (issue 18): a school of 1,000 families in which 200 parents write within one
// minute. For each parent's message it measures the time from the LINE webhook to the
// homeroom teacher's home-page count changing, as the page sees it: the teacher's open
// live stream (GET /staff/live) tells the page, which fetches its work queue again
// (GET /staff/work, as web/static/live.js and htmx do), and the message counts as shown
// at the end of the first fetch whose total includes it. It then waits for the grouped
// notifications (Web Push, to a push-service stand-in) and checks their pace: at most
// one per teacher per minute per kind, the counts in their texts adding up to the
// teacher's messages.
//
// It starts the real app in this process, a LINE simulator and a push service on
// 127.0.0.1, seeds the first demo school in bulk (COPY, encrypted as the stores
// encrypt) with families who are friends of the simulator's channel, so their messages
// take the real path: simulator → signed webhook → stored event → event processing →
// inbox message → live event (NOTIFY) and notification job. Run it with a database
// (cmd/pgrun provides one):
//
//	go run ./cmd/pgrun -- go run ./cmd/workbench
//
// The goal (issue 18) is p95 under 1 s and no more than one notification per teacher
// per minute per kind. Results go to stdout for docs/PERFORMANCE.md.
package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"log/slog"
	mrand "math/rand/v2"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/renraku/renraku/internal/app"
	"github.com/renraku/renraku/internal/authz"
	"github.com/renraku/renraku/internal/config"
	"github.com/renraku/renraku/internal/credential"
	"github.com/renraku/renraku/internal/demo"
	"github.com/renraku/renraku/internal/linesim"
	"github.com/renraku/renraku/internal/live"
	"github.com/renraku/renraku/internal/logging"
	"github.com/renraku/renraku/internal/notify"
	"github.com/renraku/renraku/internal/postgres"
	"github.com/renraku/renraku/internal/pushsim"
	"github.com/renraku/renraku/internal/schema"
	"github.com/renraku/renraku/internal/staff"
	"github.com/renraku/renraku/internal/vault"
)

func main() {
	nFamilies := flag.Int("families", 1000, "registered families (one guardian and child each) in the first demo school, over its classes")
	nWriters := flag.Int("writers", 200, "parents who write, one text message each")
	burst := flag.Duration("burst", time.Minute, "the messages' webhooks are sent within this time")
	poisson := flag.Bool("poisson", false, "send at Poisson arrivals of the same mean rate instead of evenly spread")
	seed := flag.Uint64("seed", 1, "random seed of the writers, their order and texts")
	settle := flag.Duration("settle", 3*time.Minute, "how long to wait at most, after the burst, for the pages and the notifications")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the burst and the notifications (app and clients) to this file")
	flag.Parse()
	dbURL := os.Getenv("DATABASE_URL")
	if dbURL == "" {
		log.Fatal("workbench: DATABASE_URL is required (use cmd/pgrun)")
	}
	if *nWriters > *nFamilies || *nWriters < 1 {
		log.Fatal("workbench: -writers must be between 1 and -families")
	}
	credential.Params.Memory, credential.Params.Iterations = 64, 1 // demo staff only
	loadStart := loadAverage()
	m, err := schema.NewMigrator(dbURL)
	if err != nil {
		log.Fatal(err)
	}
	if err := m.Up(); err != nil {
		log.Fatal(err)
	}
	m.Close()
	dir, _ := os.MkdirTemp("", "workbench")
	defer os.RemoveAll(dir)
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	mk, _ := vault.MasterFromKey(key)
	keyset := filepath.Join(dir, "keyset.json")
	if err := vault.Generate(keyset, mk); err != nil {
		log.Fatal(err)
	}
	sim := linesim.New(linesim.Options{AllowHTTPURLs: true})
	simSrv := httptest.NewServer(sim.Handler())
	defer simSrv.Close()
	simURL, _ := url.Parse(simSrv.URL)
	// The bench migrates and runs on one throwaway superuser connection.
	cfg := &config.Config{DatabaseURL: dbURL, AllowOwnerRole: true, Addr: "127.0.0.1:0", ShutdownTimeout: 10 * time.Second,
		KeysetFile: keyset, MasterKey: key, LineAPIURL: simURL, LineDataAPIURL: simURL}
	a := app.New(cfg, logging.New(io.Discard, slog.LevelError))
	if err := a.Start(context.Background()); err != nil {
		log.Fatal(err)
	}
	defer a.Close(context.Background())
	ctx := context.Background()
	s := a.Services()
	ch, err := demo.Seed(ctx, s, sim, a.URL())
	if err != nil {
		log.Fatal(err)
	}
	logins, err := demo.SeedStaff(ctx, s)
	if err != nil {
		log.Fatal(err)
	}

	// Web Push to a push-service stand-in on 127.0.0.1 (production allows only the
	// browsers' push services). The pace stays at its production value, a minute.
	ps := pushsim.New()
	defer ps.Close()
	s.Notify.Endpoint = func(u *url.URL) bool { return u.Scheme == "http" && u.Hostname() == "127.0.0.1" }
	if s.Notify.Pace != 0 && s.Notify.Pace != notify.Pace {
		log.Fatalf("workbench: notify pace %s, want the production %s", s.Notify.Pace, notify.Pace)
	}
	if _, _, err := s.Notify.GenerateVAPID(ctx, false); err != nil {
		log.Fatal(err)
	}

	t0 := time.Now()
	w, err := seedSchool(ctx, s, sim, logins, ch.LineChannelID, ch.ID, *nFamilies, *nWriters, *seed)
	if err != nil {
		log.Fatalf("seed: %v", err)
	}
	fmt.Fprintf(os.Stderr, "workbench: seeded %d families over %d classes (%d teachers) in %s\n",
		*nFamilies, len(w.classes), len(w.teachers), time.Since(t0).Round(100*time.Millisecond))

	// Every teacher's browser: signed in, notification hours around now with every
	// kind on, subscribed to Web Push, the home page's count read, its live stream open.
	for _, t := range w.teachers {
		if err := t.open(a.URL(), ps); err != nil {
			log.Fatalf("%s: %v", t.login, err)
		}
	}
	if err := waitQuiet(ctx, s, 2*time.Minute); err != nil {
		log.Fatal(err)
	}
	if err := w.checkBaseline(ctx, s); err != nil {
		log.Fatal(err)
	}

	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			log.Fatal(err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			log.Fatal(err)
		}
		defer pprof.StopCPUProfile()
	}
	loadBefore := loadAverage()
	stopSends := w.watchSends(ctx, s)
	sent, start := w.send(sim, ch.LineChannelID, *burst, *poisson, *seed)
	sendEnd := time.Now()
	deadline := sendEnd.Add(*settle)
	pagesDone := w.waitPages(deadline)
	notesDone := w.waitNotifications(ctx, s, ps, deadline)
	end := time.Now()
	stopSends()
	if *cpuProfile != "" {
		pprof.StopCPUProfile()
	}
	loadAfter := loadAverage()
	for _, t := range w.teachers {
		t.close()
	}
	w.report(reportIn{start: start, sendEnd: sendEnd, end: end, sent: sent, pagesDone: pagesDone, notesDone: notesDone,
		loadStart: loadStart, loadBefore: loadBefore, loadAfter: loadAfter, burst: *burst, poisson: *poisson, ps: ps})
}

// class is a class of the school and who sees its conversations by duty.
type class struct {
	id    int64
	grade int
	name  string
	label string
}

// family is a guardian with one child in a class, a friend of the channel in LINE.
type family struct {
	user       string
	classID    int64
	guardianID int64
	childID    int64
}

// message is one parent's message of the burst.
type message struct {
	family *family
	text   string
	// at is when its webhook was sent (SendText posts the webhook before returning);
	// acked when the webhook's answer came.
	at, acked time.Time
	err       error
	// teacher is the homeroom teacher whose home page is measured; want is the total
	// their page must show to include this message.
	teacher *teacher
	want    int
	// shown is the end of the first refetch of the teacher's page whose total was at
	// least want (zero: never).
	shown time.Time
}

// world is what the seed created and the measurement needs.
type world struct {
	schoolID int64
	classes  []class
	families []family
	writers  []*family
	teachers []*teacher
	messages []*message
}

// seedSchool adds a homeroom teacher to each class of the first demo school that has
// none, and nFamilies families over its classes: LINE friends of the channel (in the
// simulator) registered and verified (in the database, by COPY). Every family has one
// homeroom conversation; the writers' are done (nothing waits) and current (chosen
// this morning, so their next message is filed there), and one in twenty of the
// others waits already (未対応, one unread message).
func seedSchool(ctx context.Context, s *app.Services, sim *linesim.Sim, logins []demo.Login, lineChannelID string, channelID int64, nFamilies, nWriters int,
	seed uint64) (*world, error) {
	sc, err := s.Schools.FindSchool(ctx, demo.Schools[0].Name)
	if err != nil {
		return nil, err
	}
	w := &world{schoolID: sc.ID}
	rows, _ := s.Pool.Query(ctx, `SELECT id, grade, name FROM class WHERE school_id = $1 AND year = $2 ORDER BY grade, name`, sc.ID, sc.CurrentYear)
	w.classes, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (class, error) {
		var c class
		err := r.Scan(&c.id, &c.grade, &c.name)
		c.label = strconv.Itoa(c.grade) + "年" + c.name
		return c, err
	})
	if err != nil || len(w.classes) == 0 {
		return nil, fmt.Errorf("classes: %v", err)
	}
	added, err := addTeachers(ctx, s, sc.ID, sc.BoardID, w.classes)
	if err != nil {
		return nil, err
	}
	// Who holds each class by duty this year (homeroom and sub-homeroom teachers): the
	// teachers whose pages and notifications count its conversations.
	candidates := added
	for _, l := range logins {
		if l.Role == authz.Teacher && l.School == sc.Name {
			candidates = append(candidates, l.Login)
		}
	}
	slices.Sort(candidates)
	for _, login := range candidates {
		st, err := s.Staff.FindByLogin(ctx, login)
		if err != nil {
			return nil, err
		}
		t := &teacher{id: st.ID, login: login}
		if err := s.Pool.QueryRow(ctx, `SELECT array_agg(class_id ORDER BY class_id), array_agg(class_id ORDER BY class_id) FILTER (WHERE duty = 'homeroom')
			FROM staff_assignment WHERE staff_id = $1 AND year = $2 AND duty IN ('homeroom', 'sub_homeroom')`, st.ID, sc.CurrentYear).
			Scan(&t.classes, &t.homeroom); err != nil {
			return nil, fmt.Errorf("duties of %s: %w", login, err)
		}
		if len(t.classes) > 0 {
			w.teachers = append(w.teachers, t)
		}
	}

	users, err := sim.AddFriends(lineChannelID, nFamilies, "ja")
	if err != nil {
		return nil, err
	}
	var before int64
	if err := s.Pool.QueryRow(ctx, `SELECT COALESCE(max(id), 0) FROM guardian`).Scan(&before); err != nil {
		return nil, err
	}
	fams := make([]postgres.Family, nFamilies)
	w.families = make([]family, nFamilies)
	for i, u := range users {
		c := w.classes[i%len(w.classes)]
		fams[i] = postgres.Family{UserID: u.ID, ChannelID: channelID, SchoolID: sc.ID, ClassID: c.id, Nickname: fmt.Sprintf("保護者%04d", i+1),
			ChildName: fmt.Sprintf("児童 %04d", i+1), Verified: true, Following: true}
		w.families[i] = family{user: u.ID, classID: c.id}
	}
	if err := postgres.SeedFamilies(ctx, s.Pool, s.Vault, fams); err != nil {
		return nil, err
	}
	// SeedFamilies numbers guardians and children in the families' order.
	rows, _ = s.Pool.Query(ctx, `SELECT g.id, c.id FROM guardian g JOIN guardianship gs ON gs.guardian_id = g.id JOIN child c ON c.id = gs.child_id
		WHERE g.id > $1 ORDER BY g.id`, before)
	ids, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) ([2]int64, error) {
		var x [2]int64
		return x, r.Scan(&x[0], &x[1])
	})
	if err != nil || len(ids) != nFamilies {
		return nil, fmt.Errorf("seeded guardians: %d of %d: %v", len(ids), nFamilies, err)
	}
	for i := range w.families {
		w.families[i].guardianID, w.families[i].childID = ids[i][0], ids[i][1]
	}

	rng := mrand.New(mrand.NewPCG(seed, 1))
	for _, i := range rng.Perm(nFamilies)[:nWriters] {
		w.writers = append(w.writers, &w.families[i])
	}
	writer := map[int64]bool{}
	for _, f := range w.writers {
		writer[f.guardianID] = true
	}
	now := time.Now()
	var gs, cs, cls []int64
	var states []string
	var unread []int32
	var last []time.Time
	for i, f := range w.families {
		state, n := "done", int32(0)
		if !writer[f.guardianID] && i%20 == 1 {
			state, n = "open", 1
		}
		gs, cs, cls = append(gs, f.guardianID), append(cs, f.childID), append(cls, f.classID)
		states, unread = append(states, state), append(unread, n)
		last = append(last, now.Add(-time.Duration(1+rng.IntN(30*24))*time.Hour))
	}
	tx, err := s.Pool.Begin(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, `INSERT INTO conversation (school_id, guardian_id, child_id, target, class_id, state, unread, last_message_at, created_at)
		SELECT $1, g, c, 'homeroom', cl, st, n, t, t - interval '1 day' FROM unnest($2::bigint[], $3::bigint[], $4::bigint[], $5::text[], $6::int[], $7::timestamptz[])
			AS x(g, c, cl, st, n, t)`, sc.ID, gs, cs, cls, states, unread, last); err != nil {
		return nil, fmt.Errorf("conversations: %w", err)
	}
	var wg []int64
	for _, f := range w.writers {
		wg = append(wg, f.guardianID)
	}
	// The writers chose 「…担任」 this morning: their messages go to that conversation.
	if _, err := tx.Exec(ctx, `UPDATE guardian g SET conversation_id = cv.id, conversation_at = now()
		FROM conversation cv WHERE cv.guardian_id = g.id AND g.id = ANY($1)`, wg); err != nil {
		return nil, fmt.Errorf("current conversations: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return nil, err
	}
	if _, err := s.Pool.Exec(ctx, `VACUUM ANALYZE line_friend, guardian, child, guardianship, conversation`); err != nil {
		return nil, err
	}
	return w, nil
}

// addTeachers gives each class without a homeroom teacher one (the demo school has
// two teachers for seven classes), as the school's administrator would.
func addTeachers(ctx context.Context, s *app.Services, schoolID, boardID int64, classes []class) ([]string, error) {
	kocho, err := s.Staff.FindByLogin(ctx, "sakura.kocho")
	if err != nil {
		return nil, err
	}
	actor, err := s.Staff.Actor(ctx, kocho.ID, kocho.SessionEpoch)
	if err != nil {
		return nil, err
	}
	adminCtx := authz.WithActor(ctx, actor)
	var held []int64
	var added []string
	rows, _ := s.Pool.Query(ctx, `SELECT class_id FROM staff_assignment WHERE school_id = $1 AND duty = 'homeroom' AND class_id IS NOT NULL`, schoolID)
	if held, err = pgx.CollectRows(rows, pgx.RowTo[int64]); err != nil {
		return nil, err
	}
	for _, c := range classes {
		if slices.Contains(held, c.id) {
			continue
		}
		login := "sakura.tannin" + strconv.Itoa(c.grade) + strings.TrimSuffix(c.name, "組")
		inv, err := s.Staff.Bootstrap(ctx, staff.NewStaff{BoardID: boardID, SchoolID: schoolID, Role: authz.Teacher, Login: login,
			Name: c.label + " 担任"})
		if err != nil {
			return nil, fmt.Errorf("create %s: %w", login, err)
		}
		if _, err := s.Staff.SetPasswordFromLink(ctx, inv.Token, demo.Password, demo.Password, staff.Client{}); err != nil {
			return nil, fmt.Errorf("password %s: %w", login, err)
		}
		if _, err := s.Staff.Assign(adminCtx, inv.Staff.ID, staff.NewAssignment{Duty: authz.Homeroom, ClassID: c.id}); err != nil {
			return nil, fmt.Errorf("assign %s: %w", login, err)
		}
		added = append(added, login)
	}
	return added, nil
}

// checkBaseline checks that each teacher's page counts what the seed left waiting in
// their classes, so the totals the burst adds to are the conversations'.
func (w *world) checkBaseline(ctx context.Context, s *app.Services) error {
	for _, t := range w.teachers {
		var n int
		if err := s.Pool.QueryRow(ctx, `SELECT count(*) FROM conversation WHERE class_id = ANY($1) AND state <> 'done'`, t.classes).Scan(&n); err != nil {
			return err
		}
		if n != t.initial {
			return fmt.Errorf("%s: the home page counts %d, %d conversations wait in the classes", t.login, t.initial, n)
		}
	}
	return nil
}

// send makes each writer send one text message through the simulator, open loop: each
// at its time whether or not the earlier ones were answered. SendText posts the signed
// webhook and returns with its answer, so the message's time starts just before it.
func (w *world) send(sim *linesim.Sim, lineChannelID string, burst time.Duration, poisson bool, seed uint64) (int, time.Time) {
	rng := mrand.New(mrand.NewPCG(seed, 2))
	n := len(w.writers)
	offsets := make([]time.Duration, n)
	mean := burst / time.Duration(n)
	var at time.Duration
	for i := range offsets {
		if poisson {
			at += time.Duration(rng.ExpFloat64() * float64(mean))
			offsets[i] = min(at, burst-time.Millisecond)
		} else {
			offsets[i] = time.Duration(i) * mean
		}
	}
	// The page of each message: its class's homeroom teacher, and the total that page
	// must reach (what waited, plus the messages of the teacher's classes so far).
	sofar := map[*teacher]int{}
	for i, f := range w.writers {
		m := &message{family: f, text: parentLines[rng.IntN(len(parentLines))] + parentLines[rng.IntN(len(parentLines))]}
		for _, t := range w.teachers {
			if slices.Contains(t.classes, f.classID) {
				sofar[t]++
				t.expected++
			}
			if slices.Contains(t.homeroom, f.classID) {
				m.teacher = t
			}
		}
		if m.teacher == nil {
			log.Fatalf("writer %d: no homeroom teacher for class %d", i, f.classID)
		}
		m.want = m.teacher.initial + sofar[m.teacher]
		w.messages = append(w.messages, m)
	}
	start := time.Now()
	var wg sync.WaitGroup
	for i, m := range w.messages {
		time.Sleep(time.Until(start.Add(offsets[i])))
		wg.Add(1)
		go func() {
			defer wg.Done()
			at := time.Now()
			_, err := sim.SendText(lineChannelID, m.family.user, m.text)
			acked := time.Now()
			m.teacher.mu.Lock()
			m.at, m.acked, m.err = at, acked, err
			m.teacher.mu.Unlock()
		}()
	}
	wg.Wait()
	sent := 0
	for _, m := range w.messages {
		if m.err == nil {
			sent++
		} else {
			fmt.Fprintf(os.Stderr, "workbench: webhook: %v\n", m.err)
		}
	}
	return sent, start
}

// waitPages waits until every teacher's page has shown every message of their classes
// (or the deadline), then finds when each message was first shown.
func (w *world) waitPages(deadline time.Time) bool {
	done := false
	for !done && time.Now().Before(deadline) {
		done = true
		for _, t := range w.teachers {
			t.mu.Lock()
			ok := t.last >= t.initial+t.expected
			t.mu.Unlock()
			if !ok {
				done = false
			}
		}
		if !done {
			time.Sleep(50 * time.Millisecond)
		}
	}
	for _, m := range w.messages {
		t := m.teacher
		t.mu.Lock()
		for _, f := range t.fetches {
			if f.end.After(m.at) && f.total >= m.want {
				m.shown = f.end
				break
			}
		}
		t.mu.Unlock()
	}
	return done
}

// waitNotifications waits until every teacher's pushes count all the messages of
// their classes and nothing is left in hand (no job, nothing pending), or the deadline.
func (w *world) waitNotifications(ctx context.Context, s *app.Services, ps *pushsim.Server, deadline time.Time) bool {
	for {
		changed := ps.Changed()
		counted := true
		for _, t := range w.teachers {
			if n, _ := t.pushed(ps); n < t.expected {
				counted = false
			}
		}
		if counted {
			var n int
			err := s.Pool.QueryRow(ctx, quietQuery+` + (SELECT count(*) FROM river_job WHERE state = 'scheduled' AND kind LIKE 'notify.%')
				+ (SELECT count(*) FROM notify_pending WHERE count > 0)`).Scan(&n)
			if err != nil {
				log.Fatal(err)
			}
			if n == 0 {
				return true
			}
		}
		if time.Now().After(deadline) {
			return false
		}
		select {
		case <-changed:
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// watchSends records when the server sent each teacher's notifications: the
// last_sent_at of what waits for them (the time Send paced from), polled until stop is
// called. Sends of one kind to one person are a minute apart, so a poll every 100 ms
// misses none.
func (w *world) watchSends(ctx context.Context, s *app.Services) (stop func()) {
	byID := map[int64]*teacher{}
	for _, t := range w.teachers {
		byID[t.id] = t
	}
	quit, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			rows, _ := s.Pool.Query(ctx, `SELECT staff_id, kind, last_sent_at FROM notify_pending WHERE last_sent_at IS NOT NULL`)
			type sendRow struct {
				staff int64
				kind  live.Kind
				at    time.Time
			}
			got, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (sendRow, error) {
				var x sendRow
				return x, r.Scan(&x.staff, &x.kind, &x.at)
			})
			if err != nil {
				log.Fatalf("sends: %v", err)
			}
			for _, x := range got {
				if t := byID[x.staff]; t != nil {
					t.mu.Lock()
					if !slices.ContainsFunc(t.sends, func(p push) bool { return p.kind == x.kind && p.at.Equal(x.at) }) {
						t.sends = append(t.sends, push{at: x.at, kind: x.kind})
					}
					t.mu.Unlock()
				}
			}
			select {
			case <-quit:
				return
			case <-tick.C:
			}
		}
	}()
	return func() { close(quit); <-done }
}

// leastGap is the least time between two of ps of one kind (0: no two).
func leastGap(ps []push) time.Duration {
	gap := time.Duration(0)
	lastOf := map[live.Kind]time.Time{}
	for _, p := range ps {
		if l, ok := lastOf[p.kind]; ok && (gap == 0 || p.at.Sub(l) < gap) {
			gap = p.at.Sub(l)
		}
		lastOf[p.kind] = p.at
	}
	return gap
}

func gapText(gap time.Duration) string {
	if gap == 0 {
		return "—"
	}
	return fmt.Sprintf("%.2f s", gap.Seconds())
}

// quietQuery counts what the app has in hand (apptest.QuietQuery).
const quietQuery = `SELECT
	(SELECT count(*) FROM line_event WHERE processed_at IS NULL) +
	(SELECT count(*) FROM line_outbound WHERE state = 'queued') +
	(SELECT count(*) FROM river_job WHERE state IN ('available', 'running', 'retryable', 'pending'))`

func waitQuiet(ctx context.Context, s *app.Services, limit time.Duration) error {
	var n int
	for deadline := time.Now().Add(limit); ; time.Sleep(100 * time.Millisecond) {
		if err := s.Pool.QueryRow(ctx, quietQuery).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the app still has %d things in hand", n)
		}
	}
}

// teacher is a homeroom teacher's browser with the home page open: its live stream,
// and the work queue fetched again on each event.
type teacher struct {
	id       int64
	login    string
	classes  []int64 // homeroom and sub-homeroom
	homeroom []int64
	c        *client
	sub      pushsim.Subscription
	initial  int // the page's total before the burst
	expected int // messages of the burst in the teacher's classes

	stream *http.Response
	nudge  chan struct{}
	done   chan struct{}

	mu      sync.Mutex
	events  int // live events the stream received
	fetches []fetch
	last    int // the total of the last fetch
	errs    []error
	// sends are the server's sends of notifications to the teacher (watchSends).
	sends []push
}

type fetch struct {
	start, end time.Time
	total      int
}

// open signs the teacher in and opens their home page.
func (t *teacher) open(base string, ps *pushsim.Server) error {
	c, err := signIn(base, t.login)
	if err != nil {
		return err
	}
	t.c = c
	now := time.Now().In(notify.Tokyo)
	m := now.Hour()*60 + now.Minute()
	form := url.Values{"hours": {"own"}, "start": {notify.Clock((m + 1440 - 120) % 1440)}, "end": {notify.Clock((m + 120) % 1440)},
		"day": {"0", "1", "2", "3", "4", "5", "6"}}
	for _, k := range notify.Kinds {
		form.Set("kind."+string(k), "on")
	}
	if st, _, _, err := c.post("/staff/account/notifications", form); err != nil || st != http.StatusSeeOther {
		return fmt.Errorf("notification choices: %d %v", st, err)
	}
	t.sub = ps.Subscribe()
	body, _ := json.Marshal(map[string]any{"endpoint": t.sub.Endpoint, "keys": map[string]string{"p256dh": t.sub.P256dh, "auth": t.sub.Auth}})
	req, _ := http.NewRequest(http.MethodPost, base+"/staff/account/notifications/subscribe", strings.NewReader(string(body)))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-CSRF-Token", c.csrf)
	if st, _, _, err := c.do(req); err != nil || st != http.StatusNoContent {
		return fmt.Errorf("subscribe: %d %v", st, err)
	}
	// The home page as loaded, then its live stream (live.js), then a refetch on each
	// event (htmx: hx-trigger="work-changed from:body", one request at a time, the last
	// trigger queued while one is in flight).
	total, err := t.work()
	if err != nil {
		return err
	}
	t.initial, t.last = total, total
	req, _ = http.NewRequest(http.MethodGet, base+"/staff/live", nil)
	req.Header.Set("Accept", "text/event-stream")
	stream := &http.Client{Jar: c.http.Jar, Transport: &http.Transport{}}
	res, err := stream.Do(req)
	if err != nil {
		return err
	}
	if res.StatusCode != http.StatusOK {
		res.Body.Close()
		return fmt.Errorf("live stream: %d", res.StatusCode)
	}
	t.stream, t.nudge, t.done = res, make(chan struct{}, 1), make(chan struct{})
	r := bufio.NewReader(res.Body)
	if l, err := r.ReadString('\n'); err != nil || !strings.HasPrefix(l, ":") {
		return fmt.Errorf("live stream: %q %v", l, err)
	}
	go t.read(r)
	go t.refetch()
	return nil
}

// read reads the live stream: each event nudges the page.
func (t *teacher) read(r *bufio.Reader) {
	defer close(t.nudge)
	event := false
	for {
		l, err := r.ReadString('\n')
		if err != nil {
			return
		}
		l = strings.TrimRight(l, "\r\n")
		switch {
		case strings.HasPrefix(l, "event:"):
			event = true
		case l == "" && event:
			event = false
			t.mu.Lock()
			t.events++
			t.mu.Unlock()
			select {
			case t.nudge <- struct{}{}:
			default: // a fetch is queued already
			}
		}
	}
}

// refetch fetches the work queue once per nudge, one at a time.
func (t *teacher) refetch() {
	defer close(t.done)
	for range t.nudge {
		start := time.Now()
		total, err := t.work()
		end := time.Now()
		t.mu.Lock()
		if err != nil {
			t.errs = append(t.errs, err)
		} else {
			t.fetches = append(t.fetches, fetch{start: start, end: end, total: total})
			t.last = total
		}
		t.mu.Unlock()
	}
}

// work fetches the work queue and returns its total.
func (t *teacher) work() (int, error) {
	req, _ := http.NewRequest(http.MethodGet, t.c.base+"/staff/work", nil)
	req.Header.Set("HX-Request", "true") // as htmx asks
	st, h, body, err := t.c.do(req)
	if err != nil {
		return 0, err
	}
	if st != http.StatusOK || !strings.Contains(body, `id="work-queue"`) {
		return 0, fmt.Errorf("work queue: status %d, %d bytes", st, len(body))
	}
	return strconv.Atoi(h.Get("X-Work-Total"))
}

func (t *teacher) close() {
	if t.stream != nil {
		t.stream.Body.Close()
		<-t.done
	}
}

var countInTitle = regexp.MustCompile(`(\d+)件`)

// pushed returns how many messages the teacher's pushes count, and the pushes.
func (t *teacher) pushed(ps *pushsim.Server) (int, []push) {
	n := 0
	var out []push
	for _, p := range ps.Pushes(t.sub.Endpoint) {
		var nt notify.Notification
		if err := json.Unmarshal(p.Plaintext, &nt); err != nil {
			log.Fatalf("%s: a push is not a notification: %v", t.login, err)
		}
		k := 1
		if m := countInTitle.FindStringSubmatch(nt.Title); m != nil {
			k, _ = strconv.Atoi(m[1])
		}
		if nt.Kind == live.Message {
			n += k
		}
		out = append(out, push{at: p.At, kind: nt.Kind, count: k, title: nt.Title, body: nt.Body})
	}
	return n, out
}

type push struct {
	at          time.Time
	kind        live.Kind
	count       int
	title, body string
}

type reportIn struct {
	start, sendEnd, end              time.Time
	sent                             int
	pagesDone, notesDone             bool
	loadStart, loadBefore, loadAfter string
	burst                            time.Duration
	poisson                          bool
	ps                               *pushsim.Server
}

func (w *world) report(in reportIn) {
	var lat, ack []float64
	late, unseen := 0, 0
	for _, m := range w.messages {
		if m.err != nil {
			continue
		}
		ack = append(ack, ms(m.acked.Sub(m.at)))
		if m.shown.IsZero() {
			unseen++
			continue
		}
		d := m.shown.Sub(m.at)
		lat = append(lat, ms(d))
		if d >= time.Second {
			late++
		}
	}
	slices.Sort(lat)
	slices.Sort(ack)
	arrivals := "evenly spread"
	if in.poisson {
		arrivals = "Poisson arrivals"
	}
	fmt.Printf("command: go run ./cmd/pgrun -- go run ./cmd/workbench %s\n", strings.Join(os.Args[1:], " "))
	fmt.Printf("school: %d families over %d classes, %d homeroom/sub-homeroom teachers with the home page open; %d parents write once each, %s over %s (open loop); sent in %s\n",
		len(w.families), len(w.classes), len(w.teachers), len(w.messages), arrivals, in.burst, in.sendEnd.Sub(in.start).Round(10*time.Millisecond))
	fmt.Printf("time of day (Asia/Tokyo) at the burst: %s; webhooks answered 200: %d of %d\n", in.start.In(notify.Tokyo).Format("Mon 15:04"), in.sent, len(w.messages))
	fmt.Printf("load average at the start: %s; before the burst (after seeding): %s; after the notifications: %s\n", in.loadStart, in.loadBefore, in.loadAfter)
	fmt.Printf("peak RSS of this process (VmHWM; the app, the LINE simulator, the push service and the teachers' clients run in it, PostgreSQL apart): %s\n\n", vmHWM())

	fmt.Printf("| measure | messages | p50 ms | p95 ms | p99 ms | max ms | ≥ 1 s | not shown |\n| --- | --- | --- | --- | --- | --- | --- | --- |\n")
	fmt.Printf("| webhook answered (simulator → renraku, 200) | %d | %.1f | %.1f | %.1f | %.1f | | |\n", len(ack),
		percentile(ack, 50), percentile(ack, 95), percentile(ack, 99), last(ack))
	fmt.Printf("| webhook sent → home page's count shows it | %d | %.1f | %.1f | %.1f | %.1f | %d | %d |\n\n", len(lat)+unseen,
		percentile(lat, 50), percentile(lat, 95), percentile(lat, 99), last(lat), late, unseen)

	fmt.Printf("| teacher | classes | total before | after | messages | live events | refetches (p50 / max ms) | pushes received (s after the first webhook, count in the text, time from the send) | counted | least gap: sent / received |\n")
	fmt.Printf("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n")
	sentPaced, receivedPaced, allCounted := true, true, true
	for _, t := range w.teachers {
		counted, ps := t.pushed(in.ps)
		var at []string
		for _, p := range ps {
			at = append(at, fmt.Sprintf("%.1f (%d)", p.at.Sub(in.start).Seconds(), p.count))
		}
		t.mu.Lock()
		sentGap, receivedGap := leastGap(t.sends), leastGap(ps)
		if len(t.sends) != len(ps) {
			fmt.Printf("%s: %d notifications sent, %d pushes received\n", t.login, len(t.sends), len(ps))
		} else {
			// How long each push took from the server's send to the push service.
			for i := range at {
				at[i] += fmt.Sprintf(" +%.0f ms", ms(ps[i].at.Sub(t.sends[i].at)))
			}
		}
		t.mu.Unlock()
		if sentGap != 0 && sentGap < notify.Pace {
			sentPaced = false
		}
		// The limit: one notification of a kind a minute, as the device sees them.
		if receivedGap != 0 && receivedGap < time.Minute {
			receivedPaced = false
		}
		if counted != t.expected {
			allCounted = false
		}
		t.mu.Lock()
		var fl []float64
		for _, f := range t.fetches {
			fl = append(fl, ms(f.end.Sub(f.start)))
		}
		slices.Sort(fl)
		var labels []string
		for _, id := range t.classes {
			for _, c := range w.classes {
				if c.id == id {
					l := c.label
					if !slices.Contains(t.homeroom, id) {
						l += "（副）"
					}
					labels = append(labels, l)
				}
			}
		}
		fmt.Printf("| %s | %s | %d | %d | %d | %d | %d (%.0f / %.0f) | %d: %s | %d of %d | %s / %s |\n", t.login, strings.Join(labels, ", "), t.initial, t.last,
			t.expected, t.events, len(t.fetches), percentile(fl, 50), last(fl), len(ps), strings.Join(at, ", "), counted, t.expected,
			gapText(sentGap), gapText(receivedGap))
		for _, err := range t.errs {
			fmt.Printf("\n%s: refetch failed: %v\n", t.login, err)
		}
		t.mu.Unlock()
	}
	if len(w.teachers) > 0 {
		_, ps := w.teachers[0].pushed(in.ps)
		for _, p := range ps {
			fmt.Printf("\n%s, push at %.1f s: %s / %s", w.teachers[0].login, p.at.Sub(in.start).Seconds(), p.title, p.body)
		}
		fmt.Println()
	}
	fmt.Printf("\npushes: when the push service accepted each, in seconds after the first webhook, with the count its text gives (「新しい連絡が3件あります」: 3); ")
	fmt.Printf("sent: when the server sent the notification (the time it paces from, notify_pending.last_sent_at). ")
	fmt.Printf("Every teacher's pushes count all their messages: %v; no two notifications of one kind to one teacher sent less than %s apart (the pace): %v; received less than %s apart (the limit): %v.\n",
		allCounted, notify.Pace, sentPaced, time.Minute, receivedPaced)
	if !in.pagesDone {
		fmt.Printf("Some pages never showed every message within the wait.\n")
	}
	if !in.notesDone {
		fmt.Printf("The notifications were not all sent within the wait (%s after the burst).\n", in.end.Sub(in.sendEnd).Round(time.Second))
	}
	if rej := in.ps.Rejected(); len(rej) > 0 {
		fmt.Printf("The push service refused %d pushes: %v\n", len(rej), rej)
	}
	fmt.Printf("burst to last notification: %s\n", in.end.Sub(in.start).Round(100*time.Millisecond))
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// percentile is the nearest-rank percentile of sorted values.
func percentile(sorted []float64, q int) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := (len(sorted)*q + 99) / 100
	return sorted[max(0, min(len(sorted)-1, i-1))]
}

func last(sorted []float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[len(sorted)-1]
}

// loadAverage is the machine's load: the bench shares it with whatever else runs.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	return strings.Join(strings.Fields(string(b))[:3], " ")
}

// vmHWM is this process's peak resident set size.
func vmHWM() string {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return "?"
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			return strings.TrimSpace(v)
		}
	}
	return "?"
}

var parentLines = []string{"いつもお世話になっております。", "本日は体調不良のため欠席させていただきます。", "今日の遠足の集合時間は何時でしょうか。",
	"雨の場合も遠足はありますか。", "水筒を持たせるのを忘れました。", "よろしくお願いいたします。", "お弁当は必要でしょうか。"}

// client is a staff member's browser: a cookie jar, no automatic redirects, and the
// session's CSRF token, read from the pages while signing in.
type client struct {
	base      string
	http      *http.Client
	signingIn bool
	csrf      string
}

var csrfInput = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

var transport = &http.Transport{MaxIdleConnsPerHost: 16}

func (c *client) do(req *http.Request) (int, http.Header, string, error) {
	res, err := c.http.Do(req)
	if err != nil {
		return 0, nil, "", err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if m := csrfInput.FindSubmatch(b); c.signingIn && m != nil {
		c.csrf = string(m[1])
	}
	return res.StatusCode, res.Header, string(b), err
}

func (c *client) get(path string) (int, http.Header, string, error) {
	req, _ := http.NewRequest(http.MethodGet, c.base+path, nil)
	return c.do(req)
}

// post sends a form with the session's CSRF token.
func (c *client) post(path string, form url.Values) (int, http.Header, string, error) {
	f := url.Values{"csrf": {c.csrf}}
	for k, v := range form {
		f[k] = v
	}
	req, _ := http.NewRequest(http.MethodPost, c.base+path, strings.NewReader(f.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return c.do(req)
}

// signIn signs a teacher in through the sign-in form (demo teachers have no second
// factor).
func signIn(base, login string) (*client, error) {
	jar, _ := cookiejar.New(nil)
	c := &client{base: base, signingIn: true, http: &http.Client{Jar: jar, Timeout: 60 * time.Second, Transport: transport,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	defer func() { c.signingIn = false }()
	if _, _, _, err := c.get("/staff/login"); err != nil {
		return nil, err
	}
	if st, _, _, err := c.post("/staff/login", url.Values{"login": {login}, "password": {demo.Password}}); err != nil || st != http.StatusSeeOther {
		return nil, fmt.Errorf("sign in %s: status %d: %v", login, st, err)
	}
	if st, _, _, err := c.get("/staff/account"); err != nil || st != http.StatusOK {
		return nil, fmt.Errorf("after sign-in %s: account page %d: %v", login, st, err)
	}
	if c.csrf == "" {
		return nil, errors.New("no CSRF token on the pages")
	}
	return c, nil
}
