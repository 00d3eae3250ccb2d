package inbox

import (
	"context"

	"github.com/renraku/renraku/internal/line"
	"github.com/renraku/renraku/internal/lineapi"
	"github.com/renraku/renraku/internal/registration"
)

// Guardians finds the registered guardian behind a LINE friend, and invites a friend
// who has not registered to do so (registration.Service).
type Guardians interface {
	FindGuardianByFriend(ctx context.Context, friendID int64) (registration.Guardian, error)
	SendRegisterLink(ctx context.Context, in *line.Incoming) error
}

// Friends finds the LINE friends who write, and their channels (line.Service).
type Friends interface {
	FindFriend(ctx context.Context, id int64) (line.Friend, error)
	FindChannel(ctx context.Context, id int64) (line.Channel, error)
}

// Outbox sends LINE messages to parents (line.Service).
type Outbox interface {
	Queue(ctx context.Context, snd line.Send) (int64, error)
	// Requeue sends a failed message again; it reports false when it had not failed.
	Requeue(ctx context.Context, outboundID int64) (bool, error)
	// DefaultMessage answers a message no feature takes.
	DefaultMessage(ctx context.Context, in *line.Incoming) error
}

// Contents downloads what a parent sent that is not text (lineapi.Client).
type Contents interface {
	Content(ctx context.Context, ch lineapi.Channel, messageID string) (data []byte, contentType string, err error)
}
