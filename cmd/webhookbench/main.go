// Command webhookbench measures webhook ingest: events per second and p50/p99
// acknowledgement latency at fixed offered rates, for renraku's durable webhook and,
// side by side, a bare handler that only verifies and parses (lineapi, on the SDK). Run it with
// a database (cmd/pgrun provides one):
//
//	go run ./cmd/pgrun -- go run ./cmd/webhookbench -rates 500,2000 -seconds 10
//
// Traffic goes only to 127.0.0.1. Results go to stdout for docs/PERFORMANCE.md.
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
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/renraku/renraku/internal/app"
	"github.com/renraku/renraku/internal/config"
	"github.com/renraku/renraku/internal/demo"
	"github.com/renraku/renraku/internal/lineapi"
	"github.com/renraku/renraku/internal/linesim"
	"github.com/renraku/renraku/internal/logging"
	"github.com/renraku/renraku/internal/schema"
	"github.com/renraku/renraku/internal/vault"
)

func main() {
	rates := flag.String("rates", "500,2000", "offered rates, events per second")
	seconds := flag.Int("seconds", 10, "seconds per run")
	flag.Parse()
	dbURL := os.Getenv("DATABASE_URL")
	if dbURL == "" {
		log.Fatal("webhookbench: DATABASE_URL is required (use cmd/pgrun)")
	}
	m, err := schema.NewMigrator(dbURL)
	if err != nil {
		log.Fatal(err)
	}
	if err := m.Up(); err != nil {
		log.Fatal(err)
	}
	m.Close()

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
	// The bench migrates and runs on one throwaway superuser connection.
	cfg := &config.Config{DatabaseURL: dbURL, AllowOwnerRole: true, Addr: "127.0.0.1:0", ShutdownTimeout: 10 * time.Second,
		KeysetFile: keyset, MasterKey: key, LineAPIURL: simURL, LineDataAPIURL: simURL}
	a := app.New(cfg, logging.New(io.Discard, slog.LevelError))
	if err := a.Start(context.Background()); err != nil {
		log.Fatal(err)
	}
	defer a.Close(context.Background())
	ch, err := demo.Seed(context.Background(), a.Services(), sim, a.URL())
	if err != nil {
		log.Fatal(err)
	}
	secret := ch.Secret.Reveal()

	bare := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
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
	defer bare.Close()

	fmt.Printf("| target | offered ev/s | achieved ev/s | p50 ms | p99 ms | errors |\n| --- | --- | --- | --- | --- | --- |\n")
	for _, rs := range strings.Split(*rates, ",") {
		rate, _ := strconv.Atoi(rs)
		for _, target := range []struct{ name, url string }{
			{"renraku (durable)", a.URL() + "/line/webhook/" + ch.LineChannelID},
			{"bare SDK handler", bare.URL},
		} {
			r := run(target.url, secret, rate, time.Duration(*seconds)*time.Second)
			fmt.Printf("| %s | %d | %.0f | %.2f | %.2f | %d |\n", target.name, rate, r.rate, r.p50, r.p99, r.errors)
		}
	}
}

type result struct {
	rate, p50, p99 float64
	errors         int
}

// run offers one event per request at a fixed rate (open loop: requests start on
// schedule whether or not earlier ones finished), each from its own user.
func run(target, secret string, rate int, d time.Duration) result {
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 2000, MaxConnsPerHost: 0}}
	n := rate * int(d/time.Second)
	interval := time.Second / time.Duration(rate)
	var mu sync.Mutex
	var lat []float64
	errs := 0
	var wg sync.WaitGroup
	start := time.Now()
	for i := 0; i < n; i++ {
		next := start.Add(time.Duration(i) * interval)
		time.Sleep(time.Until(next))
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			body := event(i)
			mac := hmac.New(sha256.New, []byte(secret))
			mac.Write(body)
			req, _ := http.NewRequest(http.MethodPost, target, bytes.NewReader(body))
			req.Header.Set("X-Line-Signature", base64.StdEncoding.EncodeToString(mac.Sum(nil)))
			req.Header.Set("Content-Type", "application/json")
			t0 := time.Now()
			resp, err := client.Do(req)
			ms := float64(time.Since(t0).Microseconds()) / 1000
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs++
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				errs++
				return
			}
			lat = append(lat, ms)
		}(i)
	}
	wg.Wait()
	elapsed := time.Since(start).Seconds()
	sort.Float64s(lat)
	pct := func(p float64) float64 {
		if len(lat) == 0 {
			return 0
		}
		return lat[int(p*float64(len(lat)-1))]
	}
	return result{rate: float64(len(lat)) / elapsed, p50: pct(0.50), p99: pct(0.99), errors: errs}
}

var runID = func() string { b := make([]byte, 4); _, _ = rand.Read(b); return hex.EncodeToString(b) }()

func event(i int) []byte {
	user := fmt.Sprintf("U%032x", i+1)
	id := fmt.Sprintf("01BENCH%s%011d", strings.ToUpper(runID), i)
	return []byte(fmt.Sprintf(`{"destination":"Ubot","events":[{"type":"message","mode":"active","timestamp":%d,"webhookEventId":%q,"deliveryContext":{"isRedelivery":false},"source":{"type":"user","userId":%q},"replyToken":"rt%d","message":{"type":"text","id":"%d","quoteToken":"q","text":"明日は欠席します"}}]}`,
		time.Now().UnixMilli(), id, user, i, i))
}
