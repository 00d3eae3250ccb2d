package line

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/riverqueue/river"
)

// Group commit of webhook events. A webhook answers 200 only once its events are
// committed, and a commit is the costly part of a request (a round trip, a WAL flush
// with fsync on). Requests that arrive while earlier ones are being written wait a
// moment and are written together: one multi-row INSERT, one processing job per slice
// of events, one commit. At low load a request is written alone, at once.
const (
	// maxCommitters is how many group commits run at the same time: while one waits
	// for its commit the next gathers and writes.
	maxCommitters = 4
	// maxGroupEvents bounds the events written in one transaction.
	maxGroupEvents = 1000
	// EventsPerJob is how many events one processing job takes at most (see
	// ProcessBatchArgs): enough to share a transaction's cost, few enough that the
	// events workers share a burst.
	EventsPerJob = 50
	// commitTimeout bounds one group's transaction, whatever becomes of the requests
	// waiting for it.
	commitTimeout = 30 * time.Second
)

// ingestReq is one request's events waiting for a group commit.
type ingestReq struct {
	evs  []StoredEvent
	done chan ingestResult
}

type ingestResult struct {
	stored int
	err    error
}

// groupCommit gathers requests and writes them in groups. It has no goroutine of its
// own at rest: a request that finds fewer than maxCommitters writing becomes one, and
// a committer ends when nothing is waiting.
type groupCommit struct {
	s       *Service
	mu      sync.Mutex
	pending []*ingestReq
	running int
}

func (s *Service) ingester() *groupCommit {
	s.groupOnce.Do(func() { s.group = &groupCommit{s: s} })
	return s.group
}

// submit queues the events of one request and waits until they are committed (or
// ctx ends: the request is then answered with an error, and whether its events were
// stored is for LINE's redelivery and the events' IDs to sort out).
func (g *groupCommit) submit(ctx context.Context, evs []StoredEvent) (int, error) {
	req := &ingestReq{evs: evs, done: make(chan ingestResult, 1)}
	g.mu.Lock()
	g.pending = append(g.pending, req)
	start := g.running < maxCommitters
	if start {
		g.running++
	}
	g.mu.Unlock()
	if start {
		go g.commitLoop()
	}
	select {
	case r := <-req.done:
		return r.stored, r.err
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

// commitLoop writes groups of waiting requests until none is left.
func (g *groupCommit) commitLoop() {
	for {
		g.mu.Lock()
		var group []*ingestReq
		n := 0
		for len(g.pending) > 0 && (n == 0 || n+len(g.pending[0].evs) <= maxGroupEvents) {
			n += len(g.pending[0].evs)
			group = append(group, g.pending[0])
			g.pending[0] = nil
			g.pending = g.pending[1:]
		}
		if len(group) == 0 {
			g.running--
			g.pending = nil // let the backing array go
			g.mu.Unlock()
			return
		}
		g.mu.Unlock()
		g.commitGroup(group)
	}
}

// commitGroup writes a group in one transaction and answers its requests. When the
// transaction fails and the group has more than one request, each is written again
// alone, so that one bad request does not fail the others.
func (g *groupCommit) commitGroup(group []*ingestReq) {
	stored, err := g.write(group)
	if err != nil && len(group) > 1 {
		for _, r := range group {
			g.commitGroup([]*ingestReq{r})
		}
		return
	}
	for i, r := range group {
		if err != nil {
			r.done <- ingestResult{err: err}
			continue
		}
		r.done <- ingestResult{stored: stored[i]}
	}
}

// write stores the group's events and the processing jobs of those the pump does not
// take (see pump.go) in one transaction (one statement when there are no jobs),
// returning how many of each request's events were new; once committed, it hands the
// pump the others.
func (g *groupCommit) write(group []*ingestReq) ([]int, error) {
	s := g.s
	var evs []StoredEvent
	for _, r := range group {
		evs = append(evs, r.evs...)
	}
	ctx, cancel := context.WithTimeout(context.Background(), commitTimeout)
	defer cancel()
	stored := make([]int, len(group))
	p := s.pumping()
	var pumped []int64
	// When the pump takes every event, the INSERT is all there is to write: it commits
	// on its own, in one round trip instead of three (BEGIN, INSERT, COMMIT).
	run := s.Tx.InTx
	if p != nil && !slices.ContainsFunc(evs, func(ev StoredEvent) bool { return !pumpable(ev) }) {
		run = s.Tx.Run
	}
	err := run(ctx, func(ctx context.Context) error {
		clear(stored)
		inserted, err := s.Store.InsertEvents(ctx, evs)
		if err != nil {
			return err
		}
		var ids []int64
		pumped = pumped[:0]
		i := 0
		for ri, r := range group {
			for range r.evs {
				if inserted[i] {
					stored[ri]++
					// The pump takes up what one transaction can do; the rest (and
					// everything while no pump runs) gets a job.
					if p != nil && pumpable(evs[i]) {
						pumped = append(pumped, evs[i].ID)
					} else {
						ids = append(ids, evs[i].ID)
					}
				}
				i++
			}
		}
		if len(ids) == 0 {
			return nil
		}
		params := make([]river.InsertManyParams, 0, (len(ids)+EventsPerJob-1)/EventsPerJob)
		for len(ids) > 0 {
			k := min(EventsPerJob, len(ids))
			params = append(params, river.InsertManyParams{Args: ProcessBatchArgs{EventIDs: ids[:k]}})
			ids = ids[k:]
		}
		if _, err := s.Jobs.InsertMany(ctx, params); err != nil {
			return fmt.Errorf("line: enqueue events: %w", err)
		}
		return nil
	})
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			err = fmt.Errorf("line: group commit: %w", err)
		}
		return nil, err
	}
	if len(pumped) > 0 {
		p.hand(pumped)
	}
	return stored, nil
}

// pumpable reports whether the pump may process an event (see ClaimEvents): one of a
// user, not a follow.
func pumpable(ev StoredEvent) bool {
	return ev.UserKey != nil && ev.Type != "follow"
}
