package app_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/renraku/renraku/internal/app"
	"github.com/renraku/renraku/internal/apptest"
	"github.com/renraku/renraku/internal/browsertest"
	"github.com/renraku/renraku/internal/demo"
	"github.com/renraku/renraku/internal/linesim"
	"github.com/renraku/renraku/internal/logging"
)

// roundRobin is a load balancer in front of several instances: each request goes to
// the next one.
type roundRobin struct {
	mu      sync.Mutex
	targets []*url.URL
	next    int
	served  map[string]int
}

func (rr *roundRobin) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rr.mu.Lock()
	target := rr.targets[rr.next%len(rr.targets)]
	rr.next++
	rr.served[target.Host]++
	rr.mu.Unlock()
	httputil.NewSingleHostReverseProxy(target).ServeHTTP(w, r)
}

// TestThreeInstances runs three app instances on one database behind a round-robin
// balancer: LINE's webhooks (and redeliveries) spread over them are each processed
// once, the periodic jobs run on one instance only, and a teacher's inbox open on the
// third instance shows a parent's message whichever instance received it.
func TestThreeInstances(t *testing.T) {
	t.Parallel()
	browsertest.RequireJapaneseFont(t)
	w := apptest.StartLineWorld(t)
	ctx := context.Background()
	if _, err := demo.SeedStaff(ctx, w.App.Services()); err != nil {
		t.Fatal(err)
	}
	instances := []*app.App{w.App}
	for range 2 {
		cfg := *w.App.Config()
		cfg.Addr, cfg.MetricsAddr = "127.0.0.1:0", ""
		a := app.New(&cfg, logging.New(io.Discard, slog.LevelError))
		if err := a.Start(ctx); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = a.Close(context.Background()) })
		instances = append(instances, a)
	}
	rr := &roundRobin{served: map[string]int{}}
	for _, a := range instances {
		rr.targets = append(rr.targets, apptest.MustURL(a.URL()))
	}
	lb := httptest.NewServer(rr)
	t.Cleanup(lb.Close)
	if err := w.Sim.SetWebhookURL(w.Ch.LineChannelID, lb.URL+"/line/webhook/"+w.Ch.LineChannelID); err != nil {
		t.Fatal(err)
	}

	// Thirty parents add the account and write; every event is then redelivered.
	var users []linesim.User
	for i := range 30 {
		u := w.NewParent(t, fmt.Sprintf("保護者%02d", i))
		users = append(users, u)
		if _, err := w.Sim.Follow(w.Ch.LineChannelID, u.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := w.Sim.SendText(w.Ch.LineChannelID, u.ID, "はじめまして"); err != nil {
			t.Fatal(err)
		}
	}
	for _, u := range users {
		apptest.WaitBotText(t, w, u.ID, "友だち追加ありがとうございます", 1)
		apptest.WaitBotText(t, w, u.ID, "メニューからご利用ください", 1)
	}
	for _, d := range w.Sim.Deliveries() {
		if d.Status != http.StatusOK {
			t.Fatalf("a webhook was answered %d", d.Status)
		}
		for _, id := range d.WebhookEventIDs {
			if _, err := w.Sim.Redeliver(id); err != nil {
				t.Fatal(err)
			}
		}
	}
	apptest.WaitQuiet(t, w.App.Pool())
	for _, u := range users {
		for _, want := range []string{"友だち追加ありがとうございます", "メニューからご利用ください"} {
			if n := apptest.Received(w, u.ID, want); n != 1 {
				t.Errorf("%s received %q %d times", u.DisplayName, want, n)
			}
		}
	}
	for host, n := range rr.served {
		if n < 10 {
			t.Errorf("instance %s received only %d webhooks", host, n)
		}
	}
	if len(rr.served) != 3 {
		t.Errorf("webhooks reached %d instances", len(rr.served))
	}

	// Periodic upkeep ran once, on the elected leader, not once per instance.
	// (The leader is elected within seconds; wait for its first runs and for the queue
	// to be quiet, then make sure no other instance added its own.)
	count := func(kind string) int {
		var n int
		// Within a minute of the first run: vault.rewrap runs again each minute.
		if err := w.App.Services().Pool.QueryRow(ctx, `SELECT count(*) FROM river_job WHERE kind = $1
			AND created_at < (SELECT min(created_at) + interval '55 seconds' FROM river_job WHERE kind = $1)`, kind).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	for deadline := time.Now().Add(30 * time.Second); count("vault.rewrap") == 0 || count("audit.retention") == 0; time.Sleep(200 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the periodic jobs never ran")
		}
	}
	apptest.WaitQuiet(t, w.App.Pool())
	for _, kind := range []string{"vault.rewrap", "audit.retention"} {
		if n := count(kind); n != 1 {
			t.Errorf("%s ran %d times across three instances", kind, n)
		}
	}

	// A teacher's inbox on the third instance; the parent's message arrives through the
	// balancer.
	sakuraID, class11, _ := apptest.SchoolAndClass(t, w, demo.Schools[0].Name, "1年1組")
	if _, err := w.App.Services().Pool.Exec(ctx, `UPDATE school SET office_open = '00:00', office_close = '23:59', office_days = '0123456' WHERE id = $1`, sakuraID); err != nil {
		t.Fatal(err)
	}
	parent, _ := apptest.RegisteredParent(t, w, "加藤 由美", "加藤 海", apptest.ClassCodes(t, w, sakuraID)[class11])
	browser := browsertest.New(t, 1280, 800)
	err := chromedp.Do(browser,
		chromedp.Navigate(instances[2].URL()+"/staff/login"),
		chromedp.SendKeys(chromedp.CSS(`#f-login`), "sakura.tannin11"),
		chromedp.SendKeys(chromedp.CSS(`#f-password`), demo.Password),
		chromedp.Click(chromedp.CSS(`[data-testid="signin-submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="to-inbox"]`)),
		chromedp.Click(chromedp.CSS(`[data-testid="to-inbox"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="inbox-empty"]`)),
		chromedp.Sleep(500*time.Millisecond), // the event stream connects
	)
	if err != nil {
		t.Fatal(err)
	}
	apptest.Pick(t, w, parent, "1年1組 担任", 1)
	if _, err := w.Sim.SendText(w.Ch.LineChannelID, parent.ID, "明日は遅れて登校します"); err != nil {
		t.Fatal(err)
	}
	waitCtx, cancel := context.WithTimeout(browser, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(waitCtx, chromedp.WaitVisible(chromedp.CSS(`[data-testid="conversation"]`))); err != nil {
		t.Fatalf("the message did not appear on the third instance: %v", err)
	}
	item, err := chromedp.Run(browser, chromedp.Text(chromedp.CSS(`[data-testid="conversation"]`)))
	if err != nil || !strings.Contains(item, "加藤 由美") {
		t.Errorf("inbox item: %q (%v)", item, err)
	}
}

// TestShutdownEndsOpenInboxStreams: an open inbox (a server-sent event stream that never
// ends by itself) does not hold up a graceful shutdown: the stream ends and Close
// returns without running into its timeout.
func TestShutdownEndsOpenInboxStreams(t *testing.T) {
	t.Parallel()
	w := apptest.StartLineWorld(t)
	if _, err := demo.SeedStaff(context.Background(), w.App.Services()); err != nil {
		t.Fatal(err)
	}
	c := apptest.NewStaffClient(t, w.App.URL())
	c.SignIn("sakura.tannin11", demo.Password)
	resp, err := c.HTTP.Do(apptest.MustRequest(t, http.MethodGet, w.App.URL()+"/staff/inbox/events", nil))
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("stream: %v %v", resp, err)
	}
	ended := make(chan error, 1)
	go func() {
		_, err := io.Copy(io.Discard, resp.Body)
		ended <- err
	}()
	if err := w.App.Close(context.Background()); err != nil {
		t.Fatalf("shutdown with an open inbox: %v", err)
	}
	if err := <-ended; err != nil {
		t.Errorf("the stream did not end cleanly: %v", err)
	}
}
