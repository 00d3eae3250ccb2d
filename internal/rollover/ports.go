package rollover

import (
	"context"
	"time"

	"github.com/renraku/renraku/internal/authz"
	"github.com/renraku/renraku/internal/line"
	"github.com/renraku/renraku/internal/parentlink"
	"github.com/renraku/renraku/internal/registration"
	"github.com/renraku/renraku/internal/school"
)

// Schools authorises the rollover's pages and reads a school's classes and clubs of
// the current and the next year (school.Service).
type Schools interface {
	Authorize(ctx context.Context, schoolID int64, act authz.Action) (school.School, error)
	FindSchoolByID(ctx context.Context, id int64) (school.School, error)
	FindClassByID(ctx context.Context, id int64) (school.Class, error)
	FindClasses(ctx context.Context, schoolID int64, year int) ([]school.Class, error)
	FindClubs(ctx context.Context, schoolID int64, year int) ([]school.Club, error)
}

// Guardians finds the registered guardian behind a LINE friend, refuses changes a
// channel's LIFF has not proved, and ends the registrations of the children who
// leave (registration.Service).
type Guardians interface {
	FindGuardianByFriend(ctx context.Context, friendID int64) (registration.Guardian, error)
	RequireLIFF(ctx context.Context, f line.Friend, v parentlink.Visit) error
	LeaveTx(ctx context.Context, sc registration.ChildScope, childIDs []int64, reason string) (registration.LeaveCounts, error)
}

// Links issues and opens the parents' links to the year's confirmation
// (parentlink.Service).
type Links interface {
	IssueUntil(ctx context.Context, friendID int64, purpose string, expires time.Time) (string, error)
	Open(ctx context.Context, purpose, token, browser string) (parentlink.Visit, error)
}

// Friends finds the LINE friends the rollover writes to, and their channels
// (line.Service).
type Friends interface {
	FindFriend(ctx context.Context, id int64) (line.Friend, error)
	FindChannel(ctx context.Context, id int64) (line.Channel, error)
}

// Outbox sends LINE messages to parents (line.Service).
type Outbox interface {
	Queue(ctx context.Context, snd line.Send) (int64, error)
}
