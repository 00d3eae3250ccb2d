// Package staff holds teachers' and administrators' accounts: creation with a one-time
// sign-in link, passwords, the second factor, lockout and rate limiting of sign-ins,
// disabling, and duty assignments. Who may do what is decided by internal/authz; this
// package asks it before anything else and audits every change and every sign-in.
package staff

import (
	"context"
	"net/netip"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/renraku/renraku/internal/authz"
	"github.com/renraku/renraku/internal/vault"
)

// Staff is one account.
type Staff struct {
	ID       int64
	BoardID  int64
	SchoolID int64 // 0 for board administrators
	Role     authz.Role
	Login    vault.Personal
	Name     vault.Personal
	// PasswordSet is false until the person has used their one-time link.
	PasswordSet  bool
	TOTPEnabled  bool
	Disabled     bool
	SessionEpoch int
	CreatedAt    time.Time
	Assignments  []Assignment
}

// Assignment is a duty of a staff member in a school year.
type Assignment struct {
	ID       int64
	StaffID  int64
	SchoolID int64
	Year     int
	Duty     authz.Duty
	ClassID  int64
	ClubID   int64
	// Target is the class (1年1組) or club name, filled when read.
	Target string
}

// Credentials are the secrets checked at sign-in; they never leave this package's
// service.
type Credentials struct {
	PasswordHash   string
	TOTPSecret     vault.Personal
	TOTPPending    vault.Personal
	TOTPLastStep   int64
	RecoveryHashes []string
}

// NewStaff is the input for creating an account.
type NewStaff struct {
	BoardID  int64
	SchoolID int64
	Role     authz.Role
	Login    string
	Name     string
}

// Update is a change to an account's name and role; a nil field stays as it is.
type Update struct {
	Name *string
	Role *authz.Role
}

// Filter selects accounts.
type Filter struct {
	BoardID  int64
	SchoolID int64
	// BoardOnly selects the board's administrators (no school).
	BoardOnly bool
}

// Store is the persistence the service needs.
type Store interface {
	DutyStore
	CreateStaff(ctx context.Context, s *Staff) error
	FindStaffByID(ctx context.Context, id int64) (Staff, error)
	FindStaffByLogin(ctx context.Context, login string) (Staff, Credentials, error)
	FindCredentials(ctx context.Context, id int64) (Credentials, error)
	FindStaffs(ctx context.Context, f Filter) ([]Staff, error)
	SetPassword(ctx context.Context, id int64, hash string) error
	SetPendingTOTP(ctx context.Context, id int64, secret vault.Personal) error
	SetTOTP(ctx context.Context, id int64, secret vault.Personal, step int64, recovery []string) error
	UpdateSecondFactorUse(ctx context.Context, id int64, step int64, recovery []string) error
	SetDisabled(ctx context.Context, id int64, disabled bool) error
	// UpdateStaff changes an account's name and role (never its login ID or password).
	UpdateStaff(ctx context.Context, id int64, upd Update) error
	BumpSessionEpoch(ctx context.Context, id int64) (int, error)
	// RevokeSignin clears an account's password and voids its unused sign-in links.
	RevokeSignin(ctx context.Context, id int64) error

	CreateSigninToken(ctx context.Context, staffID int64, hash []byte, expires time.Time) error
	FindSigninToken(ctx context.Context, hash []byte, now time.Time) (staffID int64, err error)
	UseSigninToken(ctx context.Context, hash []byte, now time.Time) (staffID int64, err error)

	Throttle(ctx context.Context, key []byte, now time.Time) (blockedUntil time.Time, err error)
	RecordFailure(ctx context.Context, key []byte, now time.Time, rule ThrottleRule) (blockedUntil time.Time, err error)
	ClearFailures(ctx context.Context, key []byte) error

	FindAssignments(ctx context.Context, staffID int64) ([]Assignment, error)
	FindAssignmentByID(ctx context.Context, id int64) (Assignment, error)
	CreateAssignment(ctx context.Context, a *Assignment) error
	DeleteAssignment(ctx context.Context, id int64) error

	// LoadActor reads what authorisation needs: role, school, its current year and
	// that year's duties.
	LoadActor(ctx context.Context, id int64) (authz.Actor, int, error)
	// SecondFactorRequired reports whether the account must use a second factor.
	SecondFactorRequired(ctx context.Context, id int64) (bool, error)
}

// ThrottleRule is how failures turn into a block: after Free failures inside Window,
// each further failure blocks for Base doubled per extra failure, up to Max.
type ThrottleRule struct {
	Window time.Duration
	Free   int
	Base   time.Duration
	Max    time.Duration
}

// The throttling rules: an account locks with back-off after 5 failures; an address
// is slowed after 30 failures in 10 minutes (a school's staff room may share one).
var (
	AccountRule = ThrottleRule{Window: 24 * time.Hour, Free: 5, Base: time.Minute, Max: time.Hour}
	AddressRule = ThrottleRule{Window: 10 * time.Minute, Free: 30, Base: 10 * time.Minute, Max: time.Hour}
)

// Block returns how long failure number n (1-based) blocks under r.
func (r ThrottleRule) Block(n int) time.Duration {
	if n < r.Free {
		return 0
	}
	d := r.Base
	for i := r.Free; i < n && d < r.Max; i++ {
		d *= 2
	}
	return min(d, r.Max)
}

var loginRE = regexp.MustCompile(`^[a-z0-9._-]{3,64}$`)

// NormalizeLogin lower-cases and trims a login ID.
func NormalizeLogin(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// validLogin reports whether s (normalised) is a well-formed login ID.
func validLogin(s string) bool { return loginRE.MatchString(s) }

func validName(s string) bool {
	n := utf8.RuneCountInString(strings.TrimSpace(s))
	return n >= 1 && n <= 50
}

// Client is where a request came from, for throttling and the audit log.
type Client struct {
	Addr netip.Addr
}
