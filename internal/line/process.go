package line

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"time"
	"unicode/utf8"

	"github.com/riverqueue/river"

	"github.com/renraku/renraku/internal/apperr"
	"github.com/renraku/renraku/internal/jobs"
	"github.com/renraku/renraku/internal/lineapi"
	"github.com/renraku/renraku/internal/vault"
)

// ProcessEventArgs is the job that processes one stored webhook event (and any earlier
// pending events of the same user).
type ProcessEventArgs struct {
	EventID int64 `json:"event_id"`
}

// Kind names the job.
func (ProcessEventArgs) Kind() string { return "line.process_event" }

// InsertOpts puts the job on the events queue.
func (ProcessEventArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: jobs.QueueEvents, MaxAttempts: 8}
}

type processWorker struct {
	river.WorkerDefaults[ProcessEventArgs]
	s *Service
}

func (w *processWorker) Work(ctx context.Context, job *river.Job[ProcessEventArgs]) error {
	return w.s.ProcessEvent(ctx, job.Args.EventID, job.Attempt >= job.MaxAttempts)
}

// ErrBusy means another worker holds the user's events; the job tries again shortly.
var ErrBusy = errors.New("line: user's events are being processed elsewhere")

// ProcessEvent processes event id and every earlier pending event of the same user, in
// LINE's order. On the job's last attempt a failing event is marked failed so that it
// no longer holds up the user's later events.
func (s *Service) ProcessEvent(ctx context.Context, id int64, lastAttempt bool) error {
	var ev StoredEvent
	err := s.Tx.Run(ctx, func(ctx context.Context) (err error) {
		ev, err = s.Store.FindEvent(ctx, id)
		return err
	})
	if err != nil {
		if apperr.KindOf(err) == apperr.NotFound {
			return nil // removed by retention
		}
		return err
	}
	if ev.Processed {
		return nil
	}
	if ev.UserKey == nil {
		return s.processOne(ctx, ev, lastAttempt)
	}
	locked, err := s.Locks.TryLock(ctx, userLockKey(ev.ChannelID, ev.UserKey), func(ctx context.Context) error {
		var pending []StoredEvent
		err := s.Tx.Run(ctx, func(ctx context.Context) (err error) {
			pending, err = s.Store.PendingUserEvents(ctx, ev.ChannelID, ev.UserKey, ev)
			return err
		})
		if err != nil {
			return err
		}
		for _, p := range pending {
			if err := s.processOne(ctx, p, lastAttempt); err != nil {
				return err
			}
		}
		return nil
	})
	if err == nil && !locked {
		return river.JobSnooze(100 * time.Millisecond)
	}
	return err
}

// userLockKey maps (channel, user) onto PostgreSQL's advisory lock space. The store's
// ClaimEvents computes the same key in SQL (postgres.userLockKeySQL): change both or
// neither (TestBusyUserTakenUpAgain fails when they differ).
func userLockKey(channelID int64, userKey []byte) int64 {
	h := sha256.New()
	_ = binary.Write(h, binary.BigEndian, channelID)
	h.Write(userKey)
	return int64(binary.BigEndian.Uint64(h.Sum(nil)[:8]))
}

// errStoredEventUnparsable means a stored event's JSON no longer parses.
var errStoredEventUnparsable = errors.New("line: stored event does not parse")

// processOne runs the handler of one event in a transaction that also marks it done.
func (s *Service) processOne(ctx context.Context, ev StoredEvent, lastAttempt bool) error {
	var lang string
	if e, err := lineapi.ParseEvent(ev.Payload); err == nil {
		lang = s.followLanguage(ctx, ev, e)
	}
	err := s.Tx.InTx(ctx, func(ctx context.Context) error {
		if err := s.handle(ctx, ev, lang); err != nil {
			return err
		}
		return s.Store.MarkEventProcessed(ctx, ev.ID, "ok")
	})
	if err == nil {
		return nil
	}
	s.Log.Warn("line event failed", "event_id", ev.ID, "type", ev.Type, "last_attempt", lastAttempt, "err", err)
	if !lastAttempt {
		// Left to this job's next attempt: jobs taking up pending events skip it.
		if merr := s.Tx.Run(ctx, func(ctx context.Context) error { return s.Store.MarkEventRetrying(ctx, ev.ID) }); merr != nil {
			s.Log.Warn("line event not marked retrying", "event_id", ev.ID, "err", merr)
		}
		return err
	}
	// Give up on this event so the user's later ones are not held up.
	return s.Tx.Run(ctx, func(ctx context.Context) error {
		return s.Store.MarkEventProcessed(ctx, ev.ID, "failed: "+truncate(apperr.KindOf(err).String(), 40))
	})
}

// followLanguage reads the language of a user who follows the account from their LINE
// profile — the only profile field renraku reads, and only to greet them in their
// language. It runs before the event's transaction (handlers never call LINE) and
// gives up quietly: Japanese is the default.
func (s *Service) followLanguage(ctx context.Context, ev StoredEvent, e lineapi.Event) string {
	if ev.Type != "follow" || s.Client == nil || !lineapi.ValidUserID(e.UserID) {
		return ""
	}
	ch, err := s.FindChannel(ctx, ev.ChannelID)
	if err != nil {
		return ""
	}
	lang, err := s.Client.Language(ctx, ch.API(), e.UserID)
	if err != nil {
		return ""
	}
	return lang
}

// incoming turns a stored event (read as e) into what handlers see, resolving (or
// recording) its friend. lang, when set, is the friend's profile language.
func (s *Service) incoming(ctx context.Context, ev StoredEvent, e lineapi.Event, lang string) (*Incoming, error) {
	ch, err := s.channelForEvent(ctx, ev.ChannelID)
	if err != nil {
		return nil, err
	}
	in := &Incoming{EventID: ev.ID, Channel: ch, Type: ev.Type, Postback: e.Postback, Message: e.Message,
		ReplyToken: vault.Personal(e.ReplyToken), OccurredAt: ev.OccurredAt, ReceivedAt: ev.ReceivedAt, Redelivered: ev.Redelivered}
	if !lineapi.ValidUserID(e.UserID) {
		return in, nil
	}
	userID := vault.Personal(e.UserID)
	var f Friend
	if pre, found, fresh := firstFriend(ctx, ev); !found {
		f, err = s.Store.FindFriendByUserID(ctx, ch.ID, userID)
	} else if pre != nil {
		f = *pre
		in.NewFriend = fresh
	} else {
		err = apperr.E(apperr.NotFound, "", errors.New("line: not a friend yet"))
	}
	switch {
	case err == nil:
	case apperr.KindOf(err) == apperr.NotFound:
		// A user who befriended the account before renraku was connected, or whose
		// follow event was lost: record them now.
		f = Friend{ChannelID: ch.ID, UserID: userID, Following: ev.Type != "unfollow", Language: lang}
		if err := s.Store.SaveFriendFollow(ctx, &f, ev.OccurredAt); err != nil {
			return nil, err
		}
	default:
		return nil, err
	}
	switch ev.Type {
	case "follow":
		f.Following = true
		if lang != "" {
			f.Language = lang
		}
		if err := s.Store.SaveFriendFollow(ctx, &f, ev.OccurredAt); err != nil {
			return nil, err
		}
	case "unfollow":
		f.Following = false
		if err := s.Store.SaveFriendFollow(ctx, &f, ev.OccurredAt); err != nil {
			return nil, err
		}
	}
	in.Friend = &f
	return in, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	// Cut at a character's start: a broken UTF-8 sequence is refused by PostgreSQL.
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
