package line

import (
	"context"
	"time"

	"github.com/renraku/renraku/internal/lineapi"
	"github.com/renraku/renraku/internal/vault"
)

// Channel is a school's (or several schools') LINE Messaging API channel.
type Channel struct {
	ID             int64  // renraku's ID
	LineChannelID  string // LINE's channel ID, as in the webhook URL
	BoardID        int64
	Secret         vault.Personal // verifies webhook signatures
	AccessToken    vault.Personal // bearer token for the Messaging API
	LoginChannelID string         // LINE Login channel for LIFF, if any
	LIFFID         string
}

// API returns what a call to LINE needs of the channel.
func (ch Channel) API() lineapi.Channel {
	return lineapi.Channel{ID: ch.LineChannelID, AccessToken: ch.AccessToken}
}

// Friend is a LINE user who follows (or followed) a channel.
type Friend struct {
	ID           int64
	ChannelID    int64
	UserID       vault.Personal
	Language     string
	Following    bool
	RichMenuKind string
}

// Incoming is one stored event handed to a handler, in renraku's terms (package
// lineapi reads LINE's JSON).
type Incoming struct {
	EventID int64
	Channel Channel
	Friend  *Friend // nil when the source is not a user
	// NewFriend tells that the friend was recorded for this event (they befriended
	// the account before renraku knew them): no guardian is registered for them yet.
	NewFriend bool
	Type      string // LINE's event type: follow, unfollow, message, postback, …
	// Postback is the tapped action's data (see PostbackData); nil unless a postback
	// event.
	Postback *lineapi.Postback
	// Message is the user's message (its kind, LINE's ID and any text); nil unless a
	// message event.
	Message     *lineapi.UserMessage
	ReplyToken  vault.Personal // empty when the event has none
	OccurredAt  time.Time
	ReceivedAt  time.Time
	Redelivered bool
}

// Handler handles one event inside the transaction that marks it processed. It must
// not call LINE: it queues replies in the Outbox.
type Handler func(ctx context.Context, in *Incoming) error
