// Package pgtx carries the current PostgreSQL transaction in a context. The
// transactor in internal/postgres puts it there; the stores and the job queue take it
// out, so the features that call them never hold a transaction themselves.
package pgtx

import (
	"context"
	"errors"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

type key struct{}

// ErrNoTx is returned by every call on the transaction of a context that has none: a
// store was called outside the transactor.
var ErrNoTx = errors.New("postgres: no transaction in context (call the store inside InTx)")

// With returns ctx carrying tx.
func With(ctx context.Context, tx pgx.Tx) context.Context {
	return context.WithValue(ctx, key{}, tx)
}

// From returns the transaction ctx carries, if any.
func From(ctx context.Context) (pgx.Tx, bool) {
	tx, ok := ctx.Value(key{}).(pgx.Tx)
	return tx, ok && tx != nil
}

// InTransaction reports whether ctx carries a real transaction (not Run's statements
// that each commit on their own).
func InTransaction(ctx context.Context) bool {
	tx, ok := From(ctx)
	if !ok {
		return false
	}
	_, auto := tx.(autocommit)
	return !auto
}

// Tx returns the transaction ctx carries, or one whose every call fails with ErrNoTx.
func Tx(ctx context.Context) pgx.Tx {
	if tx, ok := From(ctx); ok {
		return tx
	}
	return noTx{}
}

// noTx fails every statement with ErrNoTx.
type noTx struct{ pgx.Tx }

func (noTx) Exec(context.Context, string, ...any) (pgconn.CommandTag, error) {
	return pgconn.CommandTag{}, ErrNoTx
}
func (noTx) Query(context.Context, string, ...any) (pgx.Rows, error) { return nil, ErrNoTx }
func (noTx) QueryRow(context.Context, string, ...any) pgx.Row        { return errRow{} }
func (noTx) SendBatch(context.Context, *pgx.Batch) pgx.BatchResults {
	return errBatch{}
}
func (noTx) CopyFrom(context.Context, pgx.Identifier, []string, pgx.CopyFromSource) (int64, error) {
	return 0, ErrNoTx
}
func (noTx) Begin(context.Context) (pgx.Tx, error) { return nil, ErrNoTx }
func (noTx) Commit(context.Context) error          { return ErrNoTx }
func (noTx) Rollback(context.Context) error        { return ErrNoTx }

type errRow struct{}

func (errRow) Scan(...any) error { return ErrNoTx }

type errBatch struct{ pgx.BatchResults }

func (errBatch) Exec() (pgconn.CommandTag, error) { return pgconn.CommandTag{}, ErrNoTx }
func (errBatch) Query() (pgx.Rows, error)         { return nil, ErrNoTx }
func (errBatch) QueryRow() pgx.Row                { return errRow{} }
func (errBatch) Close() error                     { return ErrNoTx }

// Beginner starts transactions: a pooled connection the context pins.
type Beginner interface {
	Begin(ctx context.Context) (pgx.Tx, error)
}

type connKey struct{}

// WithConn returns ctx pinned to conn: transactions started with it run on conn (which
// holds a session lock, say) rather than on any connection of the pool.
func WithConn(ctx context.Context, conn Beginner) context.Context {
	return context.WithValue(ctx, connKey{}, conn)
}

// ConnFrom returns the connection ctx is pinned to, if any.
func ConnFrom(ctx context.Context) (Beginner, bool) {
	c, ok := ctx.Value(connKey{}).(Beginner)
	return c, ok && c != nil
}

// Querier runs statements: a pool.
type Querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults
	CopyFrom(ctx context.Context, tableName pgx.Identifier, columnNames []string, rowSrc pgx.CopyFromSource) (int64, error)
}

// Autocommit returns q as a transaction whose statements each commit on their own:
// what the transactor's Run gives the stores. Commit and Rollback do nothing; Begin
// is refused.
func Autocommit(q Querier) pgx.Tx { return autocommit{q: q} }

type autocommit struct {
	pgx.Tx
	q Querier
}

func (a autocommit) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	return a.q.Exec(ctx, sql, args...)
}
func (a autocommit) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	return a.q.Query(ctx, sql, args...)
}
func (a autocommit) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	return a.q.QueryRow(ctx, sql, args...)
}
func (a autocommit) SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults {
	return a.q.SendBatch(ctx, b)
}
func (a autocommit) CopyFrom(ctx context.Context, t pgx.Identifier, cols []string, src pgx.CopyFromSource) (int64, error) {
	return a.q.CopyFrom(ctx, t, cols, src)
}
func (autocommit) Begin(context.Context) (pgx.Tx, error) {
	return nil, errors.New("postgres: no nested transaction in Run (use InTx)")
}
func (autocommit) Commit(context.Context) error   { return nil }
func (autocommit) Rollback(context.Context) error { return nil }

// Final is what a transaction does last: steps that queue statements to send with its
// COMMIT, in one round trip, and what runs once it has committed (AfterCommit). The
// audit log uses both: its events are inserted as pending with the COMMIT and sealed
// into the chain after it. A transactor that starts a transaction puts a Final in its
// context (WithFinal), runs its steps at commit (Run) and, if the COMMIT succeeded,
// what waits for it (Committed).
type Final struct {
	mu     sync.Mutex
	steps  []func(ctx context.Context, tx pgx.Tx, b *pgx.Batch) error
	values map[any]any
	after  []func(ctx context.Context, pool *pgxpool.Pool)
	afterK map[any]bool
}

type finalKey struct{}

// WithFinal returns ctx carrying f, the final steps of ctx's transaction.
func WithFinal(ctx context.Context, f *Final) context.Context {
	return context.WithValue(ctx, finalKey{}, f)
}

// FinalOf returns the final steps of the transaction ctx carries, when its transactor
// runs them (not for Run's statements, nor for a transaction started elsewhere).
func FinalOf(ctx context.Context) (*Final, bool) {
	f, ok := ctx.Value(finalKey{}).(*Final)
	return f, ok && f != nil && InTransaction(ctx)
}

// Once returns the value kept under key, after making it with make and adding step
// (which sees the value) the first time: one step per transaction and kind of work.
func (f *Final) Once(key any, make func() any, step func(v any) func(ctx context.Context, tx pgx.Tx, b *pgx.Batch) error) any {
	f.mu.Lock()
	defer f.mu.Unlock()
	if v, ok := f.values[key]; ok {
		return v
	}
	if f.values == nil {
		f.values = map[any]any{}
	}
	v := make()
	f.values[key] = v
	f.steps = append(f.steps, step(v))
	return v
}

// Add adds a step that runs once, after those added before it. A savepoint rolled
// back does not take it back (Mark covers Once's values): it is for work done outside
// savepoints.
func (f *Final) Add(step func(ctx context.Context, tx pgx.Tx, b *pgx.Batch) error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.steps = append(f.steps, step)
}

// Truncater is a final step's value that a savepoint rolled back can take back to an
// earlier length (what work undone had added to it).
type Truncater interface {
	Len() int
	Truncate(n int)
}

// Mark returns what undoes, in the values kept for the final steps, what is added from
// now on (for a savepoint rolled back): each Truncater goes back to its length now
// (to empty when made after the mark).
func (f *Final) Mark() (undo func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	lens := map[any]int{}
	for k, v := range f.values {
		if t, ok := v.(Truncater); ok {
			lens[k] = t.Len()
		}
	}
	return func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		for k, v := range f.values {
			if t, ok := v.(Truncater); ok {
				t.Truncate(lens[k])
			}
		}
	}
}

// AfterCommit adds fn, once per key, to what runs when the transaction has committed
// (not when it rolls back): work that must see the transaction's rows committed, such
// as sealing the audit events it recorded. fn gets the pool the transactor runs on; its
// failure is fn's to handle, the transaction having committed.
func (f *Final) AfterCommit(key any, fn func(ctx context.Context, pool *pgxpool.Pool)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.afterK[key] {
		return
	}
	if f.afterK == nil {
		f.afterK = map[any]bool{}
	}
	f.afterK[key] = true
	f.after = append(f.after, fn)
}

// Committed runs, in the order added, what AfterCommit added; the transactor calls it
// once the COMMIT succeeded.
func (f *Final) Committed(ctx context.Context, pool *pgxpool.Pool) {
	f.mu.Lock()
	after := f.after
	f.after, f.afterK = nil, nil
	f.mu.Unlock()
	for _, fn := range after {
		fn(ctx, pool)
	}
}

// Empty reports whether there is nothing to do last.
func (f *Final) Empty() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.steps) == 0
}

// Run runs the steps in the order they were added: each may run statements on tx and
// queue statements in b, which the caller sends with COMMIT.
func (f *Final) Run(ctx context.Context, tx pgx.Tx, b *pgx.Batch) error {
	f.mu.Lock()
	steps := f.steps
	f.steps = nil
	f.mu.Unlock()
	for _, s := range steps {
		if err := s(ctx, tx, b); err != nil {
			return err
		}
	}
	return nil
}

// CommitWith sends b's statements and COMMIT in one round trip. The transaction's pgx.Tx
// is left behind: the connection, back outside any transaction, returns to the pool.
func CommitWith(ctx context.Context, conn *pgxpool.Conn, b *pgx.Batch) error {
	n := b.Len()
	b.Queue("COMMIT")
	br := conn.SendBatch(ctx, b)
	var err error
	for range n {
		if _, err = br.Exec(); err != nil {
			break
		}
	}
	if err == nil {
		var tag pgconn.CommandTag
		if tag, err = br.Exec(); err == nil && tag.String() != "COMMIT" {
			err = pgx.ErrTxCommitRollback
		}
	}
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if err != nil && conn.Conn().PgConn().TxStatus() != 'I' {
		// A statement failed: the server skipped the rest, COMMIT too.
		_, _ = conn.Exec(context.WithoutCancel(ctx), "ROLLBACK")
	}
	return err
}
