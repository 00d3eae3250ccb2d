package notify

import (
	"context"

	"github.com/renraku/renraku/internal/school"
	"github.com/renraku/renraku/internal/staff"
)

// Staff finds who is concerned by a change, by duty (staff.Service): the enabled
// accounts holding a duty this year, and a school's administrators.
type Staff interface {
	// DutyHolders lists the duties of enabled staff for a class (担任, 副担任), a club
	// (顧問) or, with neither, the school office (学校宛て).
	DutyHolders(ctx context.Context, schoolID int64, year int, classID, clubID int64) ([]staff.Assignment, error)
	// SchoolAdmins lists the enabled administrators of a school.
	SchoolAdmins(ctx context.Context, schoolID int64) ([]int64, error)
}

// Schools names the school of a change (school.Service).
type Schools interface {
	FindSchoolByID(ctx context.Context, id int64) (school.School, error)
}

// Announcements says whether a delivery that finished was a safety alert
// (announce.Service).
type Announcements interface {
	AnnouncementKind(ctx context.Context, id int64) (string, error)
}
