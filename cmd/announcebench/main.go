// Command announcebench measures a city-wide safety alert (issue 9): the board sends one
// alert to the 50,000 guardians of 40 schools, and the bench times it from Send
// returning until the LINE simulator has delivered it to every guardian, exactly once.
// It starts the real app against the LINE simulator with LINE's rate limits, seeds the
// schools, channels and families in bulk (COPY, encrypted as the stores encrypt), and
// sends as the demo board's administrator through the announce service. Run it with a
// database (cmd/pgrun provides one):
//
//	go run ./cmd/pgrun -- go run ./cmd/announcebench
//
// Each scenario sets one multicast limit on both sides (simulator and the app's client)
// and sends three alerts. The lower bound of a scenario is what LINE's sliding window
// allows: a channel with B batches at R requests a second needs floor((B−1)/R) seconds
// after its first request, the longest channel decides. Direct senders without database
// or job queue send the same batches to the same simulator as baselines. Results go to
// stdout for docs/PERFORMANCE.md.
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"math"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/renraku/renraku/internal/announce"
	"github.com/renraku/renraku/internal/app"
	"github.com/renraku/renraku/internal/authz"
	"github.com/renraku/renraku/internal/benchkit"
	"github.com/renraku/renraku/internal/demo"
	"github.com/renraku/renraku/internal/line"
	"github.com/renraku/renraku/internal/lineapi"
	"github.com/renraku/renraku/internal/linesim"
	"github.com/renraku/renraku/internal/vault"
)

// senders is how many goroutines the direct senders use: as many as the app's workers
// of the urgent queue (jobs.Config's default).
const senders = 8

func main() {
	nSchools := flag.Int("schools", 40, "schools in the alert's audience")
	perSchool := flag.Int("guardians", 1250, "guardians (one child each) per school")
	runs := flag.Int("runs", 3, "alerts per scenario")
	only := flag.String("scenarios", "", "comma-separated scenario keys to run (default all: 1,2a,2b,2c,2d)")
	direct := flag.Bool("direct", true, "also run the direct senders (no database, no job queue)")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of each scenario's alerts to PREFIX.KEY.pprof")
	hold := flag.Duration("hold", 0, "keep the app and database running this long after measuring (for EXPLAIN, psql)")
	flag.Parse()
	dbURL := os.Getenv("DATABASE_URL")
	if dbURL == "" {
		log.Fatal("announcebench: DATABASE_URL is required (use cmd/pgrun)")
	}
	watch := &multicastWatch{}
	ctx := context.Background()
	env, err := benchkit.Start(ctx, "announcebench", dbURL, watch.wrap)
	if err != nil {
		log.Fatal(err)
	}
	defer env.Close(ctx)
	a, sim, simURL := env.App, env.Sim, env.SimURL
	s := a.Services()
	if _, err := demo.Seed(ctx, s, sim, a.URL()); err != nil {
		log.Fatal(err)
	}
	if _, err := demo.SeedStaff(ctx, s); err != nil {
		log.Fatal(err)
	}
	admin, err := s.Staff.FindByLogin(ctx, "midori.kyoiku")
	if err != nil {
		log.Fatal(err)
	}
	actor, err := s.Staff.Actor(ctx, admin.ID, admin.SessionEpoch)
	if err != nil {
		log.Fatal(err)
	}
	asAdmin := authz.WithActor(ctx, actor)

	benchkit.Machine(ctx, s)
	t0 := time.Now()
	own, err := benchkit.SeedGroup(ctx, s, sim, "", actor.BoardID, "第", *nSchools, *perSchool, false)
	if err != nil {
		log.Fatalf("seed: %v", err)
	}
	shared, err := benchkit.SeedGroup(ctx, s, sim, "", actor.BoardID, "緑", *nSchools, *perSchool, true)
	if err != nil {
		log.Fatalf("seed: %v", err)
	}
	if _, err := s.Pool.Exec(ctx, `VACUUM ANALYZE school, class, line_friend, guardian, child, guardianship`); err != nil {
		log.Fatal(err)
	}
	fmt.Fprintf(os.Stderr, "announcebench: seeded 2 × %d schools, %d guardians each group, in %s\n",
		*nSchools, own.Guardians(), time.Since(t0).Round(100*time.Millisecond))

	poll, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		log.Fatal(err)
	}
	defer poll.Close(ctx)
	meter, err := newCPUMeter(ctx, s)
	if err != nil {
		log.Fatal(err)
	}
	b := &bench{s: s, sim: sim, watch: watch, simURL: simURL, poll: poll, admin: asAdmin, cpu: meter}

	scenarios := []scenario{
		{"1", "a channel per school, LINE's limit", own, 200},
		{"2a", "a channel per school, tightened", own, 2},
		{"2b", "a channel per school, tightened", own, 1},
		{"2c", "one shared channel, tightened", shared, 20},
		{"2d", "one shared channel, LINE's limit", shared, 200},
	}
	if *only != "" {
		keep := strings.Split(*only, ",")
		scenarios = slices.DeleteFunc(scenarios, func(sc scenario) bool { return !slices.Contains(keep, sc.key) })
	}

	var rows []summary
	fmt.Printf("\nPer alert (seconds from Send returning; direct senders from their start):\n\n")
	fmt.Printf("| scenario | sender | run | Create | Send | Send→start job | start job | start job→first multicast | Send→first multicast | first→last multicast | **Send→all delivered** | Send→`sent` in DB | 429s | CPU s PostgreSQL / Go | Send→rows written (PostgreSQL CPU s after sent) |\n")
	fmt.Printf("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n")
	first := true
	for _, sc := range scenarios {
		b.setRate(sc.rate)
		if first {
			// The first alert on a new database (empty announcement tables, cold
			// caches and plans) is shown but not counted.
			r := b.pipeline(ctx, sc, "warm-up")
			r.print(sc, "renraku", "warm-up")
			first = false
		}
		if *cpuProfile != "" {
			f, err := os.Create(*cpuProfile + "." + sc.key + ".pprof")
			if err != nil {
				log.Fatal(err)
			}
			if err := pprof.StartCPUProfile(f); err != nil {
				log.Fatal(err)
			}
		}
		var pipe []runResult
		for i := range *runs {
			r := b.pipeline(ctx, sc, fmt.Sprint(i+1))
			r.print(sc, "renraku", fmt.Sprint(i+1))
			pipe = append(pipe, r)
		}
		if *cpuProfile != "" {
			pprof.StopCPUProfile()
		}
		rows = append(rows, summarize(sc, "renraku (River jobs, database)", pipe))
		if !*direct {
			continue
		}
		for _, d := range []struct {
			key, name string
			run       func(scenario, string) runResult
		}{
			{"q", "direct, lineapi.Client, job order", func(sc scenario, tag string) runResult { return b.directClient(sc, tag, false) }},
			{"i", "direct, lineapi.Client, channels interleaved", func(sc scenario, tag string) runResult { return b.directClient(sc, tag, true) }},
			{"w", "direct, HTTP paced to the window", b.directWindow},
		} {
			var rs []runResult
			for i := range *runs {
				r := d.run(sc, fmt.Sprintf("%s%d", d.key, i+1))
				r.print(sc, d.name, fmt.Sprint(i+1))
				rs = append(rs, r)
			}
			rows = append(rows, summarize(sc, d.name, rs))
		}
	}

	benchkit.LoadAverage("after measuring")
	// The app, the LINE simulator and the bench share this process: the figure bounds
	// the app's own peak from above.
	fmt.Printf("peak RSS of the process (app, LINE simulator and bench together): %.0f MiB\n", benchkit.PeakRSS())
	fmt.Printf("\nSummary (min / median / max of %d alerts; bounds in seconds):\n\n", *runs)
	fmt.Printf("| scenario | sender | channels | batches | limit/s | bound (window) | bound (even spacing) | all delivered | ratio to window bound | ratio to even bound | ≤ 1.2× | Send→`sent` in DB |\n")
	fmt.Printf("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n")
	for _, r := range rows {
		r.print()
	}

	if *hold > 0 {
		fmt.Fprintf(os.Stderr, "announcebench: holding for %s: DATABASE_URL=%s app=%s\n", *hold, dbURL, a.URL())
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
		select {
		case <-time.After(*hold):
		case <-sig:
		}
	}
}

// newRetryKey returns a random UUID (version 4), the form LINE requires of a retry key.
func newRetryKey() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// scenario is one audience under one multicast limit.
type scenario struct {
	key   string
	label string
	g     *benchkit.Group
	rate  int
}

// bounds returns the lower bound LINE's sliding window allows (R calls in any second,
// bursts allowed: floor((B−1)/R) s after a channel's first call) and the bound with
// calls evenly spaced at R a second ((B−1)/R s), the longest channel's.
func (sc scenario) bounds() (window, even float64) {
	for _, bs := range sc.g.Batches() {
		b := float64(len(bs))
		window = max(window, math.Floor((b-1)/float64(sc.rate)))
		even = max(even, (b-1)/float64(sc.rate))
	}
	return window, even
}

func (sc scenario) batchCount() int {
	n := 0
	for _, bs := range sc.g.Batches() {
		n += len(bs)
	}
	return n
}

type bench struct {
	s      *app.Services
	sim    *linesim.Sim
	watch  *multicastWatch
	simURL *url.URL
	poll   *pgx.Conn
	admin  context.Context
	rate   int
	cpu    cpuMeter
}

// setRate sets the multicast limit of every channel on both sides.
func (b *bench) setRate(perSecond int) {
	b.rate = perSecond
	b.sim.SetRateLimit(linesim.EndpointMulticast, linesim.RateLimit{Requests: perSecond, Per: time.Second})
	b.s.LINE.Client.SetLimit("multicast", perSecond)
}

// quiet waits until the last second's calls have left LINE's window, so one alert's
// calls do not count against the next one's.
func (b *bench) quiet() {
	time.Sleep(1100 * time.Millisecond)
}

// alert is the safety alert of one run; the marker in its title tells its messages from
// the other runs'.
func alert(g *benchkit.Group, marker string) announce.Compose {
	return announce.Compose{Kind: announce.Safety, Audience: announce.Audience{Schools: g.Schools},
		Title: "不審者情報" + marker,
		Safety: announce.SafetyFields{OccurredAt: "本日 7時40分ごろ", Place: "みどり市中央公園付近の通学路",
			Details: "下校中の児童に声をかける不審な人物が目撃されました。", Response: "集団下校とし、教職員が通学路に立ちます。"},
		Body: "ご家庭でもお子さまへの声かけをお願いします。"}
}

type runResult struct {
	create, send                 time.Duration // the service calls
	toStart, startJob, toBatches time.Duration // Send returned → start job began → ended → first multicast
	firstCall, spread, delivered time.Duration // → first multicast; first → last; → last accepted
	sentDB                       time.Duration // → state sent seen in the database
	recorded                     time.Duration // → every recipient's row written (after the send path)
	cpuPGRecord                  time.Duration // the cluster's CPU from sent to rows written
	tooMany                      int           // 429 answers
	cpuPG, cpuGo                 time.Duration // CPU used meanwhile by the cluster and by this process
}

// pipeline sends one alert through the announce service and waits until the simulator
// has accepted every batch and the announcement is sent in the database.
func (b *bench) pipeline(ctx context.Context, sc scenario, tag string) runResult {
	b.quiet()
	marker := fmt.Sprintf("［訓練 %s-%s］", sc.key, tag)
	var r runResult
	t := time.Now()
	id, err := b.s.Announce.Create(b.admin, alert(sc.g, marker), "市内40校")
	if err != nil {
		log.Fatalf("create: %v", err)
	}
	r.create = time.Since(t)
	want := sc.batchCount()
	done := b.watch.expect(want)
	before := len(b.sim.Calls())
	pg0, go0 := b.cpu.read()
	t = time.Now()
	if _, err := b.s.Announce.Send(b.admin, id, true); err != nil {
		log.Fatalf("send: %v", err)
	}
	sent := time.Now()
	r.send = sent.Sub(t)

	wctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	sentDB := make(chan time.Time, 1)
	go func() {
		for {
			var state string
			if err := b.poll.QueryRow(wctx, `SELECT state FROM announcement WHERE id = $1`, id).Scan(&state); err != nil {
				sentDB <- time.Time{}
				return
			}
			if state == announce.Sent {
				sentDB <- time.Now()
				return
			}
			time.Sleep(5 * time.Millisecond)
		}
	}()
	select {
	case <-done:
	case <-wctx.Done():
		log.Fatalf("%s %s: %d of %d batches accepted after 5 minutes", sc.key, tag, b.watch.count(), want)
	}
	at := <-sentDB
	if at.IsZero() {
		log.Fatalf("%s %s: announcement not sent after 5 minutes", sc.key, tag)
	}
	r.sentDB = at.Sub(sent)
	pg1, go1 := b.cpu.read()
	r.cpuPG, r.cpuGo = pg1-pg0, go1-go0
	first, last, tooMany := b.calls(before)
	r.firstCall, r.delivered, r.spread, r.tooMany = first.Sub(sent), last.Sub(sent), last.Sub(first), tooMany
	b.verify(sc, marker)

	// The recipients' rows are written after the send path, by a job queued when the
	// alert is out: waited for (so the next alert does not share the cores with it),
	// timed and checked (one row per guardian).
	for {
		var left int
		if err := b.poll.QueryRow(wctx, `SELECT count(*) FROM announcement_batch WHERE announcement_id = $1 AND state <> 'queued' AND NOT recorded`,
			id).Scan(&left); err != nil {
			log.Fatalf("%s %s: recipients' rows: %v", sc.key, tag, err)
		}
		if left == 0 {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	r.recorded = time.Since(sent)
	pg2, _ := b.cpu.read()
	r.cpuPGRecord = pg2 - pg1
	var rows, guardians int
	if err := b.s.Pool.QueryRow(ctx, `SELECT count(*), count(DISTINCT guardian_id) FROM announcement_recipient WHERE announcement_id = $1 AND state = 'sent'`,
		id).Scan(&rows, &guardians); err != nil {
		log.Fatal(err)
	}
	if want := sc.g.Guardians(); rows != want || guardians != want {
		log.Fatalf("%s %s: %d recipients' rows for %d guardians, want %d", sc.key, tag, rows, guardians, want)
	}

	// The start job's transaction stamps started_at (PostgreSQL's transaction time);
	// River records the job's end with the worker's clock.
	var began, ended *time.Time
	if err := b.s.Pool.QueryRow(ctx, `SELECT a.started_at, j.finalized_at FROM announcement a
		JOIN river_job j ON j.kind = 'announce.start' AND (j.args->>'announcement_id')::bigint = a.id WHERE a.id = $1`, id).Scan(&began, &ended); err != nil {
		log.Fatalf("job times: %v", err)
	}
	if began != nil && ended != nil {
		r.toStart, r.startJob, r.toBatches = began.Sub(sent), ended.Sub(*began), first.Sub(*ended)
	}
	var unsent, retried int
	if err := b.s.Pool.QueryRow(ctx, `SELECT count(*) FILTER (WHERE state <> 'sent'), count(*) FILTER (WHERE attempts > 1)
		FROM announcement_batch WHERE announcement_id = $1`, id).Scan(&unsent, &retried); err != nil || unsent > 0 {
		log.Fatalf("%s %s: batches not sent %d (%v)", sc.key, tag, unsent, err)
	}
	if retried > 0 {
		// A 429 (the simulator counted the calls closer together than they left) is
		// retried with back-off: legitimate, but it shows in the time, so say so.
		log.Printf("%s %s: %d batches retried after a 429", sc.key, tag, retried)
	}
	return r
}

// calls reads the multicast calls since index from: the first one's time, the last
// accepted one's, and how many LINE refused with 429.
func (b *bench) calls(from int) (first, last time.Time, tooMany int) {
	for _, c := range b.sim.Calls()[from:] {
		if c.Endpoint != linesim.EndpointMulticast {
			continue
		}
		if first.IsZero() || c.Time.Before(first) {
			first = c.Time
		}
		switch c.Status {
		case http.StatusOK:
			if c.Time.After(last) {
				last = c.Time
			}
		case http.StatusTooManyRequests:
			tooMany++
		default:
			log.Fatalf("multicast answered %d", c.Status)
		}
	}
	return first, last, tooMany
}

// verify checks in the simulator that every guardian of the audience received the
// run's alert exactly once.
func (b *bench) verify(sc scenario, marker string) {
	missing, twice := 0, 0
	for _, c := range sc.g.Channels {
		for _, u := range c.Users {
			n := 0
			for _, it := range b.sim.Chat(c.LineID, u) {
				if it.Delivered && strings.Contains(it.Text, marker) {
					n++
				}
			}
			switch {
			case n == 0:
				missing++
			case n > 1:
				twice++
			}
		}
	}
	if missing > 0 || twice > 0 {
		log.Fatalf("%s: %d guardians did not receive the alert, %d received it more than once", marker, missing, twice)
	}
}

// messages are the alert's LINE messages as the app builds them.
func (b *bench) messages(sc scenario, marker string) []line.Message {
	c := alert(sc.g, marker)
	body := announce.SafetyBody(b.s.Announce.T, c.Safety) + "\n\n" + c.Body
	return b.s.Announce.Messages(announce.Announcement{Kind: announce.Safety, Title: vault.Personal(c.Title), Body: vault.Personal(body)}, "ja", false)
}

type job struct {
	ch    benchkit.Channel
	users []string
}

// jobs lists the batches channel by channel (the order the app queues them in), or
// interleaved: every channel's first batch, then every second one, and so on.
func jobs(g *benchkit.Group, interleave bool) []job {
	var out []job
	all := g.Batches()
	if !interleave {
		for i, bs := range all {
			for _, users := range bs {
				out = append(out, job{g.Channels[i], users})
			}
		}
		return out
	}
	for k := 0; ; k++ {
		added := false
		for i, bs := range all {
			if k < len(bs) {
				out = append(out, job{g.Channels[i], bs[k]})
				added = true
			}
		}
		if !added {
			return out
		}
	}
}

// directClient sends the batches from 8 goroutines through a lineapi.Client of its own
// (the app's client code, rate limiter included) straight to the simulator.
func (b *bench) directClient(sc scenario, tag string, interleave bool) runResult {
	b.quiet()
	marker := fmt.Sprintf("［訓練 %s-%s］", sc.key, tag)
	msgs := b.messages(sc, marker)
	c := lineapi.NewClient(b.simURL, b.simURL)
	c.SetLimit("multicast", b.rate)
	work := make(chan job)
	before := len(b.sim.Calls())
	pg0, go0 := b.cpu.read()
	start := time.Now()
	var wg sync.WaitGroup
	for range senders {
		wg.Go(func() {
			for j := range work {
				ch := lineapi.Channel{ID: j.ch.LineID, AccessToken: vault.Personal(j.ch.Token)}
				key := newRetryKey()
				_, err := c.Multicast(context.Background(), ch, j.users, key, msgs)
				for attempt := 0; err != nil && strings.Contains(err.Error(), "429") && attempt < 5; attempt++ {
					// The simulator counted two calls closer than they left (a loaded
					// machine): wait as a sender would, and say so.
					log.Printf("direct multicast: 429, retrying in 1 s")
					time.Sleep(time.Second)
					_, err = c.Multicast(context.Background(), ch, j.users, key, msgs)
				}
				if err != nil {
					log.Fatalf("direct multicast: %v", err)
				}
			}
		})
	}
	for _, j := range jobs(sc.g, interleave) {
		work <- j
	}
	close(work)
	wg.Wait()
	pg1, go1 := b.cpu.read()
	r := b.finishDirect(sc, marker, before, start)
	r.cpuPG, r.cpuGo = pg1-pg0, go1-go0
	return r
}

// directWindow sends the batches over plain HTTP, each channel's calls as early as
// LINE's sliding window allows: a channel's k-th call leaves once the answer to its
// (k−R)-th call is a second old (the answer comes after LINE counted the call, so the
// window is never exceeded), with at most 8 calls in flight.
func (b *bench) directWindow(sc scenario, tag string) runResult {
	b.quiet()
	marker := fmt.Sprintf("［訓練 %s-%s］", sc.key, tag)
	text := b.messages(sc, marker)[0].Text
	endpoint := strings.TrimSuffix(b.simURL.String(), "/") + "/v2/bot/message/multicast"
	hc := &http.Client{Timeout: 15 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: senders}}
	sem := make(chan struct{}, senders)
	rate := b.rate
	before := len(b.sim.Calls())
	pg0, go0 := b.cpu.read()
	start := time.Now()
	var wg sync.WaitGroup
	for i, bs := range sc.g.Batches() {
		ch := sc.g.Channels[i]
		wg.Go(func() {
			answered := make([]time.Time, len(bs))
			for w := 0; w*rate < len(bs); w++ {
				var win sync.WaitGroup
				for k := w * rate; k < min(len(bs), (w+1)*rate); k++ {
					win.Go(func() {
						if k >= rate {
							time.Sleep(time.Until(answered[k-rate].Add(time.Second)))
						}
						sem <- struct{}{}
						defer func() { <-sem }()
						post(hc, endpoint, ch.Token, bs[k], text)
						answered[k] = time.Now()
					})
				}
				win.Wait()
			}
		})
	}
	wg.Wait()
	pg1, go1 := b.cpu.read()
	r := b.finishDirect(sc, marker, before, start)
	r.cpuPG, r.cpuGo = pg1-pg0, go1-go0
	return r
}

// post sends one multicast and fails the bench on any answer but 200.
func post(hc *http.Client, endpoint, token string, to []string, text string) {
	body, _ := json.Marshal(map[string]any{"to": to, "messages": []map[string]string{{"type": "text", "text": text}}})
	req, _ := http.NewRequest(http.MethodPost, endpoint, bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Line-Retry-Key", newRetryKey())
	res, err := hc.Do(req)
	if err != nil {
		log.Fatalf("direct multicast: %v", err)
	}
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		log.Fatalf("direct multicast: %d", res.StatusCode)
	}
}

func (b *bench) finishDirect(sc scenario, marker string, before int, start time.Time) runResult {
	first, last, tooMany := b.calls(before)
	b.verify(sc, marker)
	return runResult{firstCall: first.Sub(start), delivered: last.Sub(start), spread: last.Sub(first), tooMany: tooMany}
}

func secs(d time.Duration) string { return fmt.Sprintf("%.3f", d.Seconds()) }

func (r runResult) print(sc scenario, sender, run string) {
	if r.send == 0 { // a direct sender
		fmt.Printf("| %s (%d/s) | %s | %s | – | – | – | – | – | %s | %s | **%s** | – | %d | %.2f / %.2f | – |\n", sc.key, sc.rate, sender, run,
			secs(r.firstCall), secs(r.spread), secs(r.delivered), r.tooMany, r.cpuPG.Seconds(), r.cpuGo.Seconds())
		return
	}
	fmt.Printf("| %s (%d/s) | %s | %s | %s | %s | %s | %s | %s | %s | %s | **%s** | %s | %d | %.2f / %.2f | %s (%.2f) |\n", sc.key, sc.rate, sender, run,
		secs(r.create), secs(r.send), secs(r.toStart), secs(r.startJob), secs(r.toBatches), secs(r.firstCall), secs(r.spread),
		secs(r.delivered), secs(r.sentDB), r.tooMany, r.cpuPG.Seconds(), r.cpuGo.Seconds(), secs(r.recorded), r.cpuPGRecord.Seconds())
}

type summary struct {
	sc                      scenario
	sender                  string
	delivered, sentDB       []time.Duration
	window, even            float64
	channels, batches, r429 int
}

func summarize(sc scenario, sender string, rs []runResult) summary {
	s := summary{sc: sc, sender: sender, channels: len(sc.g.Channels), batches: sc.batchCount()}
	s.window, s.even = sc.bounds()
	for _, r := range rs {
		s.delivered = append(s.delivered, r.delivered)
		if r.send != 0 {
			s.sentDB = append(s.sentDB, r.sentDB)
		}
		s.r429 += r.tooMany
	}
	slices.Sort(s.delivered)
	slices.Sort(s.sentDB)
	return s
}

// spread formats min / median / max.
func spread(ds []time.Duration) string {
	if len(ds) == 0 {
		return "–"
	}
	return fmt.Sprintf("%s / %s / %s", secs(ds[0]), secs(ds[len(ds)/2]), secs(ds[len(ds)-1]))
}

func ratio(ds []time.Duration, bound float64) string {
	if bound <= 0 {
		return "– (bound 0)"
	}
	return fmt.Sprintf("%.2f / %.2f / %.2f", ds[0].Seconds()/bound, ds[len(ds)/2].Seconds()/bound, ds[len(ds)-1].Seconds()/bound)
}

func (s summary) print() {
	met := "– (bound 0)"
	if s.window > 0 {
		met = "no"
		if s.delivered[len(s.delivered)/2].Seconds() <= 1.2*s.window {
			met = "yes"
		}
	}
	fmt.Printf("| %s %s | %s | %d | %d | %d | %.3g | %.3g | %s | %s | %s | %s | %s |\n", s.sc.key, s.sc.label, s.sender, s.channels,
		s.batches, s.sc.rate, s.window, s.even, spread(s.delivered), ratio(s.delivered, s.window), ratio(s.delivered, s.even), met, spread(s.sentDB))
}

// multicastWatch counts the simulator's accepted multicast calls, to notice the moment
// an alert's last batch has been delivered without polling the simulator's call log.
type multicastWatch struct {
	mu     sync.Mutex
	ok     int
	target int
	done   chan struct{}
}

func (w *multicastWatch) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		sw := &statusWriter{ResponseWriter: rw, status: http.StatusOK}
		h.ServeHTTP(sw, r)
		if r.URL.Path != "/v2/bot/message/multicast" || sw.status != http.StatusOK {
			return
		}
		w.mu.Lock()
		defer w.mu.Unlock()
		w.ok++
		if w.done != nil && w.ok >= w.target {
			close(w.done)
			w.done = nil
		}
	})
}

// expect starts counting again and returns a channel closed after n accepted calls.
func (w *multicastWatch) expect(n int) <-chan struct{} {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.ok, w.target, w.done = 0, n, make(chan struct{})
	return w.done
}

func (w *multicastWatch) count() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.ok
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

// cpuMeter reads the CPU time used so far by the PostgreSQL cluster (its postmaster
// and the postmaster's children) and by this process (app, simulator and bench), to
// tell which side an alert's time goes to on a shared machine.
type cpuMeter struct {
	postmaster int
	tick       time.Duration
}

func newCPUMeter(ctx context.Context, s *app.Services) (cpuMeter, error) {
	var dataDir string
	if err := s.Pool.QueryRow(ctx, `SELECT current_setting('data_directory')`).Scan(&dataDir); err != nil {
		return cpuMeter{}, err
	}
	b, err := os.ReadFile(filepath.Join(dataDir, "postmaster.pid"))
	if err != nil {
		return cpuMeter{}, err
	}
	pid, err := strconv.Atoi(strings.TrimSpace(strings.SplitN(string(b), "\n", 2)[0]))
	if err != nil {
		return cpuMeter{}, err
	}
	return cpuMeter{postmaster: pid, tick: 10 * time.Millisecond}, nil // Linux's USER_HZ is 100
}

// read returns the cluster's and this process's CPU time (user and system).
func (m cpuMeter) read() (pg, self time.Duration) {
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// The command name is in parentheses and may hold spaces: fields start after it.
		i := bytes.LastIndexByte(b, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(b[i+1:]))
		if len(f) < 13 {
			continue
		}
		ppid, _ := strconv.Atoi(f[1])
		if pid != m.postmaster && ppid != m.postmaster {
			continue
		}
		utime, _ := strconv.Atoi(f[11])
		stime, _ := strconv.Atoi(f[12])
		pg += time.Duration(utime+stime) * m.tick
	}
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err == nil {
		self = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	return pg, self
}
