package postgres_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/renraku/renraku/internal/audit"
	"github.com/renraku/renraku/internal/pgtest"
	"github.com/renraku/renraku/internal/postgres"
	"github.com/renraku/renraku/internal/postgres/pgtx"
)

func TestTransactor(t *testing.T) {
	t.Parallel()
	pool := pgtest.NewDB(t)
	tr := postgres.NewTransactor(pool)
	ctx := context.Background()
	count := func(ctx context.Context) int {
		t.Helper()
		var n int
		if err := pgtx.Tx(ctx).QueryRow(ctx, `SELECT count(*) FROM board WHERE name = 'rollback probe'`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	boom := errors.New("boom")

	// A store outside any transaction fails, and says why.
	if _, err := pgtx.Tx(ctx).Exec(ctx, `SELECT 1`); !errors.Is(err, pgtx.ErrNoTx) {
		t.Fatalf("statement outside a transaction: %v", err)
	}

	// InTx inside Run is a real transaction: its work rolls back with it.
	err := tr.Run(ctx, func(ctx context.Context) error {
		if pgtx.InTransaction(ctx) {
			t.Error("Run's statements reported as a transaction")
		}
		return tr.InTx(ctx, func(ctx context.Context) error {
			if !pgtx.InTransaction(ctx) {
				t.Error("InTx inside Run has no transaction")
			}
			if _, err := pgtx.Tx(ctx).Exec(ctx, `INSERT INTO board (name) VALUES ('rollback probe')`); err != nil {
				return err
			}
			return boom
		})
	})
	if !errors.Is(err, boom) {
		t.Fatalf("InTx's error: %v", err)
	}
	if err := tr.Run(ctx, func(ctx context.Context) error {
		if n := count(ctx); n != 0 {
			t.Errorf("work of a failed InTx inside Run was kept (%d)", n)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}

	// InTx inside InTx joins it: the inner work rolls back with the outer.
	err = tr.InTx(ctx, func(ctx context.Context) error {
		outer, _ := pgtx.From(ctx)
		if err := tr.InTx(ctx, func(ctx context.Context) error {
			if inner, _ := pgtx.From(ctx); inner != outer {
				t.Error("nested InTx started a transaction of its own")
			}
			_, err := pgtx.Tx(ctx).Exec(ctx, `INSERT INTO board (name) VALUES ('rollback probe')`)
			return err
		}); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("outer InTx's error: %v", err)
	}

	// InNewTx inside a failing InTx keeps its own work.
	err = tr.InTx(ctx, func(ctx context.Context) error {
		if err := tr.InNewTx(ctx, func(ctx context.Context) error {
			_, err := pgtx.Tx(ctx).Exec(ctx, `INSERT INTO board (name) VALUES ('rollback probe')`)
			return err
		}); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("outer InTx's error: %v", err)
	}
	if err := tr.Run(ctx, func(ctx context.Context) error {
		if n := count(ctx); n != 1 {
			t.Errorf("InNewTx's work inside a failed InTx: %d rows, want 1", n)
		}
		// Run's statements cannot start a transaction of their own.
		if _, err := pgtx.Tx(ctx).Begin(ctx); err == nil {
			t.Error("Begin inside Run succeeded")
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

// The audit log stores a transaction's events at its commit, in one round trip with
// the COMMIT, and seals them into the chain before the transactor returns: in order,
// on one chain across concurrent transactions, nothing left pending, and never for
// work that rolls back or fails at commit.
func TestTransactorAppendsAuditAtCommit(t *testing.T) {
	t.Parallel()
	pool := pgtest.NewDB(t)
	tr := postgres.NewTransactor(pool)
	ctx := context.Background()
	log := audit.New(func(data []byte) ([]byte, error) {
		m := hmac.New(sha256.New, []byte("test chain key"))
		m.Write(data)
		return m.Sum(nil), nil
	})
	ev := func(i int) audit.Event {
		return audit.Event{Actor: audit.SystemActor, Action: "test.probe", ObjectKind: "probe", ObjectID: strconv.Itoa(i)}
	}
	rows := func() []string {
		t.Helper()
		r, err := pool.Query(ctx, `SELECT object_id FROM audit_event WHERE action = 'test.probe' ORDER BY seq`)
		if err != nil {
			t.Fatal(err)
		}
		ids, err := pgx.CollectRows(r, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		return ids
	}
	pending := func() int {
		t.Helper()
		var n int
		if err := pool.QueryRow(ctx, `SELECT count(*) FROM audit_pending`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	boards := func(name string) int {
		t.Helper()
		var n int
		if err := pool.QueryRow(ctx, `SELECT count(*) FROM board WHERE name = $1`, name).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}

	// Several events of one transaction, some recorded in a joined InTx, in order.
	err := tr.InTx(ctx, func(ctx context.Context) error {
		if _, ok := pgtx.FinalOf(ctx); !ok {
			t.Error("the transactor's transaction has no final steps")
		}
		if err := log.Record(ctx, ev(1)); err != nil {
			return err
		}
		if err := tr.InTx(ctx, func(ctx context.Context) error { return log.Record(ctx, ev(2)) }); err != nil {
			return err
		}
		if err := log.Record(ctx, ev(3)); err != nil {
			return err
		}
		_, err := pgtx.Tx(ctx).Exec(ctx, `INSERT INTO board (name) VALUES ('audited probe')`)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(rows(), ","); got != "1,2,3" || boards("audited probe") != 1 || pending() != 0 {
		t.Fatalf("after commit: events %q, boards %d, %d pending", got, boards("audited probe"), pending())
	}

	// Work that fails leaves no event.
	boom := errors.New("boom")
	if err := tr.InTx(ctx, func(ctx context.Context) error {
		if err := log.Record(ctx, ev(4)); err != nil {
			return err
		}
		return boom
	}); !errors.Is(err, boom) {
		t.Fatalf("failed work: %v", err)
	}

	// A statement sent with the COMMIT that fails fails the transaction: nothing of it
	// is kept, and the connection serves the next transaction.
	err = tr.InTx(ctx, func(ctx context.Context) error {
		if _, err := pgtx.Tx(ctx).Exec(ctx, `INSERT INTO board (name) VALUES ('failed at commit')`); err != nil {
			return err
		}
		if err := log.Record(ctx, ev(5)); err != nil {
			return err
		}
		f, _ := pgtx.FinalOf(ctx)
		f.Once("probe", func() any { return nil }, func(any) func(context.Context, pgx.Tx, *pgx.Batch) error {
			return func(_ context.Context, _ pgx.Tx, b *pgx.Batch) error {
				b.Queue(`SELECT 1 / 0`)
				return nil
			}
		})
		return nil
	})
	if err == nil {
		t.Fatal("a transaction whose final statement failed committed")
	}
	if got := strings.Join(rows(), ","); got != "1,2,3" || boards("failed at commit") != 0 {
		t.Fatalf("after failed work: events %q, boards %d", got, boards("failed at commit"))
	}

	// Concurrent transactions keep one chain, every event once.
	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 5 {
				errs <- tr.InTx(ctx, func(ctx context.Context) error {
					if err := log.Record(ctx, ev(100+w*10+i)); err != nil {
						return err
					}
					return log.Record(ctx, ev(1000+w*10+i))
				})
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	got := rows()
	if len(got) != 3+80 || pending() != 0 {
		t.Fatalf("%d events after the concurrent transactions, want 83; %d pending", len(got), pending())
	}
	// Each transaction's two events in the order it recorded them.
	at := map[string]int{}
	for i, id := range got {
		at[id] = i
	}
	for w := range 8 {
		for i := range 5 {
			if a, b := at[strconv.Itoa(100+w*10+i)], at[strconv.Itoa(1000+w*10+i)]; a >= b {
				t.Errorf("transaction %d.%d: its events at %d and %d of the chain", w, i, a, b)
			}
		}
	}
	rep, err := log.Verify(ctx, pool)
	if err != nil || !rep.OK {
		t.Fatalf("chain: %+v, %v", rep, err)
	}
}
