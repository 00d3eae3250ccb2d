// Package postgres holds renraku's PostgreSQL access: the connection pool, the embedded
// migrations, readiness, and (in later files, one per concept) the pgx implementations
// of the domain packages' store interfaces.
package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// Open connects a pool to url and checks that the database answers.
func Open(ctx context.Context, url string) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		// pgx's parse error can echo the URL, password included: say only what failed.
		return nil, fmt.Errorf("postgres: DATABASE_URL cannot be parsed")
	}
	cfg.ConnConfig.RuntimeParams["application_name"] = "renraku"
	cfg.ConnConfig.RuntimeParams["timezone"] = "Asia/Tokyo"
	cfg.MaxConnIdleTime = 5 * time.Minute
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := pool.Ping(pctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: database unreachable: %w", err)
	}
	return pool, nil
}
