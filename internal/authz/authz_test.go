package authz_test

import (
	"context"
	"errors"
	"testing"

	"github.com/renraku/renraku/internal/apperr"
	"github.com/renraku/renraku/internal/authz"
)

// The actors of the table: two boards, two schools of board 1, one year.
const (
	board1, board2   = 1, 2
	school1, school2 = 11, 12
	year             = 2026
	class1, class2   = 101, 102
	club1, club2     = 201, 202
)

var (
	boardAdmin  = &authz.Actor{StaffID: 1, Role: authz.BoardAdmin, BoardID: board1, Year: year}
	schoolAdmin = &authz.Actor{StaffID: 2, Role: authz.SchoolAdmin, BoardID: board1, SchoolID: school1, Year: year}
	homeroom    = &authz.Actor{StaffID: 3, Role: authz.Teacher, BoardID: board1, SchoolID: school1, Year: year,
		Assignments: []authz.Assignment{{Duty: authz.Homeroom, ClassID: class1}}}
	subHomeroom = &authz.Actor{StaffID: 4, Role: authz.Teacher, BoardID: board1, SchoolID: school1, Year: year,
		Assignments: []authz.Assignment{{Duty: authz.SubHomeroom, ClassID: class1}}}
	advisor = &authz.Actor{StaffID: 5, Role: authz.Teacher, BoardID: board1, SchoolID: school1, Year: year,
		Assignments: []authz.Assignment{{Duty: authz.Advisor, ClubID: club1}}}
	office = &authz.Actor{StaffID: 6, Role: authz.Teacher, BoardID: board1, SchoolID: school1, Year: year,
		Assignments: []authz.Assignment{{Duty: authz.Office}}}
	plainTeacher = &authz.Actor{StaffID: 7, Role: authz.Teacher, BoardID: board1, SchoolID: school1, Year: year}
	disabled     = &authz.Actor{StaffID: 8, Role: authz.BoardAdmin, BoardID: board1, Year: year, Disabled: true}
)

// outcome is what Check answers, by apperr kind.
type outcome string

const (
	allowed         outcome = "allowed"
	forbidden       outcome = "forbidden"
	unauthenticated outcome = "unauthenticated"
)

func outcomeOf(t *testing.T, err error) outcome {
	t.Helper()
	switch {
	case err == nil:
		return allowed
	case apperr.KindOf(err) == apperr.Forbidden && errors.Is(err, authz.ErrDenied):
		return forbidden
	case apperr.KindOf(err) == apperr.Unauthenticated && (errors.Is(err, authz.ErrNoActor) || errors.Is(err, authz.ErrDisabled)):
		return unauthenticated
	}
	t.Fatalf("Check returned an error of no known kind: %v", err)
	return ""
}

func TestCheck(t *testing.T) {
	t.Parallel()
	board := authz.Target{BoardID: board1}
	otherBoard := authz.Target{BoardID: board2}
	sch := authz.Target{BoardID: board1, SchoolID: school1}
	otherSchool := authz.Target{BoardID: board1, SchoolID: school2}
	cls := authz.Target{BoardID: board1, SchoolID: school1, Year: year, ClassID: class1}
	otherClass := authz.Target{BoardID: board1, SchoolID: school1, Year: year, ClassID: class2}
	lastYearsClass := authz.Target{BoardID: board1, SchoolID: school1, Year: year - 1, ClassID: class1}
	club := authz.Target{BoardID: board1, SchoolID: school1, Year: year, ClubID: club1}
	otherClub := authz.Target{BoardID: board1, SchoolID: school1, Year: year, ClubID: club2}

	tests := []struct {
		name   string
		actor  *authz.Actor
		action authz.Action
		target authz.Target
		want   outcome
	}{
		// Not signed in, or disabled, comes before any rule.
		{"nobody", nil, authz.ViewSchool, sch, unauthenticated},
		{"no staff ID", &authz.Actor{Role: authz.BoardAdmin, BoardID: board1}, authz.ViewSchool, sch, unauthenticated},
		{"disabled board admin", disabled, authz.ViewSchool, sch, unauthenticated},
		{"disabled own account", disabled, authz.ViewOwnAccount, authz.Target{StaffID: disabled.StaffID}, unauthenticated},

		// One's own account, whatever the role; nobody else's.
		{"teacher's own account", plainTeacher, authz.ManageOwnAccount, authz.Target{StaffID: plainTeacher.StaffID}, allowed},
		{"board admin's own account", boardAdmin, authz.ViewOwnAccount, authz.Target{StaffID: boardAdmin.StaffID}, allowed},
		{"board admin, another's account", boardAdmin, authz.ManageOwnAccount, authz.Target{StaffID: plainTeacher.StaffID}, forbidden},

		// The board administrator: everything of their board, nothing of another.
		{"board admin creates a school", boardAdmin, authz.CreateSchool, board, allowed},
		{"board admin manages the board", boardAdmin, authz.ManageBoard, board, allowed},
		{"board admin announces board-wide", boardAdmin, authz.AnnounceBoard, board, allowed},
		{"board admin reads a class", boardAdmin, authz.ViewClassData, cls, allowed},
		{"board admin, other board", boardAdmin, authz.ViewSchool, otherBoard, forbidden},
		{"board admin, other board's board settings", boardAdmin, authz.ManageBoard, otherBoard, forbidden},

		// The school administrator: their school only, nothing board-wide.
		{"school admin lists schools", schoolAdmin, authz.ListSchools, board, allowed},
		{"school admin creates a school", schoolAdmin, authz.CreateSchool, board, forbidden},
		{"school admin manages the board", schoolAdmin, authz.ManageBoard, board, forbidden},
		{"school admin announces board-wide", schoolAdmin, authz.AnnounceBoard, board, forbidden},
		{"school admin, board's audit log", schoolAdmin, authz.ViewAudit, board, forbidden},
		{"school admin, own school's audit log", schoolAdmin, authz.ViewAudit, sch, allowed},
		{"school admin manages staff", schoolAdmin, authz.ManageStaff, sch, allowed},
		{"school admin, the channel", schoolAdmin, authz.ManageChannel, sch, allowed},
		{"school admin reads any class", schoolAdmin, authz.ViewClassData, otherClass, allowed},
		{"school admin, other school", schoolAdmin, authz.ViewSchool, otherSchool, forbidden},
		{"school admin, other board", schoolAdmin, authz.ViewSchool, authz.Target{BoardID: board2, SchoolID: school1}, forbidden},

		// A teacher: by duty, in their school and the current year.
		{"teacher sees the school", plainTeacher, authz.ViewSchool, sch, allowed},
		{"teacher, other school", plainTeacher, authz.ViewSchool, otherSchool, forbidden},
		{"teacher manages the school", plainTeacher, authz.ManageSchool, sch, forbidden},
		{"teacher manages staff", plainTeacher, authz.ManageStaff, sch, forbidden},
		{"teacher, school's data", homeroom, authz.ViewSchoolData, sch, forbidden},
		{"teacher, audit log", homeroom, authz.ViewAudit, sch, forbidden},
		{"teacher, reports", homeroom, authz.ViewReports, sch, forbidden},
		{"teacher announces to the school", homeroom, authz.AnnounceSchool, sch, forbidden},
		{"teacher without duty, a class", plainTeacher, authz.ViewClassData, cls, forbidden},
		{"homeroom, own class", homeroom, authz.ViewClassData, cls, allowed},
		{"homeroom announces to own class", homeroom, authz.AnnounceClass, cls, allowed},
		{"homeroom, another class", homeroom, authz.ViewClassData, otherClass, forbidden},
		{"homeroom, own class last year", homeroom, authz.ViewClassData, lastYearsClass, forbidden},
		{"homeroom, own class in another school", homeroom, authz.ViewClassData, authz.Target{BoardID: board1, SchoolID: school2, Year: year, ClassID: class1}, forbidden},
		{"homeroom, a club", homeroom, authz.ViewClubData, club, forbidden},
		{"homeroom, the office inbox", homeroom, authz.ViewOfficeInbox, sch, forbidden},
		{"sub-homeroom, own class", subHomeroom, authz.AnnounceClass, cls, allowed},
		{"advisor, own club", advisor, authz.ViewClubData, club, allowed},
		{"advisor announces to own club", advisor, authz.AnnounceClub, club, allowed},
		{"advisor, another club", advisor, authz.ViewClubData, otherClub, forbidden},
		{"advisor, a class", advisor, authz.ViewClassData, cls, forbidden},
		{"office duty, the office inbox", office, authz.ViewOfficeInbox, sch, allowed},
		{"office duty, other school's office", office, authz.ViewOfficeInbox, otherSchool, forbidden},
		{"office duty, a class", office, authz.ViewClassData, cls, forbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := outcomeOf(t, authz.Check(tt.actor, tt.action, tt.target)); got != tt.want {
				t.Errorf("Check(%s, %s, %+v) = %s, want %s", tt.name, tt.action, tt.target, got, tt.want)
			}
		})
	}
}

func TestSignedIn(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		actor *authz.Actor
		want  outcome
	}{
		{"nobody", nil, unauthenticated},
		{"disabled", disabled, unauthenticated},
		{"teacher", plainTeacher, allowed},
		{"board admin", boardAdmin, allowed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := outcomeOf(t, authz.SignedIn(tt.actor)); got != tt.want {
				t.Errorf("SignedIn = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestActorTravelsInTheContext(t *testing.T) {
	t.Parallel()
	if a := authz.ActorFrom(context.Background()); a != nil {
		t.Fatalf("empty context has actor %+v", a)
	}
	if a := authz.ActorFrom(authz.WithActor(context.Background(), homeroom)); a != homeroom {
		t.Fatalf("ActorFrom = %+v, want the homeroom teacher", a)
	}
	var none *authz.Actor
	if none.StaffIDOrZero() != 0 || none.BoardIDOrZero() != 0 || none.SchoolIDOrZero() != 0 || none.IsAdmin() {
		t.Error("a nil actor has an ID or is an administrator")
	}
	if !schoolAdmin.IsAdmin() || !boardAdmin.IsAdmin() || homeroom.IsAdmin() {
		t.Error("IsAdmin does not follow the role")
	}
}

func TestHomeroomClasses(t *testing.T) {
	a := &authz.Actor{Role: authz.Teacher, Assignments: []authz.Assignment{
		{Duty: authz.Homeroom, ClassID: 11}, {Duty: authz.Advisor, ClubID: 3}, {Duty: authz.SubHomeroom, ClassID: 12}, {Duty: authz.Office},
	}}
	if got := a.HomeroomClasses(); len(got) != 2 || got[0] != 11 || got[1] != 12 {
		t.Errorf("HomeroomClasses = %v, want [11 12]", got)
	}
	var none *authz.Actor
	if got := none.HomeroomClasses(); got != nil {
		t.Errorf("no actor: %v", got)
	}
}
