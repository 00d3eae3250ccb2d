package staff

import "context"

// DutyStore finds who holds a duty, for the notifications of a change.
type DutyStore interface {
	// FindDutyHolders lists the duties of enabled accounts for a class (homeroom and
	// sub-homeroom), a club (advisor) or, when both IDs are 0, the school office, in a
	// school year; Target is filled.
	FindDutyHolders(ctx context.Context, schoolID int64, year int, classID, clubID int64) ([]Assignment, error)
	// FindSchoolAdmins lists the enabled administrators of a school.
	FindSchoolAdmins(ctx context.Context, schoolID int64) ([]int64, error)
}

// DutyHolders lists the duties of enabled staff for a class (担任, 副担任), a club (顧問)
// or, with neither, the school office (学校宛て), in a school year. It is for the
// system's own use (who to notify of a change the caller has already placed) and names
// accounts by ID only, so it asks no one's permission.
func (s *Service) DutyHolders(ctx context.Context, schoolID int64, year int, classID, clubID int64) ([]Assignment, error) {
	var out []Assignment
	err := s.Tx.Run(ctx, func(ctx context.Context) error {
		var err error
		out, err = s.Store.FindDutyHolders(ctx, schoolID, year, classID, clubID)
		return err
	})
	return out, err
}

// SchoolAdmins lists the enabled administrators of a school, by ID, for the system's own
// use (who may approve a registration when the class has no homeroom teacher).
func (s *Service) SchoolAdmins(ctx context.Context, schoolID int64) ([]int64, error) {
	var out []int64
	err := s.Tx.Run(ctx, func(ctx context.Context) error {
		var err error
		out, err = s.Store.FindSchoolAdmins(ctx, schoolID)
		return err
	})
	return out, err
}
