package registration

import (
	"context"
	"strconv"

	"github.com/renraku/renraku/internal/apperr"
	"github.com/renraku/renraku/internal/audit"
	"github.com/renraku/renraku/internal/line"
	"github.com/renraku/renraku/internal/lineapi"
	"github.com/renraku/renraku/internal/live"
)

// PostbackDispute is the postback of 「心当たりがない」 under the notice a child's
// verified guardians get when someone else registers as the child's guardian. Its data
// carries the guardianship's ID only: no name, no LINE identity.
const PostbackDispute = "reg.dispute"

// tellGuardians tells each verified guardian of a child, in LINE and in their
// language, that someone else registered as the child's guardian, with a button to
// tell the school it was not them. The notice names the child and the relationship the
// registrant gave (父, 母, …) so a family can recognise its own member; it never
// carries the registrant's name, nickname or LINE identity, which are another
// person's data.
func (s *Service) tellGuardians(ctx context.Context, to []OtherGuardian, guardianshipID int64, relationship string) error {
	req, err := s.Store.FindGuardianship(ctx, guardianshipID)
	if err != nil {
		return err
	}
	for _, o := range to {
		f, err := s.Friends.FindFriend(ctx, o.FriendID)
		if err != nil {
			return err
		}
		if !f.Following {
			continue // a guardian who blocked the account gets nothing (SPEC C1)
		}
		lang := o.Language
		data := map[string]any{"Child": req.ChildName.Reveal(), "Class": req.ClassLabel, "Relationship": s.T(lang, "reg.relationship."+relationship, nil)}
		text := s.T(lang, "reg.line.other_registered", data)
		ask := s.T(lang, "reg.line.other_registered_ask", nil)
		button := s.T(lang, "reg.line.button_dispute", nil)
		if _, err := s.Outbox.Queue(ctx, line.Send{Friend: f, Purpose: "registration", Messages: []line.Message{
			{Text: lineapi.TrimUTF16(text, lineapi.MaxTextLength)},
			{Text: lineapi.TrimUTF16(ask, lineapi.MaxButtonsTextLength), AltText: ask, Buttons: []line.Action{{Kind: "postback", Label: button,
				Data: line.PostbackData(PostbackDispute, strconv.FormatInt(guardianshipID, 10)), DisplayText: button}}},
		}}); err != nil {
			return err
		}
	}
	return nil
}

// onDispute handles 「心当たりがない」: a verified guardian of the child says a later
// registration for the child was not them. The registration stays (or goes back to)
// pending — an approval by the teacher is suspended too, because the guardian's word
// is new information the teacher did not have — and the approvals page warns the
// homeroom teacher and the administrators, who decide after asking the families. It
// is not rejected outright: the other registrant may be a parent the first one does
// not want to know about, and only the school can tell.
func (s *Service) onDispute(ctx context.Context, in *line.Incoming) error {
	if in.Friend == nil {
		return nil
	}
	var args string
	if in.Postback != nil {
		_, args, _ = line.ParsePostbackData(in.Postback.Data)
	}
	id, perr := strconv.ParseInt(args, 10, 64)
	g, err := s.Store.FindGuardianByFriend(ctx, in.Friend.ID)
	if apperr.KindOf(err) == apperr.NotFound {
		return s.SendRegisterLink(ctx, in)
	}
	if err != nil {
		return err
	}
	say := func(id string, data map[string]any) error {
		return s.reply(ctx, in, line.Message{Text: s.T(g.Language, id, data)})
	}
	if perr != nil {
		return say("reg.line.dispute_unknown", nil)
	}
	r, err := s.Store.FindGuardianship(ctx, id)
	if apperr.KindOf(err) == apperr.NotFound {
		return say("reg.line.dispute_unknown", nil) // withdrawn or removed meanwhile
	}
	if err != nil {
		return err
	}
	// Only a guardian who was verified for the child before this registration was
	// made (the ones who got the notice) may dispute it: a later guardian cannot
	// suspend an earlier one with a forged postback.
	allowed := false
	for _, c := range g.Children {
		allowed = allowed || (c.ID == r.ChildID && c.Status == Verified && c.GuardianshipID < r.GuardianshipID)
	}
	if !allowed || r.GuardianID == g.ID {
		return say("reg.line.dispute_unknown", nil)
	}
	prev, err := s.Store.DisputeGuardianship(ctx, r.GuardianshipID, g.ID)
	if err != nil {
		return err
	}
	if prev == Verified {
		if err := s.Live.Publish(ctx, live.Event{Kind: live.Registration, Board: r.BoardID, School: r.SchoolID, Year: r.Year,
			Class: r.ClassID}); err != nil {
			return err
		}
		// The registrant learns that the school checks again, not who asked or why.
		f, err := s.Friends.FindFriend(ctx, r.FriendID)
		if err != nil {
			return err
		}
		other, err := s.Store.FindGuardianByFriend(ctx, r.FriendID)
		if err != nil {
			return err
		}
		if f.Following {
			msg := s.T(other.Language, "reg.line.under_review", map[string]any{"Child": r.ChildName.Reveal(), "Class": r.ClassLabel})
			if _, err := s.Outbox.Queue(ctx, line.Send{Friend: f, Purpose: "registration", Messages: []line.Message{{Text: msg}}}); err != nil {
				return err
			}
		}
	}
	answer, data := "reg.line.disputed", map[string]any{"Child": r.ChildName.Reveal()}
	if prev == Rejected {
		answer, data = "reg.line.dispute_rejected", nil
	}
	if err := say(answer, data); err != nil {
		return err
	}
	// Audited last, in the transaction of the work it records.
	return s.Audit.Record(ctx, audit.Event{Actor: audit.Actor{Kind: audit.Guardian, ID: g.ID}, Action: "registration.dispute",
		ObjectKind: "guardianship", ObjectID: strconv.FormatInt(r.GuardianshipID, 10), BoardID: r.BoardID, SchoolID: r.SchoolID,
		Detail: map[string]any{"previous": prev}})
}
