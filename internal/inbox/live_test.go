package inbox_test

import (
	"context"
	"testing"

	"github.com/renraku/renraku/internal/authz"
	"github.com/renraku/renraku/internal/inbox"
	"github.com/renraku/renraku/internal/live"
)

// TestMaySee is the per-event check of a staff page's live stream: a conversation's
// event reaches the staff its duty routes it to and the school's and board's
// administrators, and no one else; another event (an absence, a registration, a
// delivery) reaches the staff of its school and the board's administrators.
func TestMaySee(t *testing.T) {
	t.Parallel()
	const board, school, other, year = 1, 10, 20, 2026
	homeroom := live.Event{Kind: live.Message, Conversation: 1, Board: board, School: school, Target: inbox.Homeroom, Class: 100, Year: year}
	club := live.Event{Kind: live.Reply, Staff: 9, Conversation: 2, Board: board, School: school, Target: inbox.Advisor, Club: 200, Year: year}
	office := live.Event{Kind: live.ConversationState, Change: live.ChangeState, Conversation: 3, Board: board, School: school, Target: inbox.Office, Year: year}
	absence := live.Event{Kind: live.Absence, Board: board, School: school, Class: 100, Year: year}
	boardDelivery := live.Event{Kind: live.Delivery, Board: board, Announcement: 5, Staff: 10}
	teacher := func(duties ...authz.Assignment) *authz.Actor {
		return &authz.Actor{StaffID: 7, Role: authz.Teacher, BoardID: board, SchoolID: school, Year: year, Assignments: duties}
	}
	for _, tc := range []struct {
		name  string
		actor *authz.Actor
		event live.Event
		want  bool
	}{
		{"not signed in", nil, homeroom, false},
		{"homeroom teacher of the class", teacher(authz.Assignment{Duty: authz.Homeroom, ClassID: 100}), homeroom, true},
		{"sub-homeroom teacher of the class", teacher(authz.Assignment{Duty: authz.SubHomeroom, ClassID: 100}), homeroom, true},
		{"homeroom teacher of another class", teacher(authz.Assignment{Duty: authz.Homeroom, ClassID: 101}), homeroom, false},
		{"homeroom teacher, last year's conversation", teacher(authz.Assignment{Duty: authz.Homeroom, ClassID: 100}),
			live.Event{Kind: live.Message, Board: board, School: school, Target: inbox.Homeroom, Class: 100, Year: year - 1}, false},
		{"advisor of the club", teacher(authz.Assignment{Duty: authz.Advisor, ClubID: 200}), club, true},
		{"advisor of the club, a class's conversation", teacher(authz.Assignment{Duty: authz.Advisor, ClubID: 200}), homeroom, false},
		{"office duty", teacher(authz.Assignment{Duty: authz.Office}), office, true},
		{"teacher without the office duty", teacher(), office, false},
		{"disabled account", &authz.Actor{StaffID: 7, Role: authz.Teacher, BoardID: board, SchoolID: school, Year: year, Disabled: true,
			Assignments: []authz.Assignment{{Duty: authz.Homeroom, ClassID: 100}}}, homeroom, false},
		{"school administrator", &authz.Actor{StaffID: 8, Role: authz.SchoolAdmin, BoardID: board, SchoolID: school, Year: year}, club, true},
		{"another school's administrator", &authz.Actor{StaffID: 9, Role: authz.SchoolAdmin, BoardID: board, SchoolID: other, Year: year}, office, false},
		{"board administrator", &authz.Actor{StaffID: 10, Role: authz.BoardAdmin, BoardID: board}, homeroom, true},
		{"another board's administrator", &authz.Actor{StaffID: 11, Role: authz.BoardAdmin, BoardID: board + 1}, homeroom, false},
		{"absence, teacher of the school", teacher(), absence, true},
		{"absence, teacher of another school", &authz.Actor{StaffID: 7, Role: authz.Teacher, BoardID: board, SchoolID: other, Year: year}, absence, false},
		{"absence, board administrator", &authz.Actor{StaffID: 10, Role: authz.BoardAdmin, BoardID: board}, absence, true},
		{"absence, another board's administrator", &authz.Actor{StaffID: 11, Role: authz.BoardAdmin, BoardID: board + 1}, absence, false},
		{"board's delivery, board administrator", &authz.Actor{StaffID: 10, Role: authz.BoardAdmin, BoardID: board}, boardDelivery, true},
		{"board's delivery, school administrator", &authz.Actor{StaffID: 8, Role: authz.SchoolAdmin, BoardID: board, SchoolID: school, Year: year}, boardDelivery, false},
		{"absence, not signed in", nil, absence, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := &inbox.Service{}
			ctx := context.Background()
			if tc.actor != nil {
				ctx = authz.WithActor(ctx, tc.actor)
			}
			if got := s.MaySee(ctx, tc.event); got != tc.want {
				t.Errorf("MaySee = %v, want %v", got, tc.want)
			}
			if err := s.Watch(ctx); (err == nil) != (tc.actor != nil && !tc.actor.Disabled) {
				t.Errorf("Watch = %v", err)
			}
		})
	}
}
