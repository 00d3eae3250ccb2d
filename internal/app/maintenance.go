package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"

	"github.com/renraku/renraku/internal/audit"
	"github.com/renraku/renraku/internal/jobs"
	"github.com/renraku/renraku/internal/postgres"
	"github.com/renraku/renraku/internal/vault"
)

// RewrapArgs is the periodic job that picks up keyset changes and re-encrypts rows
// still under an old key, a batch per column per run.
type RewrapArgs struct{}

// Kind names the job.
func (RewrapArgs) Kind() string { return "vault.rewrap" }

// InsertOpts puts it on the maintenance queue.
func (RewrapArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: jobs.QueueMaintenance}
}

type rewrapWorker struct {
	river.WorkerDefaults[RewrapArgs]
	pool *pgxpool.Pool
	v    *vault.Vault
	log  *slog.Logger

	// What this instance's last full run found: every row under the primary key
	// cleanKey, at cleanAt (zero: not yet).
	mu       sync.Mutex
	cleanKey uint32
	cleanAt  time.Time
}

// rewrapRescan is how long a run that found every row under the primary key spares
// this instance's next runs their scans: a run reads every row of every encrypted
// column's table (what is under an old key cannot be found by an index), which at
// each minute cost the database more than a second of CPU a minute with 50,000
// families. A change of the keyset (a new primary key) ends it at once; a row written
// meanwhile under an old key by an instance that had not reloaded its keyset yet is
// found by the next scan.
const rewrapRescan = time.Hour

func (w *rewrapWorker) Work(ctx context.Context, _ *river.Job[RewrapArgs]) error {
	if _, err := w.v.ReloadIfChanged(); err != nil {
		return err
	}
	primary := w.v.PrimaryKeyID()
	w.mu.Lock()
	spared := w.cleanKey == primary && !w.cleanAt.IsZero() && time.Since(w.cleanAt) < rewrapRescan
	w.mu.Unlock()
	if spared {
		return nil
	}
	start := time.Now()
	n, err := rewrap(ctx, w.pool, w.v, postgres.EncryptedColumns, w.log)
	if err == nil && n == 0 {
		w.mu.Lock()
		w.cleanKey, w.cleanAt = primary, start
		w.mu.Unlock()
	}
	return err
}

// Rewrap is one run of the re-encryption job (on postgres.EncryptedColumns): it seals
// canned replies still in clear text (written before migration 000014), then
// re-encrypts under the primary key every row of cols still under an old key. A
// failing column is logged (table and column only) and the others go on; the error at
// the end names every column that failed, so River retries the job and the failure
// stays visible.
func Rewrap(ctx context.Context, pool *pgxpool.Pool, v *vault.Vault, cols []vault.Column, log *slog.Logger) error {
	_, err := rewrap(ctx, pool, v, cols, log)
	return err
}

// rewrap is Rewrap, also returning how many rows it sealed or re-encrypted.
func rewrap(ctx context.Context, pool *pgxpool.Pool, v *vault.Vault, cols []vault.Column, log *slog.Logger) (int64, error) {
	var errs []error
	var total int64
	if n, err := postgres.SealCannedReplies(ctx, pool, v); err != nil {
		log.Error("sealing clear-text canned replies failed", "table", "canned_reply", "err", err)
		errs = append(errs, err)
	} else if n > 0 {
		total += int64(n)
		log.Info("sealed clear-text canned replies", "table", "canned_reply", "rows", n)
	}
	err := v.RewrapAll(ctx, pool, cols, vault.DefaultRewrapBatch, func(col vault.Column, n int64, err error) {
		switch {
		case err != nil:
			// Rewrap's errors name the table, column and at most a row's key.
			log.Error("re-encryption of a column failed; going on with the others", "table", col.Table, "column", col.Column, "rows", n, "err", err)
		case n > 0:
			log.Info("re-encrypted", "table", col.Table, "column", col.Column, "rows", n)
		}
		total += n
	})
	if err != nil {
		errs = append(errs, err)
	}
	return total, errors.Join(errs...)
}

// AuditRetentionArgs is the daily job that removes audit rows past the retention period.
type AuditRetentionArgs struct{}

// Kind names the job.
func (AuditRetentionArgs) Kind() string { return "audit.retention" }

// InsertOpts puts it on the maintenance queue.
func (AuditRetentionArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: jobs.QueueMaintenance}
}

type auditRetentionWorker struct {
	river.WorkerDefaults[AuditRetentionArgs]
	pool  *pgxpool.Pool
	log   *audit.Log
	years int
}

func (w *auditRetentionWorker) Work(ctx context.Context, _ *river.Job[AuditRetentionArgs]) error {
	_, err := w.log.ApplyRetention(ctx, w.pool, time.Now().AddDate(-w.years, 0, 0))
	if err != nil {
		return fmt.Errorf("audit retention: %w", err)
	}
	return nil
}

// AuditHeadArgs is the daily job that writes the audit chain's signed head to the log,
// so that a copy of the head lives outside the database: `renraku audit verify --head`
// checks the chain against a kept copy and finds newest rows cut since.
type AuditHeadArgs struct{}

// Kind names the job.
func (AuditHeadArgs) Kind() string { return "audit.head" }

// InsertOpts puts it on the maintenance queue.
func (AuditHeadArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: jobs.QueueMaintenance}
}

type auditHeadWorker struct {
	river.WorkerDefaults[AuditHeadArgs]
	pool  *pgxpool.Pool
	audit *audit.Log
	log   *slog.Logger
}

func (w *auditHeadWorker) Work(ctx context.Context, _ *river.Job[AuditHeadArgs]) error {
	if err := w.audit.SealLeftovers(ctx, w.pool); err != nil {
		return err
	}
	h, err := audit.CurrentHead(ctx, w.pool)
	if err != nil {
		return err
	}
	signed, err := w.audit.SignHead(h)
	if err != nil {
		return err
	}
	// A sequence number and two MACs: no personal data.
	w.log.Info("audit chain head", "audit_head", signed, "seq", h.Seq)
	return nil
}

// AuditSealArgs is the job, every minute and at start, that seals into the audit chain
// the events a process left pending when it stopped between a commit and its seal
// (audit.Log.Seal; a request seals its own events as it ends).
type AuditSealArgs struct{}

// Kind names the job.
func (AuditSealArgs) Kind() string { return "audit.seal" }

// InsertOpts puts it on the maintenance queue.
func (AuditSealArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: jobs.QueueMaintenance}
}

type auditSealWorker struct {
	river.WorkerDefaults[AuditSealArgs]
	pool  *pgxpool.Pool
	audit *audit.Log
}

func (w *auditSealWorker) Work(ctx context.Context, _ *river.Job[AuditSealArgs]) error {
	return w.audit.SealLeftovers(ctx, w.pool)
}

// SessionExpiryArgs is the hourly job that removes expired staff sessions.
type SessionExpiryArgs struct{}

// Kind names the job.
func (SessionExpiryArgs) Kind() string { return "session.expire" }

// InsertOpts puts it on the maintenance queue.
func (SessionExpiryArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: jobs.QueueMaintenance}
}

type sessionExpiryWorker struct {
	river.WorkerDefaults[SessionExpiryArgs]
	pool *pgxpool.Pool
}

func (w *sessionExpiryWorker) Work(ctx context.Context, _ *river.Job[SessionExpiryArgs]) error {
	_, err := postgres.DeleteExpiredSessions(ctx, w.pool)
	return err
}

// maintenance registers the periodic upkeep jobs. River runs a periodic job on one
// instance only (its elected leader).
func maintenance(workers *river.Workers, pool *pgxpool.Pool, v *vault.Vault, al *audit.Log, log *slog.Logger, auditYears int) []*river.PeriodicJob {
	if auditYears <= 0 {
		auditYears = 5
	}
	river.AddWorker(workers, &rewrapWorker{pool: pool, v: v, log: log})
	river.AddWorker(workers, &auditRetentionWorker{pool: pool, log: al, years: auditYears})
	river.AddWorker(workers, &sessionExpiryWorker{pool: pool})
	river.AddWorker(workers, &auditHeadWorker{pool: pool, audit: al, log: log})
	river.AddWorker(workers, &auditSealWorker{pool: pool, audit: al})
	return []*river.PeriodicJob{
		river.NewPeriodicJob(river.PeriodicInterval(time.Minute),
			func() (river.JobArgs, *river.InsertOpts) { return AuditSealArgs{}, nil }, &river.PeriodicJobOpts{RunOnStart: true}),
		river.NewPeriodicJob(river.PeriodicInterval(time.Minute),
			func() (river.JobArgs, *river.InsertOpts) { return RewrapArgs{}, nil }, &river.PeriodicJobOpts{RunOnStart: true}),
		river.NewPeriodicJob(river.PeriodicInterval(24*time.Hour),
			func() (river.JobArgs, *river.InsertOpts) { return AuditRetentionArgs{}, nil }, &river.PeriodicJobOpts{RunOnStart: true}),
		river.NewPeriodicJob(river.PeriodicInterval(time.Hour),
			func() (river.JobArgs, *river.InsertOpts) { return SessionExpiryArgs{}, nil }, nil),
		river.NewPeriodicJob(river.PeriodicInterval(24*time.Hour),
			func() (river.JobArgs, *river.InsertOpts) { return AuditHeadArgs{}, nil }, &river.PeriodicJobOpts{RunOnStart: true}),
	}
}
