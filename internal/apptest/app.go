package apptest

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/renraku/renraku/internal/app"
	"github.com/renraku/renraku/internal/config"
	"github.com/renraku/renraku/internal/credential"
	"github.com/renraku/renraku/internal/logging"
	"github.com/renraku/renraku/internal/vault/vaulttest"
)

// StartApp starts the whole app on 127.0.0.1:0 against dbURL, as `serve` would.
func StartApp(t *testing.T, dbURL string, logs io.Writer, opts ...func(*config.Config)) *app.App {
	t.Helper()
	keyset, masterKey := vaulttest.Keyset(t)
	cfg := &config.Config{
		DatabaseURL:     dbURL,
		Addr:            "127.0.0.1:0",
		MetricsAddr:     "127.0.0.1:0",
		ShutdownTimeout: 5 * time.Second,
		DataDir:         t.TempDir(),
		KeysetFile:      keyset,
		MasterKey:       masterKey,
		LineAPIURL:      MustURL("http://127.0.0.1:1"),
		LineDataAPIURL:  MustURL("http://127.0.0.1:1"),
	}
	for _, o := range opts {
		o(cfg)
	}
	if logs == nil {
		logs = io.Discard
	}
	a := app.New(cfg, logging.New(logs, slog.LevelDebug))
	if err := a.Start(context.Background()); err != nil {
		t.Fatalf("start: %v", err)
	}
	t.Cleanup(func() {
		if err := a.Close(context.Background()); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return a
}

// Get requests url with header (name, value, …) pairs and returns the answer and its
// body.
func Get(t *testing.T, url string, header ...string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

// MustURL parses s, which the test wrote, panicking if it is not a URL.
func MustURL(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err)
	}
	return u
}

// ChildEnv makes a test binary whose TestMain calls Main run the app instead of the tests: a process a test
// can kill outright (SIGKILL) to show that nothing is lost or sent twice.
const ChildEnv = "RENRAKU_TEST_APP_CHILD"

// SyncBuffer collects logs written from several goroutines.
type SyncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write appends p.
func (b *SyncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// Bytes returns a copy of what was written.
func (b *SyncBuffer) Bytes() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return bytes.Clone(b.buf.Bytes())
}

// String returns what was written.
func (b *SyncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// QuietQuery counts what the app still has to do by itself: webhook events not yet
// processed, LINE messages queued, and jobs that are ready, running or waiting to be
// retried (jobs scheduled for later, such as periodic upkeep, are not work in hand).
const QuietQuery = `SELECT
	(SELECT count(*) FROM line_event WHERE processed_at IS NULL) +
	(SELECT count(*) FROM line_outbound WHERE state = 'queued') +
	(SELECT count(*) FROM river_job WHERE state IN ('available', 'running', 'retryable', 'pending'))`

// WaitQuiet waits until the app using pool has nothing in hand (QuietQuery). A test
// that checks something happened once waits for this instead of sleeping: once quiet,
// nothing more is delivered without a new cause.
func WaitQuiet(t *testing.T, pool *pgxpool.Pool) {
	t.Helper()
	var n int
	for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(100 * time.Millisecond) {
		if err := pool.QueryRow(context.Background(), QuietQuery).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the app still has %d things in hand", n)
		}
	}
}

// Main is the TestMain of a package with end-to-end tests. It makes password hashing
// cheap (the tests check behaviour, not Argon2's cost: docs/PERFORMANCE.md records the
// real figure) and, when ChildEnv is set, runs the app configured by the environment
// instead of the tests, until the process is killed.
func Main(m *testing.M) {
	if os.Getenv(ChildEnv) == "1" {
		os.Exit(runChild())
	}
	credential.Params.Memory, credential.Params.Iterations, credential.Params.Parallelism = 64, 1, 1
	os.Exit(m.Run())
}

// runChild runs the app configured by the environment until the process is killed.
func runChild() int {
	cfg, _, err := config.Load(os.Getenv, flag.NewFlagSet("child", flag.ContinueOnError), nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	a := app.New(cfg, logging.New(os.Stderr, slog.LevelWarn))
	if err := a.Start(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Println("ready", a.URL())
	select {}
}
