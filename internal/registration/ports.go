package registration

import (
	"context"

	"github.com/renraku/renraku/internal/line"
	"github.com/renraku/renraku/internal/parentlink"
	"github.com/renraku/renraku/internal/school"
	"github.com/renraku/renraku/internal/vault"
)

// Links issues and opens the parents' personal links (parentlink.Service).
type Links interface {
	Issue(ctx context.Context, friendID int64, purpose string) (string, error)
	// IssueProved issues a link bound at once to a new browser whose LINE user LIFF
	// proved.
	IssueProved(ctx context.Context, friendID int64, purpose string) (string, parentlink.Visit, error)
	Open(ctx context.Context, purpose, token, browser string) (parentlink.Visit, error)
	// Find checks a link without asking for its browser; Prove binds it to a new
	// browser proved by LIFF.
	Find(ctx context.Context, purpose, token string) (parentlink.Link, error)
	Prove(ctx context.Context, purpose, token string) (browser string, err error)
}

// Friends finds the LINE friends who register and the channels they write to
// (line.Service).
type Friends interface {
	FindFriend(ctx context.Context, id int64) (line.Friend, error)
	FindFriendByUserID(ctx context.Context, channelID int64, userID vault.Personal) (line.Friend, error)
	FindChannel(ctx context.Context, id int64) (line.Channel, error)
	FindChannelByLineID(ctx context.Context, lineChannelID string) (line.Channel, error)
	// FriendURL returns the link that adds a school's LINE account as a friend.
	FriendURL(ctx context.Context, boardID, schoolID int64) (string, error)
}

// Outbox sends LINE messages to parents (line.Service).
type Outbox interface {
	Queue(ctx context.Context, snd line.Send) (int64, error)
	// WipeOutbound deletes the copies kept of the messages sent to a friend, and
	// counts them.
	WipeOutbound(ctx context.Context, friendID int64) (int, error)
}

// IDTokens verifies LIFF ID tokens at LINE (lineapi.Client).
type IDTokens interface {
	VerifyIDToken(ctx context.Context, loginChannelID, idToken string) (string, error)
}

// Classes opens the classes whose children and codes the staff pages show
// (school.Service): OpenClass for the class page's teachers, ClassForConsole for the
// school's administrators.
type Classes interface {
	OpenClass(ctx context.Context, classID int64) (school.ClassView, error)
	ClassForConsole(ctx context.Context, classID int64) (school.Class, school.School, error)
}
