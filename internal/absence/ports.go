package absence

import (
	"context"

	"github.com/renraku/renraku/internal/line"
	"github.com/renraku/renraku/internal/parentlink"
	"github.com/renraku/renraku/internal/registration"
	"github.com/renraku/renraku/internal/school"
)

// Guardians finds the registered guardian behind a LINE friend
// (registration.Service).
type Guardians interface {
	FindGuardianByFriend(ctx context.Context, friendID int64) (registration.Guardian, error)
}

// Links issues and opens the parents' links to the absence form (parentlink.Service).
type Links interface {
	Issue(ctx context.Context, friendID int64, purpose string) (string, error)
	Open(ctx context.Context, purpose, token, browser string) (parentlink.Visit, error)
}

// Friends finds the LINE friend a confirmation goes to (line.Service).
type Friends interface {
	FindFriend(ctx context.Context, id int64) (line.Friend, error)
}

// Outbox sends LINE messages to parents (line.Service).
type Outbox interface {
	Queue(ctx context.Context, snd line.Send) (int64, error)
}

// Schools lists the schools the actor may choose on the statistics page
// (school.Service).
type Schools interface {
	Schools(ctx context.Context) ([]school.School, error)
}
