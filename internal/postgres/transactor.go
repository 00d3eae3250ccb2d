package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/renraku/renraku/internal/postgres/pgtx"
)

// Transactor runs the features' work in PostgreSQL transactions (txn.Transactor): the
// transaction travels in the context, where the stores and the job queue find it.
type Transactor struct {
	Pool *pgxpool.Pool
}

// NewTransactor returns a transactor on pool.
func NewTransactor(pool *pgxpool.Pool) *Transactor { return &Transactor{Pool: pool} }

// InTx runs fn in a transaction, or in the one ctx already carries.
func (t *Transactor) InTx(ctx context.Context, fn func(ctx context.Context) error) error {
	if pgtx.InTransaction(ctx) {
		return fn(ctx)
	}
	return t.InNewTx(ctx, fn)
}

// InNewTx runs fn in a transaction of its own even when ctx carries one: for work that
// must be kept when the surrounding transaction rolls back. What fn leaves to do last
// (pgtx.Final: the audit log's append) runs after fn, and its statements go to the
// server with the COMMIT, in one round trip; what waits for the commit (the audit
// events' seal) runs after it, before InNewTx returns.
func (t *Transactor) InNewTx(ctx context.Context, fn func(ctx context.Context) error) error {
	if !pgtx.InTransaction(ctx) {
		if c, ok := pgtx.ConnFrom(ctx); ok {
			// A connection pinned by TryLock: the final statements are sent before a
			// COMMIT of their own.
			fin := &pgtx.Final{}
			err := pgx.BeginFunc(ctx, c, func(tx pgx.Tx) error {
				if err := fn(pgtx.WithFinal(pgtx.With(ctx, tx), fin)); err != nil {
					return err
				}
				b := &pgx.Batch{}
				if err := fin.Run(ctx, tx, b); err != nil || b.Len() == 0 {
					return err
				}
				return tx.SendBatch(ctx, b).Close()
			})
			if err == nil {
				fin.Committed(context.WithoutCancel(ctx), t.Pool)
			}
			return err
		}
	}
	conn, err := t.Pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	tx, err := conn.Begin(ctx)
	if err != nil {
		return err
	}
	fin := &pgtx.Final{}
	if err := fn(pgtx.WithFinal(pgtx.With(ctx, tx), fin)); err != nil {
		return rollback(ctx, tx, err)
	}
	if fin.Empty() {
		err = tx.Commit(ctx)
	} else {
		b := &pgx.Batch{}
		if err := fin.Run(ctx, tx, b); err != nil {
			return rollback(ctx, tx, err)
		}
		err = pgtx.CommitWith(ctx, conn, b)
	}
	if err != nil {
		return err
	}
	// What waits for the commit (the audit events' seal) runs on another connection:
	// this one goes back to the pool first.
	conn.Release()
	fin.Committed(context.WithoutCancel(ctx), t.Pool)
	return nil
}

// rollback ends a failed transaction and returns its error (a connection left in a
// transaction is closed when released, so a failed ROLLBACK loses nothing).
func rollback(ctx context.Context, tx pgx.Tx, err error) error {
	_ = tx.Rollback(context.WithoutCancel(ctx))
	return err
}

// TryLock runs fn holding PostgreSQL's session advisory lock on key, or returns false
// at once when another session holds it. The transactions fn starts run on the
// connection that holds the lock, so work under one key needs one connection.
func (t *Transactor) TryLock(ctx context.Context, key int64, fn func(ctx context.Context) error) (bool, error) {
	conn, err := t.Pool.Acquire(ctx)
	if err != nil {
		return false, err
	}
	defer conn.Release()
	var locked bool
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1)`, key).Scan(&locked); err != nil {
		return false, err
	}
	if !locked {
		return false, nil
	}
	defer func() {
		// A fresh context: the lock must go even if ctx was cancelled.
		_, _ = conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, key)
	}()
	return true, fn(pgtx.WithConn(ctx, conn))
}

// Run runs fn with every statement on the pool, each committed on its own, unless ctx
// carries a transaction already (txn.Transactor).
func (t *Transactor) Run(ctx context.Context, fn func(ctx context.Context) error) error {
	if _, ok := pgtx.From(ctx); ok {
		return fn(ctx)
	}
	if c, ok := pgtx.ConnFrom(ctx); ok {
		if q, ok := c.(pgtx.Querier); ok {
			return fn(pgtx.With(ctx, pgtx.Autocommit(q)))
		}
	}
	return fn(pgtx.With(ctx, pgtx.Autocommit(t.Pool)))
}

// Savepoint runs fn in a savepoint of the transaction ctx carries: when fn fails, what
// it did is undone and the transaction goes on (a batch of independent pieces of work
// in one commit, each of which may fail alone).
func (t *Transactor) Savepoint(ctx context.Context, fn func(ctx context.Context) error) error {
	tx, ok := pgtx.From(ctx)
	if !ok || !pgtx.InTransaction(ctx) {
		return pgtx.ErrNoTx
	}
	// What fn leaves for the commit (the audit log's events) goes with its work.
	undo := func() {}
	if f, ok := pgtx.FinalOf(ctx); ok {
		undo = f.Mark()
	}
	err := pgx.BeginFunc(ctx, tx, func(sp pgx.Tx) error { return fn(pgtx.With(ctx, sp)) })
	if err != nil {
		undo()
	}
	return err
}

// TryXactLocks takes, without waiting, the advisory lock of each key for the rest of
// the transaction ctx carries, and reports which it got (in the keys' order). The locks
// end with the transaction.
func (t *Transactor) TryXactLocks(ctx context.Context, keys []int64) ([]bool, error) {
	if !pgtx.InTransaction(ctx) {
		return nil, pgtx.ErrNoTx
	}
	got := make([]bool, len(keys))
	if len(keys) == 0 {
		return got, nil
	}
	rows, err := pgtx.Tx(ctx).Query(ctx,
		`SELECT ord, pg_try_advisory_xact_lock(k) FROM unnest($1::bigint[]) WITH ORDINALITY AS u(k, ord) ORDER BY ord`, keys)
	if err != nil {
		return nil, classify(err, "advisory locks")
	}
	defer rows.Close()
	for rows.Next() {
		var ord int
		var ok bool
		if err := rows.Scan(&ord, &ok); err != nil {
			return nil, classify(err, "advisory locks")
		}
		got[ord-1] = ok
	}
	return got, classify(rows.Err(), "advisory locks")
}
