package line

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/riverqueue/river"

	"github.com/renraku/renraku/internal/apperr"
	"github.com/renraku/renraku/internal/jobs"
	"github.com/renraku/renraku/internal/lineapi"
	"github.com/renraku/renraku/internal/txn"
)

// replyWindow is how long after an event renraku still answers with its reply token.
// LINE documents no exact lifetime ("about a minute"); staying well inside it avoids a
// wasted call.
const replyWindow = 45 * time.Second

// Send describes messages to queue for one friend.
type Send struct {
	Friend   Friend
	Purpose  string // for cost reports: welcome, reply, staff_reply, …
	Messages []Message
	// Reply answers this event with its reply token while it is fresh (free); push
	// otherwise. Nil means push.
	Reply *Incoming
	// Urgent sends on the urgent queue, ahead of ordinary traffic.
	Urgent bool
}

// Queue stores the messages and their sending job in tx. It never calls LINE.
func (s *Service) Queue(ctx context.Context, snd Send) (int64, error) {
	if len(snd.Messages) == 0 || len(snd.Messages) > lineapi.MaxMessagesPerSend {
		return 0, fmt.Errorf("%w: 1–%d messages per send", lineapi.ErrInvalidMessage, lineapi.MaxMessagesPerSend)
	}
	for _, m := range snd.Messages {
		if err := m.Validate(); err != nil {
			return 0, err
		}
	}
	o := Outbound{ChannelID: snd.Friend.ChannelID, FriendID: snd.Friend.ID, Purpose: snd.Purpose, Messages: snd.Messages}
	if snd.Reply != nil && snd.Reply.ReplyToken != "" {
		o.ReplyToken = snd.Reply.ReplyToken
		o.ReplyDeadline = snd.Reply.ReceivedAt.Add(replyWindow)
	}
	// In a batch of webhook events, the batch's one sending job takes it, and the
	// batch stores it with the others' when its events are done.
	if c := batchCollector(ctx); c != nil && !snd.Urgent {
		if c.deferred == nil {
			if err := s.Store.InsertOutbound(ctx, &o); err != nil {
				return 0, err
			}
		} else {
			var err error
			if o.ID, err = s.Store.NewOutboundID(ctx); err != nil {
				return 0, err
			}
			*c.deferred = append(*c.deferred, &o)
		}
		*c.ids = append(*c.ids, o.ID)
		return o.ID, nil
	}
	if err := s.Store.InsertOutbound(ctx, &o); err != nil {
		return 0, err
	}
	queue := jobs.QueueDelivery
	if snd.Urgent {
		queue = jobs.QueueUrgent
	}
	if _, err := s.Jobs.Insert(ctx, SendArgs{OutboundID: o.ID}, &river.InsertOpts{Queue: queue}); err != nil {
		return 0, fmt.Errorf("line: enqueue send: %w", err)
	}
	return o.ID, nil
}

// SendArgs is the job that sends one outbound row.
type SendArgs struct {
	OutboundID int64 `json:"outbound_id"`
}

// Kind names the job.
func (SendArgs) Kind() string { return "line.send" }

// InsertOpts sets the default queue and attempts (about a day of back-off).
func (SendArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: jobs.QueueDelivery, MaxAttempts: 12}
}

type sendWorker struct {
	river.WorkerDefaults[SendArgs]
	s *Service
}

func (w *sendWorker) Work(ctx context.Context, job *river.Job[SendArgs]) error {
	return w.s.SendOutbound(ctx, job.Args.OutboundID, job.Attempt >= job.MaxAttempts)
}

// SendOutbound sends one queued row. A temporary failure returns an error (the job is
// retried with back-off, the retry key keeps it from delivering twice); a permanent one
// is recorded and returns nil.
func (s *Service) SendOutbound(ctx context.Context, id int64, lastAttempt bool) error {
	var o Outbound
	var f Friend
	var ch Channel
	err := s.Tx.Run(ctx, func(ctx context.Context) (err error) {
		if o, err = s.Store.FindOutbound(ctx, id); err != nil || o.State != StateQueued {
			return err
		}
		if f, err = s.Store.FindFriend(ctx, o.FriendID); err != nil || !f.Following {
			return err
		}
		ch, err = s.FindChannel(ctx, o.ChannelID)
		return err
	})
	if err != nil {
		return err
	}
	return s.sendLoaded(ctx, o, f, ch, lastAttempt)
}

// sendLoaded sends a row read with its friend and channel.
func (s *Service) sendLoaded(ctx context.Context, o Outbound, f Friend, ch Channel, lastAttempt bool) error {
	id := o.ID
	switch {
	case o.State != StateQueued:
		return nil
	case !f.Following:
		return s.update(ctx, id, OutboundResult{State: StateUndeliverable, LastError: "blocked"})
	}

	// Method "reply" on a queued row means an earlier attempt used the reply token and
	// its answer was lost (a timeout, a 5xx, the database gone before the result was
	// stored): LINE may have delivered it.
	if o.ReplyToken != "" && o.Method != "push" && s.Clock.Now().Before(o.ReplyDeadline) {
		reqID, err := s.Client.Reply(ctx, ch.API(), o.ReplyToken.Reveal(), o.Messages)
		if err == nil {
			return s.record(ctx, id, OutboundResult{State: StateSent, Method: "reply", LineRequestID: reqID, Sent: true})
		}
		var ae *lineapi.APIError
		switch {
		case !errors.As(err, &ae) || ae.Temporary():
			return s.retry(ctx, id, "reply", err, lastAttempt)
		case o.Method == "reply" && ae.Status == http.StatusBadRequest:
			// Refused within its lifetime, the token was used, and only renraku has
			// it: the earlier attempt delivered the message. A push would repeat it.
			return s.record(ctx, id, OutboundResult{State: StateSent, Method: "reply", LastError: "delivered by an earlier attempt", Sent: true})
		}
		// The token was refused (used or expired): fall back to push. After the
		// window an earlier attempt's fate is unknown; the push may repeat it
		// (at least once rather than not at all).
	}
	reqID, err := s.Client.Push(ctx, ch.API(), f.UserID.Reveal(), o.RetryKey, o.Messages)
	var ae *lineapi.APIError
	switch {
	case err == nil:
		return s.record(ctx, id, OutboundResult{State: StateSent, Method: "push", LineRequestID: reqID, Sent: true})
	case errors.As(err, &ae) && ae.Status == http.StatusConflict:
		// LINE accepted this retry key before: the message was delivered.
		return s.record(ctx, id, OutboundResult{State: StateSent, Method: "push", LineRequestID: ae.AcceptedRequestID, Sent: true})
	case errors.As(err, &ae) && !ae.Temporary():
		return s.record(ctx, id, OutboundResult{State: StateFailed, Method: "push", LastError: ae.Message})
	}
	return s.retry(ctx, id, "push", err, lastAttempt)
}

// record stores what LINE answered, trying again until the database takes it: once
// LINE has the message, a failure here would send it again on the job's retry (a reply
// token refused as used becomes a push), so a database that is unreachable is waited
// out rather than reported. The job's own time limit does not end the wait (River
// would retry the job); a stop of the app (the job cancelled) or recordPatience does.
func (s *Service) record(ctx context.Context, id int64, r OutboundResult) error {
	giveUp := time.Now().Add(recordPatience)
	wctx := context.WithoutCancel(ctx)
	for {
		actx, cancel := context.WithTimeout(wctx, 5*time.Second)
		err := s.update(actx, id, r)
		cancel()
		// Only a failure of our own is waited out; a row that is gone stays gone.
		if err == nil || apperr.KindOf(err) != apperr.Internal {
			return err
		}
		if errors.Is(ctx.Err(), context.Canceled) || time.Now().After(giveUp) {
			return err
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// recordPatience bounds the wait for the database after LINE took a message: below
// River's default rescue time (ten minutes), after which another worker would run the
// job again.
const recordPatience = 5 * time.Minute

// retry records a temporary failure and returns it so River retries; on the last
// attempt the row is marked failed.
func (s *Service) retry(ctx context.Context, id int64, method string, cause error, lastAttempt bool) error {
	msg := "transport error"
	var ae *lineapi.APIError
	if errors.As(cause, &ae) {
		msg = fmt.Sprintf("%d %s", ae.Status, ae.Message)
	}
	// Once a push was tried, never go back to the reply token; a reply that failed
	// any other way (a timeout, a 5xx) may still have reached LINE, which the next
	// attempt must know.
	r := OutboundResult{State: StateQueued, Method: method, LastError: truncate(msg, 300)}
	if method == "reply" && ae != nil && ae.Status == http.StatusTooManyRequests {
		r.Method = "" // refused before it was taken: the token is unused
	}
	if lastAttempt {
		r.State = StateFailed
	}
	if err := s.update(ctx, id, r); err != nil {
		return err
	}
	if lastAttempt {
		return nil
	}
	return cause
}

// Workers registers the LINE adapter's jobs.
func (s *Service) Workers(w *river.Workers) {
	river.AddWorker(w, &processWorker{s: s})
	river.AddWorker(w, &batchWorker{s: s})
	river.AddWorker(w, &sendWorker{s: s})
	river.AddWorker(w, &sendBatchWorker{s: s})
	river.AddWorker(w, &linkWorker{s: s})
}

// Requeue sends a failed message again (with the same retry key, so LINE never
// delivers it twice); it reports false when the message had not failed.
func (s *Service) Requeue(ctx context.Context, outboundID int64) (bool, error) {
	return txn.Get(ctx, s.Tx, func(ctx context.Context) (bool, error) {
		ok, err := s.Store.RequeueOutbound(ctx, outboundID)
		if err != nil || !ok {
			return ok, err
		}
		if _, err := s.Jobs.Insert(ctx, SendArgs{OutboundID: outboundID}, &river.InsertOpts{Queue: jobs.QueueDelivery}); err != nil {
			return false, fmt.Errorf("line: enqueue send: %w", err)
		}
		return true, nil
	})
}

// update stores the outcome of a send, with those of the instance's other sends that
// finish meanwhile (see recorder), and returns once it is stored.
func (s *Service) update(ctx context.Context, id int64, r OutboundResult) error {
	// LINE's message is not ours: kept to the column's limit, so that it cannot fail
	// the write of the others' outcomes.
	r.LastError = truncate(r.LastError, 300)
	return s.recorder.record(OutboundUpdate{ID: id, OutboundResult: r}, func(ctx context.Context, rs []OutboundUpdate) error {
		return s.Tx.Run(ctx, func(ctx context.Context) error { return s.Store.UpdateOutbounds(ctx, rs) })
	})
}

// recorder writes the outcomes of an instance's concurrent sends together: the first
// to arrive writes, and what arrives while it writes is written next, in one statement,
// by the first of those callers (a batch of replies finishes several at a time). Each
// caller returns when its own outcome is stored, as a write of its own would: what
// happens after (the retry on a failure, the wait for the database) is unchanged.
type recorder struct {
	mu      sync.Mutex
	pending []recordWait
	writing bool // a caller is writing; the next is told by its done channel
}

type recordWait struct {
	u    OutboundUpdate
	done chan recordDone
}

type recordDone struct {
	err  error
	lead bool // write what is pending, this caller's outcome among it
}

// recordTimeout bounds one write of outcomes: a caller's own deadline does not apply
// to a write that carries the outcomes of others.
const recordTimeout = 5 * time.Second

func (rc *recorder) record(u OutboundUpdate, write func(context.Context, []OutboundUpdate) error) error {
	w := recordWait{u: u, done: make(chan recordDone, 1)}
	rc.mu.Lock()
	rc.pending = append(rc.pending, w)
	lead := !rc.writing
	rc.writing = true
	rc.mu.Unlock()
	if !lead {
		if d := <-w.done; !d.lead {
			return d.err
		}
	}
	rc.mu.Lock()
	group := rc.pending
	rc.pending = nil
	rc.mu.Unlock()
	us := make([]OutboundUpdate, len(group))
	for i, g := range group {
		us[i] = g.u
	}
	// Nothing of the caller's context: not its deadline, nor a transaction it may
	// carry (the others' outcomes are not part of it).
	wctx, cancel := context.WithTimeout(context.Background(), recordTimeout)
	err := write(wctx, us)
	cancel()
	for _, g := range group {
		if g.done != w.done {
			g.done <- recordDone{err: err}
		}
	}
	rc.mu.Lock()
	if len(rc.pending) > 0 {
		rc.pending[0].done <- recordDone{lead: true}
	} else {
		rc.writing = false
	}
	rc.mu.Unlock()
	return err
}
