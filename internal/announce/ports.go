package announce

import (
	"context"

	"github.com/renraku/renraku/internal/line"
	"github.com/renraku/renraku/internal/lineapi"
	"github.com/renraku/renraku/internal/parentlink"
	"github.com/renraku/renraku/internal/registration"
)

// Guardians finds the registered guardian behind a LINE friend, and invites a friend
// who has not registered to do so (registration.Service).
type Guardians interface {
	FindGuardianByFriend(ctx context.Context, friendID int64) (registration.Guardian, error)
	SendRegisterLink(ctx context.Context, in *line.Incoming) error
}

// Links issues and opens the parents' links to their handouts (parentlink.Service).
type Links interface {
	Issue(ctx context.Context, friendID int64, purpose string) (string, error)
	Open(ctx context.Context, purpose, token, browser string) (parentlink.Visit, error)
}

// Channels finds the LINE channel an announcement goes out on (line.Service).
type Channels interface {
	FindChannel(ctx context.Context, id int64) (line.Channel, error)
}

// Outbox sends LINE messages to parents (line.Service).
type Outbox interface {
	Queue(ctx context.Context, snd line.Send) (int64, error)
}

// Broadcaster sends an announcement to many friends at once and reads what the
// channel may still send this month (lineapi.Client).
type Broadcaster interface {
	Multicast(ctx context.Context, ch lineapi.Channel, userIDs []string, retryKey string, ms []line.Message) (requestID string, err error)
	Quota(ctx context.Context, ch lineapi.Channel) (lineapi.Quota, error)
}

// OpenSurveys counts the surveys a guardian may still answer, so that 配布プリント offers
// them too (survey.Service). Nil: no survey button.
type OpenSurveys interface {
	CountOpenSurveys(ctx context.Context, guardianID int64) (int, error)
}
