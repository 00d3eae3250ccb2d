// Package stafftest builds a small world of boards, schools, classes, clubs and staff
// on a real test database, for the services' tests and the authorisation matrix.
package stafftest

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/pquerna/otp/totp"

	"github.com/renraku/renraku/internal/audit"
	"github.com/renraku/renraku/internal/authz"
	"github.com/renraku/renraku/internal/pgtest"
	"github.com/renraku/renraku/internal/postgres"
	"github.com/renraku/renraku/internal/school"
	"github.com/renraku/renraku/internal/staff"
	"github.com/renraku/renraku/internal/vault"
	"github.com/renraku/renraku/internal/vault/vaulttest"
)

// Password is every fixture account's password.
const Password = "sakura-no-hana-2026"

// World is a board with two schools and staff in every role the matrix names.
type World struct {
	Pool    *pgxpool.Pool
	Tx      *postgres.Transactor
	Vault   *vault.Vault
	Audit   *audit.Log
	Schools *school.Service
	Staff   *staff.Service

	Board            school.Board
	SchoolA, SchoolB school.School
	// ClassA11 is 1年1組 at school A this year; ClassA12 1年2組; ClubA a club at A.
	ClassA11, ClassA12, ClassB11 school.Class
	ClubA, ClubB                 school.Club

	// Accounts by persona.
	BoardAdmin, AdminA, AdminB, HomeroomA11, AdvisorA, TeacherA, TeacherB, Disabled staff.Staff
}

// New builds the world on a fresh database.
func New(t testing.TB) *World {
	t.Helper()
	pool := pgtest.NewDB(t)
	v := vaulttest.New(t)
	return Build(t, pool, v)
}

// Services returns the services on pool and v, as the app wires them.
func Services(pool *pgxpool.Pool, v *vault.Vault) (*audit.Log, *school.Service, *staff.Service) {
	al := audit.New(func(data []byte) ([]byte, error) { return v.BlindIndex("audit.chain.v1", string(data)) })
	sc := &school.Service{Tx: postgres.NewTransactor(pool), Store: postgres.SchoolStore{}, Closed: postgres.SchoolStore{}, Audit: al}
	st := &staff.Service{Tx: postgres.NewTransactor(pool), Store: &postgres.StaffStore{Vault: v}, Audit: al, Key: v.BlindIndex}
	return al, sc, st
}

// Build builds the world on an existing (migrated, empty) database.
func Build(t testing.TB, pool *pgxpool.Pool, v *vault.Vault) *World {
	t.Helper()
	ctx := context.Background()
	w := &World{Pool: pool, Tx: postgres.NewTransactor(pool), Vault: v}
	w.Audit, w.Schools, w.Staff = Services(pool, v)
	var err error
	if w.Board, _, err = w.Schools.EnsureBoard(ctx, audit.OperatorActor, "テスト市教育委員会"); err != nil {
		t.Fatal(err)
	}
	if w.SchoolA, _, err = w.Schools.EnsureSchool(ctx, audit.OperatorActor, w.Board.Name, school.School{Name: "さくら小学校", Type: school.Elementary, District: "北"}); err != nil {
		t.Fatal(err)
	}
	if w.SchoolB, _, err = w.Schools.EnsureSchool(ctx, audit.OperatorActor, w.Board.Name, school.School{Name: "ひかり中学校", Type: school.JuniorHigh, District: "南"}); err != nil {
		t.Fatal(err)
	}
	if w.SchoolA, err = w.Schools.FindSchool(ctx, "さくら小学校"); err != nil {
		t.Fatalf("reading back さくら小学校: %v", err)
	}
	if w.SchoolB, err = w.Schools.FindSchool(ctx, "ひかり中学校"); err != nil {
		t.Fatalf("reading back ひかり中学校: %v", err)
	}
	w.BoardAdmin = w.MustCreateStaff(t, authz.BoardAdmin, 0, "board.admin", "教委 太郎")
	w.AdminA = w.MustCreateStaff(t, authz.SchoolAdmin, w.SchoolA.ID, "admin.a", "校長 花子")
	w.AdminB = w.MustCreateStaff(t, authz.SchoolAdmin, w.SchoolB.ID, "admin.b", "教頭 次郎")
	w.HomeroomA11 = w.MustCreateStaff(t, authz.Teacher, w.SchoolA.ID, "homeroom.a11", "担任 一郎")
	w.AdvisorA = w.MustCreateStaff(t, authz.Teacher, w.SchoolA.ID, "advisor.a", "顧問 三郎")
	w.TeacherA = w.MustCreateStaff(t, authz.Teacher, w.SchoolA.ID, "teacher.a", "教員 四郎")
	w.TeacherB = w.MustCreateStaff(t, authz.Teacher, w.SchoolB.ID, "teacher.b", "教員 五郎")
	w.Disabled = w.MustCreateStaff(t, authz.Teacher, w.SchoolA.ID, "disabled.a", "休職 六郎")

	asAdminA := w.Ctx(t, w.AdminA)
	asAdminB := w.Ctx(t, w.AdminB)
	year := w.SchoolA.CurrentYear
	check := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	w.ClassA11, err = w.Schools.CreateClass(asAdminA, w.SchoolA.ID, school.Class{Year: year, Grade: 1, Name: "1組"})
	check(err)
	w.ClassA12, err = w.Schools.CreateClass(asAdminA, w.SchoolA.ID, school.Class{Year: year, Grade: 1, Name: "2組"})
	check(err)
	w.ClassB11, err = w.Schools.CreateClass(asAdminB, w.SchoolB.ID, school.Class{Year: year, Grade: 1, Name: "1組"})
	check(err)
	w.ClubA, err = w.Schools.CreateClub(asAdminA, w.SchoolA.ID, school.Club{Year: year, Name: "サッカー部"})
	check(err)
	w.ClubB, err = w.Schools.CreateClub(asAdminB, w.SchoolB.ID, school.Club{Year: year, Name: "吹奏楽部"})
	check(err)
	_, err = w.Staff.Assign(asAdminA, w.HomeroomA11.ID, staff.NewAssignment{Duty: authz.Homeroom, ClassID: w.ClassA11.ID})
	check(err)
	_, err = w.Staff.Assign(asAdminA, w.AdvisorA.ID, staff.NewAssignment{Duty: authz.Advisor, ClubID: w.ClubA.ID})
	check(err)
	if err := w.Staff.SetDisabled(asAdminA, w.Disabled.ID, true); err != nil {
		t.Fatal(err)
	}
	return w
}

// MustCreateStaff creates an account with Password set (through its one-time link).
func (w *World) MustCreateStaff(t testing.TB, role authz.Role, schoolID int64, login, name string) staff.Staff {
	t.Helper()
	ctx := context.Background()
	inv, err := w.Staff.Bootstrap(ctx, staff.NewStaff{BoardID: w.Board.ID, SchoolID: schoolID, Role: role, Login: login, Name: name})
	if err != nil {
		t.Fatalf("create staff %s: %v", login, err)
	}
	if _, err := w.Staff.SetPasswordFromLink(ctx, inv.Token, Password, Password, staff.Client{}); err != nil {
		t.Fatalf("set password %s: %v", login, err)
	}
	st, err := w.Staff.FindByID(ctx, inv.Staff.ID)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// Ctx returns a context signed in as st (as the web layer would build it).
func (w *World) Ctx(t testing.TB, st staff.Staff) context.Context {
	t.Helper()
	ctx := context.Background()
	cur, err := w.Staff.FindByID(ctx, st.ID)
	if err != nil {
		t.Fatal(err)
	}
	a, err := w.Staff.Actor(ctx, st.ID, cur.SessionEpoch)
	if err != nil {
		t.Fatalf("actor %d: %v", st.ID, err)
	}
	return authz.WithActor(ctx, a)
}

// MustCode returns the authenticator code for a TOTP secret at a moment, as a staff
// member's phone would show it, and stops the test if the secret is unusable.
func MustCode(t testing.TB, secret string, at time.Time) string {
	t.Helper()
	code, err := totp.GenerateCode(secret, at)
	if err != nil {
		t.Fatalf("TOTP code: %v", err)
	}
	return code
}

// Soon is a time a little ahead, for clocks in tests.
func Soon() time.Time { return time.Now().Add(time.Minute) }
