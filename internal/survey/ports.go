package survey

import (
	"context"

	"github.com/renraku/renraku/internal/announce"
	"github.com/renraku/renraku/internal/line"
	"github.com/renraku/renraku/internal/lineapi"
	"github.com/renraku/renraku/internal/parentlink"
	"github.com/renraku/renraku/internal/registration"
)

// Audiences decides who may address whom, and which audiences to offer, by the same
// rules as announcements (announce.Service).
type Audiences interface {
	AuthorizeAudience(ctx context.Context, au Audience, past bool) (int64, error)
	ComposeOptions(ctx context.Context, kind string) (announce.Options, error)
	MaxHandoutMB(ctx context.Context) (int, error)
}

// Guardians finds the registered guardian behind a LINE friend, and invites a friend
// who has not registered to do so (registration.Service).
type Guardians interface {
	FindGuardianByFriend(ctx context.Context, friendID int64) (registration.Guardian, error)
	SendRegisterLink(ctx context.Context, in *line.Incoming) error
}

// Links issues and opens the parents' links to their survey forms (parentlink.Service).
type Links interface {
	Issue(ctx context.Context, friendID int64, purpose string) (string, error)
	Open(ctx context.Context, purpose, token, browser string) (parentlink.Visit, error)
}

// Outbox sends LINE messages to parents (line.Service).
type Outbox interface {
	Queue(ctx context.Context, snd line.Send) (int64, error)
}

// Channels finds a channel and reads its monthly quota, for the preview (line.Service
// and lineapi.Client).
type Channels interface {
	FindChannel(ctx context.Context, id int64) (line.Channel, error)
}

// Quotas reads what a channel may still send this month (lineapi.Client).
type Quotas interface {
	Quota(ctx context.Context, ch lineapi.Channel) (lineapi.Quota, error)
}
