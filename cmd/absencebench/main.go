// Command absencebench measures the parents' absence form at the morning peak:
// submissions per second and p50/p99 latency at fixed offered rates (open loop), each
// submission from its own parent through the real page (link, browser cookie, form
// post, encryption, outbox). Run it with a database (cmd/pgrun provides one):
//
//	go run ./cmd/pgrun -- go run ./cmd/absencebench -rates 1,50,500 -seconds 10
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
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/renraku/renraku/internal/absence"
	"github.com/renraku/renraku/internal/app"
	"github.com/renraku/renraku/internal/config"
	"github.com/renraku/renraku/internal/credential"
	"github.com/renraku/renraku/internal/demo"
	"github.com/renraku/renraku/internal/line"
	"github.com/renraku/renraku/internal/linesim"
	"github.com/renraku/renraku/internal/logging"
	"github.com/renraku/renraku/internal/parentlink"
	"github.com/renraku/renraku/internal/registration"
	"github.com/renraku/renraku/internal/schema"
	"github.com/renraku/renraku/internal/vault"
)

type parent struct {
	link   string
	client *http.Client
	child  string
}

func main() {
	rates := flag.String("rates", "1,50,500", "offered rates, submissions per second")
	seconds := flag.Int("seconds", 10, "seconds per run")
	flag.Parse()
	dbURL := os.Getenv("DATABASE_URL")
	if dbURL == "" {
		log.Fatal("absencebench: DATABASE_URL is required (use cmd/pgrun)")
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
	dir, _ := os.MkdirTemp("", "absencebench")
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
	ch, err := demo.Seed(ctx, a.Services(), sim, a.URL())
	if err != nil {
		log.Fatal(err)
	}
	if _, err := demo.SeedStaff(ctx, a.Services()); err != nil {
		log.Fatal(err)
	}

	total := 0
	var runs []int
	for _, rs := range strings.Split(*rates, ",") {
		rate, _ := strconv.Atoi(rs)
		runs = append(runs, rate)
		total += rate * *seconds
	}
	t0 := time.Now()
	parents := makeParents(ctx, a, ch, total)
	fmt.Fprintf(os.Stderr, "absencebench: %d parents ready in %s\n", len(parents), time.Since(t0).Round(time.Second))

	fmt.Printf("| offered reports/s | achieved/s | p50 ms | p99 ms | errors |\n| --- | --- | --- | --- | --- |\n")
	next := 0
	for _, rate := range runs {
		n := rate * *seconds
		r := run(parents[next:next+n], rate)
		next += n
		fmt.Printf("| %d | %.1f | %.1f | %.1f | %d |\n", rate, r.rate, r.p50, r.p99, r.errors)
	}
}

// makeParents registers n verified parents of children in the demo school's classes
// (straight through the stores: registration is not what is measured) and opens each
// one's absence link once in its own browser, as a parent does before filling the form.
func makeParents(ctx context.Context, a *app.App, ch line.Channel, n int) []parent {
	s := a.Services()
	sc, err := s.Schools.FindSchool(ctx, demo.Schools[0].Name)
	if err != nil {
		log.Fatal(err)
	}
	var classes []int64
	rows, _ := s.Pool.Query(ctx, `SELECT id FROM class WHERE school_id = $1`, sc.ID)
	classes, err = pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil || len(classes) == 0 {
		log.Fatalf("classes: %v", err)
	}
	out := make([]parent, n)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 16)
	for i := 0; i < n; i++ {
		wg.Add(1)
		sem <- struct{}{}
		go func(i int) {
			defer wg.Done()
			defer func() { <-sem }()
			var link string
			err := s.Tx.InTx(ctx, func(ctx context.Context) error {
				f := line.Friend{ChannelID: ch.ID, UserID: vault.Personal(fmt.Sprintf("U%032x", i+1)), Language: "ja", Following: true}
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
			out[i].link, out[i].client = link, c
		}(i)
	}
	wg.Wait()
	return out
}

var transport = &http.Transport{MaxIdleConnsPerHost: 2000}

type result struct {
	rate, p50, p99 float64
	errors         int
}

// run offers one submission per parent at a fixed rate (open loop).
func run(parents []parent, rate int) result {
	interval := time.Second / time.Duration(rate)
	tomorrow := absence.Today(time.Now()).AddDate(0, 0, 1).Format("2006-01-02")
	var mu sync.Mutex
	var lat []float64
	errs := 0
	var wg sync.WaitGroup
	start := time.Now()
	for i, p := range parents {
		time.Sleep(time.Until(start.Add(time.Duration(i) * interval)))
		wg.Add(1)
		go func(p parent) {
			defer wg.Done()
			k := make([]byte, 18)
			_, _ = rand.Read(k)
			form := url.Values{"key": {base64.RawURLEncoding.EncodeToString(k)}, "child": {p.child}, "kind": {"absent"}, "from": {tomorrow},
				"reason": {"illness"}, "symptoms": {"fever"}, "temperature": {"38.0"}, "note": {"発熱のため休みます"}}
			t0 := time.Now()
			res, err := p.client.PostForm(p.link, form)
			ms := float64(time.Since(t0).Microseconds()) / 1000
			ok := err == nil && res.StatusCode == http.StatusOK
			if res != nil {
				_, _ = io.Copy(io.Discard, res.Body)
				res.Body.Close()
			}
			mu.Lock()
			defer mu.Unlock()
			if !ok {
				errs++
				return
			}
			lat = append(lat, ms)
		}(p)
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
