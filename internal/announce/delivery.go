package announce

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/riverqueue/river"

	"github.com/renraku/renraku/internal/jobs"
	"github.com/renraku/renraku/internal/line"
	"github.com/renraku/renraku/internal/lineapi"
	"github.com/renraku/renraku/internal/live"
)

// StartArgs is the job that starts an announcement at its time: it resolves the
// audience into recipients and batches and queues a job per batch.
type StartArgs struct {
	AnnouncementID int64 `json:"announcement_id"`
	// ScheduledAt is the time the job was queued for (zero: at once). An edit that moves
	// the time queues another job; this one then finds a different time and does
	// nothing. Jobs queued before edits existed have none and are not checked.
	ScheduledAt *time.Time `json:"scheduled_at,omitempty"`
}

// Kind names the job.
func (StartArgs) Kind() string { return "announce.start" }

// BatchArgs is the job that sends one multicast batch.
type BatchArgs struct {
	BatchID int64 `json:"batch_id"`
}

// Kind names the job.
func (BatchArgs) Kind() string { return "announce.batch" }

// InsertOpts: about a day of back-off before a batch counts as failed.
func (BatchArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: jobs.QueueDelivery, MaxAttempts: 12}
}

// RecordArgs is the job that writes the recipients' rows of an announcement's
// finished batches, once its delivery is over (see Store.RecordRecipients).
type RecordArgs struct {
	AnnouncementID int64 `json:"announcement_id"`
}

// Kind names the job.
func (RecordArgs) Kind() string { return "announce.record" }

// InsertOpts: bookkeeping, off the queues that deliver.
func (RecordArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: jobs.QueueMaintenance}
}

// recordChunk is how many batches' rows (500 each at most) one transaction of the
// record job writes.
const recordChunk = 20

// queue is where an announcement's jobs run: safety alerts on the urgent queue, which
// has its own workers, so they go ahead of queued ordinary announcements.
func queue(kind string) string {
	if kind == Safety {
		return jobs.QueueUrgent
	}
	return jobs.QueueDelivery
}

func (s *Service) enqueueStart(ctx context.Context, an Announcement, at time.Time) error {
	opts := &river.InsertOpts{Queue: queue(an.Kind), MaxAttempts: 12}
	if at.After(s.now()) {
		// A send for now is available at once; only a later one waits for River's
		// scheduler.
		opts.ScheduledAt = at
	}
	sched := an.ScheduledAt
	_, err := s.Jobs.Insert(ctx, StartArgs{AnnouncementID: an.ID, ScheduledAt: &sched}, opts)
	if err != nil {
		return fmt.Errorf("announce: enqueue start: %w", err)
	}
	return nil
}

// enqueueBatches queues a job per batch; rounds (when given) are the batches' places
// within their channels, which become River's priority (1–4: the first batches of all
// channels before any channel's second).
func (s *Service) enqueueBatches(ctx context.Context, an Announcement, batches []int64, rounds ...int) error {
	params := make([]river.InsertManyParams, 0, len(batches))
	for i, id := range batches {
		opts := &river.InsertOpts{Queue: queue(an.Kind), MaxAttempts: 12}
		if i < len(rounds) {
			opts.Priority = min(rounds[i]+1, 4)
		}
		params = append(params, river.InsertManyParams{Args: BatchArgs{BatchID: id}, InsertOpts: opts})
	}
	if len(params) == 0 {
		return nil
	}
	if _, err := s.Jobs.InsertMany(ctx, params); err != nil {
		return fmt.Errorf("announce: enqueue batches: %w", err)
	}
	return nil
}

// Workers registers the announcements' jobs.
func (s *Service) Workers(w *river.Workers) {
	river.AddWorker(w, &startWorker{s: s})
	river.AddWorker(w, &batchWorker{s: s})
	river.AddWorker(w, &recordWorker{s: s})
}

type recordWorker struct {
	river.WorkerDefaults[RecordArgs]
	s *Service
}

func (w *recordWorker) Work(ctx context.Context, job *river.Job[RecordArgs]) error {
	return w.s.record(ctx, job.Args.AnnouncementID)
}

// record writes the recipients' rows of an announcement's finished batches, a chunk
// per transaction, until none is left.
func (s *Service) record(ctx context.Context, id int64) error {
	for {
		var n int
		if err := s.Tx.InTx(ctx, func(ctx context.Context) error {
			var err error
			n, err = s.Store.RecordRecipients(ctx, id, recordChunk)
			return err
		}); err != nil || n == 0 {
			return err
		}
	}
}

// delivered tells that an announcement's delivery is over (every batch sent or
// failed): its creator is told, and its recipients' rows are queued to be written.
func (s *Service) delivered(ctx context.Context, an Announcement) error {
	if _, err := s.Jobs.Insert(ctx, RecordArgs{AnnouncementID: an.ID}, nil); err != nil {
		return fmt.Errorf("announce: enqueue record: %w", err)
	}
	return s.Live.Publish(ctx, deliveryEvent(an))
}

type startWorker struct {
	river.WorkerDefaults[StartArgs]
	s *Service
}

func (w *startWorker) Work(ctx context.Context, job *river.Job[StartArgs]) error {
	return w.s.start(ctx, job.Args.AnnouncementID, job.Args.ScheduledAt)
}

// start resolves the audience as it is now and queues the batches, once: a repeated
// job finds the announcement no longer scheduled, and a job for a time the sender has
// since moved (at) finds another time. A job that died while resolving is resumed by
// its next attempt, which fences the old run off (a new token) and leaves out the
// guardians the old run already placed.
func (s *Service) start(ctx context.Context, id int64, at *time.Time) error {
	var an Announcement
	var token string
	err := s.Tx.InTx(ctx, func(ctx context.Context) error {
		state, err := s.Store.LockState(ctx, id)
		if err != nil {
			return err
		}
		switch state {
		case Scheduled:
		case Sending:
			if open, err := s.Store.Resolving(ctx, id); err != nil || !open {
				return err
			}
		default:
			return nil
		}
		if an, err = s.Store.FindAnnouncementContent(ctx, id); err != nil {
			return err
		}
		if state == Scheduled {
			if at != nil && !sameTime(*at, an.ScheduledAt) {
				return nil
			}
			if err := s.Store.SetState(ctx, id, Sending, an.ScheduledAt); err != nil {
				return err
			}
		}
		token, err = s.Store.StartResolving(ctx, id)
		return err
	})
	if err != nil || token == "" {
		return err
	}
	err = s.resolve(ctx, an, token)
	if errors.Is(err, ErrSuperseded) {
		return nil
	}
	return err
}

// chunkGap spaces the commits of a resolution's steps: River notifies the workers of
// an insert at most once per fetch cooldown, so a step committed sooner after the
// previous one could wait for the next poll.
const chunkGap = jobs.FetchCooldown + 5*time.Millisecond

// resolve reads the audience and commits it in steps as it is read: each step stores
// the batches filled so far (with their members) and queues their jobs, so the first
// batches go out while the rest is still being read. A guardian is placed once: the
// run remembers whom it placed, and a resumed run starts from what the earlier steps
// committed.
func (s *Service) resolve(ctx context.Context, an Announcement, token string) error {
	p := newPlanner(s.batchSize())
	err := s.Tx.Run(ctx, func(ctx context.Context) error {
		ids, err := s.Store.FindResolved(ctx, an.ID)
		for _, g := range ids {
			p.seen[g] = true
		}
		return err
	})
	if err != nil {
		return err
	}
	var last time.Time
	commit := func(final bool) error {
		batches, skipped := p.take(final)
		if len(batches) == 0 && len(skipped) == 0 {
			return nil
		}
		if wait := chunkGap - time.Since(last); final && wait > 0 {
			time.Sleep(wait)
		}
		defer func() { last = time.Now() }()
		return s.Tx.InNewTx(ctx, func(ctx context.Context) error {
			ids, err := s.Store.AddBatches(ctx, an.ID, token, batches, skipped)
			if err != nil {
				return err
			}
			rounds := make([]int, len(batches))
			for i, b := range batches {
				rounds[i] = b.Round
			}
			return s.enqueueBatches(ctx, an, ids, rounds...)
		})
	}
	err = s.Tx.Run(ctx, func(rctx context.Context) error {
		return s.Store.StreamAudience(rctx, an.BoardID, an.Audience, func(m Member) error {
			if !p.add(m) || time.Since(last) < chunkGap {
				return nil
			}
			return commit(false)
		})
	})
	if err != nil {
		return err
	}
	if err := commit(true); err != nil {
		return err
	}
	return s.Tx.InTx(ctx, func(ctx context.Context) error {
		sent, err := s.Store.FinishResolving(ctx, an.ID, token)
		if err != nil || !sent {
			return err
		}
		return s.delivered(ctx, an)
	})
}

// planner splits an audience into batches of at most size per channel and language,
// as its members arrive.
type planner struct {
	size    int
	seen    map[int64]bool
	open    map[group]*NewBatch // the batch being filled, per group
	known   map[group]struct{}
	rounds  map[int64]int // batches begun per channel
	order   []group       // the groups in the order they first appeared
	full    []NewBatch
	skipped []Member
}

type group struct {
	channel int64
	lang    string
}

func newPlanner(size int) *planner {
	return &planner{size: size, seen: map[int64]bool{}, open: map[group]*NewBatch{}, known: map[group]struct{}{}, rounds: map[int64]int{}}
}

// add places a member (once per guardian) and reports whether a batch is full.
func (p *planner) add(m Member) bool {
	if p.seen[m.GuardianID] {
		return false
	}
	p.seen[m.GuardianID] = true
	if !m.Following {
		p.skipped = append(p.skipped, m)
		return false
	}
	g := group{m.ChannelID, m.Language}
	b := p.open[g]
	if b == nil {
		if _, known := p.known[g]; !known {
			p.known[g] = struct{}{}
			p.order = append(p.order, g)
		}
		b = &NewBatch{ChannelID: m.ChannelID, Language: m.Language, Round: p.rounds[m.ChannelID]}
		p.rounds[m.ChannelID]++
		p.open[g] = b
	}
	b.Guardians = append(b.Guardians, m.GuardianID)
	b.Friends = append(b.Friends, m.FriendID)
	if len(b.Guardians) < p.size {
		return false
	}
	p.full = append(p.full, *b)
	delete(p.open, g)
	return true
}

// take returns the full batches and the skipped members so far, and at the end
// (final) the partly filled batches too. The batches come interleaved across
// channels, so the workers sending them rarely wait on one channel's rate limit.
func (p *planner) take(final bool) ([]NewBatch, []Member) {
	out := p.full
	if final {
		for _, g := range p.order {
			if b := p.open[g]; b != nil {
				out = append(out, *b)
			}
		}
		p.open = map[group]*NewBatch{}
	}
	skipped := p.skipped
	p.full, p.skipped = nil, nil
	return interleave(out), skipped
}

// interleave orders batches round-robin across channels, keeping each channel's order.
func interleave(bs []NewBatch) []NewBatch {
	var channels []int64
	per := map[int64][]NewBatch{}
	for _, b := range bs {
		if _, ok := per[b.ChannelID]; !ok {
			channels = append(channels, b.ChannelID)
		}
		per[b.ChannelID] = append(per[b.ChannelID], b)
	}
	out := make([]NewBatch, 0, len(bs))
	for round := 0; len(out) < len(bs); round++ {
		for _, c := range channels {
			if round < len(per[c]) {
				out = append(out, per[c][round])
			}
		}
	}
	return out
}

type batchWorker struct {
	river.WorkerDefaults[BatchArgs]
	s *Service
}

func (w *batchWorker) Work(ctx context.Context, job *river.Job[BatchArgs]) error {
	return w.s.sendBatch(ctx, job.Args.BatchID, job.Attempt >= job.MaxAttempts)
}

// sendBatch sends one batch by multicast with its retry key. LINE answering 409 means
// it accepted this key before (the answer was lost): the batch was delivered. A
// temporary failure (429, 5xx, no answer) is retried with back-off; a permanent one, or
// the last attempt, marks the batch failed (it can be retried by staff, same key).
func (s *Service) sendBatch(ctx context.Context, id int64, last bool) error {
	var b Batch
	var an Announcement
	var users []string
	err := s.Tx.InTx(ctx, func(ctx context.Context) error {
		var err error
		if b, err = s.Store.FindBatch(ctx, id); err != nil || b.State != "queued" {
			return err
		}
		if an, err = s.Store.FindAnnouncementContent(ctx, b.AnnouncementID); err != nil {
			return err
		}
		users, err = s.Store.FindBatchUsers(ctx, id)
		return err
	})
	if err != nil || b.State != "queued" {
		return err
	}
	ch, err := s.Channels.FindChannel(ctx, b.ChannelID)
	if err != nil {
		return err
	}
	reqID, err := s.Broadcaster.Multicast(ctx, ch.API(), users, b.RetryKey, s.Messages(an, b.Language, b.SharedChannel))
	var ae *lineapi.APIError
	state, msg := "sent", ""
	switch {
	case err == nil:
	case errors.As(err, &ae) && ae.Status == http.StatusConflict:
		reqID = ae.AcceptedRequestID
	case errors.As(err, &ae) && !ae.Temporary():
		state, msg = "failed", fmt.Sprintf("%d %s", ae.Status, ae.Message)
	case last:
		state, msg = "failed", failure(err)
	default:
		if ferr := s.Tx.InTx(ctx, func(ctx context.Context) error {
			return s.Store.FailBatchAttempt(ctx, id, failure(err))
		}); ferr != nil {
			return ferr
		}
		return err
	}
	return s.Tx.InTx(ctx, func(ctx context.Context) error {
		finished, err := s.Store.FinishBatch(ctx, b, state, reqID, msg)
		if err != nil || !finished {
			return err
		}
		return s.delivered(ctx, an)
	})
}

// deliveryEvent tells that an announcement's delivery finished (every recipient sent,
// failed or skipped), for its creator.
func deliveryEvent(an Announcement) live.Event {
	return live.Event{Kind: live.Delivery, Board: an.BoardID, School: an.SchoolID, Announcement: an.ID, Staff: an.CreatedBy}
}

func failure(err error) string {
	var ae *lineapi.APIError
	if errors.As(err, &ae) {
		return fmt.Sprintf("%d %s", ae.Status, ae.Message)
	}
	return "transport error"
}

// Messages are what the parents of one language receive: the text under its heading,
// and for handouts a button that asks renraku for the parent's own link (a multicast
// is the same for everyone, so the personal link comes in the answer). Through a
// channel that serves several schools (shared), the heading names the sender
// (【お知らせ】○○小学校), so parents know which school writes.
func (s *Service) Messages(an Announcement, lang string, shared bool) []line.Message {
	sender := ""
	if shared {
		sender = an.Sender
	}
	head := s.T(lang, "announce.line.heading_"+an.Kind, map[string]any{"Sender": sender})
	text := head + an.Title.Reveal() + "\n\n" + an.Body.Reveal()
	ms := []line.Message{{Text: text}}
	if len(an.Handouts) > 0 {
		t := s.T(lang, "announce.line.handouts", map[string]any{"Count": len(an.Handouts)})
		ms = append(ms, line.Message{Text: t, AltText: t, Buttons: []line.Action{{Kind: "postback",
			Label: s.T(lang, "announce.line.open", nil), Data: line.PostbackData("handouts.open", strconv.FormatInt(an.ID, 10))}}})
	}
	return ms
}
