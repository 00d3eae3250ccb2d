package audit

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/renraku/renraku/internal/pgtest"
)

// leavePending stores events as a transaction of the transactor does at its commit,
// without sealing them (as if the process stopped right after the commit).
func leavePending(t *testing.T, l *Log, pool *pgxpool.Pool, events ...Event) {
	t.Helper()
	var rows []row
	for _, e := range events {
		r, err := l.newRow(e)
		if err != nil {
			t.Fatal(err)
		}
		rows = append(rows, r)
	}
	b := &pgx.Batch{}
	queuePending(b, rows)
	if err := pool.SendBatch(context.Background(), b).Close(); err != nil {
		t.Fatal(err)
	}
}

func pendingCount(t *testing.T, pool *pgxpool.Pool) int {
	t.Helper()
	var n int
	if err := pool.QueryRow(context.Background(), `SELECT count(*) FROM audit_pending`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestSealMovesPendingIntoTheChain: events left pending (a process stopped between a
// commit and its seal) are sealed by the next seal, in the order they were recorded,
// after the rows appended before them; the chain verifies and nothing stays pending.
// Concurrent seals share rounds and seal every event once.
func TestSealMovesPendingIntoTheChain(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := pgtest.NewDB(t)
	l := newLog()
	record(t, l, pool, event(0))
	leavePending(t, l, pool, event(1), event(2), event(3))
	if rep := mustVerify(t, l, pool); !rep.OK || rep.Checked != 1 {
		t.Fatalf("before the seal: %v", rep)
	}
	if err := l.SealLeftovers(ctx, pool); err != nil {
		t.Fatal(err)
	}
	if n := pendingCount(t, pool); n != 0 {
		t.Fatalf("%d events still pending after the seal", n)
	}
	if rep := mustVerify(t, l, pool); !rep.OK || rep.Checked != 4 || rep.HeadSeq != 4 {
		t.Fatalf("after the seal: %v", rep)
	}
	rows, err := pool.Query(ctx, `SELECT object_id FROM audit_event ORDER BY seq`)
	if err != nil {
		t.Fatal(err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil || len(ids) != 4 || ids[0] != "100" || ids[1] != "101" || ids[3] != "103" {
		t.Fatalf("chain order %v (%v)", ids, err)
	}
	// Nothing pending: no lock, no transaction.
	if err := l.SealLeftovers(ctx, pool); err != nil {
		t.Fatal(err)
	}

	const writers, each = 8, 10
	var wg sync.WaitGroup
	errs := make(chan error, writers*each)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				leavePending(t, l, pool, event(10+w*each+i))
				errs <- l.Seal(ctx, pool)
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
	if n := pendingCount(t, pool); n != 0 {
		t.Fatalf("%d events still pending after concurrent seals", n)
	}
	if rep := mustVerify(t, l, pool); !rep.OK || rep.Checked != 4+writers*each {
		t.Fatalf("after concurrent seals: %v", rep)
	}
}

// TestPendingEventsLeaveOnlyIntoTheChain: the server's role may insert and read
// pending events, nothing more; a pending event leaves only by being sealed unchanged
// (an audit_event row that names it with other content is refused), and a superuser's
// DELETE of it is refused too unless the chain holds it.
func TestPendingEventsLeaveOnlyIntoTheChain(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := pgtest.NewDB(t)
	l := newLog()
	record(t, l, pool, event(0))
	leavePending(t, l, pool, event(1))
	var id int64
	if err := pool.QueryRow(ctx, `SELECT id FROM audit_pending`).Scan(&id); err != nil {
		t.Fatal(err)
	}
	refused := func(name string, err error) {
		t.Helper()
		var pgErr *pgconn.PgError
		if !errors.As(err, &pgErr) || pgErr.Code != "42501" { // insufficient_privilege
			t.Errorf("%s: err = %v, want PostgreSQL's insufficient_privilege", name, err)
		}
	}
	for name, sql := range map[string]string{
		"delete":   `DELETE FROM audit_pending`,
		"update":   `UPDATE audit_pending SET action = 'x.y.z'`,
		"truncate": `TRUNCATE audit_pending`,
	} {
		_, err := pool.Exec(ctx, sql)
		refused(name, err)
	}
	// A forged seal: the pending row's ID on a row saying something else.
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		var seq int64
		var prev []byte
		if err := tx.QueryRow(ctx, `SELECT head_seq, head_mac FROM audit_lock_head()`).Scan(&seq, &prev); err != nil {
			return err
		}
		r, err := l.newRow(event(1))
		if err != nil {
			return err
		}
		r.Action, r.PendingID = "guardian.export", id
		b := &pgx.Batch{}
		if err := l.link(b, seq, prev, []row{r}); err != nil {
			return err
		}
		return tx.SendBatch(ctx, b).Close()
	})
	refused("a seal with other content", err)
	superuser := pgtest.Owner(t, pool)
	_, err = superuser.Exec(ctx, `DELETE FROM audit_pending`)
	refused("the owner's delete", err)
	if n := pendingCount(t, pool); n != 1 {
		t.Fatalf("%d pending after refused changes, want 1", n)
	}
	if err := l.Seal(ctx, pool); err != nil {
		t.Fatal(err)
	}
	if rep := mustVerify(t, l, pool); !rep.OK || rep.Checked != 2 || pendingCount(t, pool) != 0 {
		t.Fatalf("after the seal: %v, %d pending", rep, pendingCount(t, pool))
	}
}
