// Package rollover is the school year's turn (年度更新, SPEC C6): staff prepare next
// year's classes, clubs and duties (copied from this year, then edited, or imported),
// mark the grades that graduate and the day the new year starts; from February parents
// are asked in LINE to confirm each child's new class and clubs on a page pre-filled
// with grade + 1; staff see who has not confirmed; on the day, the new year becomes
// current: graduates leave (their data deleted under the board's policy), confirmed
// children move, the others are placed by default and wait for their new homeroom
// teacher's approval, and nothing addressed to last year's classes is sent any more
// (announcements and surveys not yet sent are cancelled).
package rollover

import (
	"context"
	"slices"
	"time"

	"github.com/renraku/renraku/internal/registration"
	"github.com/renraku/renraku/internal/school"
	"github.com/renraku/renraku/internal/vault"
)

// Plan is a school's plan for its next school year.
type Plan struct {
	SchoolID int64
	// Year is the school year the plan moves into (the current one + 1).
	Year int
	// Graduating are the grades whose children leave at the switch.
	Graduating []int
	// SwitchOn is the day (Asia/Tokyo, midnight) the new year becomes current.
	SwitchOn   time.Time
	AskedAt    *time.Time
	SwitchedAt *time.Time
	// Saved is false for the defaults of a school that has saved no plan.
	Saved bool
}

// Progress is where the parents' confirmations stand.
type Progress struct {
	Confirmed   int
	Unconfirmed int
	Graduates   int
	// Waiting are the children not yet confirmed (not graduating), for staff to follow up.
	Waiting []Waiting
}

// Waiting is a child whose next class no guardian has confirmed yet.
type Waiting struct {
	ChildID    int64
	Name       vault.Personal
	ClassLabel string
	Grade      int
	ClassName  string
	// NoClass: the next grade has no class next year, so the switch cannot place the
	// child (they would stay in last year's class).
	NoClass bool
}

// Copied is what copying this year's structure into the next added.
type Copied struct {
	Classes, Clubs, Duties int
}

// Placement is a child's class and clubs in the next year.
type Placement struct {
	ChildID int64
	ClassID int64
	ClubIDs []int64
}

// ChildNow is a child of the current year as the switch sees it.
type ChildNow struct {
	ID      int64
	Grade   int
	Class   string  // the class's name (1組)
	ClubIDs []int64 // this year's clubs
	// Next is the confirmed placement, if a guardian confirmed one.
	Next *Placement
}

// Switched is what the switch did.
type Switched struct {
	Graduated int
	Moved     int // confirmed by a guardian
	Placed    int // placed by default, waiting for the homeroom teacher's approval
	Unplaced  int // no class of the next grade: left in last year's class
	Cancelled int // announcements to last year's classes, clubs or grades
	// SurveysCancelled are surveys not yet sent to last year's classes, clubs or grades.
	SurveysCancelled int
	GuardiansEnd     int
}

// ErrNameClash is Move's refusal: the class has another child of the same name.
var ErrNameClash = registration.ErrNameClash

// Store is the persistence of the rollover.
type Store interface {
	FindPlan(ctx context.Context, schoolID int64, year int) (Plan, bool, error)
	SavePlan(ctx context.Context, p Plan) error
	MarkAsked(ctx context.Context, schoolID int64, year int, at time.Time) error
	// CopyStructure copies a year's classes, clubs and duties into the next, skipping
	// what the next year has already.
	CopyStructure(ctx context.Context, schoolID int64, from int) (Copied, error)
	Progress(ctx context.Context, schoolID int64, year int, graduating []int) (Progress, error)
	// FriendsToAsk lists the LINE friends (following, verified guardians) with a child
	// of the school not graduating and not yet confirmed.
	FriendsToAsk(ctx context.Context, schoolID int64, year int, graduating []int) ([]int64, error)
	FindNext(ctx context.Context, childIDs []int64) (map[int64]Placement, error)
	SaveNext(ctx context.Context, p Placement, guardianID int64) error
	// LockSchool locks the school's row and returns its current year.
	LockSchool(ctx context.Context, schoolID int64) (int, error)
	ChildrenOf(ctx context.Context, schoolID int64, year int) ([]ChildNow, error)
	// Move puts a child in a class and clubs of the next year; pending sets their
	// guardianships back to waiting for the homeroom teacher.
	Move(ctx context.Context, p Placement, pending bool) error
	// Finish makes year current, marks the plan switched, closes last year's
	// conversations and cancels announcements not yet sent to last year's classes,
	// clubs or grades (returned count).
	Finish(ctx context.Context, schoolID int64, year int, at time.Time) (int, error)
	// CancelSurveys cancels the school's surveys not yet sent (drafts and scheduled)
	// to last year's classes, clubs or grades; sent ones stay readable.
	CancelSurveys(ctx context.Context, schoolID int64) (int, error)
	// Due lists the schools whose saved plan's day has come (schoolID → year).
	Due(ctx context.Context, today time.Time) (map[int64]int, error)
	// FriendsOfChildren lists the LINE friends of the children's guardians.
	FriendsOfChildren(ctx context.Context, childIDs []int64) ([]int64, error)
	SingleYear(ctx context.Context, boardID int64) (bool, error)
	// YearEndPending says whether a single-year board's deletion of every registration
	// at the end of the school year before year is still to come.
	YearEndPending(ctx context.Context, boardID int64, year int) (bool, error)
	// ShareSchool locks a school's row against a concurrent switch.
	ShareSchool(ctx context.Context, schoolID int64) error
	// CountDuties counts a school year's duties.
	CountDuties(ctx context.Context, schoolID int64, year int) (int, error)
}

// DefaultSwitchDay is the first weekday of April of year: the usual first school day
// (the school changes it to its 始業式).
func DefaultSwitchDay(year int) time.Time {
	d := school.YearStart(year)
	for d.Weekday() == time.Saturday || d.Weekday() == time.Sunday {
		d = d.AddDate(0, 0, 1)
	}
	return d
}

// DefaultClass is where a child of grade and class name goes next year: the class of
// the same name in the next grade, or the first class of the next grade.
func DefaultClass(grade int, name string, next []school.Class) (school.Class, bool) {
	var first *school.Class
	for i, c := range next {
		if c.Grade != grade+1 {
			continue
		}
		if c.Name == name {
			return c, true
		}
		if first == nil || c.Name < first.Name {
			first = &next[i]
		}
	}
	if first == nil {
		return school.Class{}, false
	}
	return *first, true
}

// DefaultClubs maps this year's clubs to next year's of the same names.
func DefaultClubs(clubIDs []int64, now, next []school.Club) []int64 {
	names := map[int64]string{}
	for _, c := range now {
		names[c.ID] = c.Name
	}
	var out []int64
	for _, id := range clubIDs {
		for _, n := range next {
			if n.Name == names[id] && !slices.Contains(out, n.ID) {
				out = append(out, n.ID)
			}
		}
	}
	return out
}
