package inbox_test

import (
	"context"
	"testing"
	"time"

	"github.com/renraku/renraku/internal/authz"
	"github.com/renraku/renraku/internal/inbox"
	"github.com/renraku/renraku/internal/live"
	"github.com/renraku/renraku/internal/school"
)

// TestVisibleRoutesAParentsChoice: the conversation a parent picks after 「連絡する」
// (their child's class, a club, or the school office) shows in the inboxes of the staff
// whose duty covers it, and of the school's and board's administrators; nobody else's.
func TestVisibleRoutesAParentsChoice(t *testing.T) {
	t.Parallel()
	const board, sakura, other, year, class11, class12, soccer = 1, 11, 12, 2026, 101, 102, 201
	teacher := func(id int64, duties ...authz.Assignment) *authz.Actor {
		return &authz.Actor{StaffID: id, Role: authz.Teacher, BoardID: board, SchoolID: sakura, Year: year, Assignments: duties}
	}
	var (
		homeroom11 = teacher(1, authz.Assignment{Duty: authz.Homeroom, ClassID: class11})
		sub11      = teacher(2, authz.Assignment{Duty: authz.SubHomeroom, ClassID: class11})
		homeroom12 = teacher(3, authz.Assignment{Duty: authz.Homeroom, ClassID: class12})
		advisor    = teacher(4, authz.Assignment{Duty: authz.Advisor, ClubID: soccer})
		office     = teacher(5, authz.Assignment{Duty: authz.Office})
		nobody     = teacher(6)
		principal  = &authz.Actor{StaffID: 7, Role: authz.SchoolAdmin, BoardID: board, SchoolID: sakura, Year: year}
		otherHead  = &authz.Actor{StaffID: 8, Role: authz.SchoolAdmin, BoardID: board, SchoolID: other, Year: year}
		boardAdmin = &authz.Actor{StaffID: 9, Role: authz.BoardAdmin, BoardID: board, Year: year}
		otherBoard = &authz.Actor{StaffID: 10, Role: authz.BoardAdmin, BoardID: board + 1, Year: year}
	)
	toClass := live.Event{Kind: live.Message, Board: board, School: sakura, Target: inbox.Homeroom, Class: class11, Year: year}
	toClub := live.Event{Kind: live.Message, Board: board, School: sakura, Target: inbox.Advisor, Club: soccer, Year: year}
	toOffice := live.Event{Kind: live.Message, Board: board, School: sakura, Target: inbox.Office, Year: year}
	lastYear := toClass
	lastYear.Year = year - 1

	tests := []struct {
		name  string
		event live.Event
		sees  []*authz.Actor
	}{
		{"the class's teachers", toClass, []*authz.Actor{homeroom11, sub11, principal, boardAdmin}},
		{"the club's advisor", toClub, []*authz.Actor{advisor, principal, boardAdmin}},
		{"the school office", toOffice, []*authz.Actor{office, principal, boardAdmin}},
		{"last year's class: its teachers no longer", lastYear, []*authz.Actor{principal, boardAdmin}},
	}
	everyone := []*authz.Actor{homeroom11, sub11, homeroom12, advisor, office, nobody, principal, otherHead, boardAdmin, otherBoard}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			for _, a := range everyone {
				want := false
				for _, s := range tt.sees {
					want = want || s == a
				}
				if got := (&inbox.Service{}).MaySee(authz.WithActor(context.Background(), a), tt.event); got != want {
					t.Errorf("staff %d (%s): MaySee = %v, want %v", a.StaffID, a.Role, got, want)
				}
			}
		})
	}
}

func TestReplyLabel(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		c    inbox.Conversation
		want string
	}{
		{"own channel", inbox.Conversation{Target: inbox.Homeroom, Label: "1年1組 担任", SchoolName: "さくら小学校"}, "1年1組 担任"},
		{"shared channel", inbox.Conversation{Target: inbox.Homeroom, Label: "1年1組 担任", SchoolName: "さくら小学校", SharedChannel: true}, "さくら小学校 1年1組 担任"},
		{"shared channel, office", inbox.Conversation{Target: inbox.Office, Label: "学校（事務・管理職）", SchoolName: "さくら小学校", SharedChannel: true}, "さくら小学校（事務・管理職）"},
		{"shared channel, school unknown", inbox.Conversation{Target: inbox.Advisor, Label: "サッカー部 顧問", SharedChannel: true}, "サッカー部 顧問"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := tt.c.ReplyLabel(); got != tt.want {
				t.Errorf("ReplyLabel = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestHoursClosed(t *testing.T) {
	t.Parallel()
	weekdays := inbox.Hours{Open: "08:00", Close: "17:00", Days: "12345"}
	// 2026-12-07 is a Monday.
	at := func(day, hour, minute int) time.Time {
		return time.Date(2026, 12, day, hour, minute, 0, 0, school.Tokyo)
	}
	tests := []struct {
		name string
		at   time.Time
		want bool
	}{
		{"Monday morning", at(7, 9, 0), false},
		{"opening minute", at(7, 8, 0), false},
		{"before opening", at(7, 7, 59), true},
		{"closing minute", at(7, 17, 0), true},
		{"last open minute", at(7, 16, 59), false},
		{"Saturday", at(12, 10, 0), true},
		{"Sunday", at(13, 10, 0), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := weekdays.Closed(tt.at); got != tt.want {
				t.Errorf("Closed(%s) = %v, want %v", tt.at.Format("Mon 15:04"), got, tt.want)
			}
		})
	}
}
