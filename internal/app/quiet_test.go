package app_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// quietQuery counts what the app still has to do by itself: webhook events not yet
// processed, LINE messages queued, and jobs that are ready, running or waiting to be
// retried (jobs scheduled for later, such as periodic upkeep, are not work in hand).
const quietQuery = `SELECT
	(SELECT count(*) FROM line_event WHERE processed_at IS NULL) +
	(SELECT count(*) FROM line_outbound WHERE state = 'queued') +
	(SELECT count(*) FROM river_job WHERE state IN ('available', 'running', 'retryable', 'pending'))`

// waitQuiet waits until the app using pool has nothing in hand (quietQuery). A test
// that checks something happened once waits for this instead of sleeping: once quiet,
// nothing more is delivered without a new cause.
func waitQuiet(t *testing.T, pool *pgxpool.Pool) {
	t.Helper()
	var n int
	for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(100 * time.Millisecond) {
		if err := pool.QueryRow(context.Background(), quietQuery).Scan(&n); err != nil {
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
