package lineapi

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/line/line-bot-sdk-go/v8/linebot/webhook"
)

// ValidSignature reports whether signature (the X-Line-Signature header) proves that
// LINE sent body: it is the body's HMAC-SHA256 with the channel secret.
func ValidSignature(channelSecret, signature string, body []byte) bool {
	return webhook.ValidateSignature(channelSecret, signature, body)
}

// Event is one webhook event as renraku reads it. Features see these fields, never
// the SDK's types; Raw keeps the event as LINE sent it, for storing.
type Event struct {
	Type           string // follow, unfollow, message, postback, …
	WebhookEventID string
	// Timestamp is when the event happened, in milliseconds since the epoch as LINE
	// sent it (0 when absent).
	Timestamp  int64
	Redelivery bool
	// Source is the type of the event's source: user, group or room ("" when the
	// event has none).
	Source string
	// UserID is the source's userId when the source is a user, as sent: check it with
	// ValidUserID.
	UserID     string
	ReplyToken string       // empty when the event has none
	Postback   *Postback    // nil unless a postback event with its data
	Message    *UserMessage // nil unless a message event
	Raw        json.RawMessage
}

// Postback is what a postback event carries: the data of the action the user tapped.
type Postback struct {
	Data string
}

// MessageKind is the kind of a user's message, as far as renraku reads it.
type MessageKind string

// The kinds of user messages renraku tells apart; any other kind (video, audio,
// location, …) is MessageOther.
const (
	MessageText    MessageKind = "text"
	MessageImage   MessageKind = "image"
	MessageSticker MessageKind = "sticker"
	MessageOther   MessageKind = "other"
)

// UserMessage is what renraku reads of a message a user sent.
type UserMessage struct {
	Kind MessageKind
	ID   string // LINE's message ID (not read for MessageOther): an image's content is downloaded by it
	// Text is a text message's text, or the words of a message sticker (other
	// stickers have none).
	Text string
}

// ErrNotCallback means a webhook body is not a callback LINE could have sent. The
// SDK's own error text quotes the body (personal data), so it is never passed on.
var ErrNotCallback = errors.New("lineapi: webhook body is not a LINE callback")

// ParseCallback reads the events of a webhook body (verify its signature first). A
// body without events is LINE's verification request.
func ParseCallback(body []byte) ([]Event, error) {
	// The SDK must be able to read the request; the raw events are kept as LINE sent
	// them.
	var cb webhook.CallbackRequest
	if err := json.Unmarshal(body, &cb); err != nil {
		return nil, ErrNotCallback
	}
	var raw struct {
		Events []json.RawMessage `json:"events"`
	}
	if err := json.Unmarshal(body, &raw); err != nil || len(raw.Events) != len(cb.Events) {
		return nil, ErrNotCallback
	}
	out := make([]Event, 0, len(raw.Events))
	for i, r := range raw.Events {
		e, err := event(cb.Events[i], r)
		if err != nil {
			return nil, fmt.Errorf("%w: event %d", err, i)
		}
		out = append(out, e)
	}
	return out, nil
}

// ParseEnvelope reads the fields every event has (type, IDs, time, source, reply
// token) and keeps each event's JSON in Raw, without the SDK's reading of the content
// (Postback and Message stay nil): what a webhook stores before answering, in one pass
// over the body and one over each event. ParseEvent reads the rest when the event is
// processed.
func ParseEnvelope(body []byte) ([]Event, error) {
	var cb struct {
		Events []json.RawMessage `json:"events"`
	}
	if err := json.Unmarshal(body, &cb); err != nil {
		return nil, ErrNotCallback
	}
	out := make([]Event, 0, len(cb.Events))
	for _, r := range cb.Events {
		var m eventJSON
		if err := json.Unmarshal(r, &m); err != nil || m.Type == "" {
			return nil, ErrNotCallback
		}
		out = append(out, m.event(r))
	}
	return out, nil
}

// ParseEvent reads one event as ParseCallback or ParseEnvelope returned it in Raw (a
// stored event), content included, as ParseCallback reads it (the tests hold the two
// to the same reading) but in one pass: it runs for every event processed.
func ParseEvent(raw []byte) (Event, error) {
	var m contentJSON
	if err := json.Unmarshal(raw, &m); err != nil || m.Type == "" {
		return Event{}, ErrNotCallback
	}
	e := m.event(raw)
	switch m.Type {
	case "postback":
		if m.Postback != nil {
			e.Postback = &Postback{Data: m.Postback.Data}
		}
	case "message":
		um := UserMessage{Kind: MessageOther}
		if c := m.Message; c != nil {
			switch c.Type {
			case "text":
				um = UserMessage{Kind: MessageText, ID: c.ID, Text: c.Text}
			case "image":
				um = UserMessage{Kind: MessageImage, ID: c.ID}
			case "sticker":
				um = UserMessage{Kind: MessageSticker, ID: c.ID, Text: c.Text}
			}
		}
		e.Message = &um
	}
	return e, nil
}

// contentJSON is an event's JSON with the content renraku reads.
type contentJSON struct {
	eventJSON
	Postback *struct {
		Data string `json:"data"`
	} `json:"postback"`
	Message *struct {
		Type string `json:"type"`
		ID   string `json:"id"`
		Text string `json:"text"`
	} `json:"message"`
}

// eventJSON is what renraku reads of every event's JSON, whatever its type.
type eventJSON struct {
	Type            string `json:"type"`
	Timestamp       int64  `json:"timestamp"`
	WebhookEventID  string `json:"webhookEventId"`
	ReplyToken      string `json:"replyToken"`
	DeliveryContext *struct {
		IsRedelivery bool `json:"isRedelivery"`
	} `json:"deliveryContext"`
	Source *struct {
		Type   string `json:"type"`
		UserID string `json:"userId"`
	} `json:"source"`
}

// event returns the fields every event has.
func (m *eventJSON) event(raw []byte) Event {
	e := Event{Type: m.Type, WebhookEventID: m.WebhookEventID, Timestamp: m.Timestamp, ReplyToken: m.ReplyToken,
		Redelivery: m.DeliveryContext != nil && m.DeliveryContext.IsRedelivery, Raw: raw}
	if m.Source != nil {
		e.Source = m.Source.Type
		if m.Source.Type == "user" {
			e.UserID = m.Source.UserID
		}
	}
	return e
}

// event combines the SDK's reading of an event (its content) with the fields every
// event has.
func event(sdk webhook.EventInterface, raw []byte) (Event, error) {
	var m eventJSON
	if err := json.Unmarshal(raw, &m); err != nil {
		return Event{}, ErrNotCallback
	}
	e := m.event(raw)
	switch ev := sdk.(type) {
	case webhook.PostbackEvent:
		if ev.Postback != nil {
			e.Postback = &Postback{Data: ev.Postback.Data}
		}
	case webhook.MessageEvent:
		um := UserMessage{Kind: MessageOther}
		switch c := ev.Message.(type) {
		case webhook.TextMessageContent:
			um = UserMessage{Kind: MessageText, ID: c.Id, Text: c.Text}
		case webhook.ImageMessageContent:
			um = UserMessage{Kind: MessageImage, ID: c.Id}
		case webhook.StickerMessageContent:
			um = UserMessage{Kind: MessageSticker, ID: c.Id, Text: c.Text}
		}
		e.Message = &um
	}
	return e, nil
}
