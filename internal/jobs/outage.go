package jobs

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
)

// waitForDatabase holds a failed job until the database answers again before River
// records the failure. River records a job's end with a few retries over about seven
// seconds and then gives up, leaving the job "running" until it is rescued (ten
// minutes by default): every job that failed in a longer database outage would wait
// that long, an event's reply turning into a push. Held back, the failure is recorded
// once the database is back and the job is retried at once, as if the outage had been
// short. River applies the job's timeout inside the middleware, so the wait ends when
// the database answers or the job is cancelled (the app stops).
type waitForDatabase struct {
	river.MiddlewareDefaults
	pool *pgxpool.Pool
	poll time.Duration
}

// Work runs the job, and after a failure other than a snooze or a cancellation waits
// until the database answers (or the job's context ends).
func (m *waitForDatabase) Work(ctx context.Context, job *rivertype.JobRow, doInner func(context.Context) error) error {
	err := doInner(ctx)
	var snooze *rivertype.JobSnoozeError
	var cancelled *rivertype.JobCancelError
	if err == nil || errors.As(err, &snooze) || errors.As(err, &cancelled) {
		return err
	}
	for ctx.Err() == nil {
		pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		perr := m.pool.Ping(pctx)
		cancel()
		if perr == nil {
			break
		}
		select {
		case <-ctx.Done():
		case <-time.After(m.poll):
		}
	}
	return err
}
