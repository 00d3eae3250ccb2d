package inbox

import (
	"context"
	"errors"
	"net/http"
	"strconv"

	"github.com/riverqueue/river"

	"github.com/renraku/renraku/internal/apperr"
	"github.com/renraku/renraku/internal/audit"
	"github.com/renraku/renraku/internal/jobs"
	"github.com/renraku/renraku/internal/line"
	"github.com/renraku/renraku/internal/lineapi"
)

// FetchContentArgs is the job that downloads an image a parent sent, at once: LINE
// keeps message content only for a while.
type FetchContentArgs struct {
	MessageID int64 `json:"message_id"`
}

// Kind names the job.
func (FetchContentArgs) Kind() string { return "inbox.fetch_content" }

// InsertOpts puts it on the delivery queue with a few retries.
func (FetchContentArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: jobs.QueueDelivery, MaxAttempts: 6}
}

type fetchWorker struct {
	river.WorkerDefaults[FetchContentArgs]
	s *Service
}

// Workers registers the inbox's jobs.
func (s *Service) Workers(w *river.Workers) {
	river.AddWorker(w, &fetchWorker{s: s})
}

func (w *fetchWorker) Work(ctx context.Context, job *river.Job[FetchContentArgs]) error {
	return w.s.fetch(ctx, job.Args.MessageID, job.Attempt >= job.MaxAttempts)
}

var imageTypes = map[string]bool{"image/jpeg": true, "image/png": true, "image/gif": true, "image/webp": true}

// fetch downloads an image's content and stores it encrypted; content LINE no longer
// has (or never will) is marked unavailable, as is one still failing at the last try.
func (s *Service) fetch(ctx context.Context, messageID int64, last bool) error {
	var friend line.Friend
	var lineID string
	err := s.Tx.InTx(ctx, func(ctx context.Context) error {
		friendID, id, err := s.Store.FindPendingContent(ctx, messageID)
		if err != nil {
			return err
		}
		lineID = id
		friend, err = s.Friends.FindFriend(ctx, friendID)
		return err
	})
	if apperr.KindOf(err) == apperr.NotFound {
		return nil // stored already, or deleted
	}
	if err != nil {
		return err
	}
	ch, err := s.Friends.FindChannel(ctx, friend.ChannelID)
	if err != nil {
		return err
	}
	data, ct, err := s.Contents.Content(ctx, ch.API(), lineID)
	var ae *lineapi.APIError
	gone := errors.As(err, &ae) && (ae.Status == http.StatusNotFound || ae.Status == http.StatusGone)
	if err != nil && !gone && !last {
		return err
	}
	if err == nil && !imageTypes[ct] {
		data = nil
	}
	if err != nil {
		data = nil
	}
	return s.Tx.InTx(ctx, func(ctx context.Context) error {
		return s.Store.SaveContent(ctx, messageID, data, ct)
	})
}

// Image returns an image of a conversation the actor may read; the view is audited.
func (s *Service) Image(ctx context.Context, conversationID, messageID int64) ([]byte, string, error) {
	var data []byte
	var ct string
	err := s.Tx.InTx(ctx, func(ctx context.Context) error {
		a, c, err := s.conversation(ctx, conversationID)
		if err != nil {
			return err
		}
		convID, b, t, err := s.Store.FindContent(ctx, messageID)
		if err != nil || convID != c.ID {
			return apperr.E(apperr.NotFound, "error.not_found.title", err)
		}
		data, ct = b, t
		return s.Audit.Record(ctx, audit.Event{Actor: audit.Actor{Kind: audit.Staff, ID: a.StaffID}, Action: "conversation.image_view",
			ObjectKind: "message", ObjectID: strconv.FormatInt(messageID, 10), BoardID: c.BoardID, SchoolID: c.SchoolID})
	})
	return data, ct, err
}
