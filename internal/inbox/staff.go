package inbox

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/renraku/renraku/internal/apperr"
	"github.com/renraku/renraku/internal/audit"
	"github.com/renraku/renraku/internal/authz"
	"github.com/renraku/renraku/internal/live"
	"github.com/renraku/renraku/internal/vault"
)

// Canned lists the actor's 定型文: the school's and their own.
func (s *Service) Canned(ctx context.Context) ([]Canned, error) {
	a := authz.ActorFrom(ctx)
	if err := authz.SignedIn(a); err != nil {
		return nil, err
	}
	if a.SchoolID == 0 {
		return nil, nil
	}
	var out []Canned
	err := s.Tx.InTx(ctx, func(ctx context.Context) error {
		var err error
		out, err = s.Store.FindCanned(ctx, a.SchoolID, a.StaffID)
		return err
	})
	return out, err
}

// CannedPage is the 定型文 page: the actor's list, and whether they may also save
// replies for the whole school (administrators).
type CannedPage struct {
	Items     []Canned
	CanSchool bool
}

// OpenCanned returns the 定型文 page.
func (s *Service) OpenCanned(ctx context.Context) (CannedPage, error) {
	items, err := s.Canned(ctx)
	if err != nil {
		return CannedPage{}, err
	}
	return CannedPage{Items: items, CanSchool: authz.ActorFrom(ctx).IsAdmin()}, nil
}

// AddCanned saves a 定型文: the actor's own, or (administrators) the school's.
func (s *Service) AddCanned(ctx context.Context, title, body string, school bool) error {
	a := authz.ActorFrom(ctx)
	if err := authz.SignedIn(a); err != nil {
		return err
	}
	if a.SchoolID == 0 {
		return apperr.E(apperr.Forbidden, "authz.forbidden", errors.New("canned replies belong to a school"))
	}
	title, body = strings.TrimSpace(title), strings.TrimSpace(body)
	c := Canned{SchoolID: a.SchoolID, StaffID: a.StaffID, Title: vault.Personal(title), Body: vault.Personal(body)}
	if school {
		if err := authz.Check(a, authz.ManageSchool, authz.Target{BoardID: a.BoardID, SchoolID: a.SchoolID}); err != nil {
			return err
		}
		c.StaffID = 0
	}
	f := apperr.Fields{}
	if n := utf8.RuneCountInString(title); n < 1 || n > 40 {
		f.Add("title", "inbox.canned.title_invalid")
	}
	if n := utf8.RuneCountInString(body); n < 1 || n > 1000 {
		f.Add("body", "inbox.canned.body_invalid")
	}
	if err := f.Err(); err != nil {
		return err
	}
	return s.Tx.InTx(ctx, func(ctx context.Context) error {
		if err := s.Store.CreateCanned(ctx, &c); err != nil {
			return err
		}
		return s.Audit.Record(ctx, audit.Event{Actor: audit.Actor{Kind: audit.Staff, ID: a.StaffID}, Action: "canned.create",
			ObjectKind: "canned_reply", ObjectID: strconv.FormatInt(c.ID, 10), BoardID: a.BoardID, SchoolID: a.SchoolID})
	})
}

// DeleteCanned removes one of the actor's 定型文 (a school's: administrators).
func (s *Service) DeleteCanned(ctx context.Context, id int64) error {
	a := authz.ActorFrom(ctx)
	if err := authz.SignedIn(a); err != nil {
		return err
	}
	return s.Tx.InTx(ctx, func(ctx context.Context) error {
		c, err := s.Store.FindCannedByID(ctx, id)
		if err != nil || c.SchoolID != a.SchoolID {
			return apperr.E(apperr.NotFound, "error.not_found.title", err)
		}
		if c.StaffID != a.StaffID {
			if c.StaffID != 0 {
				return apperr.E(apperr.NotFound, "error.not_found.title", errors.New("another person's template"))
			}
			if err := authz.Check(a, authz.ManageSchool, authz.Target{BoardID: a.BoardID, SchoolID: a.SchoolID}); err != nil {
				return err
			}
		}
		if err := s.Store.DeleteCanned(ctx, c.ID); err != nil {
			return err
		}
		return s.Audit.Record(ctx, audit.Event{Actor: audit.Actor{Kind: audit.Staff, ID: a.StaffID}, Action: "canned.delete",
			ObjectKind: "canned_reply", ObjectID: strconv.FormatInt(c.ID, 10), BoardID: a.BoardID, SchoolID: a.SchoolID})
	})
}

// Note adds a private staff note to a conversation (never sent to the parent).
func (s *Service) Note(ctx context.Context, id int64, text string) error {
	text = strings.TrimSpace(text)
	return s.Tx.InTx(ctx, func(ctx context.Context) error {
		a, c, err := s.conversation(ctx, id)
		if err != nil {
			return err
		}
		if n := utf8.RuneCountInString(text); n < 1 || n > 2000 {
			return apperr.Fields{"note": "inbox.note.invalid"}.Err()
		}
		m := Message{Direction: "note", Body: vault.Personal(text), StaffID: a.StaffID}
		if err := s.Store.AddMessage(ctx, c.ID, &m, 0); err != nil {
			return err
		}
		return s.Audit.Record(ctx, audit.Event{Actor: audit.Actor{Kind: audit.Staff, ID: a.StaffID}, Action: "conversation.note",
			ObjectKind: "conversation", ObjectID: strconv.FormatInt(c.ID, 10), BoardID: c.BoardID, SchoolID: c.SchoolID})
	})
}

// ThreadView is a conversation's page: the conversation and a page of its messages
// (Thread), the actor's 定型文 and whom the conversation can be handed to.
type ThreadView struct {
	Conversation Conversation
	Messages     []Message
	// More tells whether older messages remain.
	More       bool
	Canned     []Canned
	Candidates []Candidate
}

// OpenThread returns a conversation's page (messages before the message before, or
// the newest); opening it marks read what it shows and is audited (Thread).
func (s *Service) OpenThread(ctx context.Context, id, before int64) (ThreadView, error) {
	var p ThreadView
	var err error
	if p.Conversation, p.Messages, p.More, err = s.Thread(ctx, id, before); err != nil {
		return ThreadView{}, err
	}
	if p.Canned, err = s.Canned(ctx); err != nil {
		return ThreadView{}, err
	}
	if p.Candidates, err = s.Candidates(ctx, p.Conversation.ID); err != nil {
		return ThreadView{}, err
	}
	return p, nil
}

// Candidates lists whom a conversation can be handed to: never the person handing it
// over.
func (s *Service) Candidates(ctx context.Context, id int64) ([]Candidate, error) {
	var out []Candidate
	err := s.Tx.InTx(ctx, func(ctx context.Context) error {
		a, c, err := s.conversation(ctx, id)
		if err != nil {
			return err
		}
		out, err = s.candidates(ctx, a, c)
		return err
	})
	return out, err
}

// candidates are the staff whose duty covers c, or the school's administrators, but
// not the actor.
func (s *Service) candidates(ctx context.Context, a *authz.Actor, c Conversation) ([]Candidate, error) {
	cs, err := s.Store.FindCandidates(ctx, c)
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(cs, func(x Candidate) bool { return x.ID == a.StaffID }), nil
}

// HandOver makes another staff member — one whose duty covers the conversation, or an
// administrator of the school — the one handling it.
func (s *Service) HandOver(ctx context.Context, id, staffID int64) error {
	return s.Tx.InTx(ctx, func(ctx context.Context) error {
		a, c, err := s.conversation(ctx, id)
		if err != nil {
			return err
		}
		cs, err := s.candidates(ctx, a, c)
		if err != nil {
			return err
		}
		if !slices.ContainsFunc(cs, func(x Candidate) bool { return x.ID == staffID }) {
			return apperr.Fields{"assignee": "inbox.handover.invalid"}.Err()
		}
		if err := s.Store.SetAssignee(ctx, c.ID, staffID); err != nil {
			return err
		}
		e := liveEvent(live.ConversationState, c, a.StaffID)
		e.Change = live.ChangeHandOver
		if err := s.Live.Publish(ctx, e); err != nil {
			return err
		}
		return s.Audit.Record(ctx, audit.Event{Actor: audit.Actor{Kind: audit.Staff, ID: a.StaffID}, Action: "conversation.handover",
			ObjectKind: "conversation", ObjectID: strconv.FormatInt(c.ID, 10), BoardID: c.BoardID, SchoolID: c.SchoolID,
			Detail: map[string]any{"to_staff": staffID}})
	})
}

// Matches reports whether a conversation matches a search of the actor's own list
// (nickname, child's name or class; bodies are not searched).
func Matches(c Conversation, q string) bool {
	q = strings.TrimSpace(q)
	if q == "" {
		return true
	}
	for _, s := range []string{c.Nickname.Reveal(), c.ChildName.Reveal(), c.ClassLabel, c.Label} {
		if strings.Contains(normalise(s), normalise(q)) {
			return true
		}
	}
	return false
}

// Retry sends a reply that failed again (same LINE retry key: never twice).
func (s *Service) Retry(ctx context.Context, conversationID, messageID int64) error {
	return s.Tx.InTx(ctx, func(ctx context.Context) error {
		a, c, err := s.conversation(ctx, conversationID)
		if err != nil {
			return err
		}
		convID, outID, err := s.Store.FindMessageOutbound(ctx, messageID)
		if err != nil || convID != c.ID || outID == 0 {
			return apperr.E(apperr.NotFound, "error.not_found.title", err)
		}
		ok, err := s.Outbox.Requeue(ctx, outID)
		if err != nil {
			return err
		}
		if !ok {
			return apperr.E(apperr.Conflict, "inbox.retry.not_failed", errors.New("reply has not failed"))
		}
		return s.Audit.Record(ctx, audit.Event{Actor: audit.Actor{Kind: audit.Staff, ID: a.StaffID}, Action: "conversation.retry",
			ObjectKind: "message", ObjectID: strconv.FormatInt(messageID, 10), BoardID: c.BoardID, SchoolID: c.SchoolID})
	})
}
