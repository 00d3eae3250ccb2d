// Package txn names what a feature needs to make its work atomic, and nothing more:
// the features say what belongs together, the storage side (internal/postgres) says
// how.
package txn

import "context"

// Transactor runs fn in one transaction: every store call made with the context fn is
// given commits together when fn returns nil, and none does when it returns an error.
// Called inside another InTx, it joins that transaction.
type Transactor interface {
	InTx(ctx context.Context, fn func(ctx context.Context) error) error
	// InNewTx runs fn in a transaction of its own, committed or not whatever becomes
	// of the one ctx carries: for what must be kept when that one rolls back.
	InNewTx(ctx context.Context, fn func(ctx context.Context) error) error
	// Run runs fn with each statement committed on its own (in the transaction ctx
	// carries, if any): for a read or a single write that needs no atomicity, on paths
	// where a transaction's extra round trips count. Work that must commit together,
	// and jobs, belong in InTx.
	Run(ctx context.Context, fn func(ctx context.Context) error) error
}

// Get runs fn in t's transaction (or the one ctx carries) and returns its result.
func Get[T any](ctx context.Context, t Transactor, fn func(ctx context.Context) (T, error)) (T, error) {
	var v T
	err := t.InTx(ctx, func(ctx context.Context) (err error) {
		v, err = fn(ctx)
		return err
	})
	return v, err
}
