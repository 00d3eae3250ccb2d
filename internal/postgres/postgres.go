// Package postgres holds renraku's PostgreSQL access: the connection pool, the embedded
// migrations, readiness, and (in later files, one per concept) the pgx implementations
// of the domain packages' store interfaces.
package postgres

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// DefaultMaxConns is the pool size of an instance unless DATABASE_URL sets
// pool_max_conns: River's workers (22 across the queues), the LINE event pump's 4 and
// the LISTEN connections, plus room for web requests. Three instances stay within
// PostgreSQL's default max_connections of 100.
const DefaultMaxConns = 28

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
	if !strings.Contains(url, "pool_max_conns") {
		// pgxpool's default (the number of CPUs, at least 4) is less than the job
		// workers and the two listeners hold: web requests then queue behind the jobs,
		// and after an outage the backlog of webhooks and jobs starves the staff pages
		// for minutes. pool_max_conns in DATABASE_URL overrides it.
		cfg.MaxConns = DefaultMaxConns
	}
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
