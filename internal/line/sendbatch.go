package line

import (
	"context"
	"sync"
	"time"

	"github.com/riverqueue/river"

	"github.com/renraku/renraku/internal/jobs"
)

const (
	// sendsPerJob bounds the messages one SendBatchArgs job sends.
	sendsPerJob = 100
	// sendParallel is how many batched messages an instance has with LINE at once,
	// over all its sending jobs. Their outcomes take one connection of the pool at a
	// time (the recorder writes those that finish together in one statement), and the
	// client keeps to LINE's rate limits; with fewer, a burst's replies were sent
	// seconds after its events were processed (8: 8 s after a 10 s burst at 2,000 a
	// second), closer to their tokens' end.
	sendParallel = 64
	// sendRetryAfter is when a message of a batch that failed for the moment is tried
	// again, by a job of its own.
	sendRetryAfter = time.Second
)

// SendBatchArgs is the job that sends the replies a batch of webhook events queued:
// each row as SendArgs sends it, several at a time, while their reply tokens are
// fresh.
type SendBatchArgs struct {
	OutboundIDs []int64 `json:"outbound_ids"`
}

// Kind names the job.
func (SendBatchArgs) Kind() string { return "line.send_batch" }

// InsertOpts puts the job on the delivery queue.
func (SendBatchArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: jobs.QueueDelivery, MaxAttempts: 12}
}

// sendSlots is the instance's limit of batched messages with LINE at once.
func (s *Service) sendSlots() chan struct{} {
	s.sendSemOnce.Do(func() { s.sendSem = make(chan struct{}, sendParallel) })
	return s.sendSem
}

type sendBatchWorker struct {
	river.WorkerDefaults[SendBatchArgs]
	s *Service
}

func (w *sendBatchWorker) Work(ctx context.Context, job *river.Job[SendBatchArgs]) error {
	return w.s.SendBatch(ctx, job.Args.OutboundIDs)
}

// SendBatch sends queued rows. A row whose attempt failed for the moment goes on with
// a SendArgs job of its own (its back-off and attempts), so the others are not sent
// again; a row already sent is skipped, as SendOutbound does.
func (s *Service) SendBatch(ctx context.Context, ids []int64) error {
	var obs []Outbound
	var friends []Friend
	channels := map[int64]Channel{}
	err := s.Tx.Run(ctx, func(ctx context.Context) (err error) {
		if obs, friends, err = s.Store.FindOutboundsToSend(ctx, ids); err != nil {
			return err
		}
		for _, o := range obs {
			if _, ok := channels[o.ChannelID]; !ok && o.State == StateQueued {
				if channels[o.ChannelID], err = s.FindChannel(ctx, o.ChannelID); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	var mu sync.Mutex
	var again []int64
	var wg sync.WaitGroup
	sem := s.sendSlots()
	for i, o := range obs {
		if o.State != StateQueued {
			continue
		}
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			if err := s.sendLoaded(ctx, o, friends[i], channels[o.ChannelID], false); err != nil {
				mu.Lock()
				again = append(again, o.ID)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(again) == 0 {
		return nil
	}
	params := make([]river.InsertManyParams, len(again))
	for i, id := range again {
		params[i] = river.InsertManyParams{Args: SendArgs{OutboundID: id},
			InsertOpts: &river.InsertOpts{ScheduledAt: time.Now().Add(sendRetryAfter)}}
	}
	return s.Tx.InTx(ctx, func(ctx context.Context) error {
		_, err := s.Jobs.InsertMany(ctx, params)
		return err
	})
}
