// Package jobs runs renraku's background work on River, a job queue kept in the same
// PostgreSQL database. A job is inserted in the same transaction as the work that needs
// it (a stored webhook event, a queued LINE message), so nothing is lost between the
// two, and every app instance can run any job.
package jobs

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivertype"

	"github.com/renraku/renraku/internal/postgres/pgtx"
)

// Queues. Safety alerts go to Urgent, which has its own workers, so they never wait
// behind ordinary announcements.
const (
	QueueEvents      = "line_events" // processing of stored webhook events
	QueueDelivery    = "delivery"    // ordinary outbound LINE messages
	QueueUrgent      = "urgent"      // safety alerts
	QueueMaintenance = "maintenance" // retention, key rotation, periodic upkeep
)

// DefaultEventWorkers is how many jobs of the events queue an instance runs at once
// unless Config says otherwise.
const DefaultEventWorkers = 4

// FetchCooldown is the least time between two fetches of a queue's jobs, and between
// two notifications of inserted jobs (River sends at most one per cooldown).
const FetchCooldown = 5 * time.Millisecond

// BusyFetchCooldown is the fetch cooldown of the events and delivery queues, which
// take the many small jobs of a peak (a parent's confirmation and the teachers'
// notification for each absence report): each fetch is a query, and at 5 ms the
// fetches of a 500-a-second morning cost more database time than the jobs'
// insertions; at 10 ms a fetch takes twice the jobs, still up to 800 a second for the
// delivery queue. The urgent queue (safety alerts) keeps FetchCooldown.
const BusyFetchCooldown = 10 * time.Millisecond

// Client is River's client for renraku's transactions.
type Client = river.Client[pgx.Tx]

// Config configures New.
type Config struct {
	Pool     *pgxpool.Pool
	Log      *slog.Logger
	Workers  *river.Workers
	Periodic []*river.PeriodicJob
	// InsertOnly makes a client that enqueues but runs nothing (command-line tools).
	InsertOnly bool
	// Concurrency per queue; zero picks the defaults below.
	EventWorkers, DeliveryWorkers int
	// RescueAfter is how long a job may stay running before another instance takes it
	// over (its instance died); zero means 10 minutes. Jobs time out at half of it (at
	// most 2 minutes), so a live instance's job is never taken over.
	RescueAfter time.Duration
}

// New builds a River client. Call Start to run workers.
func New(cfg Config) (*Client, error) {
	rescue := cfg.RescueAfter
	if rescue <= 0 {
		rescue = 10 * time.Minute
	}
	rc := &river.Config{
		Logger:      cfg.Log.With("component", "river"),
		MaxAttempts: 10,
		JobTimeout:  min(2*time.Minute, rescue/2),
		// Jobs hold no personal data in their arguments (only internal IDs), but
		// finished jobs are still not kept longer than needed.
		CompletedJobRetentionPeriod: 24 * time.Hour,
		RescueStuckJobsAfter:        rescue,
	}
	if !cfg.InsertOnly {
		ev, del := cfg.EventWorkers, cfg.DeliveryWorkers
		if ev == 0 {
			ev = DefaultEventWorkers
		}
		if del == 0 {
			del = 8
		}
		rc.Workers = cfg.Workers
		rc.PeriodicJobs = cfg.Periodic
		rc.Queues = map[string]river.QueueConfig{
			QueueEvents:   {MaxWorkers: ev, FetchCooldown: BusyFetchCooldown},
			QueueDelivery: {MaxWorkers: del, FetchCooldown: BusyFetchCooldown},
			// Safety alerts queue their batches in steps while the audience is read; a
			// step whose insert notification River held back (one per cooldown) is
			// found by the next poll, kept short here.
			QueueUrgent:      {MaxWorkers: del, FetchPollInterval: 100 * time.Millisecond},
			QueueMaintenance: {MaxWorkers: 2},
		}
		rc.FetchCooldown = FetchCooldown
		rc.Middleware = []rivertype.Middleware{&waitForDatabase{pool: cfg.Pool, poll: 500 * time.Millisecond}}
	}
	c, err := river.NewClient(riverpgxv5.New(cfg.Pool), rc)
	if err != nil {
		return nil, fmt.Errorf("jobs: %w", err)
	}
	return c, nil
}

// Stop lets running jobs finish (up to ctx) and stops fetching new ones.
func Stop(ctx context.Context, c *Client) error {
	if c == nil {
		return nil
	}
	return c.Stop(ctx)
}

// Daily is River's schedule for a job every day at a fixed hour in Asia/Tokyo: it runs
// whether or not the instances restart in between (an interval counted from start
// might never come round on a system deployed every day).
func Daily(hour int) river.PeriodicSchedule { return daily{hour: hour} }

type daily struct{ hour int }

var tokyo = func() *time.Location {
	l, err := time.LoadLocation("Asia/Tokyo")
	if err != nil {
		return time.FixedZone("JST", 9*3600)
	}
	return l
}()

// Next returns the next run after current.
func (d daily) Next(current time.Time) time.Time {
	t := current.In(tokyo)
	next := time.Date(t.Year(), t.Month(), t.Day(), d.hour, 0, 0, 0, tokyo)
	if !next.After(t) {
		next = next.AddDate(0, 0, 1)
	}
	return next
}

// Queue inserts jobs into the transaction the context carries (see internal/postgres
// Transactor), so a job exists exactly when the work that needs it was committed. The
// client is set once it exists (it needs the features' workers first).
type Queue struct {
	Client *Client
}

// Insert queues one job in the context's transaction. In a transaction whose
// transactor runs final steps (internal/postgres Transactor), the jobs it queues are
// inserted together, in one statement just before its COMMIT (a savepoint rolled back
// takes back those queued in it), and the result is nil; elsewhere the job is
// inserted at once.
func (q *Queue) Insert(ctx context.Context, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error) {
	tx, ok := pgtx.From(ctx)
	if !ok || !pgtx.InTransaction(ctx) {
		return nil, pgtx.ErrNoTx
	}
	if q.atCommit(ctx, river.InsertManyParams{Args: args, InsertOpts: opts}) {
		return nil, nil
	}
	return q.Client.InsertTx(ctx, tx, args, opts)
}

// InsertMany queues jobs in the context's transaction, as Insert does (the results
// are nil when they wait for the COMMIT).
func (q *Queue) InsertMany(ctx context.Context, params []river.InsertManyParams) ([]*rivertype.JobInsertResult, error) {
	tx, ok := pgtx.From(ctx)
	if !ok || !pgtx.InTransaction(ctx) {
		return nil, pgtx.ErrNoTx
	}
	if q.atCommit(ctx, params...) {
		return nil, nil
	}
	return q.Client.InsertManyTx(ctx, tx, params)
}

// atCommit adds params to the jobs the context's transaction inserts before its
// COMMIT, if its transactor runs final steps; it reports whether it did.
func (q *Queue) atCommit(ctx context.Context, params ...river.InsertManyParams) bool {
	f, ok := pgtx.FinalOf(ctx)
	if !ok {
		return false
	}
	p := f.Once(pendingKey{q}, func() any { return &pendingJobs{} }, func(v any) func(context.Context, pgx.Tx, *pgx.Batch) error {
		return func(ctx context.Context, tx pgx.Tx, _ *pgx.Batch) error {
			jobs := v.(*pendingJobs).params
			if len(jobs) == 0 {
				return nil
			}
			if _, err := q.Client.InsertManyTx(ctx, tx, jobs); err != nil {
				return fmt.Errorf("jobs: insert at commit: %w", err)
			}
			return nil
		}
	}).(*pendingJobs)
	p.params = append(p.params, params...)
	return true
}

type pendingKey struct{ q *Queue }

// pendingJobs are the jobs a transaction inserts before its COMMIT.
type pendingJobs struct{ params []river.InsertManyParams }

// Len and Truncate let a savepoint rolled back take back the jobs queued in it.
func (p *pendingJobs) Len() int       { return len(p.params) }
func (p *pendingJobs) Truncate(n int) { p.params = p.params[:n] }

// SameTx reports whether two contexts carry the same transaction (a savepoint counts
// as its own): work collected under one is only valid to act on under the other.
func SameTx(a, b context.Context) bool {
	ta, ok := pgtx.From(a)
	if !ok || !pgtx.InTransaction(a) {
		return false
	}
	tb, ok := pgtx.From(b)
	return ok && ta == tb
}
