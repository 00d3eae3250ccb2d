package postgres_test

import (
	"context"
	"errors"
	"testing"

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
