// Command webhookbench measures webhook ingest and the processing behind it against
// `renraku serve` running as a process of its own, with an open-loop load generator
// (this process: many connections, latency counted from each request's scheduled
// time, one event per request, each a text message from a user renraku does not know
// yet). In the same run it measures PostgreSQL's own ceiling with pgbench (one-row
// INSERT transactions) and a bare handler that only verifies and parses (lineapi, on
// the SDK). Run it with a database (cmd/pgrun provides one; -durable keeps fsync on):
//
//	go run ./cmd/pgrun -- go run ./cmd/webhookbench
//	go run ./cmd/pgrun -durable -- go run ./cmd/webhookbench
//
// For each fixed rate it prints ingest (achieved, p50/p99 acknowledgement), then how
// long the burst took to be processed (every event handled, every answer sent) counted
// from its start, and how many answers used the reply token. The step search offers
// increasing rates for -step-seconds each and reports the highest rate sustained (p99
// < 100 ms, at least 99 % of offered acknowledged). The server's peak RSS (VmHWM and
// the largest VmRSS sampled during each run) is printed with each run. Traffic goes
// only to 127.0.0.1. Results go to stdout for docs/PERFORMANCE.md.
package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/renraku/renraku/internal/app"
	"github.com/renraku/renraku/internal/benchkit"
	"github.com/renraku/renraku/internal/config"
	"github.com/renraku/renraku/internal/demo"
	"github.com/renraku/renraku/internal/lineapi"
	"github.com/renraku/renraku/internal/linesim"
	"github.com/renraku/renraku/internal/logging"
	"github.com/renraku/renraku/internal/schema"
	"github.com/renraku/renraku/internal/vault"
)

func main() {
	rates := flag.String("rates", "2000", "offered rates of the fixed runs, events per second (empty: none)")
	seconds := flag.Int("seconds", 10, "seconds per fixed run (the burst)")
	search := flag.String("search", "1000,2000,3000,4000,5000,6000,7000,8000", "rates of the step search for the highest sustained rate (empty: none)")
	stepSeconds := flag.Int("step-seconds", 5, "seconds per step of the search")
	conns := flag.Int("conns", 1024, "most connections the generator opens at once")
	bare := flag.Bool("bare", true, "also offer the fixed rates to the bare SDK handler")
	pgb := flag.Bool("pgbench", true, "measure pgbench's one-row INSERT rate in the same run")
	drain := flag.Duration("drain", 3*time.Minute, "longest wait for a run's events to be processed")
	flag.Parse()
	dbURL := os.Getenv("DATABASE_URL")
	if dbURL == "" {
		log.Fatal("webhookbench: DATABASE_URL is required (use cmd/pgrun)")
	}
	ctx := context.Background()
	m, err := schema.NewMigrator(dbURL)
	if err != nil {
		log.Fatal(err)
	}
	if err := m.Up(); err != nil {
		log.Fatal(err)
	}
	m.Close()
	pool, err := pgxpool.New(ctx, dbURL)
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Close()

	dir, _ := os.MkdirTemp("", "webhookbench")
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

	// The server's address, chosen now so the demo's channel points its webhook there.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	base := "http://" + addr

	// Seed the demo (its channel and secret) with an app in this process, then stop it.
	cfg := &config.Config{DatabaseURL: dbURL, AllowOwnerRole: true, Addr: "127.0.0.1:0", ShutdownTimeout: 10 * time.Second,
		KeysetFile: keyset, MasterKey: key, LineAPIURL: simURL, LineDataAPIURL: simURL}
	seeder := app.New(cfg, logging.New(io.Discard, slog.LevelError))
	if err := seeder.Start(ctx); err != nil {
		log.Fatal(err)
	}
	ch, err := demo.Seed(ctx, seeder.Services(), sim, base)
	if err != nil {
		log.Fatal(err)
	}
	_ = seeder.Close(ctx)
	secret := ch.Secret.Reveal()

	var fsync, syncCommit string
	_ = pool.QueryRow(ctx, `SELECT current_setting('fsync'), current_setting('synchronous_commit')`).Scan(&fsync, &syncCommit)
	fmt.Printf("# webhookbench %s: PostgreSQL fsync=%s synchronous_commit=%s\n", time.Now().Format("2006-01-02 15:04"), fsync, syncCommit)
	benchkit.LoadAverage("start")

	// pgbench first, on a quiet database.
	if *pgb {
		tps, err := pgbench(ctx, pool, dbURL, dir)
		if err != nil {
			log.Printf("pgbench: %v", err)
		} else {
			fmt.Printf("\npgbench, one-row INSERT per transaction (-c 16 -j 2 -T 8): **%.0f tps**; 0.25 × = %.0f ev/s\n", tps, tps/4)
		}
	}

	srv, err := benchkit.Serve(ctx, benchkit.ServeConfig{Dir: dir, Addr: addr, DatabaseURL: dbURL, Keyset: keyset, MasterKey: key, SimURL: simURL})
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Stop()
	target := base + "/line/webhook/" + ch.LineChannelID

	bareSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err == nil && !lineapi.ValidSignature(secret, r.Header.Get("X-Line-Signature"), body) {
			err = errors.New("bad signature")
		}
		if err == nil {
			_, err = lineapi.ParseCallback(body)
		}
		if err != nil {
			http.Error(w, "bad", http.StatusBadRequest)
			return
		}
		_, _ = io.WriteString(w, "{}")
	}))
	defer bareSrv.Close()

	gen := newGenerator(*conns, secret)
	token := func(user string) string { return sim.IssueReplyToken(ch.LineChannelID, user) }
	if *rates != "" {
		fmt.Printf("\n## Fixed rates, %d s each (a burst), then processed\n\n", *seconds)
		fmt.Printf("| target | offered ev/s | achieved ev/s | p50 ms | p99 ms | errors | all processed and answered, s from start (events processed) | replies / pushes | server VmRSS max / VmHWM MB |\n| --- | --- | --- | --- | --- | --- | --- | --- | --- |\n")
		for _, rs := range strings.Split(*rates, ",") {
			rate, _ := strconv.Atoi(strings.TrimSpace(rs))
			if *bare {
				r := gen.run(bareSrv.URL, rate, time.Duration(*seconds)*time.Second, nil)
				fmt.Printf("| bare SDK handler | %d | %.0f | %.2f | %.2f | %d | – | – | – |\n", rate, r.rate, r.p50, r.p99, r.errors)
			}
			before := dbNow(ctx, pool)
			rss := srv.SampleRSS()
			r := gen.run(target, rate, time.Duration(*seconds)*time.Second, token)
			done, replies, pushes := waitProcessed(ctx, pool, gen.lastPrefix, before, r.start, *drain)
			maxRSS := rss.Stop()
			fmt.Printf("| renraku serve | %d | %.0f | %.2f | %.2f | %d | %s | %d / %d | %.0f / %.0f |\n",
				rate, r.rate, r.p50, r.p99, r.errors, done, replies, pushes, maxRSS, srv.HWM())
		}
	}
	if *search != "" {
		fmt.Printf("\n## Step search, %d s a step (sustained: p99 < 100 ms and ≥ 99 %% acknowledged; the backlog drains between steps)\n\n", *stepSeconds)
		fmt.Printf("| offered ev/s | achieved ev/s | p50 ms | p99 ms | errors | sustained | processed and answered, s from start (events processed) | server VmRSS max MB |\n| --- | --- | --- | --- | --- | --- | --- | --- |\n")
		best := 0
		for _, rs := range strings.Split(*search, ",") {
			rate, _ := strconv.Atoi(strings.TrimSpace(rs))
			before := dbNow(ctx, pool)
			rss := srv.SampleRSS()
			r := gen.run(target, rate, time.Duration(*stepSeconds)*time.Second, token)
			done, _, _ := waitProcessed(ctx, pool, gen.lastPrefix, before, r.start, *drain)
			maxRSS := rss.Stop()
			ok := r.p99 < 100 && float64(r.ok) >= 0.99*float64(r.offered)
			fmt.Printf("| %d | %.0f | %.2f | %.2f | %d | %v | %s | %.0f |\n", rate, r.rate, r.p50, r.p99, r.errors, ok, done, maxRSS)
			if !ok {
				break
			}
			best = rate
		}
		fmt.Printf("\nHighest sustained rate: **%d ev/s**; server VmHWM %.0f MB\n", best, srv.HWM())
	}
	benchkit.LoadAverage("end")
}

// pgbench measures one-row INSERT transactions on the same cluster.
func pgbench(ctx context.Context, pool *pgxpool.Pool, dbURL, dir string) (float64, error) {
	if _, err := pool.Exec(ctx, `CREATE TABLE IF NOT EXISTS bench_insert (id bigserial PRIMARY KEY, payload text NOT NULL)`); err != nil {
		return 0, err
	}
	defer pool.Exec(ctx, `DROP TABLE IF EXISTS bench_insert`) //nolint:errcheck
	script := filepath.Join(dir, "insert.sql")
	if err := os.WriteFile(script, []byte("INSERT INTO bench_insert (payload) VALUES (repeat('x', 300));\n"), 0o600); err != nil {
		return 0, err
	}
	bin := "pgbench"
	if d := os.Getenv("RENRAKU_PG_BIN"); d != "" {
		bin = filepath.Join(d, "pgbench")
	}
	out, err := exec.CommandContext(ctx, bin, "-n", "-c", "16", "-j", "2", "-T", "8", "-f", script, dbURL).CombinedOutput()
	if err != nil {
		return 0, fmt.Errorf("%w: %s", err, out)
	}
	mm := regexp.MustCompile(`tps = ([0-9.]+)`).FindSubmatch(out)
	if mm == nil {
		return 0, fmt.Errorf("no tps in %s", out)
	}
	return strconv.ParseFloat(string(mm[1]), 64)
}

// dbNow is the database's time: answers queued after it belong to the next run.
func dbNow(ctx context.Context, pool *pgxpool.Pool) time.Time {
	var t time.Time
	_ = pool.QueryRow(ctx, `SELECT now()`).Scan(&t)
	return t
}

// waitProcessed waits until every event of the run is processed and every answer
// queued since is sent, and returns when that was (seconds from the run's start), and
// how many answers went as replies and as pushes.
func waitProcessed(ctx context.Context, pool *pgxpool.Pool, prefix string, outboundSince, start time.Time, limit time.Duration) (string, int, int) {
	deadline := time.Now().Add(limit)
	for {
		// The figures come from the rows' own times, not from when this loop sees
		// them: look cheaply (an index of pending events) until none is pending, so
		// that the measuring does not take the database's time from what it measures.
		var busy bool
		_ = pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM line_event WHERE processed_at IS NULL)`).Scan(&busy)
		if busy && time.Now().Before(deadline) {
			time.Sleep(100 * time.Millisecond)
			continue
		}
		var pending, queued, replies, pushes int
		var lastEvent, lastSent *time.Time
		_ = pool.QueryRow(ctx, `SELECT count(*) FILTER (WHERE processed_at IS NULL), max(processed_at)
			FROM line_event WHERE webhook_event_id LIKE $1`, prefix+"%").Scan(&pending, &lastEvent)
		_ = pool.QueryRow(ctx, `SELECT count(*) FILTER (WHERE state = 'queued'), count(*) FILTER (WHERE method = 'reply'),
			count(*) FILTER (WHERE method = 'push'), max(sent_at) FROM line_outbound WHERE created_at >= $1`, outboundSince).
			Scan(&queued, &replies, &pushes, &lastSent)
		if pending == 0 && queued == 0 {
			last := start
			if lastEvent != nil && lastEvent.After(last) {
				last = *lastEvent
			}
			processed := last
			if lastSent != nil && lastSent.After(last) {
				last = *lastSent
			}
			return fmt.Sprintf("%.1f (events %.1f)", last.Sub(start).Seconds(), processed.Sub(start).Seconds()), replies, pushes
		}
		if time.Now().After(deadline) {
			return fmt.Sprintf("> %.0f (%d events, %d answers left)", limit.Seconds(), pending, queued), replies, pushes
		}
		time.Sleep(100 * time.Millisecond)
	}
}

type result struct {
	start             time.Time
	offered, ok       int
	rate, p50, p99    float64
	errors            int
	firstErr          string
	firstErrCountOnce sync.Once
}

// generator offers events open loop: each request starts at its scheduled time
// whether or not earlier ones finished, and its latency counts from that time.
type generator struct {
	client     *http.Client
	secret     string
	run0       string
	runs       int
	lastPrefix string
}

func newGenerator(conns int, secret string) *generator {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return &generator{
		client: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
			MaxIdleConns: conns, MaxIdleConnsPerHost: conns, MaxConnsPerHost: conns, IdleConnTimeout: time.Minute}},
		secret: secret, run0: strings.ToUpper(hex.EncodeToString(b)),
	}
}

// run offers rate events a second for d. token, when set, gives the reply token of
// event i from user (the simulator issues them as LINE would).
func (g *generator) run(target string, rate int, d time.Duration, token func(user string) string) *result {
	g.runs++
	prefix := fmt.Sprintf("01WB%s%03d", g.run0, g.runs)
	g.lastPrefix = prefix
	n := rate * int(d/time.Second)
	tokens := make([]string, n)
	for i := range tokens {
		if token != nil {
			tokens[i] = token(userOf(g.runs, i))
		} else {
			tokens[i] = fmt.Sprintf("%032x", i)
		}
	}
	interval := time.Second / time.Duration(rate)
	lat := make([]float64, n)
	var errs, okN atomic.Int64
	res := &result{offered: n}
	var wg sync.WaitGroup
	start := time.Now().Add(20 * time.Millisecond)
	res.start = start
	for i := 0; i < n; i++ {
		sched := start.Add(time.Duration(i) * interval)
		if w := time.Until(sched); w > 0 {
			time.Sleep(w)
		}
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			body := event(prefix, g.runs, i, tokens[i])
			mac := hmac.New(sha256.New, []byte(g.secret))
			mac.Write(body)
			req, _ := http.NewRequest(http.MethodPost, target, bytes.NewReader(body))
			req.Header.Set("X-Line-Signature", base64.StdEncoding.EncodeToString(mac.Sum(nil)))
			req.Header.Set("Content-Type", "application/json")
			resp, err := g.client.Do(req)
			lat[i] = -1
			if err != nil {
				errs.Add(1)
				res.firstErrCountOnce.Do(func() { res.firstErr = err.Error() })
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				errs.Add(1)
				res.firstErrCountOnce.Do(func() { res.firstErr = resp.Status })
				return
			}
			lat[i] = float64(time.Since(sched).Microseconds()) / 1000
			okN.Add(1)
		}(i)
	}
	wg.Wait()
	elapsed := time.Since(start).Seconds()
	var got []float64
	for _, l := range lat {
		if l >= 0 {
			got = append(got, l)
		}
	}
	sort.Float64s(got)
	pct := func(p float64) float64 {
		if len(got) == 0 {
			return 0
		}
		return got[int(p*float64(len(got)-1))]
	}
	res.ok = int(okN.Load())
	res.rate, res.p50, res.p99, res.errors = float64(res.ok)/elapsed, pct(0.50), pct(0.99), int(errs.Load())
	if res.firstErr != "" {
		log.Printf("first error at %d ev/s: %s", rate, res.firstErr)
	}
	return res
}

// userOf is the user of event i of a run: one renraku has not seen.
func userOf(run, i int) string { return fmt.Sprintf("U%08x%024x", run, i+1) }

// event is one text message from a user renraku has not seen (unique per run and
// index).
func event(prefix string, run, i int, token string) []byte {
	id := fmt.Sprintf("%s%011d", prefix, i)
	return []byte(fmt.Sprintf(`{"destination":"Ubot","events":[{"type":"message","mode":"active","timestamp":%d,"webhookEventId":%q,"deliveryContext":{"isRedelivery":false},"source":{"type":"user","userId":%q},"replyToken":%q,"message":{"type":"text","id":"%d","quoteToken":"q","text":"明日は欠席します"}}]}`,
		time.Now().UnixMilli(), id, userOf(run, i), token, i))
}
