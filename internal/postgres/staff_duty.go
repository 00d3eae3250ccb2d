package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/renraku/renraku/internal/postgres/pgtx"
	"github.com/renraku/renraku/internal/staff"
)

// FindDutyHolders lists the duties of enabled accounts for a class (homeroom and
// sub-homeroom), a club (advisor) or, when both IDs are 0, the school office.
func (s *StaffStore) FindDutyHolders(ctx context.Context, schoolID int64, year int, classID, clubID int64) ([]staff.Assignment, error) {
	db := pgtx.Tx(ctx)
	rows, _ := db.Query(ctx, `SELECT `+assignmentColumns+assignmentFrom+`JOIN staff s ON s.id = a.staff_id
		WHERE a.school_id = $1 AND a.year = $2 AND s.disabled_at IS NULL AND CASE
			WHEN $3::bigint <> 0 THEN a.class_id = $3 AND a.duty IN ('homeroom', 'sub_homeroom')
			WHEN $4::bigint <> 0 THEN a.club_id = $4 AND a.duty = 'advisor'
			ELSE a.duty = 'office' END
		ORDER BY a.staff_id, a.duty`, schoolID, year, classID, clubID)
	out, err := pgx.CollectRows(rows, scanAssignment)
	return out, classify(err, "duty holders")
}

// FindSchoolAdmins lists the enabled administrators of a school.
func (s *StaffStore) FindSchoolAdmins(ctx context.Context, schoolID int64) ([]int64, error) {
	db := pgtx.Tx(ctx)
	rows, _ := db.Query(ctx, `SELECT id FROM staff WHERE school_id = $1 AND role = 'school_admin' AND disabled_at IS NULL ORDER BY id`, schoolID)
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	return ids, classify(err, "school administrators")
}
