package absence

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/renraku/renraku/internal/apperr"
	"github.com/renraku/renraku/internal/authz"
)

// ClassChoice is a class whose morning list the actor may open.
type ClassChoice struct {
	ID    int64
	Label string
}

// ClassList is the morning list's page: the classes the actor may choose from, the class
// and day shown, and that day's reports.
type ClassList struct {
	Classes []ClassChoice
	ClassID int64
	// Label is the class shown (from its reports when it is not one of Classes, as for
	// the board's administrators).
	Label   string
	Day     time.Time
	Reports []Report
}

// errNoClass is a morning list asked for without a class, by a person with none.
var errNoClass = apperr.E(apperr.NotFound, "absence.list.no_class", errors.New("no class to show"))

// OpenList is the morning list's page for a class (0: the first of the actor's classes)
// and day (zero: today). The classes offered are the actor's homeroom and sub-homeroom
// classes this year, or every class of a school administrator's school. With refresh,
// it is the open page's periodic refresh, which is not audited again (Refresh).
func (s *Service) OpenList(ctx context.Context, classID int64, day time.Time, refresh bool) (ClassList, error) {
	a := authz.ActorFrom(ctx)
	if err := authz.SignedIn(a); err != nil {
		return ClassList{}, err
	}
	if day.IsZero() {
		day = s.Today()
	}
	l := ClassList{ClassID: classID, Day: day}
	err := s.Tx.InTx(ctx, func(ctx context.Context) error {
		var err error
		if l.Classes, err = s.classChoices(ctx, a); err != nil {
			return err
		}
		if l.ClassID == 0 {
			if len(l.Classes) == 0 {
				return errNoClass
			}
			l.ClassID = l.Classes[0].ID
		}
		if l.Reports, err = s.list(ctx, l.ClassID, day, !refresh); err != nil {
			return err
		}
		for _, c := range l.Classes {
			if c.ID == l.ClassID {
				l.Label = c.Label
			}
		}
		if l.Label == "" && len(l.Reports) > 0 {
			l.Label = l.Reports[0].ClassLabel
		}
		return nil
	})
	return l, err
}

// classChoices are the classes whose lists a is offered: a school administrator's
// school's classes, or a's homeroom classes and then sub-homeroom classes, in class
// order. The board's administrators open a class by its ID.
func (s *Service) classChoices(ctx context.Context, a *authz.Actor) ([]ClassChoice, error) {
	if a.SchoolID == 0 {
		return nil, nil
	}
	classes, err := s.Store.FindClassInfo(ctx, a.SchoolID, a.Year)
	if err != nil {
		return nil, err
	}
	var out []ClassChoice
	if a.IsAdmin() {
		for _, c := range classes {
			out = append(out, ClassChoice{ID: c.ID, Label: c.Label})
		}
		return out, nil
	}
	for _, duty := range []authz.Duty{authz.Homeroom, authz.SubHomeroom} {
		for _, c := range classes {
			for _, x := range a.Assignments {
				if x.Duty == duty && x.ClassID == c.ID {
					out = append(out, ClassChoice{ID: c.ID, Label: c.Label})
					break
				}
			}
		}
	}
	return out, nil
}

// ClubChoice is a club whose members' reports the actor may open.
type ClubChoice struct {
	ID   int64
	Name string
}

// ClubList is the club page: the clubs the actor may choose from, the club and day
// shown, and the reports covering that day of its members.
type ClubList struct {
	Clubs   []ClubChoice
	ClubID  int64
	Day     time.Time
	Reports []Report
}

// errNoClub is a club page asked for without a club, by a person with none.
var errNoClub = apperr.E(apperr.NotFound, "absence.club.no_club", errors.New("no club to show"))

// OpenClubList is the club page for a club (0: the first of the actor's clubs) and day
// (zero: today). The clubs offered are the actor's clubs as advisor this year, or every
// club of a school administrator's school. The view is audited (Club).
func (s *Service) OpenClubList(ctx context.Context, clubID int64, day time.Time) (ClubList, error) {
	a := authz.ActorFrom(ctx)
	if err := authz.SignedIn(a); err != nil {
		return ClubList{}, err
	}
	if day.IsZero() {
		day = s.Today()
	}
	l := ClubList{ClubID: clubID, Day: day}
	err := s.Tx.InTx(ctx, func(ctx context.Context) error {
		if a.SchoolID != 0 {
			clubs, err := s.Store.FindClubs(ctx, a.SchoolID, a.Year)
			if err != nil {
				return err
			}
			for _, c := range clubs {
				if a.Role == authz.SchoolAdmin || slices.ContainsFunc(a.Assignments, func(x authz.Assignment) bool {
					return x.Duty == authz.Advisor && x.ClubID == c.ID
				}) {
					l.Clubs = append(l.Clubs, c)
				}
			}
		}
		if l.ClubID == 0 {
			if len(l.Clubs) == 0 {
				return errNoClub
			}
			l.ClubID = l.Clubs[0].ID
		}
		var err error
		l.Reports, err = s.Club(ctx, l.ClubID, day)
		return err
	})
	return l, err
}
