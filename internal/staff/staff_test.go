package staff_test

import (
	"context"
	"net/netip"
	"os"
	"testing"
	"time"

	"github.com/renraku/renraku/internal/apperr"
	"github.com/renraku/renraku/internal/authz"
	"github.com/renraku/renraku/internal/credential"
	"github.com/renraku/renraku/internal/staff"
	"github.com/renraku/renraku/internal/staff/stafftest"
)

func TestMain(m *testing.M) {
	credential.Params.Memory, credential.Params.Iterations, credential.Params.Parallelism = 64, 1, 1
	os.Exit(m.Run())
}

var client = staff.Client{Addr: netip.MustParseAddr("192.0.2.10")}

func TestSignInAndLockout(t *testing.T) {
	t.Parallel()
	w := stafftest.New(t)
	ctx := context.Background()
	now := time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)
	w.Staff.Clock.Set(now)

	// A teacher at a school that requires a second factor must enrol first.
	res, err := w.Staff.PasswordSignIn(ctx, "HOMEROOM.A11", stafftest.Password, client)
	if err != nil || res.Stage != staff.StageEnrol || res.StaffID != w.HomeroomA11.ID {
		t.Fatalf("sign in = %+v, %v; want enrol stage", res, err)
	}

	// Wrong passwords: the fifth locks the account with back-off; the right password is
	// then refused too, with the same message for an unknown login ID.
	for i := 1; i <= 5; i++ {
		_, err := w.Staff.PasswordSignIn(ctx, "teacher.a", "wrong-password-123", client)
		want := "staff.signin.failed"
		if i == 5 {
			want = "staff.signin.throttled"
		}
		if got := apperr.MessageIDOf(err); got != want {
			t.Fatalf("attempt %d: %q, want %q", i, got, want)
		}
	}
	if _, err := w.Staff.PasswordSignIn(ctx, "teacher.a", stafftest.Password, client); apperr.MessageIDOf(err) != "staff.signin.throttled" {
		t.Fatalf("locked account signed in: %v", err)
	}
	now = now.Add(2 * time.Minute)
	w.Staff.Clock.Set(now)
	if _, err := w.Staff.PasswordSignIn(ctx, "teacher.a", stafftest.Password, client); err != nil {
		t.Fatalf("after the lock expired: %v", err)
	}
	if _, err := w.Staff.PasswordSignIn(ctx, "nobody.here", stafftest.Password, client); apperr.MessageIDOf(err) != "staff.signin.failed" {
		t.Fatalf("unknown login: %v", err)
	}
	if _, err := w.Staff.PasswordSignIn(ctx, "disabled.a", stafftest.Password, client); apperr.MessageIDOf(err) != "staff.signin.failed" {
		t.Fatalf("disabled account: %v", err)
	}

	// The address limit applies across accounts.
	other := staff.Client{Addr: netip.MustParseAddr("198.51.100.7")}
	var last error
	for i := 0; i < staff.AddressRule.Free; i++ {
		_, last = w.Staff.PasswordSignIn(ctx, "guess"+string(rune('a'+i%26))+".x", "whatever-password", other)
	}
	if apperr.MessageIDOf(last) != "staff.signin.throttled" {
		t.Fatalf("address not throttled: %v", last)
	}
	if _, err := w.Staff.PasswordSignIn(ctx, "advisor.a", stafftest.Password, other); apperr.MessageIDOf(err) != "staff.signin.throttled" {
		t.Fatalf("throttled address signed in: %v", err)
	}

	var failed, signedIn int
	err = w.Pool.QueryRow(ctx, `SELECT count(*) FILTER (WHERE action = 'staff.sign_in_failed'), count(*) FILTER (WHERE action LIKE 'staff.sign_in%' AND action <> 'staff.sign_in_failed') FROM audit_event`).Scan(&failed, &signedIn)
	if err != nil || failed < 8 || signedIn < 2 {
		t.Fatalf("audit: failed=%d signed in=%d err=%v", failed, signedIn, err)
	}
}

func TestTOTPEnrolmentAndSecondFactor(t *testing.T) {
	t.Parallel()
	w := stafftest.New(t)
	ctx := context.Background()
	now := time.Now()
	w.Staff.Clock.Set(now)

	enr, err := w.Staff.BeginEnrolment(ctx, w.AdminA.ID)
	if err != nil || len(enr.QRPNG) == 0 {
		t.Fatalf("begin enrolment: %v", err)
	}
	// A wrong code: refused, with a new secret to show (the old one was never confirmed).
	wrong, err := w.Staff.ConfirmEnrolment(ctx, w.AdminA.ID, "000000", stafftest.Password, false, client)
	if apperr.FieldsOf(err)["code"] == "" {
		t.Fatalf("wrong enrolment code accepted: %v", err)
	}
	if wrong.Retry.Secret == "" || wrong.Retry.Secret == enr.Secret || len(wrong.Codes) != 0 {
		t.Fatalf("a refused enrolment offers no new secret: %+v", wrong)
	}
	// A code from the replaced secret is as wrong (and replaces the secret again).
	stale, err := w.Staff.ConfirmEnrolment(ctx, w.AdminA.ID, stafftest.MustCode(t, enr.Secret, now), stafftest.Password, false, client)
	if apperr.FieldsOf(err)["code"] == "" {
		t.Fatalf("a code from the replaced secret accepted: %v", err)
	}
	enr = stale.Retry
	code := stafftest.MustCode(t, enr.Secret, now)
	enrolled, err := w.Staff.ConfirmEnrolment(ctx, w.AdminA.ID, code, stafftest.Password, false, client)
	recovery := enrolled.Codes
	if err != nil || len(recovery) != 10 {
		t.Fatalf("confirm: %v (%d codes)", err, len(recovery))
	}

	res, err := w.Staff.PasswordSignIn(ctx, "admin.a", stafftest.Password, client)
	if err != nil || res.Stage != staff.StageSecondFactor {
		t.Fatalf("sign in = %+v, %v", res, err)
	}
	// The enrolment code's step was used: a replay fails; the next step's code works.
	if _, err := w.Staff.SecondFactor(ctx, res.StaffID, code, client); err == nil {
		t.Fatal("replayed code accepted")
	}
	now = now.Add(30 * time.Second)
	w.Staff.Clock.Set(now)
	next := stafftest.MustCode(t, enr.Secret, now)
	if res, err := w.Staff.SecondFactor(ctx, res.StaffID, next, client); err != nil || res.Stage != staff.StageDone {
		t.Fatalf("second factor = %+v, %v", res, err)
	}
	// A recovery code works once.
	if _, err := w.Staff.SecondFactor(ctx, res.StaffID, recovery[3], client); err != nil {
		t.Fatalf("recovery code: %v", err)
	}
	if _, err := w.Staff.SecondFactor(ctx, res.StaffID, recovery[3], client); err == nil {
		t.Fatal("recovery code used twice")
	}
}

func TestOneTimeLink(t *testing.T) {
	t.Parallel()
	w := stafftest.New(t)
	ctx := context.Background()
	inv, err := w.Staff.Create(w.Ctx(t, w.AdminA), staff.NewStaff{BoardID: w.Board.ID, SchoolID: w.SchoolA.ID, Role: authz.Teacher, Login: "new.teacher", Name: "新任 七子"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, pw, confirm string
		field, msg        string
	}{
		{"too short", "short-pw", "short-pw", "password", "credential.password.too_short"},
		{"contains login", "xx-new.teacher-xx", "xx-new.teacher-xx", "password", "credential.password.contains_login"},
		{"common", "password1234", "password1234", "password", "credential.password.common"},
		{"mismatch", "long-enough-pass-1", "long-enough-pass-2", "confirm", "staff.password.mismatch"},
	}
	for _, tt := range tests {
		_, err := w.Staff.SetPasswordFromLink(ctx, inv.Token, tt.pw, tt.confirm, client)
		if got := apperr.FieldsOf(err)[tt.field]; got != tt.msg {
			t.Errorf("%s: %s = %q (%v), want %q", tt.name, tt.field, got, err, tt.msg)
		}
	}
	// Bad input spent nothing: the link still works, once.
	if _, err := w.Staff.SetPasswordFromLink(ctx, inv.Token, "ume-no-hana-saku", "ume-no-hana-saku", client); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Staff.SetPasswordFromLink(ctx, inv.Token, "ume-no-hana-saku", "ume-no-hana-saku", client); apperr.MessageIDOf(err) != "staff.link.invalid" {
		t.Fatalf("link used twice: %v", err)
	}
	// An expired link fails.
	inv2, err := w.Staff.Create(w.Ctx(t, w.AdminA), staff.NewStaff{BoardID: w.Board.ID, SchoolID: w.SchoolA.ID, Role: authz.Teacher, Login: "late.teacher", Name: "遅延 八子"})
	if err != nil {
		t.Fatalf("create the late teacher: %v", err)
	}
	w.Staff.Clock.Set(time.Now().Add(staff.DefaultLinkTTL + time.Minute))
	if err := w.Staff.WelcomeValid(ctx, inv2.Token); apperr.KindOf(err) != apperr.NotFound {
		t.Fatalf("expired link valid: %v", err)
	}
	// Duplicate login IDs are refused on the field.
	_, err = w.Staff.Create(w.Ctx(t, w.AdminA), staff.NewStaff{BoardID: w.Board.ID, SchoolID: w.SchoolA.ID, Role: authz.Teacher, Login: "New.Teacher", Name: "重複"})
	if apperr.FieldsOf(err)["login"] != "staff.login.taken" {
		t.Fatalf("duplicate login: %v", err)
	}
}

func TestDisableEndsSessions(t *testing.T) {
	t.Parallel()
	w := stafftest.New(t)
	ctx := context.Background()
	cur, err := w.Staff.FindByID(ctx, w.TeacherA.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Staff.Actor(ctx, w.TeacherA.ID, cur.SessionEpoch); err != nil {
		t.Fatal(err)
	}
	if err := w.Staff.SetDisabled(w.Ctx(t, w.AdminA), w.TeacherA.ID, true); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Staff.Actor(ctx, w.TeacherA.ID, cur.SessionEpoch); apperr.KindOf(err) != apperr.Unauthenticated {
		t.Fatalf("disabled account still signed in: %v", err)
	}
	// A school admin of another school cannot see or touch the account.
	if err := w.Staff.SetDisabled(w.Ctx(t, w.AdminB), w.TeacherA.ID, false); apperr.KindOf(err) != apperr.NotFound {
		t.Fatalf("admin B enabled a school A account: %v", err)
	}
	if err := w.Staff.SetDisabled(w.Ctx(t, w.AdminA), w.TeacherA.ID, false); err != nil {
		t.Fatal(err)
	}
	cur2, err := w.Staff.FindByID(ctx, w.TeacherA.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Staff.Actor(ctx, w.TeacherA.ID, cur2.SessionEpoch); err != nil {
		t.Fatalf("re-enabled: %v", err)
	}
}

func TestAssignRefusesOtherSchoolsClass(t *testing.T) {
	t.Parallel()
	w := stafftest.New(t)
	_, err := w.Staff.Assign(w.Ctx(t, w.AdminA), w.TeacherA.ID, staff.NewAssignment{Duty: authz.Homeroom, ClassID: w.ClassB11.ID})
	if apperr.FieldsOf(err)["target"] != "staff.assignment.target_unknown" {
		t.Fatalf("assigned another school's class: %v", err)
	}
	_, err = w.Staff.Assign(w.Ctx(t, w.AdminA), w.HomeroomA11.ID, staff.NewAssignment{Duty: authz.Homeroom, ClassID: w.ClassA11.ID})
	if apperr.MessageIDOf(err) != "staff.assignment.exists" {
		t.Fatalf("duplicate duty: %v", err)
	}
}

// TestWrongCodesLockDespiteRightPassword: a stolen password must not buy endless
// second-factor guesses. Wrong codes count per account whatever the password step
// does, and the fifth locks the account as wrong passwords do.
func TestWrongCodesLockDespiteRightPassword(t *testing.T) {
	t.Parallel()
	w := stafftest.New(t)
	ctx := context.Background()
	now := time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)
	w.Staff.Clock.Set(now)

	enr, err := w.Staff.BeginEnrolment(ctx, w.AdminA.ID)
	if err != nil {
		t.Fatal(err)
	}
	code := stafftest.MustCode(t, enr.Secret, now)
	if _, err := w.Staff.ConfirmEnrolment(ctx, w.AdminA.ID, code, stafftest.Password, false, client); err != nil {
		t.Fatal(err)
	}
	now = now.Add(time.Minute)
	w.Staff.Clock.Set(now)

	// Each wrong code follows a right password, as an attacker holding the password
	// would do it. The first four are "wrong code"; the fifth locks.
	for i := 1; i <= 5; i++ {
		res, err := w.Staff.PasswordSignIn(ctx, "admin.a", stafftest.Password, client)
		if err != nil || res.Stage != staff.StageSecondFactor {
			t.Fatalf("attempt %d: password step = %+v, %v", i, res, err)
		}
		_, err = w.Staff.SecondFactor(ctx, res.StaffID, "000000", client)
		switch {
		case i < 5 && apperr.FieldsOf(err)["code"] != "staff.totp.wrong":
			t.Fatalf("attempt %d: %v, want a wrong-code message", i, err)
		case i == 5 && apperr.MessageIDOf(err) != "staff.signin.throttled":
			t.Fatalf("attempt %d: %v, want the account locked", i, err)
		}
	}
	// Locked: neither the password nor a right code gets in until the lock ends.
	if _, err := w.Staff.PasswordSignIn(ctx, "admin.a", stafftest.Password, client); apperr.MessageIDOf(err) != "staff.signin.throttled" {
		t.Fatalf("password step on a locked account: %v", err)
	}
	good := stafftest.MustCode(t, enr.Secret, now)
	if _, err := w.Staff.SecondFactor(ctx, w.AdminA.ID, good, client); apperr.MessageIDOf(err) != "staff.signin.throttled" {
		t.Fatalf("right code on a locked account: %v", err)
	}

	// After the lock, a right code clears the count: the next wrong code is the first.
	now = now.Add(2 * time.Minute)
	w.Staff.Clock.Set(now)
	res, err := w.Staff.PasswordSignIn(ctx, "admin.a", stafftest.Password, client)
	if err != nil {
		t.Fatalf("after the lock: %v", err)
	}
	good = stafftest.MustCode(t, enr.Secret, now)
	if _, err := w.Staff.SecondFactor(ctx, res.StaffID, good, client); err != nil {
		t.Fatalf("right code after the lock: %v", err)
	}
	if _, err := w.Staff.SecondFactor(ctx, res.StaffID, "000000", client); apperr.FieldsOf(err)["code"] != "staff.totp.wrong" {
		t.Fatalf("count not cleared by a right code: %v", err)
	}
}

// TestNewLinkEndsSessions: an administrator issues a new link because a password was
// lost or an account may be in someone else's hands. It takes effect at once: open
// sessions end, the old password and any earlier link stop working, the new link works.
func TestNewLinkEndsSessions(t *testing.T) {
	t.Parallel()
	w := stafftest.New(t)
	ctx := context.Background()
	res, err := w.Staff.PasswordSignIn(ctx, "teacher.a", stafftest.Password, client)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Staff.Actor(ctx, w.TeacherA.ID, res.Epoch); err != nil {
		t.Fatal(err)
	}
	earlier, err := w.Staff.ResetLink(w.Ctx(t, w.AdminA), w.TeacherA.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Staff.Actor(ctx, w.TeacherA.ID, res.Epoch); apperr.KindOf(err) != apperr.Unauthenticated {
		t.Fatalf("session survived a new link: %v", err)
	}
	if _, err := w.Staff.PasswordSignIn(ctx, "teacher.a", stafftest.Password, client); apperr.MessageIDOf(err) != "staff.signin.failed" {
		t.Fatalf("old password still signs in: %v", err)
	}
	latest, err := w.Staff.ResetLink(w.Ctx(t, w.AdminA), w.TeacherA.ID)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Staff.WelcomeValid(ctx, earlier.Token); apperr.KindOf(err) != apperr.NotFound {
		t.Fatalf("an earlier link still works: %v", err)
	}
	if err := w.Staff.WelcomeValid(ctx, latest.Token); err != nil {
		t.Fatalf("the new link: %v", err)
	}
	// A school administrator of another school cannot end a school A account's sessions.
	if _, err := w.Staff.ResetLink(w.Ctx(t, w.AdminB), w.TeacherA.ID); apperr.KindOf(err) != apperr.NotFound {
		t.Fatalf("admin B issued a link for a school A account: %v", err)
	}
	var n int
	if err := w.Pool.QueryRow(ctx, `SELECT count(*) FROM audit_event WHERE action = 'staff.link_issue'`).Scan(&n); err != nil || n != 2 {
		t.Fatalf("audit rows = %d, %v", n, err)
	}
}

// TestBootstrapLink: the command line may issue a new link only for an account that
// never set its password; one with a password is the administrators' to reset.
func TestBootstrapLink(t *testing.T) {
	t.Parallel()
	w := stafftest.New(t)
	ctx := context.Background()
	inv, err := w.Staff.Bootstrap(ctx, staff.NewStaff{BoardID: w.Board.ID, SchoolID: w.SchoolA.ID, Role: authz.Teacher, Login: "lost.link", Name: "紛失 先生"})
	if err != nil {
		t.Fatal(err)
	}
	again, err := w.Staff.BootstrapLink(ctx, inv.Staff.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Staff.SetPasswordFromLink(ctx, again.Token, stafftest.Password, stafftest.Password, client); err != nil {
		t.Fatalf("the new link: %v", err)
	}
	if _, err := w.Staff.BootstrapLink(ctx, inv.Staff.ID); apperr.KindOf(err) != apperr.Conflict {
		t.Fatalf("a link for an account with a password: %v", err)
	}
}
