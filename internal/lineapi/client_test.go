package lineapi_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/renraku/renraku/internal/lineapi"
)

// TestClientCallsEndWithTheirContext: a call waiting for the channel's rate limit stops
// when its context ends (a cancelled job does not wait on), and so does a request in
// flight.
func TestClientCallsEndWithTheirContext(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		if r.URL.Path == "/v2/bot/info" {
			<-r.Context().Done() // LINE does not answer
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"sentMessages":[]}`))
	}))
	defer srv.Close()
	u, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	c := lineapi.NewClient(u, u)
	c.SetLimit("push", 1)
	ch := lineapi.Channel{ID: "1234567", AccessToken: "token-of-the-test-channel"}
	msgs := []lineapi.Message{{Text: "x"}}

	if _, err := c.Push(context.Background(), ch, "U0123456789abcdef0123456789abcdef", "", msgs); err != nil {
		t.Fatal(err)
	}
	// The window is full for about a second: the next push waits, until its context
	// ends.
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = c.Push(ctx, ch, "U0123456789abcdef0123456789abcdef", "", msgs)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("push in a full window: %v, want the context's deadline", err)
	}
	if waited := time.Since(start); waited > 500*time.Millisecond {
		t.Errorf("waited %v for a context of 50 ms", waited)
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("%d calls reached LINE, want 1", n)
	}

	ctx, cancel = context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := c.BotInfo(ctx, ch); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("bot info LINE does not answer: %v, want the context's deadline", err)
	}
}

// TestClientKeepsItsConnections: calls made several at a time, as a batch of replies is
// sent, reuse the connections of the calls before them rather than opening one each
// (a TLS handshake with LINE every time).
func TestClientKeepsItsConnections(t *testing.T) {
	t.Parallel()
	var opened atomic.Int32
	const parallel = 8
	// Every call waits until parallel calls are in the server, so the round uses
	// exactly parallel connections.
	var inRound atomic.Int32
	release := make(chan struct{})
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if inRound.Add(1) == parallel {
			close(release)
		}
		<-release
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"sentMessages":[]}`))
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			opened.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	u, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	c := lineapi.NewClient(u, u)
	ch := lineapi.Channel{ID: "1234567", AccessToken: "token-of-the-test-channel"}
	for round := range 3 {
		inRound.Store(0)
		if round > 0 {
			release = make(chan struct{})
		}
		var wg sync.WaitGroup
		errs := make(chan error, parallel)
		for range parallel {
			wg.Go(func() {
				_, err := c.Push(context.Background(), ch, "U0123456789abcdef0123456789abcdef", "", []lineapi.Message{{Text: "x"}})
				errs <- err
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	if n := opened.Load(); n != parallel {
		t.Errorf("3 rounds of %d calls at once opened %d connections, want %d", parallel, n, parallel)
	}
}
