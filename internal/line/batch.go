package line

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"time"

	"github.com/riverqueue/river"

	"github.com/renraku/renraku/internal/apperr"
	"github.com/renraku/renraku/internal/jobs"
	"github.com/renraku/renraku/internal/lineapi"
	"github.com/renraku/renraku/internal/vault"
)

// Batched processing of webhook events. A group commit writes a burst's events with
// one job per EventsPerJob of them; the job handles them in one transaction, each
// event in a savepoint of its own (a failing event is undone alone and retried by a
// job of its own, as ProcessEvent does), and the replies they queue go out through one
// sending job. What a user sends is still handled in LINE's order: the transaction
// holds each of the batch's users' advisory lock, and takes their earlier pending
// events first.

// ProcessBatchArgs is the job that processes a slice of stored webhook events.
type ProcessBatchArgs struct {
	EventIDs []int64 `json:"event_ids"`
}

// Kind names the job.
func (ProcessBatchArgs) Kind() string { return "line.process_events" }

// InsertOpts puts the job on the events queue.
func (ProcessBatchArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: jobs.QueueEvents, MaxAttempts: 8}
}

type batchWorker struct {
	river.WorkerDefaults[ProcessBatchArgs]
	s *Service
}

func (w *batchWorker) Work(ctx context.Context, job *river.Job[ProcessBatchArgs]) error {
	return w.s.ProcessEvents(ctx, job.Args.EventIDs)
}

// busyRetry is when a user's events that another worker holds are tried again.
const busyRetry = 100 * time.Millisecond

// claimEvents is how many pending events of other jobs a processing job takes up at
// most, and claimWindow how many of the oldest it looks among. A batch's events wait
// for its transaction, which takes about a millisecond or two an event: small batches
// on every worker answer sooner than a large one on a single worker.
const (
	claimEvents = 16
	claimWindow = 4 * EventsPerJob
)

// ProcessEvents processes the events ids (those not yet processed) and the earlier
// pending events of their users. A job with room also takes up pending events of other
// jobs (ClaimEvents: the oldest pending, their users locked as they are taken so that
// workers take different ones): when requests of one or two events arrive one by one,
// each group commit queues a job for one or two, and the rate at which River hands out
// jobs would otherwise bound the events processed. A job whose events were taken up
// finds them processed and ends.
func (s *Service) ProcessEvents(ctx context.Context, ids []int64) error {
	var found []StoredEvent
	err := s.Tx.Run(ctx, func(ctx context.Context) (err error) {
		found, err = s.Store.FindEvents(ctx, ids)
		return err
	})
	if err != nil {
		return err
	}
	todo := found[:0]
	langs := map[int64]string{}
	for _, ev := range found {
		if ev.Processed {
			continue
		}
		todo = append(todo, ev)
		if ev.Type == "follow" {
			// LINE is asked before the transaction, never inside one.
			if e, err := lineapi.ParseEvent(ev.Payload); err == nil {
				if lang := s.followLanguage(ctx, ev, e); lang != "" {
					langs[ev.ID] = lang
				}
			}
		}
	}
	// Every event in one go first; when one fails, the transaction is rolled back and
	// the batch is done again with a savepoint per event, so that the failing one is
	// undone alone (savepoints cost two round trips an event, and failures are rare).
	careful := false
	for {
		err := s.Tx.InTx(ctx, func(ctx context.Context) error {
			claim := 0
			if !careful {
				claim = min(claimEvents, EventsPerJob-len(todo))
			}
			return s.processInTx(ctx, todo, langs, careful, claimSpec{limit: claim, window: claimWindow}, &batchResult{})
		})
		if !careful && s.doneAgain(ctx, err) {
			careful = true
			continue
		}
		return err
	}
}

// claimSpec is what pending events of others a batch takes up: those of ids that are
// claimable when ids are given, else at most limit (none when 0) among the window
// oldest.
type claimSpec struct {
	ids           []int64
	limit, window int
}

// batchResult is what a batch's transaction did: the events it took up, and how many
// events it marked processed.
type batchResult struct {
	claimed []StoredEvent
	done    int
}

// errBatchEventFailed rolls back a batch done in one go, to do it again with
// savepoints.
var errBatchEventFailed = errors.New("line: an event of the batch failed")

// doneAgain tells whether a batch done in one go that ended with err is to be done
// again with savepoints: when an event failed, and when anything else failed but the
// work was not cancelled (its COMMIT, which carries the batch's messages; a failure
// there has no event of its own).
func (s *Service) doneAgain(ctx context.Context, err error) bool {
	switch {
	case err == nil || ctx.Err() != nil:
		return false
	case errors.Is(err, errBatchEventFailed):
		return true
	}
	s.Log.Warn("line batch failed; done again event by event", "err", err)
	return true
}

// eventIDs lists the events' IDs.
func eventIDs(evs []StoredEvent) []int64 {
	ids := make([]int64, len(evs))
	for i, ev := range evs {
		ids[i] = ev.ID
	}
	return ids
}

// userOf returns the user an event comes from, if any.
func userOf(ev StoredEvent) (UserRef, bool) {
	return UserRef{ChannelID: ev.ChannelID, UserKey: ev.UserKey}, ev.UserKey != nil
}

// processInTx handles evs in the transaction ctx carries: in one go, or when careful
// each event in a savepoint of its own (what a failing event recorded for the audit
// log is dropped with its work). The audit log stores a batch's events as pending with
// its COMMIT and seals them into the chain after it. evs are the job's own events;
// it takes up others' besides them as claim says (see ProcessEvents).
func (s *Service) processInTx(ctx context.Context, evs []StoredEvent, langs map[int64]string, careful bool, claim claimSpec, res *batchResult) error {
	// The batch's users, each with their latest event here.
	var users []*userWork
	byKey := map[string]*userWork{}
	ukey := func(r UserRef) string { return strconv.FormatInt(r.ChannelID, 10) + ":" + string(r.UserKey) }
	addUser := func(ev StoredEvent, own bool) *userWork {
		r, ok := userOf(ev)
		if !ok {
			return nil
		}
		u := byKey[ukey(r)]
		if u == nil {
			u = &userWork{ref: r}
			byKey[ukey(r)] = u
			users = append(users, u)
		}
		u.own = u.own || own
		if u.last.ID == 0 || ev.OccurredAt.After(u.last.OccurredAt) ||
			(ev.OccurredAt.Equal(u.last.OccurredAt) && ev.ID > u.last.ID) {
			u.last = ev
		}
		return u
	}
	for _, ev := range evs {
		addUser(ev, true)
	}
	keys := make([]int64, len(users))
	for i, u := range users {
		keys[i] = userLockKey(u.ref.ChannelID, u.ref.UserKey)
	}
	got, err := s.Locks.TryXactLocks(ctx, keys)
	if err != nil {
		return err
	}
	var held []UserRef
	for i, u := range users {
		if got[i] {
			held = append(held, u.ref)
			continue
		}
		// Another worker has this user's events: try again shortly with the job
		// that processes a user's events up to one of them.
		u.failed = true
		if err := s.retryUser(ctx, u.last.ID, busyRetry); err != nil {
			return err
		}
	}
	// Other jobs' events, their users locked as they are taken.
	var claimed []StoredEvent
	switch {
	case len(claim.ids) > 0:
		claimed, err = s.Store.ClaimEventsByID(ctx, claim.ids)
	case claim.limit > 0:
		claimed, err = s.Store.ClaimEvents(ctx, eventIDs(evs), claim.limit, claim.window)
	}
	if err != nil {
		return err
	}
	res.claimed = claimed
	if len(evs) == 0 && len(claimed) == 0 {
		return nil
	}
	for _, ev := range claimed {
		n := len(users)
		if u := addUser(ev, false); len(users) > n {
			held = append(held, u.ref)
		}
	}
	// Without savepoints, each user's friend record is read with their events and
	// serves their first event (a savepoint rolled back could leave the record read
	// stale, hence not when careful; later events read it again, after what the first
	// one changed).
	// Read in a statement of its own, after the locks: a statement sees what was
	// committed before it began, and a batch that held a user a moment ago may have
	// processed their events since the claim's statement began.
	pending, friends, err := s.Store.PendingEventsOfUsers(ctx, held, !careful)
	if err != nil {
		return err
	}
	mine := make(map[int64]bool, len(evs))
	for _, ev := range evs {
		mine[ev.ID] = true
	}
	for _, ev := range pending {
		u := byKey[ukey(UserRef{ChannelID: ev.ChannelID, UserKey: ev.UserKey})]
		if u == nil || ev.OccurredAt.After(u.last.OccurredAt) || (ev.OccurredAt.Equal(u.last.OccurredAt) && ev.ID > u.last.ID) {
			continue // a later event, for its own job
		}
		switch {
		case u.failed:
		case !u.own && (ev.Type == "follow" || ev.Retrying):
			// A follow waits for its own job, which asks LINE for the user's
			// language first, and a failed event for its own job's next attempt;
			// so do the user's later events.
			u.failed = true
		case ev.Type == "follow" && !mine[ev.ID]:
			// Another job's follow, earlier than this job's events of the user: the
			// job that processes a user's events one by one asks LINE for the
			// language before it, then does the rest in order.
			u.failed = true
			if err := s.retryUser(ctx, u.last.ID, 0); err != nil {
				return err
			}
		}
		u.events = append(u.events, ev)
	}
	// The work in the batch's order: an event without a user where it stands, a
	// user's events (oldest first) where the user first appears.
	var work []StoredEvent
	seen := map[*userWork]bool{}
	for _, ev := range append(evs, claimed...) {
		r, ok := userOf(ev)
		if !ok {
			work = append(work, ev)
			continue
		}
		u := byKey[ukey(r)]
		if !seen[u] && !u.failed {
			seen[u] = true
			work = append(work, u.events...)
		}
	}

	memo := &channelMemo{byID: map[int64]Channel{}}
	if !careful {
		memo.friends = map[string]*Friend{}
		memo.fresh = map[int64]bool{}
		for i, ev := range pending {
			memo.friends[ukey(UserRef{ChannelID: ev.ChannelID, UserKey: ev.UserKey})] = friends[i]
		}
		memo.key = ukey
		if err := s.insertNewFriends(ctx, users, memo, ukey, langs); err != nil {
			return err
		}
	}
	wctx := withChannelMemo(ctx, memo)
	if !careful {
		if err := s.readAhead(wctx, work, memo); err != nil {
			return err
		}
	}
	var sends, done []int64
	// Without savepoints, the batch's messages are stored together with its COMMIT;
	// with them, each as it is queued (undone with its event's savepoint).
	var deferred []*Outbound
	var deferTo *[]*Outbound
	if !careful {
		deferTo = &deferred
	}
	finish := func() error {
		// A failure to store them fails the commit; the batch is then done again
		// with savepoints, which tell whose message it was (see doneAgain).
		if err := s.Store.InsertOutboundsAtCommit(ctx, deferred); err != nil {
			return err
		}
		if err := s.Store.MarkEventsProcessedAtCommit(ctx, done, "ok"); err != nil {
			return err
		}
		res.done = len(done)
		return s.queueSends(ctx, sends)
	}
	for _, ev := range work {
		var u *userWork
		if r, ok := userOf(ev); ok {
			u = byKey[ukey(r)]
			if u.failed {
				continue
			}
		}
		var evSends []int64
		var err error
		if careful {
			err = s.Tx.Savepoint(wctx, func(ctx context.Context) error {
				return s.handle(withSendCollector(ctx, &evSends, nil), ev, langs[ev.ID])
			})
		} else {
			err = s.handle(withSendCollector(wctx, &evSends, deferTo), ev, langs[ev.ID])
		}
		if err == nil {
			sends = append(sends, evSends...)
			done = append(done, ev.ID)
			continue
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if !careful {
			return errBatchEventFailed
		}
		s.Log.Warn("line event failed", "event_id", ev.ID, "type", ev.Type, "err", err)
		if err := s.Store.MarkEventRetrying(ctx, ev.ID); err != nil {
			return err
		}
		// Undone alone; a job of its own retries it (and, after it, the user's later
		// events here) with back-off, marking it failed on its last attempt.
		last := ev
		if u != nil {
			u.failed = true
			last = u.last
		}
		if err := s.retryUser(ctx, last.ID, 0); err != nil {
			return err
		}
	}
	return finish()
}

// userWork is one user's share of a batch.
type userWork struct {
	ref    UserRef
	last   StoredEvent   // the user's latest event here
	events []StoredEvent // the user's events to process, oldest first
	own    bool          // the user has an event of the job's own
	failed bool
}

// insertNewFriends records, in one statement, the users of a batch who are not friends
// yet, as their first event would record each (incoming): a message from someone who
// befriended the account before renraku was connected, or whose follow was lost. A
// user whose first event here is a follow, or whose event does not parse, is left to
// incoming.
func (s *Service) insertNewFriends(ctx context.Context, users []*userWork, memo *channelMemo, ukey func(UserRef) string, langs map[int64]string) error {
	var fs []*Friend
	var ats []time.Time
	for _, u := range users {
		k := ukey(u.ref)
		if f, ok := memo.friends[k]; !ok || f != nil || u.failed || len(u.events) == 0 {
			continue
		}
		ev := u.events[0]
		if ev.Type == "follow" {
			continue
		}
		e, err := lineapi.ParseEvent(ev.Payload)
		if err != nil || !lineapi.ValidUserID(e.UserID) {
			continue
		}
		f := &Friend{ChannelID: ev.ChannelID, UserID: vault.Personal(e.UserID), Following: ev.Type != "unfollow", Language: langs[ev.ID]}
		fs = append(fs, f)
		ats = append(ats, ev.OccurredAt)
		memo.friends[k] = f
	}
	inserted, err := s.Store.InsertFriends(ctx, fs, ats)
	if err != nil {
		return err
	}
	for i, f := range fs {
		if inserted[i] {
			memo.fresh[f.ID] = true
		}
	}
	return nil
}

// retryUser queues the job that processes a user's pending events up to event id.
func (s *Service) retryUser(ctx context.Context, id int64, after time.Duration) error {
	opts := &river.InsertOpts{}
	if after > 0 {
		opts.ScheduledAt = time.Now().Add(after)
	}
	_, err := s.Jobs.Insert(ctx, ProcessEventArgs{EventID: id}, opts)
	return err
}

// handle runs the handler of one event in the transaction ctx carries (the caller
// marks it done in the same transaction).
func (s *Service) handle(ctx context.Context, ev StoredEvent, lang string) error {
	e, err := lineapi.ParseEvent(ev.Payload)
	if err != nil {
		return apperr.E(apperr.Invalid, "", errStoredEventUnparsable)
	}
	in, err := s.incoming(ctx, ev, e, lang)
	if err != nil {
		return err
	}
	if h := s.handler(ev.Type); h != nil {
		if err := h(ctx, in); err != nil {
			return err
		}
	}
	return nil
}

// channelMemo keeps the channels one batch has read, and the friend records read
// ahead for each user's first event.
type channelMemo struct {
	mu      sync.Mutex
	byID    map[int64]Channel
	friends map[string]*Friend // by key(user); nil value: not a friend yet
	fresh   map[int64]bool     // friends (by ID) recorded by this batch
	key     func(UserRef) string
	ahead   map[int64]any // what read-aheads kept, by event
}

// KeepAhead keeps v, read ahead for event id, for its handler (TakeAhead); outside a
// batch's read-ahead it keeps nothing.
func KeepAhead(ctx context.Context, id int64, v any) {
	m, _ := ctx.Value(channelMemoKey{}).(*channelMemo)
	if m == nil || m.friends == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.ahead == nil {
		m.ahead = map[int64]any{}
	}
	m.ahead[id] = v
}

// TakeAhead takes what was read ahead for event id (once).
func TakeAhead(ctx context.Context, id int64) (any, bool) {
	m, _ := ctx.Value(channelMemoKey{}).(*channelMemo)
	if m == nil {
		return nil, false
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	v, ok := m.ahead[id]
	delete(m.ahead, id)
	return v, ok
}

// readAhead runs the read-aheads of the batch's postbacks (see AheadFunc): for each
// user's first event to handle, when it is a postback whose action has one and the
// user is a following friend.
func (s *Service) readAhead(ctx context.Context, work []StoredEvent, memo *channelMemo) error {
	seen := map[string]bool{}
	var names []string
	byName := map[string][]Ahead{}
	for _, ev := range work {
		r, ok := userOf(ev)
		if !ok {
			continue
		}
		k := memo.key(r)
		if seen[k] {
			continue
		}
		seen[k] = true
		f := memo.friends[k]
		if ev.Type != "postback" || f == nil || !f.Following {
			continue
		}
		e, err := lineapi.ParseEvent(ev.Payload)
		if err != nil || e.Postback == nil {
			continue
		}
		name, args, ok := ParsePostbackData(e.Postback.Data)
		if !ok || s.postbackAhead(name) == nil {
			continue
		}
		if byName[name] == nil {
			names = append(names, name)
		}
		byName[name] = append(byName[name], Ahead{EventID: ev.ID, Friend: *f, Args: args})
	}
	for _, name := range names {
		if err := s.postbackAhead(name)(ctx, byName[name]); err != nil {
			return err
		}
	}
	return nil
}

// firstFriend takes the friend record read ahead for an event's user: found reports
// whether there was one to take (f nil: the user is no friend yet), fresh whether the
// batch recorded it (for this, the user's first event).
func firstFriend(ctx context.Context, ev StoredEvent) (f *Friend, found, fresh bool) {
	m, _ := ctx.Value(channelMemoKey{}).(*channelMemo)
	if m == nil || m.friends == nil || ev.UserKey == nil {
		return nil, false, false
	}
	k := m.key(UserRef{ChannelID: ev.ChannelID, UserKey: ev.UserKey})
	m.mu.Lock()
	defer m.mu.Unlock()
	f, found = m.friends[k]
	delete(m.friends, k)
	return f, found, f != nil && m.fresh[f.ID]
}

type channelMemoKey struct{}

func withChannelMemo(ctx context.Context, m *channelMemo) context.Context {
	return context.WithValue(ctx, channelMemoKey{}, m)
}

// channelForEvent reads an event's channel, once per batch.
func (s *Service) channelForEvent(ctx context.Context, id int64) (Channel, error) {
	m, _ := ctx.Value(channelMemoKey{}).(*channelMemo)
	if m != nil {
		m.mu.Lock()
		ch, ok := m.byID[id]
		m.mu.Unlock()
		if ok {
			return ch, nil
		}
	}
	ch, err := s.FindChannel(ctx, id)
	if err == nil && m != nil {
		m.mu.Lock()
		m.byID[id] = ch
		m.mu.Unlock()
	}
	return ch, err
}

// sendCollector gathers the messages a batch's events queue, so that one job sends
// them all (see Queue); when deferred is set, the messages themselves wait there to be
// stored together with the batch's COMMIT (a batch without savepoints: rolled back
// whole).
type sendCollector struct {
	txCtx    context.Context
	ids      *[]int64
	deferred *[]*Outbound
}

type sendCollectorKey struct{}

func withSendCollector(ctx context.Context, ids *[]int64, deferred *[]*Outbound) context.Context {
	return context.WithValue(ctx, sendCollectorKey{}, &sendCollector{txCtx: ctx, ids: ids, deferred: deferred})
}

// batchCollector returns the batch's collector when ctx is in the transaction it was
// made for, nil otherwise.
func batchCollector(ctx context.Context) *sendCollector {
	c, ok := ctx.Value(sendCollectorKey{}).(*sendCollector)
	if !ok || !jobs.SameTx(ctx, c.txCtx) {
		return nil
	}
	return c
}

// queueSends queues the jobs that send the batch's messages.
func (s *Service) queueSends(ctx context.Context, ids []int64) error {
	if len(ids) == 0 {
		return nil
	}
	var params []river.InsertManyParams
	for len(ids) > 0 {
		k := min(sendsPerJob, len(ids))
		params = append(params, river.InsertManyParams{Args: SendBatchArgs{OutboundIDs: ids[:k]}})
		ids = ids[k:]
	}
	_, err := s.Jobs.InsertMany(ctx, params)
	return err
}
