// Package authz answers one question — may this person do this to that? — by role,
// school, duty and school year (SPEC C5, P4). Services ask Check before anything else;
// nothing else in renraku decides who may see or change what.
//
// A Target is always built from stored records (the class's own school and year, read
// from the database), never from what a request claims, so changing an ID in a URL or
// a form cannot widen access: the target moves with the ID.
package authz

import (
	"context"
	"errors"
	"fmt"

	"github.com/renraku/renraku/internal/apperr"
)

// Role is a staff member's position.
type Role string

// The roles.
const (
	BoardAdmin  Role = "board_admin"  // 教育委員会: every school of the board
	SchoolAdmin Role = "school_admin" // 管理職・情報担当: one school
	Teacher     Role = "teacher"      // 教職員: one school, by duty
)

// Duty is what a teacher is assigned to for a school year.
type Duty string

// The duties.
const (
	Homeroom    Duty = "homeroom"     // 担任
	SubHomeroom Duty = "sub_homeroom" // 副担任
	Advisor     Duty = "advisor"      // 顧問
	Office      Duty = "office"       // 学校宛ての連絡
)

// Assignment is one duty of the actor in the school's current year.
type Assignment struct {
	Duty    Duty
	ClassID int64
	ClubID  int64
}

// Actor is a signed-in staff member, as loaded for the current request.
type Actor struct {
	StaffID  int64
	Role     Role
	BoardID  int64
	SchoolID int64 // 0 for board administrators
	// Year is the current school year of the actor's school; Assignments are that
	// year's duties only.
	Year        int
	Assignments []Assignment
	Disabled    bool
}

// Action is something a staff member may ask to do.
type Action string

// The actions. Each names what it touches; Check's table decides who may.
const (
	// Board-wide.
	CreateSchool Action = "school.create"
	ManageBoard  Action = "board.manage" // the board's own settings (handout size limit)
	ListSchools  Action = "school.list"  // the console's school list: administrators

	// One school (Target.SchoolID).
	ViewSchool       Action = "school.view"      // the school's name, structure, who holds which duty
	ManageSchool     Action = "school.manage"    // settings, office hours, auto-reply, second-factor switch
	ManageStructure  Action = "structure.manage" // classes, clubs
	ManageStaff      Action = "staff.manage"     // accounts and assignments
	ManageChannel    Action = "channel.manage"   // LINE channel credentials
	ViewAudit        Action = "audit.view"       // the audit log (Target.SchoolID, or 0 for the board)
	ViewReports      Action = "report.view"      // monthly operations reports (Target.SchoolID, or 0 for the board)
	ExportRoster     Action = "roster.export"    // CSV of staff, classes, clubs, assignments
	ViewSchoolData   Action = "school.data.view" // every class's and club's personal data
	ViewOfficeInbox  Action = "office.view"      // messages to the school office
	ViewClassData    Action = "class.data.view"  // one class's personal data (Target.ClassID)
	ViewClubData     Action = "club.data.view"   // one club's personal data (Target.ClubID)
	ViewOwnAccount   Action = "account.view"     // one's own account pages
	ManageOwnAccount Action = "account.manage"   // password, second factor, sign out everywhere

	// Announcements (お知らせ・配布プリント) and safety alerts, by audience. Seeing an
	// announcement's progress and who has read it takes the same action as sending it.
	AnnounceClass  Action = "announce.class"  // to one class (Target.ClassID, Year)
	AnnounceClub   Action = "announce.club"   // to one club (Target.ClubID, Year)
	AnnounceSchool Action = "announce.school" // to a school or its grades; a school's safety alerts
	AnnounceBoard  Action = "announce.board"  // to several schools or districts (Target.SchoolID 0)
)

// Target is what an action is done to. BoardID is always set; the rest as the action
// needs.
type Target struct {
	BoardID  int64
	SchoolID int64
	Year     int
	ClassID  int64
	ClubID   int64
	StaffID  int64 // for own-account actions
}

// Errors Check returns, wrapped in apperr kinds.
var (
	ErrNoActor  = errors.New("not signed in")
	ErrDisabled = errors.New("account disabled")
	ErrDenied   = errors.New("not permitted")
)

// SignedIn returns nil when a is an enabled, signed-in account: the first check of a
// service method whose target must be read before the real Check.
func SignedIn(a *Actor) error {
	return Check(a, ViewOwnAccount, Target{StaffID: a.StaffIDOrZero()})
}

// Check returns nil when a may do act to t, and an apperr Unauthenticated or
// Forbidden error otherwise.
func Check(a *Actor, act Action, t Target) error {
	if a == nil || a.StaffID == 0 {
		return apperr.E(apperr.Unauthenticated, "authz.sign_in", ErrNoActor)
	}
	if a.Disabled {
		return apperr.E(apperr.Unauthenticated, "authz.sign_in", ErrDisabled)
	}
	if allowed(a, act, t) {
		return nil
	}
	return apperr.E(apperr.Forbidden, "authz.forbidden", fmt.Errorf("%w: %s by staff %d", ErrDenied, act, a.StaffID))
}

func allowed(a *Actor, act Action, t Target) bool {
	switch act {
	case ViewOwnAccount, ManageOwnAccount:
		return t.StaffID == a.StaffID
	}
	if t.BoardID != a.BoardID {
		return false
	}
	switch a.Role {
	case BoardAdmin:
		return true
	case SchoolAdmin:
		switch act {
		case CreateSchool, ManageBoard:
			return false
		case ListSchools:
			return true // lists only their own school: the service filters
		}
		return t.SchoolID != 0 && t.SchoolID == a.SchoolID
	case Teacher:
		if t.SchoolID == 0 || t.SchoolID != a.SchoolID {
			return false
		}
		switch act {
		case ViewSchool:
			return true
		case ViewClassData, AnnounceClass:
			return t.Year == a.Year && a.has(func(x Assignment) bool {
				return (x.Duty == Homeroom || x.Duty == SubHomeroom) && x.ClassID == t.ClassID
			})
		case ViewClubData, AnnounceClub:
			return t.Year == a.Year && a.has(func(x Assignment) bool { return x.Duty == Advisor && x.ClubID == t.ClubID })
		case ViewOfficeInbox:
			return a.has(func(x Assignment) bool { return x.Duty == Office })
		}
	}
	return false
}

func (a *Actor) has(f func(Assignment) bool) bool {
	for _, x := range a.Assignments {
		if f(x) {
			return true
		}
	}
	return false
}

// StaffIDOrZero is the actor's staff ID, or 0 for no actor.
func (a *Actor) StaffIDOrZero() int64 {
	if a == nil {
		return 0
	}
	return a.StaffID
}

// BoardIDOrZero is the actor's board, or 0 for no actor.
func (a *Actor) BoardIDOrZero() int64 {
	if a == nil {
		return 0
	}
	return a.BoardID
}

// SchoolIDOrZero is the actor's school, or 0 for no actor (or a board administrator).
func (a *Actor) SchoolIDOrZero() int64 {
	if a == nil {
		return 0
	}
	return a.SchoolID
}

// IsAdmin reports whether the actor administers a school or the board.
func (a *Actor) IsAdmin() bool { return a != nil && (a.Role == BoardAdmin || a.Role == SchoolAdmin) }

type actorKey struct{}

// WithActor returns ctx carrying the signed-in actor.
func WithActor(ctx context.Context, a *Actor) context.Context {
	return context.WithValue(ctx, actorKey{}, a)
}

// ActorFrom returns the actor of ctx, or nil.
func ActorFrom(ctx context.Context) *Actor {
	a, _ := ctx.Value(actorKey{}).(*Actor)
	return a
}

// HomeroomClasses are the classes of which the actor is homeroom or sub-homeroom
// teacher this year.
func (a *Actor) HomeroomClasses() []int64 {
	var ids []int64
	if a == nil {
		return nil
	}
	for _, x := range a.Assignments {
		if (x.Duty == Homeroom || x.Duty == SubHomeroom) && x.ClassID != 0 {
			ids = append(ids, x.ClassID)
		}
	}
	return ids
}
