// Command absencebench measures the parents' absence form at the morning peak:
// submissions per second and p50/p99 latency at fixed offered rates (open loop, each
// latency counted from the submission's scheduled time), each submission from its own
// parent through the real page (link, browser cookie, form post, encryption, audit,
// the LINE confirmation in the outbox with its job, the page shown again). Run it with
// a database (cmd/pgrun provides one; -durable for fsync on):
//
//	go run ./cmd/pgrun -- go run ./cmd/absencebench -rates 50,350,500 -seconds 10
//
// It prints, besides each rate's figures: the machine and PostgreSQL's settings, the
// load average, a same-run baseline (GET /readyz, one database round trip, offered at
// the highest rate), the CPU time of this process and of PostgreSQL per submission,
// how long after each run the last confirmation reached the LINE simulator (every
// parent must get exactly one), and the process's peak RSS (VmHWM). App, simulator and
// load generator share this process, so its peak RSS bounds the app's.
//
// A city of 30,000 pupils with 5% reporting within 30 minutes offers 0.83 reports a
// second; 500/s is the stress run. Results go to stdout for docs/PERFORMANCE.md.
package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"runtime/pprof"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/renraku/renraku/internal/absence"
	"github.com/renraku/renraku/internal/app"
	"github.com/renraku/renraku/internal/benchkit"
	"github.com/renraku/renraku/internal/demo"
	"github.com/renraku/renraku/internal/line"
	"github.com/renraku/renraku/internal/linesim"
	"github.com/renraku/renraku/internal/parentlink"
	"github.com/renraku/renraku/internal/registration"
	"github.com/renraku/renraku/internal/vault"
)

type parent struct {
	user   string
	link   string
	client *http.Client
	child  string
}

func main() {
	rates := flag.String("rates", "1,50,500", "offered rates, submissions per second")
	seconds := flag.Int("seconds", 10, "seconds per run")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the measured runs to this file")
	history := flag.Int("history", 0, "past reports stored before measuring, spread over the parents (a school year leaves many)")
	flag.Parse()
	dbURL := os.Getenv("DATABASE_URL")
	if dbURL == "" {
		log.Fatal("absencebench: DATABASE_URL is required (use cmd/pgrun)")
	}
	ctx := context.Background()
	env, err := benchkit.Start(ctx, "absencebench", dbURL, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer env.Close(ctx)
	s := env.Services()
	benchkit.Machine(ctx, s)
	ch, err := demo.Seed(ctx, s, env.Sim, env.App.URL())
	if err != nil {
		log.Fatal(err)
	}
	if _, err := demo.SeedStaff(ctx, s); err != nil {
		log.Fatal(err)
	}

	total, top := 0, 0
	var runs []int
	for _, rs := range strings.Split(*rates, ",") {
		rate, err := strconv.Atoi(strings.TrimSpace(rs))
		if err != nil || rate <= 0 {
			log.Fatalf("absencebench: bad rate %q", rs)
		}
		runs = append(runs, rate)
		total += rate * *seconds
		top = max(top, rate)
	}
	t0 := time.Now()
	parents := makeParents(ctx, env, ch, total)
	fmt.Fprintf(os.Stderr, "absencebench: %d parents ready in %s\n", len(parents), time.Since(t0).Round(time.Second))
	if *history > 0 {
		t0 := time.Now()
		if err := seedHistory(ctx, s, *history); err != nil {
			log.Fatal(err)
		}
		fmt.Printf("past reports stored before measuring: %d (%s)\n", *history, time.Since(t0).Round(time.Second))
	}
	fmt.Printf("peak RSS after seeding: %.0f MiB\n", benchkit.PeakRSS())

	if *cpuprofile != "" {
		pf, err := os.Create(*cpuprofile)
		if err != nil {
			log.Fatal(err)
		}
		_ = pprof.StartCPUProfile(pf)
		defer pprof.StopCPUProfile()
	}
	benchkit.LoadAverage("before measuring")
	fmt.Printf("\n| run | offered/s | achieved/s | p50 ms | p99 ms | errors | CPU ms per request: bench process / PostgreSQL (database work per request) | last confirmation after the run, s |\n")
	fmt.Printf("| --- | --- | --- | --- | --- | --- | --- | --- |\n")
	ready := env.App.URL() + "/readyz"
	c0 := cpu(ctx, s)
	r := run(top**seconds, top, func(int) (*http.Response, error) { return http.Get(ready) })
	fmt.Printf("| baseline: GET /readyz | %d | %.1f | %.1f | %.1f | %d | %s | – |\n", top, r.rate, r.p50, r.p99, r.errors, cpu(ctx, s).per(c0, top**seconds))
	next := 0
	for _, rate := range runs {
		n := rate * *seconds
		batch := parents[next : next+n]
		next += n
		tomorrow := absence.Today(time.Now()).AddDate(0, 0, 1).Format("2006-01-02")
		c0 := cpu(ctx, s)
		sent0 := confirmations(ctx, s)
		r := run(n, rate, func(i int) (*http.Response, error) {
			p := batch[i]
			k := make([]byte, 18)
			_, _ = rand.Read(k)
			form := url.Values{"key": {base64.RawURLEncoding.EncodeToString(k)}, "child": {p.child}, "kind": {"absent"}, "from": {tomorrow},
				"reason": {"illness"}, "symptoms": {"fever"}, "temperature": {"38.0"}, "note": {"発熱のため休みます"}}
			return p.client.PostForm(p.link, form)
		})
		end := time.Now()
		drained := waitConfirmations(ctx, s, sent0+n-r.errors)
		fmt.Printf("| absence form | %d | %.1f | %.1f | %.1f | %d | %s | %s |\n", rate, r.rate, r.p50, r.p99, r.errors, cpu(ctx, s).per(c0, n), drained(end))
	}
	benchkit.LoadAverage("after measuring")
	fmt.Printf("peak RSS of the bench process (app, LINE simulator and load generator): %.0f MiB\n", benchkit.PeakRSS())
	checkOnce(ctx, env, ch.LineChannelID, parents[:next])
}

// makeParents registers n verified parents of children in the demo school's classes,
// each a friend of the demo channel in the LINE simulator (straight through the
// stores: registration is not what is measured), and opens each one's absence link
// once in its own browser, as a parent does before filling the form.
func makeParents(ctx context.Context, env *benchkit.Env, ch line.Channel, n int) []parent {
	s := env.Services()
	sc, err := s.Schools.FindSchool(ctx, demo.Schools[0].Name)
	if err != nil {
		log.Fatal(err)
	}
	rows, _ := s.Pool.Query(ctx, `SELECT id FROM class WHERE school_id = $1`, sc.ID)
	classes, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil || len(classes) == 0 {
		log.Fatalf("classes: %v", err)
	}
	users, err := env.Sim.AddFriends(ch.LineChannelID, n, "ja")
	if err != nil {
		log.Fatal(err)
	}
	out := make([]parent, n)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 16)
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func(i int) {
			defer wg.Done()
			defer func() { <-sem }()
			var link string
			err := s.Tx.InTx(ctx, func(ctx context.Context) error {
				f := line.Friend{ChannelID: ch.ID, UserID: vault.Personal(users[i].ID), Language: "ja", Following: true}
				if err := s.LINE.Store.SaveFriendFollow(ctx, &f, time.Now()); err != nil {
					return err
				}
				st := s.Registration.Store
				g := registration.Guardian{FriendID: f.ID, Name: vault.Personal(fmt.Sprintf("保護者 %d", i)), Relationship: "mother",
					Nickname: vault.Personal(fmt.Sprintf("保護者%d", i)), Language: "ja", ConsentVersion: registration.NoticeVersion, ConsentedAt: time.Now()}
				if err := st.SaveGuardian(ctx, &g); err != nil {
					return err
				}
				child, err := st.FindOrCreateChild(ctx, sc.ID, classes[i%len(classes)], vault.Personal(fmt.Sprintf("児童 %d", i)))
				if err != nil {
					return err
				}
				if _, err := st.LinkChild(ctx, g.ID, child, registration.Verified, "code"); err != nil {
					return err
				}
				out[i].child = strconv.FormatInt(child, 10)
				link, err = s.Registration.IssueLink(ctx, f.ID, parentlink.PurposeAbsence)
				return err
			})
			if err != nil {
				log.Fatalf("parent %d: %v", i, err)
			}
			jar, _ := cookiejar.New(nil)
			c := &http.Client{Jar: jar, Timeout: 30 * time.Second, Transport: transport}
			res, err := c.Get(link)
			if err != nil || res.StatusCode != http.StatusOK {
				log.Fatalf("open link %d: %v", i, err)
			}
			_, _ = io.Copy(io.Discard, res.Body)
			res.Body.Close()
			out[i].user, out[i].link, out[i].client = users[i].ID, link, c
		}(i)
	}
	wg.Wait()
	return out
}

// The parents' browsers share connections (as if behind one proxy): a bench that
// opened one per parent would measure the sockets.
var transport = &http.Transport{MaxIdleConnsPerHost: 512}

type result struct {
	rate, p50, p99 float64
	errors         int
}

// run makes n requests at a fixed rate (open loop): request i is due at start + i/rate,
// and its latency counts from then, so a generator that falls behind counts the wait.
func run(n, rate int, do func(i int) (*http.Response, error)) result {
	interval := time.Second / time.Duration(rate)
	var mu sync.Mutex
	lat := make([]float64, 0, n)
	errs := 0
	var wg sync.WaitGroup
	start := time.Now()
	for i := range n {
		due := start.Add(time.Duration(i) * interval)
		time.Sleep(time.Until(due))
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			res, err := do(i)
			ok := err == nil && res.StatusCode == http.StatusOK
			if res != nil {
				_, _ = io.Copy(io.Discard, res.Body)
				res.Body.Close()
			}
			ms := float64(time.Since(due).Microseconds()) / 1000
			mu.Lock()
			defer mu.Unlock()
			if !ok {
				errs++
				return
			}
			lat = append(lat, ms)
		}(i)
	}
	wg.Wait()
	elapsed := time.Since(start).Seconds()
	sort.Float64s(lat)
	r := result{errors: errs, rate: float64(len(lat)) / elapsed}
	if len(lat) > 0 {
		r.p50 = lat[len(lat)/2]
		r.p99 = lat[min(len(lat)-1, len(lat)*99/100)]
	}
	return r
}

// cpuTime is the CPU time used so far by this process and by PostgreSQL's processes,
// and the database's transactions and (with pg_stat_statements) statements.
type cpuTime struct {
	self, pg    time.Duration
	xacts, stmt int64
}

const clockTick = 10 * time.Millisecond // USER_HZ, 100 on Linux

func cpu(ctx context.Context, s *app.Services) cpuTime {
	var c cpuTime
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		c.self = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	_ = s.Pool.QueryRow(ctx, `SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = current_database()`).Scan(&c.xacts)
	_ = s.Pool.QueryRow(ctx, `SELECT sum(calls)::bigint FROM pg_stat_statements`).Scan(&c.stmt) // when installed
	// Every server process (backends, WAL writer, checkpointer …) is listed there.
	rows, _ := s.Pool.Query(ctx, `SELECT pid FROM pg_stat_activity`)
	pids, _ := pgx.CollectRows(rows, pgx.RowTo[int32])
	for _, pid := range pids {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue
		}
		// The fields after the command's closing parenthesis; utime and stime are the
		// 14th and 15th fields of the whole line.
		f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
		if len(f) > 12 {
			u, _ := strconv.ParseInt(f[11], 10, 64)
			st, _ := strconv.ParseInt(f[12], 10, 64)
			c.pg += time.Duration(u+st) * clockTick
		}
	}
	return c
}

// per formats the CPU time used since c0 per request.
func (c cpuTime) per(c0 cpuTime, n int) string {
	if n == 0 {
		return "–"
	}
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 / float64(n) }
	out := fmt.Sprintf("%.2f / %.2f (%.1f transactions", ms(c.self-c0.self), ms(c.pg-c0.pg), float64(c.xacts-c0.xacts)/float64(n))
	if c.stmt > 0 {
		out += fmt.Sprintf(", %.1f statements", float64(c.stmt-c0.stmt)/float64(n))
	}
	return out + ")"
}

// confirmations counts the absence confirmations handed to LINE.
func confirmations(ctx context.Context, s *app.Services) int {
	var n int
	if err := s.Pool.QueryRow(ctx, `SELECT count(*) FROM line_outbound WHERE purpose = 'absence' AND state = $1`, line.StateSent).Scan(&n); err != nil {
		log.Fatal(err)
	}
	return n
}

// waitConfirmations waits (up to a minute) until want confirmations were sent and
// returns how to say when the last one went, from a run's end.
func waitConfirmations(ctx context.Context, s *app.Services, want int) func(end time.Time) string {
	deadline := time.Now().Add(time.Minute)
	for confirmations(ctx, s) < want {
		if time.Now().After(deadline) {
			return func(time.Time) string { return "not all within a minute" }
		}
		time.Sleep(20 * time.Millisecond)
	}
	done := time.Now()
	return func(end time.Time) string { return fmt.Sprintf("%.1f", done.Sub(end).Seconds()) }
}

// checkOnce checks that every parent's chat in the LINE simulator holds exactly one
// message from the school (the confirmation), and says so.
func checkOnce(ctx context.Context, env *benchkit.Env, channel string, parents []parent) {
	var sent, other int
	if err := env.Services().Pool.QueryRow(ctx, `SELECT count(*) FILTER (WHERE state = $1), count(*) FILTER (WHERE state <> $1)
		FROM line_outbound WHERE purpose = 'absence'`, line.StateSent).Scan(&sent, &other); err != nil {
		log.Fatal(err)
	}
	once, none, more := 0, 0, 0
	for _, p := range parents {
		n := 0
		for _, it := range env.Sim.Chat(channel, p.user) {
			if it.From == linesim.FromBot {
				n++
			}
		}
		switch {
		case n == 0:
			none++
		case n == 1:
			once++
		default:
			more++
		}
	}
	fmt.Printf("confirmations: outbox %d sent, %d not; LINE simulator: %d parents got one, %d none, %d more than one (of %d)\n",
		sent, other, once, none, more, len(parents))
}

// seedHistory stores n past reports (acknowledged, 15 to 380 days ago) over the
// verified guardianships, as the months before a morning leave them. Their detail is
// a hash, not a document: nothing the bench does reads a report older than the form's
// two weeks.
func seedHistory(ctx context.Context, s *app.Services, n int) error {
	_, err := s.Pool.Exec(ctx, `WITH gs AS (SELECT gs.guardian_id, gs.child_id, c.school_id, c.class_id, row_number() OVER () AS k, count(*) OVER () AS m
			FROM guardianship gs JOIN child c ON c.id = gs.child_id WHERE gs.status = 'verified')
		INSERT INTO absence_report (child_id, guardian_id, school_id, class_id, kind, date_from, date_to, detail_enc, status, submit_key, created_at)
		SELECT gs.child_id, gs.guardian_id, gs.school_id, gs.class_id, 'absent', current_date - d, current_date - d, sha512(('d' || i)::bytea), 'acknowledged',
			sha256(('history' || i)::bytea), now() - d * interval '1 day'
		FROM generate_series(0, $1 - 1) i JOIN gs ON gs.k = i % gs.m + 1 CROSS JOIN LATERAL (SELECT 15 + (i * 7919) % 365 AS d) x`, n)
	if err != nil {
		return fmt.Errorf("history: %w", err)
	}
	_, err = s.Pool.Exec(ctx, `VACUUM ANALYZE absence_report`)
	return err
}
