package vault_test

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/renraku/renraku/internal/vault"
)

// cancelAfterBegin cancels the run's context once `after` transactions have begun,
// standing in for a process that dies mid-run.
type cancelAfterBegin struct {
	vault.DBTX
	cancel context.CancelFunc
	after  int
	begun  int
}

func (c *cancelAfterBegin) Begin(ctx context.Context) (pgx.Tx, error) {
	if c.begun == c.after {
		c.cancel()
		return nil, context.Canceled
	}
	c.begun++
	return c.DBTX.Begin(ctx)
}
