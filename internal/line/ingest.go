package line

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/line/line-bot-sdk-go/v8/linebot/webhook"

	"github.com/renraku/renraku/internal/apperr"
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

// eventMeta is what renraku reads of every event before storing it.
type eventMeta struct {
	Type            string `json:"type"`
	Timestamp       int64  `json:"timestamp"`
	WebhookEventID  string `json:"webhookEventId"`
	DeliveryContext *struct {
		IsRedelivery bool `json:"isRedelivery"`
	} `json:"deliveryContext"`
	Source *struct {
		Type   string `json:"type"`
		UserID string `json:"userId"`
	} `json:"source"`
}

// Ingest verifies and stores a webhook request for LINE's channel lineChannelID. It
// returns nil only when every event is stored durably with its processing job (or was
// stored before); the errors carry the kinds the webhook maps to 404, 401 and 400.
// Nothing is stored when it fails.
func (s *Service) Ingest(ctx context.Context, lineChannelID, signature string, body []byte) (stored int, err error) {
	if !ValidChannelID(lineChannelID) {
		return 0, apperr.E(apperr.NotFound, "", errors.New("line: malformed channel ID"))
	}
	ch, err := s.FindChannelByLineID(ctx, lineChannelID)
	if err != nil {
		return 0, err
	}
	if !webhook.ValidateSignature(ch.Secret.Reveal(), signature, body) {
		return 0, apperr.E(apperr.Unauthenticated, "", errors.New("line: bad webhook signature"))
	}
	// The SDK must be able to read the request (its error text holds the body, so it
	// is dropped); the raw events are kept as LINE sent them.
	var cb webhook.CallbackRequest
	if err := json.Unmarshal(body, &cb); err != nil {
		return 0, apperr.E(apperr.Invalid, "", errors.New("line: webhook body is not a LINE callback"))
	}
	var raw struct {
		Events []json.RawMessage `json:"events"`
	}
	if err := json.Unmarshal(body, &raw); err != nil {
		return 0, apperr.E(apperr.Invalid, "", errors.New("line: webhook body is not JSON"))
	}
	if len(raw.Events) == 0 {
		return 0, nil // LINE's verification request
	}
	evs := make([]StoredEvent, 0, len(raw.Events))
	for i, r := range raw.Events {
		var m eventMeta
		if err := json.Unmarshal(r, &m); err != nil || !storableText(m.Type, maxEventType) ||
			!storableText(m.WebhookEventID, maxWebhookEventID) || m.Timestamp <= 0 || m.Timestamp > maxEventTimestamp {
			return 0, apperr.E(apperr.Invalid, "", fmt.Errorf("line: event %d lacks type, timestamp or webhookEventId", i))
		}
		ev := StoredEvent{
			ChannelID:      ch.ID,
			WebhookEventID: m.WebhookEventID,
			Type:           m.Type,
			OccurredAt:     time.UnixMilli(m.Timestamp),
			ReceivedAt:     s.Clock.Now(),
			Redelivered:    m.DeliveryContext != nil && m.DeliveryContext.IsRedelivery,
			Payload:        r,
		}
		if m.Source != nil && m.Source.Type == "user" {
			if !ValidUserID(m.Source.UserID) {
				return 0, apperr.E(apperr.Invalid, "", fmt.Errorf("line: event %d has a malformed userId", i))
			}
			ev.UserID = vault.Personal(m.Source.UserID)
		}
		evs = append(evs, ev)
	}

	err = s.Tx.InTx(ctx, func(ctx context.Context) error {
		stored = 0
		for i := range evs {
			inserted, err := s.Store.InsertEvent(ctx, &evs[i])
			if err != nil {
				return err
			}
			if !inserted {
				continue // a redelivery of an event we already have
			}
			stored++
			if _, err := s.Jobs.Insert(ctx, ProcessEventArgs{EventID: evs[i].ID}, nil); err != nil {
				return fmt.Errorf("line: enqueue event: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return stored, nil
}
