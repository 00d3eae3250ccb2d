// Command inboxbench measures the staff inbox of a large school: the list and thread
// pages' server time with 10,000 conversations and 1,000,000 messages in one school.
// It starts the real app, seeds the demo school in bulk (COPY, encrypted exactly as the
// stores encrypt), signs in over HTTP as a homeroom teacher and as the principal, and
// requests each page one at a time (closed loop) after a warm-up, then once more with
// four requests in flight. Run it with a database (cmd/pgrun provides one):
//
//	go run ./cmd/pgrun -- go run ./cmd/inboxbench
//
// The goal (issue 8) is p95 under 50 ms. Results go to stdout for docs/PERFORMANCE.md.
package main

import (
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
	"net/http/httptest"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/renraku/renraku/internal/app"
	"github.com/renraku/renraku/internal/benchkit"
	"github.com/renraku/renraku/internal/config"
	"github.com/renraku/renraku/internal/credential"
	"github.com/renraku/renraku/internal/demo"
	"github.com/renraku/renraku/internal/line"
	"github.com/renraku/renraku/internal/linesim"
	"github.com/renraku/renraku/internal/logging"
	"github.com/renraku/renraku/internal/registration"
	"github.com/renraku/renraku/internal/schema"
	"github.com/renraku/renraku/internal/vault"
)

func main() {
	nConv := flag.Int("conversations", 10000, "conversations (one guardian and child each) in the first demo school")
	nMsg := flag.Int("messages", 1000000, "messages over all conversations")
	n := flag.Int("n", 200, "measured requests per page")
	warmup := flag.Int("warmup", 20, "unmeasured requests per page before measuring")
	conc := flag.Int("concurrency", 4, "requests in flight in the concurrent run")
	seed := flag.Uint64("seed", 1, "random seed of the data and the request order")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the measured requests (app and client) to this file")
	hold := flag.Duration("hold", 0, "keep the app and database running this long after measuring (for EXPLAIN, psql)")
	flag.Parse()
	dbURL := os.Getenv("DATABASE_URL")
	if dbURL == "" {
		log.Fatal("inboxbench: DATABASE_URL is required (use cmd/pgrun)")
	}
	credential.Params.Memory, credential.Params.Iterations = 64, 1 // demo staff only
	m, err := schema.NewMigrator(dbURL)
	if err != nil {
		log.Fatal(err)
	}
	if err := m.Up(); err != nil {
		log.Fatal(err)
	}
	m.Close()
	dir, _ := os.MkdirTemp("", "inboxbench")
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
	benchkit.Machine(ctx, a.Services())
	ch, err := demo.Seed(ctx, a.Services(), sim, a.URL())
	if err != nil {
		log.Fatal(err)
	}
	logins, err := demo.SeedStaff(ctx, a.Services())
	if err != nil {
		log.Fatal(err)
	}

	t0 := time.Now()
	w, err := seedSchool(ctx, a.Services(), ch.ID, *nConv, *nMsg, *seed)
	if err != nil {
		log.Fatalf("seed: %v", err)
	}
	fmt.Fprintf(os.Stderr, "inboxbench: seeded %d conversations, %d messages, %d replies in the outbox in %s (analyzed in %s)\n",
		len(w.convs), w.messages, w.outbound, time.Since(t0).Round(100*time.Millisecond), w.analyze.Round(100*time.Millisecond))

	teacher, err := benchkit.SignIn(a.URL(), "sakura.tannin11", "")
	if err != nil {
		log.Fatal(err)
	}
	var principal *benchkit.Client
	for _, l := range logins {
		if l.Login == "sakura.kocho" {
			principal, err = benchkit.SignIn(a.URL(), l.Login, l.TOTPSecret)
		}
	}
	if principal == nil || err != nil {
		log.Fatalf("sign in sakura.kocho: %v", err)
	}

	// What each user may see: the teacher is 1年1組's homeroom teacher, the principal
	// sees the whole school.
	var mine, all []int64
	for _, c := range w.convs {
		all = append(all, c.id)
		if c.target == "homeroom" && c.classID == w.homeroom {
			mine = append(mine, c.id)
		}
	}
	biggest := w.biggest()
	surname := w.convs[0].surname
	rng := mrand.New(mrand.NewPCG(*seed, 2))
	get := func(path string) func(int) request { return func(int) request { return request{path: path} } }
	thread := func(id int64) string { return "/staff/inbox/" + strconv.FormatInt(id, 10) }
	randomOf := func(ids []int64) func(int) request {
		return func(int) request { return request{path: thread(ids[rng.IntN(len(ids))])} }
	}
	cycle := func(ids []int64) func(int) request {
		return func(i int) request { return request{path: thread(ids[i%len(ids)])} }
	}
	// An older page of the largest thread: the messages before a random one of it.
	older := func(int) request {
		ids := w.largestIDs
		i := min(olderPage, len(ids)-1)
		return request{path: thread(biggest[0]) + "?before=" + strconv.FormatInt(ids[i+rng.IntN(len(ids)-i)], 10)}
	}
	search := func(q string) func(int) request {
		return func(int) request { return request{path: "/staff/inbox", form: url.Values{"q": {q}}} }
	}
	// The index of names (issue 20): the first whole-school search fills it. Its size is
	// the heap it keeps (after a collection), measured around that search.
	names := a.Services().Inbox.Names
	for deadline := time.Now().Add(10 * time.Second); !names.Caching(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			log.Fatal("the index of names never started caching (its listener is not connected)")
		}
	}
	var m0, m1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m0)
	t1 := time.Now()
	if _, _, err := principal.Post("/staff/inbox", url.Values{"q": {surname}}); err != nil {
		log.Fatal(err)
	}
	fill := time.Since(t1)
	runtime.GC()
	runtime.ReadMemStats(&m1)
	benchkit.LoadAverage("after seeding")
	fmt.Printf("index of names: %d conversations after the principal's first search (%.1f ms, filling it); heap kept %.1f MiB\n",
		names.Len(), float64(fill.Microseconds())/1000, (float64(m1.HeapAlloc)-float64(m0.HeapAlloc))/(1<<20))
	// Seeding (a million messages made in this process) sets a high peak of its own:
	// the peak while measuring is counted from here (writing 5 to clear_refs resets
	// VmHWM).
	seedPeak := benchkit.PeakRSS()
	debug.FreeOSMemory()
	resetPeak := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) == nil
	// Without the index (the same-run baseline): told that it is not listening, it
	// keeps nothing and every search reads and decrypts every name, as before issue 20.
	noIndex := func() { names.Listening(false) }
	withIndex := func() { names.Listening(true) }

	pages := []page{
		{"teacher", "list", teacher, get("/staff/inbox"), listPage, nil, nil},
		{"teacher", "list, state=open", teacher, get("/staff/inbox?state=open"), listPage, nil, nil},
		{"teacher", fmt.Sprintf("list, page %d of %d", len(mine)/listPageSize/2, (len(mine)+listPageSize-1)/listPageSize), teacher,
			get(fmt.Sprintf("/staff/inbox?page=%d", len(mine)/listPageSize/2)), listPage, nil, nil},
		{"teacher", "search (POST q=" + surname + ")", teacher, search(surname), searchPage, nil, nil},
		{"teacher", "thread, random", teacher, randomOf(mine), threadPage, nil, nil},
		{"teacher", fmt.Sprintf("thread, largest (%d msgs), newest page", w.count(biggest[0])), teacher, get(thread(biggest[0])), threadPage, nil, nil},
		{"teacher", "thread, largest, older page (?before=)", teacher, older, threadPage, nil, nil},
		{"principal", "list", principal, get("/staff/inbox"), listPage, nil, nil},
		{"principal", "list, state=open", principal, get("/staff/inbox?state=open"), listPage, nil, nil},
		{"principal", "list, scope=1年1組", principal, get("/staff/inbox?scope=class:" + strconv.FormatInt(w.homeroom, 10)), listPage, nil, nil},
		{"principal", fmt.Sprintf("list, page %d of %d", len(all)/listPageSize/2, (len(all)+listPageSize-1)/listPageSize), principal,
			get(fmt.Sprintf("/staff/inbox?page=%d", len(all)/listPageSize/2)), listPage, nil, nil},
		{"principal", "search (POST q=" + surname + ")", principal, search(surname), searchPage, nil, nil},
		{"principal", "search (POST q=" + surname + "), without the index (baseline)", principal, search(surname), searchPage, noIndex, withIndex},
		{"teacher", "search (POST q=" + surname + "), without the index (baseline)", teacher, search(surname), searchPage, noIndex, withIndex},
		{"principal", "thread, random", principal, randomOf(all), threadPage, nil, nil},
		{"principal", fmt.Sprintf("thread, 5 largest (%d–%d msgs)", w.count(biggest[len(biggest)-1]), w.count(biggest[0])), principal, cycle(biggest), threadPage, nil, nil},
	}
	concurrent := []page{
		{"teacher", "list", teacher, get("/staff/inbox"), listPage, nil, nil},
		{"principal", "list", principal, get("/staff/inbox"), listPage, nil, nil},
		{"principal", "thread, random", principal, randomOf(all), threadPage, nil, nil},
		{"principal", "search (POST q=" + surname + ")", principal, search(surname), searchPage, nil, nil},
	}
	// The first pages once more: PostgreSQL keeps a prepared statement's plan per
	// connection and chooses between re-planning and a generic plan from the costs it
	// has seen, so a page's time can depend on what the pool's connections ran before.
	again := []page{
		{"teacher", "list (again, at the end)", teacher, get("/staff/inbox"), listPage, nil, nil},
		{"principal", "list (again, at the end)", principal, get("/staff/inbox"), listPage, nil, nil},
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
	fmt.Printf("| user | page | in flight | requests | p50 ms | p95 ms | p99 ms | max ms | req/s | items shown | KiB |\n")
	fmt.Printf("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n")
	for _, p := range pages {
		report(p, measure(p, *warmup, *n, 1))
	}
	for _, p := range concurrent {
		report(p, measure(p, *warmup, *n, *conc))
	}
	for _, p := range again {
		report(p, measure(p, *warmup, *n, 1))
	}
	coverage(w, principal)
	benchkit.LoadAverage("at the end")
	fmt.Printf("peak RSS of the bench process (app, PostgreSQL client and load generator; not PostgreSQL): %.0f MiB while measuring", benchkit.PeakRSS())
	if !resetPeak {
		fmt.Printf(" (could not reset the peak: it includes seeding)")
	}
	fmt.Printf("; %.0f MiB including seeding\n", seedPeak)
	if *cpuProfile != "" {
		pprof.StopCPUProfile()
	}
	if *hold > 0 {
		fmt.Fprintf(os.Stderr, "inboxbench: holding for %s: DATABASE_URL=%s app=%s (school %d, largest conversation %d)\n",
			*hold, dbURL, a.URL(), w.schoolID, biggest[0])
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
		select {
		case <-time.After(*hold):
		case <-sig:
		}
	}
}

// coverage checks what a search finds: names are encrypted, so the app searches a
// bounded number of the newest conversations; this shows whether the guardian of the
// school's oldest conversation is still found by nickname.
func coverage(w *world, c *benchkit.Client) {
	fmt.Println()
	newest := slices.MaxFunc(w.convs, func(a, b conv) int { return a.last.Compare(b.last) })
	oldest := slices.MinFunc(w.convs, func(a, b conv) int { return a.last.Compare(b.last) })
	for _, x := range []struct {
		what string
		c    conv
	}{{"newest", newest}, {"oldest", oldest}} {
		_, body, err := c.Post("/staff/inbox", url.Values{"q": {x.c.nickname}})
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("search by the nickname of the %s conversation (%d, last message %s): %d conversation(s) shown\n",
			x.what, x.c.id, x.c.last.Format("2006-01-02"), strings.Count(body, listPage.item))
	}
}

// check is what a page's answer must hold to count: its section, and the items counted.
type check struct {
	section string
	item    string
	// atLeastOne requires an item; otherwise an empty list is a valid answer.
	atLeastOne bool
}

var (
	listPage   = check{`data-testid="inbox"`, `data-testid="conversation"`, true}
	searchPage = check{`data-testid="inbox"`, `data-testid="conversation"`, false}
	threadPage = check{`data-testid="thread"`, `data-testid="message"`, true}
)

// listPageSize and olderPage are the list's and the thread's page sizes as the app has
// them (inbox.PageSize, inbox.ThreadPage), to pick pages that exist; the checks catch a
// change.
const (
	listPageSize = 50
	olderPage    = 200
)

type page struct {
	user, name string
	client     *benchkit.Client
	req        func(i int) request
	check      check
	// before and after, when set, run around the page's measurement.
	before, after func()
}

// request is a GET of path, or a POST of form to it.
type request struct {
	path string
	form url.Values
}

type result struct {
	inFlight, requests         int
	p50, p95, p99, max, perSec float64
	items, bytes               float64
}

// measure requests a page warmup times, then n times with inFlight requests at once
// (closed loop), and returns the latencies seen by the client on 127.0.0.1. Any answer
// other than 200 with the page's markup stops the run.
func measure(p page, warmup, n, inFlight int) result {
	if p.before != nil {
		p.before()
	}
	if p.after != nil {
		defer p.after()
	}
	for i := 0; i < warmup; i++ {
		if _, _, _, err := p.do(i); err != nil {
			log.Fatalf("%s %s (warm-up): %v", p.user, p.name, err)
		}
	}
	lat := make([]float64, n)
	var items, size int
	var mu sync.Mutex
	var next int
	var wg sync.WaitGroup
	start := time.Now()
	for range inFlight {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				mu.Lock()
				i := next
				next++
				req := p.req(warmup + i) // the pickers are not safe for concurrent use
				mu.Unlock()
				if i >= n {
					return
				}
				ms, k, b, err := p.fetch(req)
				if err != nil {
					log.Fatalf("%s %s: %v", p.user, p.name, err)
				}
				mu.Lock()
				lat[i], items, size = ms, items+k, size+b
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start).Seconds()
	slices.Sort(lat)
	return result{inFlight: inFlight, requests: n, p50: percentile(lat, 50), p95: percentile(lat, 95), p99: percentile(lat, 99),
		max: lat[len(lat)-1], perSec: float64(n) / elapsed, items: float64(items) / float64(n), bytes: float64(size) / float64(n) / 1024}
}

// percentile is the nearest-rank percentile of sorted values.
func percentile(sorted []float64, q int) float64 {
	i := (len(sorted)*q + 99) / 100
	return sorted[max(0, min(len(sorted)-1, i-1))]
}

func (p page) do(i int) (float64, int, int, error) { return p.fetch(p.req(i)) }

// fetch requests one page and returns its time in milliseconds, the items it shows and
// its size.
func (p page) fetch(r request) (float64, int, int, error) {
	t0 := time.Now()
	status, body, err := 0, "", error(nil)
	if r.form != nil {
		status, body, err = p.client.Post(r.path, r.form)
	} else {
		status, body, err = p.client.Get(r.path)
	}
	ms := float64(time.Since(t0).Microseconds()) / 1000
	if err != nil {
		return 0, 0, 0, err
	}
	k := strings.Count(body, p.check.item)
	if status != http.StatusOK || !strings.Contains(body, p.check.section) || (p.check.atLeastOne && k == 0) {
		return 0, 0, 0, fmt.Errorf("%s: status %d, %d items, %d bytes: not the page", r.path, status, k, len(body))
	}
	return ms, k, len(body), nil
}

func report(p page, r result) {
	fmt.Printf("| %s | %s | %d | %d | %.1f | %.1f | %.1f | %.1f | %.0f | %.0f | %.0f |\n",
		p.user, p.name, r.inFlight, r.requests, r.p50, r.p95, r.p99, r.max, r.perSec, r.items, r.bytes)
}

// world is what the seed created and the measurement needs.
type world struct {
	schoolID int64
	homeroom int64 // 1年1組, sakura.tannin11's class
	convs    []conv
	// largestIDs are the message IDs of the largest conversation, oldest first.
	largestIDs []int64
	messages   int
	outbound   int
	analyze    time.Duration
}

type conv struct {
	id, guardianID, childID, classID, clubID int64
	target, state                            string
	nickname, surname                        string
	messages, unread                         int
	first, last                              time.Time
}

// biggest returns the five conversations with the most messages, largest first.
func (w *world) biggest() []int64 {
	cs := slices.Clone(w.convs)
	slices.SortFunc(cs, func(a, b conv) int { return b.messages - a.messages })
	var out []int64
	for _, c := range cs[:min(5, len(cs))] {
		out = append(out, c.id)
	}
	return out
}

func (w *world) count(id int64) int {
	for _, c := range w.convs {
		if c.id == id {
			return c.messages
		}
	}
	return 0
}

var (
	surnames = []string{"佐藤", "鈴木", "高橋", "田中", "伊藤", "渡辺", "山本", "中村", "小林", "加藤", "吉田", "山田", "佐々木", "山口", "松本",
		"井上", "木村", "林", "斎藤", "清水", "山崎", "森", "池田", "橋本", "阿部", "石川", "山下", "中島", "石井", "小川"}
	givenNames = []string{"陽翔", "蓮", "湊", "蒼", "悠真", "樹", "大和", "結翔", "陽葵", "凛", "詩", "結菜", "葵", "芽依", "紬", "澪", "さくら",
		"ひなた", "はると", "ゆい"}
	guardianWords = []string{"ママ", "パパ", "母", "父", "祖母"}
	parentLines   = []string{"いつもお世話になっております。", "本日は体調不良のため早退させていただきたいです。", "明日の持ち物について確認させてください。",
		"昨日の宿題のプリントを家に忘れてしまったようです。", "遠足の集合時間は何時でしょうか。", "先日はありがとうございました。",
		"子どもが友だちとのことで少し悩んでいるようなので、様子を見ていただけますか。", "来週の個人面談の時間を変更していただくことは可能でしょうか。",
		"よろしくお願いいたします。", "給食のアレルギー対応について相談させてください。", "水筒を学校に置き忘れたようです。"}
	staffLines = []string{"ご連絡ありがとうございます。", "承知しました。学校でも様子を見ておきます。", "集合は8時15分に校庭です。",
		"面談の時間は変更できますので、ご都合のよい時間をお知らせください。", "忘れ物は教室で保管しています。", "よろしくお願いいたします。",
		"本日の様子は元気に過ごしていました。", "担任から保健室にも伝えておきます。"}
	noteLines = []string{"学年主任に共有済み。", "電話で確認した。", "次回の面談で話す。"}
)

// text is a message body of one to four sentences.
func text(rng *mrand.Rand, lines []string) string {
	var b strings.Builder
	for range 1 + rng.IntN(4) {
		b.WriteString(lines[rng.IntN(len(lines))])
	}
	return b.String()
}

// msg is one message before it is written; messages are numbered in time order across
// the school, as the app numbers them, so a conversation's rows are spread over the
// table as in production.
type msg struct {
	at   int64 // Unix microseconds
	conv int32
	dir  uint8
}

const (
	dirIn uint8 = iota
	dirOut
	dirNote
)

var dirNames = [...]string{"in", "out", "note"}

// seedSchool fills the first demo school with nConv guardians, children and
// conversations and nMsg messages, in one transaction, by COPY. Personal fields are
// encrypted with the app's vault under the same associated data the stores use.
func seedSchool(ctx context.Context, s *app.Services, channelID int64, nConv, nMsg int, seed uint64) (*world, error) {
	sc, err := s.Schools.FindSchool(ctx, demo.Schools[0].Name)
	if err != nil {
		return nil, err
	}
	w := &world{schoolID: sc.ID}
	rng := mrand.New(mrand.NewPCG(seed, 1))
	v := s.Vault
	type class struct {
		id    int64
		label string
	}
	rows, _ := s.Pool.Query(ctx, `SELECT id, grade::text || '年' || name FROM class WHERE school_id = $1 AND year = $2 ORDER BY grade, name`, sc.ID, sc.CurrentYear)
	classes, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (class, error) {
		var c class
		return c, r.Scan(&c.id, &c.label)
	})
	if err != nil || len(classes) == 0 {
		return nil, fmt.Errorf("classes: %v", err)
	}
	for _, c := range classes {
		if c.label == "1年1組" {
			w.homeroom = c.id
		}
	}
	rows, _ = s.Pool.Query(ctx, `SELECT id FROM club WHERE school_id = $1 AND year = $2 ORDER BY id`, sc.ID, sc.CurrentYear)
	clubs, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil || len(clubs) == 0 {
		return nil, fmt.Errorf("clubs: %v", err)
	}
	rows, _ = s.Pool.Query(ctx, `SELECT id FROM staff WHERE school_id = $1 AND disabled_at IS NULL ORDER BY id`, sc.ID)
	staffIDs, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil || len(staffIDs) == 0 {
		return nil, fmt.Errorf("staff: %v", err)
	}

	tx, err := s.Pool.Begin(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback(ctx)
	reserve := func(table string, n int) (int64, error) {
		var last int64
		err := tx.QueryRow(ctx, `SELECT setval(seq, nextval(seq) + $2 - 1) FROM (SELECT pg_get_serial_sequence($1, 'id')::regclass AS seq) s`,
			table, n).Scan(&last)
		return last - int64(n) + 1, err
	}
	friend0, err := reserve("line_friend", nConv)
	if err != nil {
		return nil, err
	}
	guardian0, _ := reserve("guardian", nConv)
	child0, _ := reserve("child", nConv)
	conv0, err := reserve("conversation", nConv)
	if err != nil {
		return nil, err
	}

	// Conversations: mostly a child's homeroom teacher, some a club's advisor, some the
	// office; a year of history, most of it done.
	now := time.Now()
	w.convs = make([]conv, nConv)
	for i := range w.convs {
		c := &w.convs[i]
		c.id, c.guardianID, c.childID = conv0+int64(i), guardian0+int64(i), child0+int64(i)
		c.classID = classes[i%len(classes)].id
		c.surname = surnames[rng.IntN(len(surnames))]
		c.nickname = c.surname + strconv.Itoa(i+1) + guardianWords[rng.IntN(len(guardianWords))]
		switch {
		case i%20 == 19:
			c.target = "office"
		case i%10 == 9:
			c.target, c.clubID = "advisor", clubs[i%len(clubs)]
		default:
			c.target = "homeroom"
		}
		switch r := rng.IntN(100); {
		case r < 15:
			c.state = "open"
		case r < 30:
			c.state = "in_progress"
		default:
			c.state = "done"
		}
		c.last = now.Add(-time.Duration(rng.Float64() * float64(365*24*time.Hour)))
	}

	// Messages: about nMsg/nConv a conversation, exponentially spread, with five long
	// threads of several thousand (0.8 % … 0.3 % of all) in 1年1組, active today.
	counts := make([]int, nConv)
	var big []int
	for i := range w.convs {
		if w.convs[i].classID == w.homeroom && w.convs[i].target == "homeroom" && len(big) < 5 {
			big = append(big, i)
		}
	}
	rest := nMsg
	for j, i := range big {
		counts[i] = nMsg * []int{8, 6, 5, 4, 3}[j] / 1000
		rest -= counts[i]
		w.convs[i].last, w.convs[i].state = now.Add(-time.Duration(j+1)*time.Hour), "open"
	}
	weights := make([]float64, nConv)
	var sum float64
	for i := range weights {
		if counts[i] == 0 {
			weights[i] = rng.ExpFloat64()
			sum += weights[i]
		}
	}
	left := rest
	for i := range weights {
		if weights[i] > 0 {
			counts[i] = 1 + int(weights[i]/sum*float64(rest-nConv+len(big)))
			left -= counts[i]
		}
	}
	for i := 0; left > 0; i = (i + 1) % nConv {
		if weights[i] > 0 {
			counts[i]++
			left--
		}
	}
	msgs := make([]msg, 0, nMsg)
	for i := range w.convs {
		c := &w.convs[i]
		k := counts[i]
		c.messages = k
		span := time.Duration(float64(k) * (1 + 23*rng.Float64()) * float64(time.Hour))
		span = min(span, 2*365*24*time.Hour)
		c.first = c.last.Add(-span)
		gaps := make([]float64, k)
		var total float64
		for j := 1; j < k; j++ {
			gaps[j] = rng.ExpFloat64()
			total += gaps[j]
		}
		at := float64(c.first.UnixMicro())
		for j := range k {
			if j > 0 {
				at += gaps[j] / total * float64(span.Microseconds())
			}
			d := dirIn
			switch r := rng.IntN(100); {
			case r < 42:
				d = dirOut
			case r < 45:
				d = dirNote
			}
			if j == k-1 {
				at = float64(c.last.UnixMicro())
				switch c.state {
				case "open":
					d = dirIn
				case "done":
					d = dirOut
				}
			}
			msgs = append(msgs, msg{at: int64(at), conv: int32(i), dir: d})
		}
		if c.state == "open" {
			for j := len(msgs) - 1; j >= 0 && msgs[j].conv == int32(i) && msgs[j].dir == dirIn; j-- {
				c.unread++
			}
		}
	}
	slices.SortStableFunc(msgs, func(a, b msg) int { return int(a.at - b.at) })
	w.messages = len(msgs)
	msg0, err := reserve("message", len(msgs))
	if err != nil {
		return nil, err
	}
	for j, m := range msgs {
		if int(m.conv) == big[0] {
			w.largestIDs = append(w.largestIDs, msg0+int64(j))
		}
	}
	for _, m := range msgs {
		if m.dir == dirOut {
			w.outbound++
		}
	}
	var out0 int64
	if err := tx.QueryRow(ctx, `SELECT setval('line_outbound_id_seq', nextval('line_outbound_id_seq') + $1 - 1)`, w.outbound).Scan(&out0); err != nil {
		return nil, err
	}
	out0 -= int64(w.outbound) - 1

	// Friends, guardians, children, guardianships, club memberships, conversations.
	var friends, guardians, children, ships, clubRows, convRows [][]any
	for i, c := range w.convs {
		fid := friend0 + int64(i)
		uid := fmt.Sprintf("U%032x", 0xbe0000+i)
		ukey, err := v.BlindIndex("line.user_id", uid)
		if err != nil {
			return nil, err
		}
		uenc, err := v.EncryptPersonal(vault.Personal(uid), vault.NewAD("line_friend", "user_id", strconv.FormatInt(fid, 10)))
		if err != nil {
			return nil, err
		}
		friends = append(friends, []any{fid, channelID, ukey, uenc, "ja", true, "member", c.first.Add(-24 * time.Hour)})
		given := givenNames[rng.IntN(len(givenNames))]
		gname, _ := v.EncryptPersonal(vault.Personal(c.surname+" 保護者"+strconv.Itoa(i+1)), vault.NewADForID("guardian", "name", c.guardianID))
		grel, _ := v.EncryptPersonal("mother", vault.NewADForID("guardian", "relationship", c.guardianID))
		gnick, err := v.EncryptPersonal(vault.Personal(c.nickname), vault.NewADForID("guardian", "nickname", c.guardianID))
		if err != nil {
			return nil, err
		}
		guardians = append(guardians, []any{c.guardianID, fid, gname, grel, gnick, "ja", registration.NoticeVersion, c.first.Add(-24 * time.Hour)})
		childName := c.surname + " " + given + strconv.Itoa(i+1)
		cenc, _ := v.EncryptPersonal(vault.Personal(childName), vault.NewADForID("child", "name", c.childID))
		ckey, err := v.BlindIndex("child.name.v1", strconv.FormatInt(c.classID, 10)+"|"+strings.ReplaceAll(childName, " ", ""))
		if err != nil {
			return nil, err
		}
		children = append(children, []any{c.childID, sc.ID, c.classID, cenc, ckey})
		ships = append(ships, []any{c.guardianID, c.childID, registration.Verified, "code"})
		if c.clubID != 0 {
			clubRows = append(clubRows, []any{c.childID, c.clubID})
		}
		var childID, classID, clubID, assignee any
		switch c.target {
		case "homeroom":
			childID, classID = c.childID, c.classID
		case "advisor":
			childID, clubID = c.childID, c.clubID
		}
		if i%25 == 3 {
			assignee = staffIDs[i%len(staffIDs)]
		}
		convRows = append(convRows, []any{c.id, sc.ID, c.guardianID, childID, c.target, classID, clubID, c.state, assignee, c.unread, c.last, c.first})
	}
	copies := []struct {
		table string
		cols  []string
		rows  [][]any
	}{
		{"line_friend", []string{"id", "channel_id", "user_key", "user_id_enc", "language", "following", "richmenu_kind", "followed_at"}, friends},
		{"guardian", []string{"id", "friend_id", "name_enc", "relationship_enc", "nickname_enc", "language", "consent_version", "consented_at"}, guardians},
		{"child", []string{"id", "school_id", "class_id", "name_enc", "name_key"}, children},
		{"guardianship", []string{"guardian_id", "child_id", "status", "method"}, ships},
		{"child_club", []string{"child_id", "club_id"}, clubRows},
		{"conversation", []string{"id", "school_id", "guardian_id", "child_id", "target", "class_id", "club_id", "state", "assignee_id", "unread",
			"last_message_at", "created_at"}, convRows},
	}
	for _, c := range copies {
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{c.table}, c.cols, pgx.CopyFromRows(c.rows)); err != nil {
			return nil, fmt.Errorf("copy %s: %w", c.table, err)
		}
	}

	// Message bodies and the replies' outbox rows, encrypted on every core.
	bodies := make([][]byte, len(msgs))
	outIDs := make([]int64, len(msgs))
	outEnc := make([][]byte, len(msgs))
	next := out0
	for j, m := range msgs {
		if m.dir == dirOut {
			outIDs[j] = next
			next++
		}
	}
	labels := map[int64]string{}
	for _, c := range classes {
		labels[c.id] = c.label + " 担任"
	}
	workers := runtime.GOMAXPROCS(0)
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for k := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := mrand.New(mrand.NewPCG(seed, uint64(100+k)))
			for j := k; j < len(msgs); j += workers {
				m := msgs[j]
				id := msg0 + int64(j)
				var body string
				switch m.dir {
				case dirIn:
					body = text(r, parentLines)
				case dirOut:
					body = text(r, staffLines)
				default:
					body = text(r, noteLines)
				}
				enc, err := v.EncryptPersonal(vault.Personal(body), vault.NewADForID("message", "body", id))
				if err != nil {
					errs[k] = err
					return
				}
				bodies[j] = enc
				if m.dir == dirOut {
					label := labels[w.convs[m.conv].classID]
					if label == "" {
						label = "学校"
					}
					js, _ := json.Marshal([]line.Message{{Text: "【" + label + "】\n" + body}})
					if outEnc[j], err = v.EncryptBytes(js, vault.NewAD("line_outbound", "messages", strconv.FormatInt(outIDs[j], 10))); err != nil {
						errs[k] = err
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	j := 0
	outSrc := pgx.CopyFromFunc(func() ([]any, error) {
		for ; j < len(msgs); j++ {
			if m := msgs[j]; m.dir == dirOut {
				at := time.UnixMicro(m.at)
				state := "sent"
				if j%500 == 7 {
					state = "failed"
				}
				row := []any{outIDs[j], channelID, friend0 + int64(m.conv), "staff_reply", outEnc[j], state, "push", 1, at, at.Add(time.Second)}
				j++
				return row, nil
			}
		}
		return nil, nil
	})
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"line_outbound"}, []string{"id", "channel_id", "friend_id", "purpose", "messages_enc", "state", "method",
		"attempts", "created_at", "sent_at"}, outSrc); err != nil {
		return nil, fmt.Errorf("copy line_outbound: %w", err)
	}
	j = 0
	msgSrc := pgx.CopyFromFunc(func() ([]any, error) {
		if j == len(msgs) {
			return nil, nil
		}
		m := msgs[j]
		var staffID, outID any
		switch m.dir {
		case dirOut:
			staffID, outID = staffIDs[int(m.conv)%len(staffIDs)], outIDs[j]
		case dirNote:
			staffID = staffIDs[int(m.conv)%len(staffIDs)]
		}
		row := []any{msg0 + int64(j), int64(w.convs[m.conv].id), dirNames[m.dir], bodies[j], staffID, outID, time.UnixMicro(m.at)}
		j++
		return row, nil
	})
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"message"}, []string{"id", "conversation_id", "direction", "body_enc", "staff_id", "outbound_id",
		"created_at"}, msgSrc); err != nil {
		return nil, fmt.Errorf("copy message: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return nil, err
	}
	// Statistics and the visibility map as autovacuum would leave them.
	t0 := time.Now()
	if _, err := s.Pool.Exec(ctx, `VACUUM ANALYZE line_friend, guardian, child, guardianship, child_club, conversation, message, line_outbound`); err != nil {
		return nil, err
	}
	w.analyze = time.Since(t0)
	return w, nil
}
