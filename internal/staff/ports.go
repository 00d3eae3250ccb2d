package staff

import (
	"context"

	"github.com/renraku/renraku/internal/absence"
	"github.com/renraku/renraku/internal/school"
	"github.com/renraku/renraku/internal/worklist"
)

// Schools names the schools the home page is about (the person's school, or a board
// administrator's schools) and lists a school's classes and clubs to give duties of
// (school.Service).
type Schools interface {
	Get(ctx context.Context, schoolID int64) (school.School, error)
	Schools(ctx context.Context) ([]school.School, error)
	Structure(ctx context.Context, schoolID int64, year int) (school.Structure, error)
}

// Absences are today's 学級閉鎖 alerts the home page shows (absence.Service).
type Absences interface {
	Alerts(ctx context.Context) (absence.Alerts, error)
}

// Work is what waits for the person, at the top of their home page (worklist.Service).
type Work interface {
	Queue(ctx context.Context) (worklist.Queue, error)
}

// Devices ends the notification subscriptions of an account (notify.Service), in the
// transaction that disables it or signs it out everywhere.
type Devices interface {
	EndSubscriptions(ctx context.Context, staffID int64) error
}
