package app

import (
	"context"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/renraku/renraku/internal/vault"
)

// RewrapJob is the vault.rewrap job's worker, for the tests of package app_test.
type RewrapJob struct{ w *rewrapWorker }

// NewRewrapJob returns the worker the app registers for vault.rewrap.
func NewRewrapJob(pool *pgxpool.Pool, v *vault.Vault, log *slog.Logger) RewrapJob {
	return RewrapJob{w: &rewrapWorker{pool: pool, v: v, log: log}}
}

// Run works one vault.rewrap job.
func (j RewrapJob) Run(ctx context.Context) error { return j.w.Work(ctx, nil) }

// Age moves the worker's last clean run d into the past.
func (j RewrapJob) Age(d time.Duration) {
	j.w.mu.Lock()
	defer j.w.mu.Unlock()
	j.w.cleanAt = j.w.cleanAt.Add(-d)
}
