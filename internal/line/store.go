package line

import (
	"context"
	"time"

	"github.com/renraku/renraku/internal/vault"
)

// StoredEvent is a webhook event as kept in line_event (payload decrypted).
type StoredEvent struct {
	ID             int64
	ChannelID      int64
	WebhookEventID string
	Type           string
	UserID         vault.Personal // set on insert; the store keeps only its blind index
	UserKey        []byte
	OccurredAt     time.Time
	ReceivedAt     time.Time
	Redelivered    bool
	Payload        []byte // the event's JSON; nil once processed
	Processed      bool
	Retrying       bool // processing failed and a job of its own tries it again
}

// UserRef names a LINE user of a channel by the blind index of their user ID.
type UserRef struct {
	ChannelID int64
	UserKey   []byte
}

// Outbound is one queued message to one friend.
type Outbound struct {
	ID            int64
	ChannelID     int64
	FriendID      int64
	Purpose       string
	Messages      []Message
	ReplyToken    vault.Personal
	ReplyDeadline time.Time
	RetryKey      string
	State         string // queued, sent, failed, undeliverable
	Method        string // reply, push
	Attempts      int
	LastError     string
}

// Outbound states.
const (
	StateQueued        = "queued"
	StateSent          = "sent"
	StateFailed        = "failed"
	StateUndeliverable = "undeliverable"
)

// OutboundResult is what a send attempt changes on an Outbound row.
type OutboundResult struct {
	State         string
	Method        string
	LastError     string
	LineRequestID string
	Sent          bool
}

// OutboundUpdate is the outcome of a send attempt for the row ID.
type OutboundUpdate struct {
	ID int64
	OutboundResult
}

// RichMenuRecord is a rich menu renraku created on LINE for a channel.
type RichMenuRecord struct {
	ChannelID  int64
	Kind       string // guest, member
	RichMenuID string
	SpecHash   string
}

// Store is the persistence the LINE adapter needs (internal/postgres implements it).
// It encrypts and decrypts personal fields; callers see plaintext in vault.Personal.
type Store interface {
	FindChannelByLineID(ctx context.Context, lineChannelID string) (Channel, error)
	FindChannel(ctx context.Context, id int64) (Channel, error)
	FindChannels(ctx context.Context) ([]Channel, error)
	// FindSchoolChannel returns the channel a school uses (NotFound when it has none).
	FindSchoolChannel(ctx context.Context, schoolID int64) (Channel, error)
	// FindSchoolBoard returns the board of a school (NotFound when there is none).
	FindSchoolBoard(ctx context.Context, schoolID int64) (int64, error)
	// SaveChannel creates the channel or updates the one with the same LINE channel ID,
	// setting ch.ID; it reports whether anything changed.
	SaveChannel(ctx context.Context, ch *Channel) (changed bool, err error)
	AssignSchoolChannel(ctx context.Context, schoolID, channelID int64) (changed bool, err error)
	// ChannelSchools lists the IDs of the schools a channel serves.
	ChannelSchools(ctx context.Context, channelID int64) ([]int64, error)

	// InsertEvent stores ev unless (channel, webhookEventId) exists; it sets ev.ID and
	// ev.UserKey and reports whether the row is new.
	InsertEvent(ctx context.Context, ev *StoredEvent) (inserted bool, err error)
	FindEvent(ctx context.Context, id int64) (StoredEvent, error)
	// InsertEvents stores a batch of events with one statement, skipping those
	// already stored; it sets the IDs of those it inserted and reports which.
	InsertEvents(ctx context.Context, evs []StoredEvent) (inserted []bool, err error)
	// FindEvents finds events by ID, in the order of ids, leaving out missing ones.
	FindEvents(ctx context.Context, ids []int64) ([]StoredEvent, error)
	// PendingEventsOfUsers lists the unprocessed events of the users, oldest first;
	// withFriends, read in the same statement, the friend record of each event's user
	// (aligned with the events, nil where the user is no friend yet).
	PendingEventsOfUsers(ctx context.Context, users []UserRef, withFriends bool) ([]StoredEvent, []*Friend, error)
	// ClaimEvents takes up to limit unprocessed events other than those of ids, among
	// the window oldest, whose users' locks it takes in the transaction (skipping users
	// held elsewhere): each from a user, none a follow; oldest first, without payloads.
	ClaimEvents(ctx context.Context, ids []int64, limit, window int) ([]StoredEvent, error)
	// ClaimEventsByID takes those of events ids that ClaimEvents would take, each
	// user's lock tried as its event is taken.
	ClaimEventsByID(ctx context.Context, ids []int64) ([]StoredEvent, error)
	// MarkEventRetrying records that an event's processing failed and will be tried
	// again by a job of its own (ClaimEvents leaves it alone).
	MarkEventRetrying(ctx context.Context, id int64) error
	// PendingUserEvents lists the unprocessed events of one user of one channel that
	// come at or before upTo in LINE's order (occurred_at, id), oldest first, locked.
	PendingUserEvents(ctx context.Context, channelID int64, userKey []byte, upTo StoredEvent) ([]StoredEvent, error)
	// MarkEventProcessed records the outcome and wipes the payload.
	MarkEventProcessed(ctx context.Context, id int64, outcome string) error
	// MarkEventsProcessedAtCommit does MarkEventProcessed for several events with one
	// outcome, in one statement sent with the transaction's COMMIT, in its round trip
	// (an error fails the commit).
	MarkEventsProcessedAtCommit(ctx context.Context, ids []int64, outcome string) error

	FindFriend(ctx context.Context, id int64) (Friend, error)
	FindFriendByUserID(ctx context.Context, channelID int64, userID vault.Personal) (Friend, error)
	// SaveFriendFollow creates or updates the friend as following (or not), setting f.ID.
	SaveFriendFollow(ctx context.Context, f *Friend, at time.Time) error
	// InsertFriends records new friends, following or not as of ats[i], in one
	// statement, setting their IDs; it reports for each whether its row is new (false:
	// the friend was recorded meanwhile, the row kept).
	InsertFriends(ctx context.Context, fs []*Friend, ats []time.Time) ([]bool, error)
	SetFriendRichMenu(ctx context.Context, friendID int64, kind string) error

	InsertOutbound(ctx context.Context, o *Outbound) error
	// NewOutboundID takes the ID of a message stored later by InsertOutboundsAtCommit.
	NewOutboundID(ctx context.Context) (int64, error)
	// InsertOutboundsAtCommit stores queued messages whose IDs were taken, in one
	// statement sent with the transaction's COMMIT, in its round trip (an error fails
	// the commit).
	InsertOutboundsAtCommit(ctx context.Context, os []*Outbound) error
	FindOutbound(ctx context.Context, id int64) (Outbound, error)
	// FindOutboundsToSend reads queued messages and their friends (same order), in
	// the order of ids, leaving out missing ones.
	FindOutboundsToSend(ctx context.Context, ids []int64) ([]Outbound, []Friend, error)
	// UpdateOutbounds records the outcomes of send attempts, one per row.
	UpdateOutbounds(ctx context.Context, rs []OutboundUpdate) error
	// RequeueOutbound puts a failed row back in the queue (same retry key); false when
	// it had not failed.
	RequeueOutbound(ctx context.Context, id int64) (bool, error)
	// WipeOutbound removes the copies of what was sent to a friend (not what is queued).
	WipeOutbound(ctx context.Context, friendID int64) (int, error)
	// CountOutbound counts a channel's messages sent since a time, by purpose and
	// method (reply is free, push and multicast count against the quota).
	CountOutbound(ctx context.Context, channelID int64, since time.Time) ([]Usage, error)

	FindRichMenus(ctx context.Context, channelID int64) ([]RichMenuRecord, error)
	SaveRichMenu(ctx context.Context, r RichMenuRecord) error
}

// Usage is a count of sent messages of one purpose and method.
type Usage struct {
	Purpose string
	Method  string
	Count   int
}
