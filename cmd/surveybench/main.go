// Command surveybench measures surveys at their peaks (issue 19).
//
// Taps: a board-wide attendance check (出欠確認, per family, 参加／不参加) goes to the
// guardians of 40 schools (50,000 by default, a channel per school; the time until
// every push reached the LINE simulator is printed), and parents answer by tapping its
// button in the simulator, open loop at fixed rates (100, 200, 300 and 500 a second by
// default): tap i is sent at start + i/rate whatever happened to the others. For each
// tap it measures, from its scheduled time: the webhook's answer (200 only after the
// event is stored); when the answer was stored and its confirmation queued (the outbox
// row's creation time, the start of the transaction that stored both, which commits a
// few milliseconds later); and when the confirmation reached LINE (the simulator's
// chat). Those are read after each run, so measuring adds no load. Each rate's
// baseline, measured just before it, is the same number of taps at the same rate on a
// postback renraku has no handler for: what every tap costs the webhook and the event
// pipeline, without the survey's work.
//
// Results page: a school of 1,000 families answers a per-family survey of four
// questions (single and multiple choice, a number, a paragraph); the board's
// administrator loads the results page (GET /staff/surveys/{id}: answers decrypted,
// charts, counts by class, who has not answered) one load after another; the baseline
// is the same page before anyone answered.
//
// It starts the real app in this process with a LINE simulator on 127.0.0.1 (package
// benchkit), which seeds the schools, sends the check and serves the results page.
// The taps are then served, by default (-apart), by `renraku serve` in a child process
// on the same address, database and keys, as the app is deployed: the simulator's
// memory (every chat of 50,000 guardians) and the load generator stay in this process.
// App, PostgreSQL, simulator and load generator share the machine's cores. Run it
// with a database (cmd/pgrun provides one):
//
//	go run ./cmd/pgrun -- go run ./cmd/surveybench
//
// Goals (issue 19): tap → stored → confirmation queued p99 < 100 ms at 500 a second;
// the results page p95 < 100 ms. Results go to stdout for docs/PERFORMANCE.md.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	mrand "math/rand/v2"
	"os"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/renraku/renraku/internal/app"
	"github.com/renraku/renraku/internal/authz"
	"github.com/renraku/renraku/internal/benchkit"
	"github.com/renraku/renraku/internal/demo"
	"github.com/renraku/renraku/internal/line"
	"github.com/renraku/renraku/internal/linesim"
	"github.com/renraku/renraku/internal/survey"
)

func main() {
	nSchools := flag.Int("schools", 40, "schools (a channel each) the attendance check goes to")
	perSchool := flag.Int("guardians", 1250, "guardians (one child each) per school")
	nTaps := flag.Int("taps", 6000, "taps measured at each rate (each by a different parent)")
	rates := flag.String("rates", "100,200,300,500", "comma-separated rates (taps a second, open loop), each measured with its baseline")
	conns := flag.Int("conns", 64, "concurrent senders of the taps")
	families := flag.Int("families", 1000, "families of the results page's school")
	pages := flag.Int("pages", 200, "results page loads measured, before and after the answers (0: skip the results page)")
	apart := flag.Bool("apart", true, "serve the taps from `renraku serve` in a child process (false: from the app in this process, beside the simulator and the load generator)")
	seriesFlag = flag.Bool("series", false, "print, for each half second of each run, how long its events took from receipt to processed")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of this process during the measured taps (with -apart=false: the app's too) to this file")
	flag.Parse()
	dbURL := os.Getenv("DATABASE_URL")
	if dbURL == "" {
		log.Fatal("surveybench: DATABASE_URL is required (use cmd/pgrun)")
	}
	ctx := context.Background()
	env, err := benchkit.Start(ctx, "surveybench", dbURL, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer env.Close(ctx)
	s := env.Services()
	// The bench's own pool: the app's closes with it when the taps are served apart.
	pool, err := pgxpool.New(ctx, dbURL)
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Close()
	if _, err := demo.Seed(ctx, s, env.Sim, env.App.URL()); err != nil {
		log.Fatal(err)
	}
	logins, err := demo.SeedStaff(ctx, s)
	if err != nil {
		log.Fatal(err)
	}
	board := signedIn(ctx, s, "midori.kyoiku")
	benchkit.Machine(ctx, s)

	t0 := time.Now()
	g, err := benchkit.SeedGroup(ctx, s, env.Sim, env.App.URL(), board.BoardID(), "第", *nSchools, *perSchool, false)
	if err != nil {
		log.Fatalf("seed: %v", err)
	}
	if _, err := pool.Exec(ctx, `VACUUM ANALYZE school, class, line_friend, guardian, child, guardianship`); err != nil {
		log.Fatal(err)
	}
	fmt.Fprintf(os.Stderr, "surveybench: seeded %d schools, %d guardians, in %s\n", *nSchools, g.Guardians(), time.Since(t0).Round(100*time.Millisecond))
	var rateList []float64
	for _, f := range strings.Split(*rates, ",") {
		r, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
		if err != nil || r <= 0 {
			log.Fatalf("surveybench: bad rate %q", f)
		}
		rateList = append(rateList, r)
	}
	if *nTaps*len(rateList) > g.Guardians() {
		log.Fatalf("surveybench: %d taps at %d rates need that many guardians; there are %d", *nTaps, len(rateList), g.Guardians())
	}

	// The attendance check, sent to every guardian; its delivery is timed for the record.
	lang := "ja" // the board writes in Japanese
	t := func(id string) string { return s.Registration.T(lang, id, nil) }
	c := survey.Compose{Kind: survey.KindAttendance, Audience: survey.Audience{Schools: g.Schools}, Title: "市内一斉 引き取り訓練",
		Body: "12月18日（金）に引き取り訓練を行います。お迎えに来られるかお答えください。", Deadline: time.Now().Add(7 * 24 * time.Hour),
		Questions: survey.AttendanceQuestions(t, false, false)}
	id, err := s.Surveys.Create(board.ctx, c, "市内全校")
	if err != nil {
		log.Fatal(err)
	}
	sendStart := time.Now()
	if _, err := s.Surveys.Send(board.ctx, id, true); err != nil {
		log.Fatal(err)
	}
	if err := waitEmpty(ctx, pool, `SELECT count(*) FROM survey WHERE state <> 'sent' AND id = `+strconv.FormatInt(id, 10), 30*time.Minute,
		`SELECT count(*) FROM line_outbound WHERE state = 'queued'`); err != nil {
		log.Fatal(err)
	}
	var recipients, pushes int
	if err := pool.QueryRow(ctx, `SELECT count(*), count(outbound_id) FROM survey_recipient WHERE survey_id = $1`, id).Scan(&recipients, &pushes); err != nil {
		log.Fatal(err)
	}
	var failed int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM line_outbound o JOIN survey_recipient r ON r.outbound_id = o.id WHERE r.survey_id = $1 AND o.state <> 'sent'`, id).Scan(&failed); err != nil {
		log.Fatal(err)
	}
	if failed > 0 {
		var le string
		_ = pool.QueryRow(ctx, `SELECT state || ' ' || last_error FROM line_outbound WHERE state <> 'sent' LIMIT 1`).Scan(&le)
		log.Fatalf("surveybench: %d survey messages not sent (%s)", failed, le)
	}
	if recipients != g.Guardians() || pushes != recipients {
		log.Fatalf("surveybench: %d recipients, %d pushes for %d guardians", recipients, pushes, g.Guardians())
	}
	fmt.Printf("\nattendance check to %d guardians: Send → every push accepted by the simulator %.1f s\n", g.Guardians(), time.Since(sendStart).Seconds())

	// Each parent's tap: the button of the message they received.
	rnd := mrand.New(mrand.NewPCG(1, 2))
	var taps []tap
	for _, ch := range g.Channels {
		for _, u := range ch.Users {
			a, err := button(env.Sim, ch.LineID, u, rnd.IntN(2))
			if err != nil {
				log.Fatal(err)
			}
			taps = append(taps, tap{channel: ch.LineID, user: u, action: a})
		}
	}
	rnd.Shuffle(len(taps), func(i, j int) { taps[i], taps[j] = taps[j], taps[i] })
	units, err := unitFriends(ctx, pool, id)
	if err != nil {
		log.Fatal(err)
	}

	// The results page first: it is measured with the app in this process, whose
	// services seed its school and answers.
	if *pages > 0 {
		resultsPage(ctx, env, s, pool, logins, board, *families, *pages)
		fmt.Printf("peak RSS of the bench process after the results page: %.0f MiB\n", benchkit.PeakRSS())
	}
	var srv *benchkit.Server
	if *apart {
		if srv, err = env.ServeApart(ctx); err != nil {
			log.Fatal(err)
		}
		fmt.Printf("\nThe taps are served by `renraku serve` in a child process.\n")
	}
	// The jobs a start runs (maintenance that reads whole tables) end before measuring.
	if err := waitEmpty(ctx, pool, `SELECT count(*) FROM river_job WHERE state IN ('available', 'running')`, 10*time.Minute); err != nil {
		log.Fatal(err)
	}
	benchkit.LoadAverage("before the taps")
	// With pg_stat_statements installed (see docs/PERFORMANCE.md), its figures cover the
	// taps alone.
	_, _ = pool.Exec(ctx, `SELECT pg_stat_statements_reset()`)

	// Baseline first: the same parents tap a postback renraku has no handler for.
	fmt.Printf("\nTaps open loop, %d senders; latency from each tap's scheduled time (ms). Each rate's baseline is the same number of taps at the same rate on a postback renraku has no handler for, just before it:\n\n", *conns)
	fmt.Printf("| rate/s | run | taps | achieved/s | webhook 200 p50 / p95 / p99 / max | all events processed after (rate) | answer stored, reply queued p50 / p95 / p99 / max | reply delivered to LINE p50 / p95 / p99 / max | not 200 | no reply |\n| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n")
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			log.Fatal(err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			log.Fatal(err)
		}
	}
	var ways []func()
	var seriesOut []string
	for k, r := range rateList {
		mine := taps[k**nTaps : (k+1)**nTaps]
		base := make([]tap, len(mine))
		for i := range base {
			base[i] = taps[len(taps)-1-i-k**nTaps]
			base[i].action = linesim.Action{Type: "postback", Data: line.PostbackData("bench.nothing", "")}
		}
		rb := run(ctx, pool, env.Sim, srv, base, r, *conns, nil)
		rb.print(r, "baseline: a postback with no handler (no reply)")
		rs := run(ctx, pool, env.Sim, srv, mine, r, *conns, units)
		rs.print(r, "attendance check tap")
		seriesOut = append(seriesOut, fmt.Sprintf("%.0f/s baseline: %s", r, rb.series), fmt.Sprintf("%.0f/s taps: %s", r, rs.series))
		ways = append(ways, func() {
			rb.printWay(r, "baseline")
			rs.printWay(r, "attendance check tap")
		})
	}
	fmt.Printf("\nWhere the events' time went (ms, p50 / p95 / p99 of each part on its own, from the rows: occurred_at is the tap's time in the simulator, received_at when the handler read it, processed_at the end of its processing):\n\n")
	fmt.Printf("| rate/s | run | tap → received | received → processed | CPU ms per tap: bench process (simulator, load generator%s) / `renraku serve` / PostgreSQL |\n| --- | --- | --- | --- | --- |\n",
		map[bool]string{true: "", false: ", app"}[*apart])
	for _, w := range ways {
		w()
	}
	if *seriesFlag {
		fmt.Printf("\nEach half second of each run (-series):\n")
		for _, sr := range seriesOut {
			fmt.Println(sr)
		}
	}
	if *cpuProfile != "" {
		pprof.StopCPUProfile()
	}
	benchkit.LoadAverage("after the taps")
	var answered int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM survey_unit WHERE survey_id = $1 AND answered_at IS NOT NULL`, id).Scan(&answered); err != nil {
		log.Fatal(err)
	}
	want := *nTaps * len(rateList)
	fmt.Printf("\nanswers stored: %d of %d taps (exactly one per tapped unit: %v)\n", answered, want, answered == want)
	fmt.Printf("peak RSS of the bench process (simulator and load generator, and with -apart=false the app): %.0f MiB\n", benchkit.PeakRSS())
	if srv != nil {
		fmt.Printf("peak RSS of `renraku serve` (VmHWM): %.0f MiB\n", srv.HWM())
	}
}

// actor is a signed-in member of staff for service calls.
type actor struct {
	ctx context.Context
	a   *authz.Actor
}

func (a actor) BoardID() int64 { return a.a.BoardID }

func signedIn(ctx context.Context, s *app.Services, login string) actor {
	st, err := s.Staff.FindByLogin(ctx, login)
	if err != nil {
		log.Fatal(err)
	}
	a, err := s.Staff.Actor(ctx, st.ID, st.SessionEpoch)
	if err != nil {
		log.Fatal(err)
	}
	return actor{ctx: authz.WithActor(ctx, a), a: a}
}

// waitEmpty waits until every query counts zero.
func waitEmpty(ctx context.Context, pool *pgxpool.Pool, query string, limit time.Duration, more ...string) error {
	deadline := time.Now().Add(limit)
	for _, q := range append([]string{query}, more...) {
		for {
			var n int
			if err := pool.QueryRow(ctx, q).Scan(&n); err != nil {
				return err
			}
			if n == 0 {
				break
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("%s: still %d", q, n)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	return nil
}

// button returns the choice-th answer button of the survey message user received.
func button(sim *linesim.Sim, channel, user string, choice int) (linesim.Action, error) {
	items := sim.Chat(channel, user)
	for i := len(items) - 1; i >= 0; i-- {
		var answers []linesim.Action
		for _, a := range items[i].Actions {
			if name, _, ok := line.ParsePostbackData(a.Data); ok && name == "survey.answer" {
				answers = append(answers, a)
			}
		}
		if len(answers) > choice {
			return answers[choice], nil
		}
	}
	return linesim.Action{}, fmt.Errorf("no answer button in the chat: %+v", items)
}

// unitFriends maps the survey's units to their guardians' LINE friends (rows of the
// outbox name the friend).
func unitFriends(ctx context.Context, pool *pgxpool.Pool, id int64) (map[int64]int64, error) {
	rows, err := pool.Query(ctx, `SELECT u.id, g.friend_id FROM survey_unit u JOIN guardian g ON g.id = u.guardian_id WHERE u.survey_id = $1`, id)
	if err != nil {
		return nil, err
	}
	out := map[int64]int64{}
	for rows.Next() {
		var u, f int64
		if err := rows.Scan(&u, &f); err != nil {
			return nil, err
		}
		out[u] = f
	}
	return out, rows.Err()
}

var seriesFlag *bool

// series prints, for each half second of a run from since, how many events were
// received and how long they took from receipt to processed (p50, p99, max, in ms):
// whether the slow ones come together.
func series(ctx context.Context, pool *pgxpool.Pool, since time.Time) string {
	rows, err := pool.Query(ctx, `SELECT floor(extract(epoch FROM received_at - $1) * 2) / 2 AS t, count(*),
		round(extract(epoch FROM percentile_disc(0.5) WITHIN GROUP (ORDER BY processed_at - received_at)) * 1000),
		round(extract(epoch FROM percentile_disc(0.99) WITHIN GROUP (ORDER BY processed_at - received_at)) * 1000),
		round(extract(epoch FROM max(processed_at - received_at)) * 1000)
		FROM line_event WHERE received_at >= $1 AND event_type = 'postback' GROUP BY 1 ORDER BY 1`, since)
	if err != nil {
		log.Fatal(err)
	}
	defer rows.Close()
	var line []string
	for rows.Next() {
		var t float64
		var n int
		var p50, p99, mx float64
		if err := rows.Scan(&t, &n, &p50, &p99, &mx); err != nil {
			log.Fatal(err)
		}
		line = append(line, fmt.Sprintf("%.1fs:%d:%.0f/%.0f/%.0f", t, n, p50, p99, mx))
	}
	return "s:events:p50/p99/max ms: " + strings.Join(line, " ")
}

type tap struct {
	channel, user string
	action        linesim.Action
}

// run sends the taps open loop at rate from conns goroutines. Unless units is nil (the
// baseline, which gets no reply), it then waits for each tap's reply and reads, after
// the run so that measuring adds no load, when the answer was stored and the reply
// queued (the event's processed_at: the end of the transaction that did both, which
// commits right after) and when it reached LINE (the simulator's chat).
func run(ctx context.Context, pool *pgxpool.Pool, sim *linesim.Sim, srv *benchkit.Server, taps []tap, rate float64, conns int, units map[int64]int64) result {
	var runStart time.Time
	if err := pool.QueryRow(ctx, `SELECT now()`).Scan(&runStart); err != nil {
		log.Fatal(err)
	}
	sched := make([]time.Time, len(taps))
	ack := make([]time.Duration, len(taps))
	status := make([]int, len(taps))
	var firstErr atomic.Pointer[error]
	work := make(chan int, len(taps))
	var wg sync.WaitGroup
	cpu0 := benchkit.CPU(ctx, pool, srv)
	start := time.Now().Add(100 * time.Millisecond)
	for range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				time.Sleep(time.Until(sched[i]))
				r, err := sim.Tap(taps[i].channel, taps[i].user, taps[i].action)
				ack[i] = time.Since(sched[i])
				if err == nil {
					status[i] = r.Status
				} else if firstErr.CompareAndSwap(nil, &err) {
					log.Printf("surveybench: tap: %v", err)
				}
			}
		}()
	}
	for i := range taps {
		sched[i] = start.Add(time.Duration(float64(i) / rate * float64(time.Second)))
		work <- i
	}
	close(work)
	wg.Wait()
	res := result{n: len(taps), elapsed: time.Since(start), ack: ack}
	for i := range taps {
		if status[i] != 200 {
			res.notOK++
		}
	}
	// Every event processed: the burst's drain time, from its first tap.
	if err := waitEmpty(ctx, pool, `SELECT count(*) FROM line_event WHERE processed_at IS NULL`, 10*time.Minute); err != nil {
		log.Fatal(err)
	}
	res.drained = time.Since(start)
	// Where an event's time went, from the rows alone: the event's own time (the tap,
	// set by the simulator) to its receipt by the handler, and from there to the end of
	// its processing (the group commit, the wait for a pump worker, the batch).
	err := pool.QueryRow(ctx, `SELECT
		percentile_disc(ARRAY[0.5, 0.95, 0.99]) WITHIN GROUP (ORDER BY received_at - occurred_at),
		percentile_disc(ARRAY[0.5, 0.95, 0.99]) WITHIN GROUP (ORDER BY processed_at - received_at)
		FROM line_event WHERE received_at >= $1 AND event_type = 'postback'`, runStart).Scan(&res.received, &res.processed)
	if err != nil {
		log.Fatal(err)
	}
	if *seriesFlag {
		res.series = series(ctx, pool, runStart)
	}
	if units == nil {
		res.cpu = benchkit.CPU(ctx, pool, srv).Since(cpu0)
		return res
	}
	if err := waitEmpty(ctx, pool, `SELECT count(*) FROM line_outbound WHERE state = 'queued'`, 10*time.Minute); err != nil {
		log.Fatal(err)
	}
	res.cpu = benchkit.CPU(ctx, pool, srv).Since(cpu0)
	// An event is marked processed at the end of the transaction that stored the
	// answer and queued the reply (statement_timestamp, committed right after).
	rows, err := pool.Query(ctx, `SELECT f.id, min(e.processed_at) FROM line_event e
		JOIN line_friend f ON f.channel_id = e.channel_id AND f.user_key = e.user_key
		WHERE e.received_at >= $1 AND e.outcome = 'ok' GROUP BY f.id`, runStart)
	if err != nil {
		log.Fatal(err)
	}
	queuedAt := map[int64]time.Time{}
	for rows.Next() {
		var f int64
		var at time.Time
		if err := rows.Scan(&f, &at); err != nil {
			log.Fatal(err)
		}
		queuedAt[f] = at
	}
	if err := rows.Err(); err != nil {
		log.Fatal(err)
	}
	for i, t := range taps {
		_, args, _ := line.ParsePostbackData(t.action.Data)
		_, unit, _, _ := survey.ParseAnswerData(args)
		at, ok := queuedAt[units[unit]]
		delivered := replyTime(sim, t.channel, t.user, sched[i])
		if !ok || delivered.IsZero() {
			res.noReply++
			continue
		}
		res.queued = append(res.queued, at.Sub(sched[i]))
		res.delivered = append(res.delivered, delivered.Sub(sched[i]))
	}
	return res
}

// replyTime is when the first bot message after the tap's time reached the user's chat.
func replyTime(sim *linesim.Sim, channel, user string, after time.Time) time.Time {
	for _, it := range sim.Chat(channel, user) {
		if it.From == linesim.FromBot && it.Time.After(after) {
			return it.Time
		}
	}
	return time.Time{}
}

type result struct {
	n                      int
	elapsed, drained       time.Duration
	ack, queued, delivered []time.Duration
	notOK, noReply         int
	// received and processed are p50, p95 and p99 of the events' way through the
	// server (see run).
	received, processed []time.Duration
	// cpu is the CPU time the run used until its events were processed and, for the
	// taps, their replies sent (in the bench process, the server child and PostgreSQL).
	cpu benchkit.CPUTimes
	// series is what -series prints.
	series string
}

// printWay prints where the events' time went (see run).
func (r result) printWay(rate float64, label string) {
	ms := func(ds []time.Duration) string {
		var parts []string
		for _, d := range ds {
			parts = append(parts, fmt.Sprintf("%.1f", float64(d.Microseconds())/1000))
		}
		return strings.Join(parts, " / ")
	}
	fmt.Printf("| %.0f | %s | %s | %s | %s |\n", rate, label, ms(r.received), ms(r.processed), r.cpu.PerOp(r.n))
}

func (r result) print(rate float64, label string) {
	q, d := "–", "–"
	if len(r.queued) > 0 {
		q, d = pct(r.queued), pct(r.delivered)
	}
	fmt.Printf("| %.0f | %s | %d | %.0f | %s | %.1f s (%.0f/s) | %s | %s | %d | %d |\n", rate, label, r.n, float64(r.n)/r.elapsed.Seconds(), pct(r.ack),
		r.drained.Seconds(), float64(r.n)/r.drained.Seconds(), q, d, r.notOK, r.noReply)
}

func pct(ds []time.Duration) string {
	s := slices.Clone(ds)
	slices.Sort(s)
	at := func(p float64) float64 {
		return float64(s[min(len(s)-1, int(p*float64(len(s))))].Microseconds()) / 1000
	}
	return fmt.Sprintf("%.1f / %.1f / %.1f / %.1f", at(0.50), at(0.95), at(0.99), float64(s[len(s)-1].Microseconds())/1000)
}

// resultsPage measures the results page of a per-family survey of four questions to a
// school of n families, as the board's administrator loads it: first with no answers
// (the baseline: the same units, figures and 未回答 list, nothing to decrypt), then with
// every family's answers stored.
func resultsPage(ctx context.Context, env *benchkit.Env, s *app.Services, pool *pgxpool.Pool, logins []demo.Login, board actor, n, pages int) {
	g, err := benchkit.SeedGroup(ctx, s, env.Sim, env.App.URL(), board.BoardID(), "結", 1, n, false)
	if err != nil {
		log.Fatal(err)
	}
	lo, hi := int64(0), int64(10)
	c := survey.Compose{Kind: survey.KindSurvey, Audience: survey.Audience{Schools: g.Schools}, Title: "学校生活アンケート",
		Deadline: time.Now().Add(7 * 24 * time.Hour), Questions: []survey.Question{
			{Kind: survey.Single, Text: "お子さまは学校を楽しんでいますか", Required: true, Choices: []survey.Choice{{Label: "とても"}, {Label: "まあまあ"}, {Label: "あまり"}, {Label: "いいえ"}}},
			{Kind: survey.Multi, Text: "関心のある行事", Choices: []survey.Choice{{Label: "運動会"}, {Label: "学習発表会"}, {Label: "遠足"}, {Label: "授業参観"}, {Label: "個人面談"}}},
			{Kind: survey.Number, Text: "家庭学習の時間（1日）", Unit: "時間", Min: &lo, Max: &hi},
			{Kind: survey.Long, Text: "学校へのご意見"}}}
	id, err := s.Surveys.Create(board.ctx, c, "結01小学校")
	if err != nil {
		log.Fatal(err)
	}
	if _, err := s.Surveys.Send(board.ctx, id, true); err != nil {
		log.Fatal(err)
	}
	if err := waitEmpty(ctx, pool, `SELECT count(*) FROM survey WHERE state <> 'sent' AND id = `+strconv.FormatInt(id, 10), 10*time.Minute,
		`SELECT count(*) FROM line_outbound WHERE state = 'queued'`); err != nil {
		log.Fatal(err)
	}
	var totp string
	for _, l := range logins {
		if l.Login == "midori.kyoiku" {
			totp = l.TOTPSecret
		}
	}
	cl, err := benchkit.SignIn(env.App.URL(), "midori.kyoiku", totp)
	if err != nil {
		log.Fatal(err)
	}
	path := "/staff/surveys/" + strconv.FormatInt(id, 10)
	before := loads(cl, path, pages)

	// Every family answers (as the parents' form stores answers).
	rnd := mrand.New(mrand.NewPCG(3, 4))
	comments := []string{"いつもありがとうございます。", "運動会の日程を早めに知らせてください。", "", "宿題の量がちょうどよいと思います。", ""}
	err = s.Surveys.Tx.InTx(ctx, func(ctx context.Context) error {
		units, err := s.Surveys.Store.FindResultUnits(ctx, id, 0)
		if err != nil {
			return err
		}
		for _, u := range units {
			h := int64(rnd.IntN(4))
			a := survey.Answers{"q1": {Choices: []string{fmt.Sprintf("c%d", 1+rnd.IntN(4))}}, "q2": {Choices: []string{"c1", fmt.Sprintf("c%d", 2+rnd.IntN(4))}},
				"q3": {Number: &h}}
			if t := comments[rnd.IntN(len(comments))]; t != "" {
				a["q4"] = survey.Value{Text: t}
			}
			if err := s.Surveys.Store.SaveAnswers(ctx, u.ID, a, u.GuardianID, time.Now()); err != nil {
				return err
			}
		}
		return s.Surveys.Store.MarkFirstAnswer(ctx, id, time.Now())
	})
	if err != nil {
		log.Fatal(err)
	}
	after := loads(cl, path, pages)
	fmt.Printf("\nResults page of a %d-family survey (4 questions), GET %s as the board's administrator, %d loads one after another (ms):\n\n", n, "/staff/surveys/{id}", pages)
	fmt.Printf("| answers | p50 / p95 / p99 / max | page size |\n| --- | --- | --- |\n")
	fmt.Printf("| none (baseline) | %s | %d kB |\n", pct(before.times), before.size/1024)
	fmt.Printf("| all %d | %s | %d kB |\n", n, pct(after.times), after.size/1024)
}

type loadResult struct {
	times []time.Duration
	size  int
}

// loads fetches path n times after a warm-up of five.
func loads(cl *benchkit.Client, path string, n int) loadResult {
	var r loadResult
	for i := range n + 5 {
		t := time.Now()
		st, body, err := cl.Get(path)
		d := time.Since(t)
		if err != nil || st != 200 {
			log.Fatalf("GET %s: %d %v", path, st, err)
		}
		if i >= 5 {
			r.times = append(r.times, d)
			r.size = len(body)
		}
	}
	return r
}
