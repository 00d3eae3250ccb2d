package worklist

import (
	"context"

	"github.com/renraku/renraku/internal/absence"
	"github.com/renraku/renraku/internal/announce"
	"github.com/renraku/renraku/internal/inbox"
	"github.com/renraku/renraku/internal/lineapi"
	"github.com/renraku/renraku/internal/registration"
	"github.com/renraku/renraku/internal/school"
)

// Schools reads the person's school, the board's schools and a school's closed days, for
// its response window (school.Service).
type Schools interface {
	Get(ctx context.Context, schoolID int64) (school.School, error)
	Schools(ctx context.Context) ([]school.School, error)
	ClosedDays(ctx context.Context, schoolID int64) (school.School, []school.ClosedDay, error)
}

// Registrations counts registrations waiting for the person and a school's registered
// families (registration.Service).
type Registrations interface {
	Waiting(ctx context.Context) ([]registration.ClassWaiting, error)
	Coverage(ctx context.Context, schoolID int64) (registration.Coverage, error)
}

// Absences counts today's reports not yet acknowledged, a school's reports of today,
// and the classes over or near the 学級閉鎖 alert (absence.Service).
type Absences interface {
	Unacknowledged(ctx context.Context) (absence.Pending, error)
	DayCounts(ctx context.Context, schoolID int64) (absence.Counts, error)
	Alerts(ctx context.Context) (absence.Alerts, error)
}

// Conversations lists the conversations of a school waiting for the person
// (inbox.Service).
type Conversations interface {
	Waiting(ctx context.Context, schoolID int64) ([]inbox.Waiting, error)
}

// Deliveries lists a school's recent announcements with failed deliveries that the
// person is to see to (announce.Service).
type Deliveries interface {
	FailedDeliveries(ctx context.Context, schoolID int64) ([]announce.FailedDelivery, error)
}

// Quotas reads a school channel's monthly quota (line.Service).
type Quotas interface {
	QuotaUsed(ctx context.Context, schoolID int64) (lineapi.Quota, bool, error)
}
