package line

import (
	"context"
	"errors"
	"sync"
	"time"
)

// The event pump: each instance's workers that process stored webhook events without a
// job per request. A group commit hands it the IDs of the events it committed (kept in
// memory, in order) and wakes it; each worker takes its share of them (at most
// PumpBatch) in a transaction of its own (ClaimEventsByID: each user's advisory lock
// tried as the event is taken, so workers take different users and a user's events
// stay in LINE's order), handles them as a job's batch is handled, and goes on while
// there are more. When none are in hand, a worker takes up to PumpBatch of the oldest
// pending events (ClaimEvents), so nothing is lost when an instance stops between the
// commit and the processing, when its memory overflows, or when a user was held
// elsewhere: the events stay pending and any instance's pump takes them up, an idle
// worker looking every PumpPoll even when nobody wakes it.
//
// Events that need more than a transaction still go through jobs: follows (LINE is
// asked for the user's language first), events without a user (no user's lock guards
// them), and an event that failed (retried with back-off by a job of its own; the pump
// leaves it and its user's later events alone meanwhile).
const (
	// PumpWorkers is how many pump workers an instance runs.
	PumpWorkers = 4
	// PumpBatch bounds the events one pump transaction takes.
	PumpBatch = EventsPerJob
	// PumpPoll is how often an idle pump worker looks for pending events unwoken.
	PumpPoll = 250 * time.Millisecond
	// pumpWindow is how many of the oldest pending events a pump transaction looks
	// among: enough to pass over what the other workers hold.
	pumpWindow = (PumpWorkers + 1) * PumpBatch
	// pumpErrorPause is how long a worker whose transaction failed waits.
	pumpErrorPause = time.Second
	// pumpHeld bounds the IDs held in memory; beyond it, events are left for the
	// workers to find among the oldest pending.
	pumpHeld = 100_000
)

// pump is the running pump of an instance.
type pump struct {
	wake chan struct{}
	stop chan struct{}
	wg   sync.WaitGroup

	mu   sync.Mutex
	ids  []int64 // committed events not yet taken, in order
	busy int     // workers in a batch
}

// hand adds committed events' IDs (those beyond pumpHeld are left to the search among
// the oldest pending) and wakes workers for them.
func (p *pump) hand(ids []int64) {
	p.mu.Lock()
	if room := pumpHeld - len(p.ids); room > 0 {
		p.ids = append(p.ids, ids[:min(room, len(ids))]...)
	}
	p.mu.Unlock()
	p.nudge(len(ids))
}

// take starts a worker's batch and removes IDs from those in hand for it, oldest
// first: its share of them with the workers not in a batch (rather than all: a batch's
// events are answered when its transaction ends), at most n. done ends the batch.
func (p *pump) take(n int) []int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	idle := PumpWorkers - p.busy
	p.busy++
	k := min(n, (len(p.ids)+idle-1)/idle)
	if k == 0 {
		return nil
	}
	out := append([]int64(nil), p.ids[:k]...)
	p.ids = p.ids[k:]
	if len(p.ids) == 0 {
		p.ids = nil // let the backing array go
	}
	return out
}

// done ends a worker's batch (see take).
func (p *pump) done() {
	p.mu.Lock()
	p.busy--
	p.mu.Unlock()
}

// inHand reports whether IDs wait in memory.
func (p *pump) inHand() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.ids) > 0
}

// StartPump starts the instance's pump workers; StopPump stops them. Until it is
// started, every stored event is processed by a job (as when no pump runs at all).
func (s *Service) StartPump(ctx context.Context) {
	p := &pump{wake: make(chan struct{}, PumpWorkers), stop: make(chan struct{})}
	// A transaction under way finishes even when the app stops (StopPump waits).
	work := context.WithoutCancel(ctx)
	for range PumpWorkers {
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			s.pumpWorker(work, p)
		}()
	}
	// The poll wakes whichever worker is idle (not one worker of its own, which a long
	// batch would keep from looking).
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		t := time.NewTicker(PumpPoll)
		defer t.Stop()
		for {
			select {
			case <-p.stop:
				return
			case <-t.C:
				p.nudge(1)
			}
		}
	}()
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

// pumpWorker processes batches while it finds full ones, then waits to be woken (by a
// hand-off, or by the poll every PumpPoll).
func (s *Service) pumpWorker(ctx context.Context, p *pump) {
	for {
		select {
		case <-p.stop:
			return
		default:
		}
		n, err := s.pumpOnce(ctx, p)
		switch {
		case err != nil:
			s.Log.Warn("line event pump", "err", err)
			select {
			case <-p.stop:
				return
			case <-time.After(pumpErrorPause):
			}
			continue
		case p.inHand():
			continue
		case n >= PumpBatch:
			// Maybe more pending: another worker shares them.
			p.nudge(1)
			continue
		}
		select {
		case <-p.stop:
			return
		case <-p.wake:
		}
	}
}

// pumpOnce processes one batch, of the IDs in hand or else of the oldest pending
// events, and returns how many events it marked processed. A batch in which an event
// fails is done again with a savepoint per event: the same events, taken up again by
// their IDs (those whose users another worker holds by then are left for later).
func (s *Service) pumpOnce(ctx context.Context, p *pump) (int, error) {
	claim := claimSpec{limit: PumpBatch, window: pumpWindow}
	defer p.done()
	if ids := p.take(PumpBatch); len(ids) > 0 {
		claim = claimSpec{ids: ids}
	}
	for careful := false; ; careful = true {
		var res batchResult
		err := s.Tx.InTx(ctx, func(ctx context.Context) error {
			res = batchResult{}
			return s.processInTx(ctx, nil, nil, careful, claim, &res)
		})
		if careful || !errors.Is(err, errBatchEventFailed) {
			return res.done, err
		}
		claim = claimSpec{ids: eventIDs(res.claimed)}
	}
}
