package registration

import (
	"context"
	"strconv"

	"github.com/renraku/renraku/internal/apperr"
	"github.com/renraku/renraku/internal/audit"
	"github.com/renraku/renraku/internal/authz"
	"github.com/renraku/renraku/internal/line"
)

// Reasons a child leaves a school, as deletion records name them.
const (
	LeaveTransfer   = "transfer"   // 転出
	LeaveGraduation = "graduation" // 卒業
)

// LeaveCounts are what children's leaving removed.
type LeaveCounts struct {
	Children       int
	Guardianships  int
	Guardians      int // guardians left without a child here: their registration ended
	AbsenceReports int
	Conversations  int
	LINECopies     int
	// ClassID is the class the (last) child was in.
	ClassID int64
}

// TransferOut records that a child moved to another school (転出). Their registration
// ends: a guardian left with no child registers no more (their LINE menu returns to the
// guest one, and they are told). Under the board's policy (default, seed 004) the
// child's data goes too — the child, their absence reports and conversations. Deletion
// records keep what, how many and why, under the school; no personal data. The
// school's administrators mark it.
func (s *Service) TransferOut(ctx context.Context, childID int64) (LeaveCounts, error) {
	var n LeaveCounts
	err := s.Tx.InTx(ctx, func(ctx context.Context) error {
		a := authz.ActorFrom(ctx)
		if err := authz.SignedIn(a); err != nil {
			return err
		}
		sc, err := s.Store.FindChildScope(ctx, childID)
		if err != nil {
			return err
		}
		t := authz.Target{BoardID: sc.BoardID, SchoolID: sc.SchoolID}
		if err := authz.Check(a, authz.ManageStructure, t); err != nil {
			if authz.Check(a, authz.ViewSchool, t) != nil {
				return apperr.E(apperr.NotFound, "error.not_found.title", err)
			}
			return err
		}
		if n, err = s.LeaveTx(ctx, sc, []int64{childID}, LeaveTransfer); err != nil {
			return err
		}
		return s.Audit.Record(ctx, audit.Event{Actor: staffActor(a), Action: "child.transfer_out", ObjectKind: "child",
			ObjectID: strconv.FormatInt(childID, 10), BoardID: sc.BoardID, SchoolID: sc.SchoolID,
			Detail: map[string]any{"guardians_ended": n.Guardians, "absence_reports": n.AbsenceReports, "conversations": n.Conversations}})
	})
	return n, err
}

// LeaveTx ends the registrations of children of one school who leave it (reason
// LeaveTransfer or LeaveGraduation) inside tx, deleting their data when the board's
// policy says so, and writes the deletion records. The caller authorises and audits.
func (s *Service) LeaveTx(ctx context.Context, sc ChildScope, childIDs []int64, reason string) (LeaveCounts, error) {
	var n LeaveCounts
	del, err := s.Store.DeleteOnLeave(ctx, sc.BoardID)
	if err != nil {
		return n, err
	}
	for _, id := range childIDs {
		left, err := s.Store.DeleteChild(ctx, id, !del)
		if err != nil {
			return n, err
		}
		n.Children++
		n.ClassID = left.ClassID
		n.Guardianships += len(left.Guardians)
		n.AbsenceReports += left.AbsenceReports
		n.Conversations += left.Conversations
		for _, g := range left.Guardians {
			if g.Remaining > 0 {
				continue
			}
			convs, err := s.Store.CountConversations(ctx, g.GuardianID)
			if err != nil {
				return n, err
			}
			copies, err := s.endGuardian(ctx, g, "reg.line.leave_"+reason)
			if err != nil {
				return n, err
			}
			n.Guardians++
			n.LINECopies += copies
			// The parent's other conversations (with the office) go with them.
			n.Conversations += convs
		}
	}
	records := []Deletion{{Category: "guardianship", Count: n.Guardianships}, {Category: "guardian", Count: n.Guardians},
		{Category: "line_copy", Count: n.LINECopies}, {Category: "conversation", Count: n.Conversations}}
	if del {
		records = append(records, Deletion{Category: "child", Count: n.Children}, Deletion{Category: "absence_report", Count: n.AbsenceReports})
	}
	for _, d := range records {
		if d.Count == 0 {
			continue
		}
		d.BoardID, d.SchoolID, d.Reason = sc.BoardID, sc.SchoolID, reason
		if !del {
			d.Policy = "delete_on_leave=off"
		}
		if err := s.Store.RecordDeletion(ctx, d); err != nil {
			return n, err
		}
	}
	return n, nil
}

// endGuardian deletes a guardian left with no child and ends their friend's
// registration (see EndFriendsTx). It returns how many copies were wiped.
func (s *Service) endGuardian(ctx context.Context, g LeftGuardian, textID string) (int, error) {
	if err := s.Store.DeleteGuardian(ctx, g.GuardianID); err != nil {
		return 0, err
	}
	return s.EndFriendsTx(ctx, []int64{g.FriendID}, textID)
}

// EndFriendsTx finishes the end of LINE friends' registrations whose guardian rows are
// gone: it wipes the copies of what was sent to them, tells them (textID) and gives
// them the guest menu. It returns how many copies were wiped.
func (s *Service) EndFriendsTx(ctx context.Context, friendIDs []int64, textID string) (int, error) {
	copies := 0
	for _, id := range friendIDs {
		f, err := s.Friends.FindFriend(ctx, id)
		if err != nil {
			return copies, err
		}
		n, err := s.Outbox.WipeOutbound(ctx, f.ID)
		if err != nil {
			return copies, err
		}
		copies += n
		if f.Following {
			if _, err := s.Outbox.Queue(ctx, line.Send{Friend: f, Purpose: "registration",
				Messages: []line.Message{{Text: s.T(f.Language, textID, nil)}}}); err != nil {
				return copies, err
			}
		}
		if _, err := s.Jobs.Insert(ctx, line.LinkRichMenuArgs{FriendID: f.ID, Menu: line.MenuGuest}, nil); err != nil {
			return copies, err
		}
	}
	return copies, nil
}
