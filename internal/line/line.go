package line

import (
	"context"
	"regexp"
	"time"

	"github.com/line/line-bot-sdk-go/v8/linebot/webhook"

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

// Friend is a LINE user who follows (or followed) a channel.
type Friend struct {
	ID           int64
	ChannelID    int64
	UserID       vault.Personal
	Language     string
	Following    bool
	RichMenuKind string
}

// Incoming is one stored event handed to a handler.
type Incoming struct {
	EventID     int64
	Channel     Channel
	Friend      *Friend // nil when the source is not a user
	Type        string  // LINE's event type: follow, unfollow, message, postback, …
	Event       webhook.EventInterface
	ReplyToken  vault.Personal // empty when the event has none
	OccurredAt  time.Time
	ReceivedAt  time.Time
	Redelivered bool
}

// Handler handles one event inside the transaction that marks it processed. It must
// not call LINE: it queues replies in the Outbox.
type Handler func(ctx context.Context, in *Incoming) error

var (
	channelIDRE = regexp.MustCompile(`^[0-9]{6,20}$`)
	userIDRE    = regexp.MustCompile(`^U[0-9a-f]{32}$`)
)

// ValidChannelID reports whether s looks like a LINE channel ID. IDs are checked before
// they reach a URL path, since the SDK does not escape path parameters.
func ValidChannelID(s string) bool { return channelIDRE.MatchString(s) }

// ValidUserID reports whether s looks like a LINE userId (U + 32 hex).
func ValidUserID(s string) bool { return userIDRE.MatchString(s) }
