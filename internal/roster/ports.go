package roster

import (
	"context"

	"github.com/renraku/renraku/internal/audit"
	"github.com/renraku/renraku/internal/school"
	"github.com/renraku/renraku/internal/staff"
)

// Structure is what the roster needs of a school's classes and clubs
// (*school.Service): reading them, and writing what an import adds.
type Structure interface {
	FindSchoolByID(ctx context.Context, id int64) (school.School, error)
	FindClasses(ctx context.Context, schoolID int64, year int) ([]school.Class, error)
	FindClubs(ctx context.Context, schoolID int64, year int) ([]school.Club, error)
	ImportClass(ctx context.Context, c *school.Class) error
	ImportEnrolment(ctx context.Context, classID int64, n *int) error
	ImportClub(ctx context.Context, c *school.Club) error
}

// Accounts is what the roster needs of staff accounts (*staff.Service): an imported
// account gets the same checks, one-time link and audit event as one made in the
// console.
type Accounts interface {
	FindAccountByLogin(ctx context.Context, login string) (staff.Staff, error)
	FindAccounts(ctx context.Context, f staff.Filter) ([]staff.Staff, error)
	FindDuties(ctx context.Context, staffID int64) ([]staff.Assignment, error)
	ImportDuty(ctx context.Context, a *staff.Assignment) error
	CreateTx(ctx context.Context, actor audit.Actor, in staff.NewStaff) (staff.Invite, error)
	UpdateTx(ctx context.Context, actor audit.Actor, st staff.Staff, upd staff.Update) error
}
