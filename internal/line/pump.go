package line

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/renraku/renraku/internal/jobs"
)

// The event pump: each instance's workers that process stored webhook events without a
// job per request. A group commit wakes them once its events are committed; each
// worker takes up to PumpBatch of the oldest pending events in a transaction of its
// own (ClaimEvents: each user's advisory lock tried as the event is taken, so workers
// take different users and a user's events stay in LINE's order), handles them as a
// job's batch is handled, and goes on while it finds full batches. Nothing is lost when
// an instance stops between the commit and the processing: the events stay pending
// and any instance's pump takes them up, its first worker looking every PumpPoll even
// when nobody wakes it (events of other instances, users held elsewhere, an instance
// that died).
//
// Events that need more than a transaction still go through jobs: follows (LINE is
// asked for the user's language first), events without a user (no user's lock guards
// them), and an event that failed (retried with back-off by a job of its own; the pump
// leaves it and its user's later events alone meanwhile).
const (
	// PumpWorkers is how many pump workers an instance runs.
	PumpWorkers = jobs.DefaultEventWorkers
	// PumpBatch bounds the events one pump transaction takes.
	PumpBatch = EventsPerJob
	// PumpPoll is how often the first pump worker looks for pending events unwoken.
	PumpPoll = 250 * time.Millisecond
	// pumpWindow is how many of the oldest pending events a pump transaction looks
	// among: enough to pass over what the other workers hold.
	pumpWindow = (PumpWorkers + 1) * PumpBatch
	// pumpErrorPause is how long a worker whose transaction failed waits.
	pumpErrorPause = time.Second
)

// pump is the running pump of an instance.
type pump struct {
	wake chan struct{}
	stop chan struct{}
	wg   sync.WaitGroup
}

// StartPump starts the instance's pump workers; StopPump stops them. Until it is
// started, every stored event is processed by a job (as when no pump runs at all).
func (s *Service) StartPump(ctx context.Context) {
	p := &pump{wake: make(chan struct{}, PumpWorkers), stop: make(chan struct{})}
	// A transaction under way finishes even when the app stops (StopPump waits).
	work := context.WithoutCancel(ctx)
	for i := range PumpWorkers {
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			s.pumpWorker(work, p, i == 0)
		}()
	}
	s.pumpMu.Lock()
	s.pump = p
	s.pumpMu.Unlock()
}

// StopPump stops the pump workers, waiting (up to ctx) for the transactions under way.
// Events still pending stay for the next start or another instance.
func (s *Service) StopPump(ctx context.Context) error {
	s.pumpMu.Lock()
	p := s.pump
	s.pump = nil
	s.pumpMu.Unlock()
	if p == nil {
		return nil
	}
	close(p.stop)
	done := make(chan struct{})
	go func() { p.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return errors.New("line: pump workers still busy at shutdown")
	}
}

// pumping returns the running pump, nil when none runs.
func (s *Service) pumping() *pump {
	s.pumpMu.Lock()
	defer s.pumpMu.Unlock()
	return s.pump
}

// nudge wakes up to n idle workers.
func (p *pump) nudge(n int) {
	for range min(n, PumpWorkers) {
		select {
		case p.wake <- struct{}{}:
		default:
			return
		}
	}
}

// pumpWorker processes batches while it finds full ones, then waits to be woken (the
// first worker also looks every PumpPoll).
func (s *Service) pumpWorker(ctx context.Context, p *pump, polls bool) {
	var tick <-chan time.Time
	if polls {
		t := time.NewTicker(PumpPoll)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case <-p.stop:
			return
		default:
		}
		n, err := s.pumpOnce(ctx)
		switch {
		case err != nil:
			s.Log.Warn("line event pump", "err", err)
			select {
			case <-p.stop:
				return
			case <-time.After(pumpErrorPause):
			}
			continue
		case n >= PumpBatch:
			// Maybe more: another worker shares them.
			p.nudge(1)
			continue
		}
		select {
		case <-p.stop:
			return
		case <-p.wake:
		case <-tick:
		}
	}
}

// pumpOnce processes one batch of pending events and returns how many it marked
// processed. A batch in which an event fails is done again with a savepoint per event
// (the same events, as ProcessEvents does).
func (s *Service) pumpOnce(ctx context.Context) (int, error) {
	var res batchResult
	err := s.Tx.InTx(ctx, func(ctx context.Context) error {
		res = batchResult{}
		return s.processInTx(ctx, nil, nil, nil, false, claimSpec{limit: PumpBatch, window: pumpWindow}, &res)
	})
	if !errors.Is(err, errBatchEventFailed) {
		return res.done, err
	}
	evs := res.claimed
	ids := make([]int64, len(evs))
	for i, ev := range evs {
		ids[i] = ev.ID
	}
	err = s.Tx.InTx(ctx, func(ctx context.Context) error {
		res = batchResult{}
		return s.processInTx(ctx, evs, ids, nil, true, claimSpec{}, &res)
	})
	return res.done, err
}
