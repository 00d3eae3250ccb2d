package jobs_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"slices"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/renraku/renraku/internal/jobs"
	"github.com/renraku/renraku/internal/pgtest"
	"github.com/renraku/renraku/internal/postgres"
	"github.com/renraku/renraku/internal/postgres/pgtx"
)

type testArgs struct {
	N int `json:"n"`
}

func (testArgs) Kind() string { return "jobs.test" }

// queued returns the N of the test jobs visible to q, in order.
func queued(t *testing.T, ctx context.Context, q interface {
	Query(context.Context, string, ...any) (pgx.Rows, error)
}) []int {
	t.Helper()
	rows, err := q.Query(ctx, `SELECT (args->>'n')::int FROM river_job WHERE kind = 'jobs.test' ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	ns, err := pgx.CollectRows(rows, pgx.RowTo[int])
	if err != nil {
		t.Fatal(err)
	}
	return ns
}

// TestJobsGoInWithTheCommit checks that a transaction's jobs are inserted together at
// its COMMIT (none is in the table before), that a savepoint rolled back takes back the
// jobs queued in it, that a transaction rolled back inserts none, and that a
// transaction the Transactor did not start inserts at once.
func TestJobsGoInWithTheCommit(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := pgtest.NewDB(t)
	c, err := jobs.New(jobs.Config{Pool: pool, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), InsertOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	q := &jobs.Queue{Client: c}
	tr := postgres.NewTransactor(pool)

	err = tr.InTx(ctx, func(ctx context.Context) error {
		if _, err := q.Insert(ctx, testArgs{N: 1}, nil); err != nil {
			return err
		}
		if err := tr.Savepoint(ctx, func(ctx context.Context) error {
			if _, err := q.Insert(ctx, testArgs{N: 2}, nil); err != nil {
				return err
			}
			return errors.New("undone")
		}); err == nil {
			t.Error("the savepoint did not fail")
		}
		if _, err := q.InsertMany(ctx, []river.InsertManyParams{{Args: testArgs{N: 3}}, {Args: testArgs{N: 4}}}); err != nil {
			return err
		}
		if ns := queued(t, ctx, pgtx.Tx(ctx)); len(ns) != 0 {
			t.Errorf("before the commit the transaction sees jobs %v", ns)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if ns := queued(t, ctx, pool); !slices.Equal(ns, []int{1, 3, 4}) {
		t.Errorf("committed jobs %v, want [1 3 4]", ns)
	}

	// A transaction rolled back inserts nothing.
	if err := tr.InTx(ctx, func(ctx context.Context) error {
		if _, err := q.Insert(ctx, testArgs{N: 5}, nil); err != nil {
			return err
		}
		return errors.New("rolled back")
	}); err == nil {
		t.Fatal("the transaction did not fail")
	}
	// A transaction begun elsewhere (no final steps) inserts at once.
	if err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		ctx := pgtx.With(ctx, tx)
		if _, err := q.Insert(ctx, testArgs{N: 6}, nil); err != nil {
			return err
		}
		if ns := queued(t, ctx, tx); !slices.Contains(ns, 6) {
			t.Errorf("a job inserted outside the Transactor is not in its transaction: %v", ns)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if ns := queued(t, ctx, pool); !slices.Equal(ns, []int{1, 3, 4, 6}) {
		t.Errorf("jobs %v, want [1 3 4 6]", ns)
	}
}
