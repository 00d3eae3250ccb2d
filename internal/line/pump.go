package line

import (
	"context"
	"errors"
	"sync"
	"time"
)

// The event pump: each instance's workers that process stored webhook events without a
// job per request. A group commit hands it the IDs of the events it committed (kept in
// memory, in order) and wakes a worker when none is busy or many wait; a worker takes
// all of them (at most PumpBatch) in a transaction of its own (ClaimEventsByID: each
// user's advisory lock tried as the event is taken, so workers take different users and
// a user's events stay in LINE's order), handles them as a job's batch is handled, and
// goes on while there are more. IDs a batch skipped because another transaction held
// their users are handed again once, when another worker's batch ends. Every PumpPoll
// (and while such looks find full batches) an idle worker takes up to PumpBatch of the
// oldest pending events (ClaimEvents), so nothing is lost when an instance stops
// between the commit and the processing, when its memory overflows, or when a user was
// held elsewhere twice: the events stay pending and any instance's pump takes them up.
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
	// pumpSpill is how many IDs in hand wake another worker while one is in a batch.
	pumpSpill = 8
)

// pump is the running pump of an instance.
type pump struct {
	wake chan struct{}
	stop chan struct{}
	wg   sync.WaitGroup

	mu     sync.Mutex
	ids    []int64        // committed events not yet taken, in order
	again  []int64        // events a batch skipped, handed a second time
	later  []skippedByOne // events a batch skipped, until another batch ends
	busy   int            // workers in a batch
	search bool           // a search among the oldest pending events is due
}

// skippedByOne are the events worker by left because another transaction held their
// users (or had already processed them).
type skippedByOne struct {
	by  int
	ids []int64
}

// hand adds committed events' IDs (those beyond pumpHeld are left to the search among
// the oldest pending) and wakes a worker for them: when none is in a batch, or when
// pumpSpill or more wait. Otherwise they wait for a worker's batch to end (it then
// takes them all): a batch costs about as much for one event as for ten (its
// statements, its sending job), so events that arrive one by one are better gathered
// than each given a worker, which at a few hundred a second spent the cores on the
// batches' own work.
func (p *pump) hand(ids []int64) {
	p.mu.Lock()
	room := max(pumpHeld-len(p.ids), 0)
	p.ids = append(p.ids, ids[:min(room, len(ids))]...)
	if room < len(ids) {
		p.search = true
	}
	wake := p.busy == 0 || len(p.ids) >= pumpSpill
	p.mu.Unlock()
	if wake {
		p.nudge(1)
	}
}

// take starts a worker's batch and removes IDs from those in hand for it, oldest first:
// all of them, at most n. IDs handed a second time come first, on their own (second).
// With none in hand, search tells whether the worker is to look among the oldest
// pending events (asked by the poll, by a worker that found a full batch there, or when
// the IDs in hand overflowed): a worker woken for IDs that another took first does not
// look, since a look reads and tries the locks of up to pumpWindow events, most of them
// the other workers' of the moment. done ends the batch.
func (p *pump) take(n int) (ids []int64, second, search bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.busy++
	from := &p.ids
	if len(p.again) > 0 {
		from, second = &p.again, true
	}
	k := min(n, len(*from))
	if k == 0 {
		search, p.search = p.search, false
		return nil, false, search
	}
	out := append([]int64(nil), (*from)[:k]...)
	*from = (*from)[k:]
	if len(*from) == 0 {
		*from = nil // let the backing array go
	}
	return out, second, false
}

// skipped keeps the IDs worker w's batch was handed and did not take, because another
// transaction held their users: they are handed again once, when a batch of another
// worker ends (which may be the one that held them). IDs skipped a second time are
// left to the poll's search.
func (p *pump) skipped(w int, ids []int64) {
	p.mu.Lock()
	p.later = append(p.later, skippedByOne{by: w, ids: ids})
	p.mu.Unlock()
}

// lookAgain asks an idle worker to look among the oldest pending events.
func (p *pump) lookAgain() {
	p.mu.Lock()
	p.search = true
	p.mu.Unlock()
	p.nudge(1)
}

// done ends worker w's batch (see take), handing again what other workers skipped.
func (p *pump) done(w int) {
	p.mu.Lock()
	p.busy--
	kept := p.later[:0]
	again := false
	for _, sk := range p.later {
		if sk.by == w {
			kept = append(kept, sk)
			continue
		}
		p.again = append(p.again, sk.ids...)
		again = true
	}
	clear(p.later[len(kept):])
	p.later = kept
	p.mu.Unlock()
	if again {
		p.nudge(1)
	}
}

// inHand reports whether IDs wait in memory.
func (p *pump) inHand() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.ids) > 0 || len(p.again) > 0
}

// StartPump starts the instance's pump workers; StopPump stops them. Until it is
// started, every stored event is processed by a job (as when no pump runs at all).
func (s *Service) StartPump(ctx context.Context) {
	p := &pump{wake: make(chan struct{}, PumpWorkers), stop: make(chan struct{})}
	// A transaction under way finishes even when the app stops (StopPump waits).
	work := context.WithoutCancel(ctx)
	for w := range PumpWorkers {
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			s.pumpWorker(work, p, w)
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
				p.lookAgain()
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
// hand-off, or by the poll every PumpPoll). w tells the workers apart.
func (s *Service) pumpWorker(ctx context.Context, p *pump, w int) {
	for {
		select {
		case <-p.stop:
			return
		default:
		}
		n, searched, err := s.pumpOnce(ctx, p, w)
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
		case searched && n >= PumpBatch:
			// Maybe more pending: another worker shares them.
			p.lookAgain()
			continue
		}
		select {
		case <-p.stop:
			return
		case <-p.wake:
		}
	}
}

// pumpOnce processes one batch, of the IDs in hand or else (searched) of the oldest
// pending events, and returns how many events it marked processed. A batch in which an
// event fails is done again with a savepoint per event: the same events, taken up
// again by their IDs (those whose users another worker holds by then are left for
// later). IDs in hand that the batch did not take are handed again once (see skipped).
func (s *Service) pumpOnce(ctx context.Context, p *pump, w int) (n int, searched bool, err error) {
	claim := claimSpec{limit: PumpBatch, window: pumpWindow}
	defer p.done(w)
	ids, second, search := p.take(PumpBatch)
	switch {
	case len(ids) > 0:
		claim = claimSpec{ids: ids}
	case !search:
		return 0, false, nil
	}
	for careful := false; ; careful = true {
		var res batchResult
		err := s.Tx.InTx(ctx, func(ctx context.Context) error {
			res = batchResult{}
			return s.processInTx(ctx, nil, nil, careful, claim, &res)
		})
		if careful || !s.doneAgain(ctx, err) {
			if err == nil && len(ids) > len(res.claimed) && !second {
				p.skipped(w, notTaken(ids, res.claimed))
			}
			return res.done, len(ids) == 0, err
		}
		claim = claimSpec{ids: eventIDs(res.claimed)}
	}
}

// notTaken lists those of ids that are not among the events taken.
func notTaken(ids []int64, taken []StoredEvent) []int64 {
	got := make(map[int64]bool, len(taken))
	for _, ev := range taken {
		got[ev.ID] = true
	}
	var out []int64
	for _, id := range ids {
		if !got[id] {
			out = append(out, id)
		}
	}
	return out
}
