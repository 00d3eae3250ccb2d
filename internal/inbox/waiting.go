package inbox

import (
	"context"
	"errors"
	"time"

	"github.com/renraku/renraku/internal/apperr"
	"github.com/renraku/renraku/internal/authz"
)

// Waiting is a conversation that waits for the staff, as the work queue counts it: no
// names and no text, only its place (Label: 1年1組 担任), its state and its times.
type Waiting struct {
	ID                int64
	BoardID, SchoolID int64
	Target            string
	ClassID, ClubID   int64
	Year              int
	Label             string
	State             string
	Unread            int
	LastMessageAt     time.Time
	// Unanswered is when the oldest of the parent's messages after the last reply
	// arrived (zero: the last word was the staff's).
	Unanswered time.Time
}

// Since is how long the conversation has waited: since the oldest unanswered message
// of the parent, else since its last message.
func (w Waiting) Since() time.Time {
	if !w.Unanswered.IsZero() {
		return w.Unanswered
	}
	return w.LastMessageAt
}

// Needs reports whether the conversation is on the person's queue: 未対応, or with
// parent's messages nobody has read.
func (w Waiting) Needs() bool { return w.State == Open || w.Unread > 0 }

// Waiting lists a school's conversations that are not done and wait for the staff (未対応,
// unread, or the parent's message unanswered), oldest first: those the actor's duties
// give them, or every one for the school's and the board's administrators. It carries
// no names or text, so it is not audited; opening the inbox is.
func (s *Service) Waiting(ctx context.Context, schoolID int64) ([]Waiting, error) {
	a := authz.ActorFrom(ctx)
	if err := authz.SignedIn(a); err != nil {
		return nil, err
	}
	f, ok := dutyFilter(a)
	if a.SchoolID == 0 || a.SchoolID != schoolID {
		// A board administrator asks about a school of the board; school staff only
		// about their own.
		f, ok = Filter{All: true}, a.SchoolID == 0
	}
	f.SchoolID = schoolID
	var out []Waiting
	err := s.Tx.InTx(ctx, func(ctx context.Context) error {
		boardID, err := s.Store.FindSchoolBoard(ctx, schoolID)
		if err != nil {
			return err
		}
		t := authz.Target{BoardID: boardID, SchoolID: schoolID}
		if err := authz.Check(a, authz.ViewSchool, t); err != nil || !ok {
			return apperr.E(apperr.NotFound, "error.not_found.title", errors.New("conversations of another school"))
		}
		all, err := s.Store.FindWaiting(ctx, f)
		for _, w := range all {
			c := Conversation{BoardID: w.BoardID, SchoolID: w.SchoolID, Target: w.Target, ClassID: w.ClassID, ClubID: w.ClubID, Year: w.Year}
			act, t := target(c)
			if authz.Check(a, act, t) == nil || authz.Check(a, authz.ViewSchoolData, t) == nil {
				out = append(out, w)
			}
		}
		return err
	})
	return out, err
}

// dutyFilter is the filter of the conversations the actor's duties give them in their
// school (all of them for those who may see the school's data); false for a person of no
// school.
func dutyFilter(a *authz.Actor) (Filter, bool) {
	if a.SchoolID == 0 {
		return Filter{}, false
	}
	f := Filter{SchoolID: a.SchoolID}
	if authz.Check(a, authz.ViewSchoolData, authz.Target{BoardID: a.BoardID, SchoolID: a.SchoolID}) == nil {
		f.All = true
		return f, true
	}
	for _, x := range a.Assignments {
		switch x.Duty {
		case authz.Homeroom, authz.SubHomeroom:
			f.ClassIDs = append(f.ClassIDs, x.ClassID)
		case authz.Advisor:
			f.ClubIDs = append(f.ClubIDs, x.ClubID)
		case authz.Office:
			f.Office = true
		}
	}
	return f, true
}
