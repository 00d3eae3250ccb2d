package line

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/renraku/renraku/internal/apperr"
	"github.com/renraku/renraku/internal/lineapi"
	"github.com/renraku/renraku/internal/vault"
)

// MaxWebhookBody bounds a webhook request body. LINE sends small batches; anything
// larger is refused (413) before it is read further.
const MaxWebhookBody = 1 << 20

// Bounds of what line_event stores of an event (its CHECK constraints). A request
// beyond them cannot come from LINE and is refused (400) rather than failing the
// insert (500, and LINE would send it again and again).
const (
	maxEventType      = 40
	maxWebhookEventID = 64
	// maxEventTimestamp is the last millisecond of the year 9999; later instants do
	// not fit PostgreSQL's timestamptz as pgx writes it.
	maxEventTimestamp = 253402300799999
)

// storableText reports whether s is a non-empty text PostgreSQL can store (no NUL)
// within max bytes.
func storableText(s string, max int) bool {
	return s != "" && len(s) <= max && !strings.ContainsRune(s, 0)
}

// Ingest verifies and stores a webhook request for LINE's channel lineChannelID. It
// returns nil only when every event is stored durably with its processing job (or was
// stored before); the errors carry the kinds the webhook maps to 404, 401 and 400.
// Nothing is stored when it fails.
//
// The channel comes from a per-instance cache (a signature that fails against a
// cached secret is checked again against the database's, so a new secret works at
// once), and the events are stored by a group commit: requests that arrive while
// another batch is being written are written together, in one transaction with one
// processing job per slice of events (see commitGroup).
func (s *Service) Ingest(ctx context.Context, lineChannelID, signature string, body []byte) (stored int, err error) {
	if !lineapi.ValidChannelID(lineChannelID) {
		return 0, apperr.E(apperr.NotFound, "", errors.New("line: malformed channel ID"))
	}
	ch, cached, err := s.ingestChannel(ctx, lineChannelID)
	if err != nil {
		return 0, err
	}
	evs, err := s.parseWebhook(ch, signature, body)
	if err != nil && cached && apperr.KindOf(err) == apperr.Unauthenticated {
		// The secret may have changed since it was cached: read it again.
		s.forgetChannel(lineChannelID)
		if ch, _, err = s.ingestChannel(ctx, lineChannelID); err != nil {
			return 0, err
		}
		evs, err = s.parseWebhook(ch, signature, body)
	}
	if err != nil {
		return 0, err
	}
	if len(evs) == 0 {
		return 0, nil // LINE's verification request
	}
	return s.ingester().submit(ctx, evs)
}

// channelCacheTTL bounds how long an instance trusts a cached channel without reading
// it again (a removed channel, a secret changed on another instance).
const channelCacheTTL = time.Minute

type cachedChannel struct {
	ch Channel
	at time.Time
}

// ingestChannel returns the channel for a webhook, from the cache when it is fresh,
// and whether it came from there.
func (s *Service) ingestChannel(ctx context.Context, lineChannelID string) (Channel, bool, error) {
	s.chanMu.Lock()
	c, ok := s.chanCache[lineChannelID]
	s.chanMu.Unlock()
	if ok && time.Since(c.at) < channelCacheTTL {
		return c.ch, true, nil
	}
	var ch Channel
	err := s.Tx.Run(ctx, func(ctx context.Context) (err error) {
		ch, err = s.Store.FindChannelByLineID(ctx, lineChannelID)
		return err
	})
	if err != nil {
		return Channel{}, false, err
	}
	s.chanMu.Lock()
	if s.chanCache == nil {
		s.chanCache = map[string]cachedChannel{}
	}
	s.chanCache[lineChannelID] = cachedChannel{ch: ch, at: time.Now()}
	s.chanMu.Unlock()
	return ch, false, nil
}

// forgetChannel drops a channel from the webhook's cache.
func (s *Service) forgetChannel(lineChannelID string) {
	s.chanMu.Lock()
	delete(s.chanCache, lineChannelID)
	s.chanMu.Unlock()
}

// parseWebhook verifies a webhook request's signature with the channel's secret and
// returns its events as they will be stored (none for LINE's verification request).
func (s *Service) parseWebhook(ch Channel, signature string, body []byte) ([]StoredEvent, error) {
	if !lineapi.ValidSignature(ch.Secret.Reveal(), signature, body) {
		return nil, apperr.E(apperr.Unauthenticated, "", errors.New("line: bad webhook signature"))
	}
	events, err := lineapi.ParseEnvelope(body)
	if err != nil {
		return nil, apperr.E(apperr.Invalid, "", err)
	}
	if len(events) == 0 {
		return nil, nil // LINE's verification request
	}
	evs := make([]StoredEvent, 0, len(events))
	for i, e := range events {
		if !storableText(e.Type, maxEventType) || !storableText(e.WebhookEventID, maxWebhookEventID) ||
			e.Timestamp <= 0 || e.Timestamp > maxEventTimestamp {
			return nil, apperr.E(apperr.Invalid, "", fmt.Errorf("line: event %d lacks type, timestamp or webhookEventId", i))
		}
		ev := StoredEvent{
			ChannelID:      ch.ID,
			WebhookEventID: e.WebhookEventID,
			Type:           e.Type,
			OccurredAt:     time.UnixMilli(e.Timestamp),
			ReceivedAt:     s.Clock.Now(),
			Redelivered:    e.Redelivery,
			Payload:        e.Raw,
		}
		if e.Source == "user" {
			if !lineapi.ValidUserID(e.UserID) {
				return nil, apperr.E(apperr.Invalid, "", fmt.Errorf("line: event %d has a malformed userId", i))
			}
			ev.UserID = vault.Personal(e.UserID)
		}
		evs = append(evs, ev)
	}
	return evs, nil
}
