package postgres

import (
	"context"
	"time"

	"github.com/renraku/renraku/internal/schema"

	"github.com/jackc/pgx/v5/pgxpool"
)

// Readiness answers /readyz: the database is reachable and its schema is current.
type Readiness struct {
	Pool *pgxpool.Pool
}

// Ready returns nil when the app can serve requests.
func (r Readiness) Ready(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	st, err := schema.StatusOf(ctx, r.Pool)
	if err != nil {
		return err
	}
	return st.Err()
}
