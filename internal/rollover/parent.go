package rollover

import (
	"context"
	"errors"
	"slices"
	"strconv"

	"github.com/renraku/renraku/internal/apperr"
	"github.com/renraku/renraku/internal/audit"
	"github.com/renraku/renraku/internal/parentlink"
	"github.com/renraku/renraku/internal/registration"
	"github.com/renraku/renraku/internal/school"
	"github.com/renraku/renraku/internal/vault"
)

// ParentChild is one child on the parent's confirmation page.
type ParentChild struct {
	ChildID    int64
	BoardID    int64
	SchoolID   int64
	Name       vault.Personal
	School     string
	ClassLabel string
	Year       int
	// Graduating children leave at the switch: nothing to confirm.
	Graduating bool
	Classes    []school.Class
	Clubs      []school.Club
	// Chosen is the confirmed placement, or the default (grade + 1, same clubs).
	Chosen    Placement
	Confirmed bool
}

// ParentPage is what the parent's link shows.
type ParentPage struct {
	Visit    parentlink.Visit
	Language string
	Children []ParentChild
	// LIFFID is the channel's LIFF app: the page proves the parent's LINE user with it,
	// and a confirmation waits for that proof.
	LIFFID string
}

// parent opens the link and lists the guardian's verified children whose school is
// preparing its next year.
func (s *Service) parent(ctx context.Context, token, browser string) (ParentPage, registration.Guardian, error) {
	var p ParentPage
	v, err := s.Links.Open(ctx, parentlink.PurposeRollover, token, browser)
	if err != nil {
		return p, registration.Guardian{}, err
	}
	p.Visit = v
	g, err := s.Guardians.FindGuardianByFriend(ctx, v.FriendID)
	if err != nil {
		return p, g, err
	}
	f, err := s.Friends.FindFriend(ctx, v.FriendID)
	if err != nil {
		return p, g, err
	}
	ch, err := s.Friends.FindChannel(ctx, f.ChannelID)
	if err != nil {
		return p, g, err
	}
	p.LIFFID = ch.LIFFID
	p.Language = g.Language
	var ids []int64
	for _, c := range g.Children {
		ids = append(ids, c.ID)
	}
	confirmed, err := s.Store.FindNext(ctx, ids)
	if err != nil {
		return p, g, err
	}
	for _, c := range g.Children {
		if c.Status != registration.Verified {
			continue
		}
		sc, err := s.Schools.FindSchoolByID(ctx, c.SchoolID)
		if err != nil {
			return p, g, err
		}
		plan, ok, err := s.Store.FindPlan(ctx, sc.ID, sc.CurrentYear+1)
		if err != nil {
			return p, g, err
		}
		if !ok || plan.SwitchedAt != nil {
			continue
		}
		now, err := s.Schools.FindClassByID(ctx, c.ClassID)
		if err != nil {
			return p, g, err
		}
		pc := ParentChild{ChildID: c.ID, BoardID: sc.BoardID, SchoolID: sc.ID, Name: c.Name, School: sc.Name, ClassLabel: c.ClassLabel, Year: plan.Year,
			Graduating: slices.Contains(plan.Graduating, now.Grade)}
		if !pc.Graduating {
			all, err := s.Schools.FindClasses(ctx, sc.ID, plan.Year)
			if err != nil {
				return p, g, err
			}
			// A child moves up one grade: only that grade's classes are offered (staff
			// place exceptions).
			for _, k := range all {
				if k.Grade == now.Grade+1 {
					pc.Classes = append(pc.Classes, k)
				}
			}
			if pc.Clubs, err = s.Schools.FindClubs(ctx, sc.ID, plan.Year); err != nil {
				return p, g, err
			}
			nowClubs, err := s.Schools.FindClubs(ctx, sc.ID, sc.CurrentYear)
			if err != nil {
				return p, g, err
			}
			if x, ok := confirmed[c.ID]; ok {
				pc.Chosen, pc.Confirmed = x, true
			} else {
				pc.Chosen = Placement{ChildID: c.ID, ClubIDs: DefaultClubs(c.ClubIDs, nowClubs, pc.Clubs)}
				if to, ok := DefaultClass(now.Grade, now.Name, pc.Classes); ok {
					pc.Chosen.ClassID = to.ID
				}
			}
		}
		p.Children = append(p.Children, pc)
	}
	return p, g, nil
}

// ParentOpen shows the parent their children's next classes and clubs to confirm.
func (s *Service) ParentOpen(ctx context.Context, token, browser string) (ParentPage, error) {
	var p ParentPage
	err := s.Tx.InTx(ctx, func(ctx context.Context) error {
		var err error
		p, _, err = s.parent(ctx, token, browser)
		return err
	})
	return p, err
}

// ParentSubmit is the parent's confirmation sent: ParentConfirm, and when it fails (a
// wrong choice changes nothing) the page read again to show the form with the reason,
// returned with the error. If that page cannot be read either, a refused form's error
// gives way to the failure that stops the page; any other error is kept.
func (s *Service) ParentSubmit(ctx context.Context, token, browser string, choices []Placement) (ParentPage, error) {
	p, err := s.ParentConfirm(ctx, token, browser, choices)
	if err == nil {
		return p, nil
	}
	p, perr := s.ParentOpen(ctx, token, browser)
	if perr != nil {
		if k := apperr.KindOf(err); k == apperr.Invalid || k == apperr.Conflict {
			return ParentPage{}, perr
		}
		return ParentPage{}, err
	}
	return p, err
}

var errNothing = apperr.E(apperr.Conflict, "rollover.parent.nothing", errors.New("nothing to confirm"))

// ParentConfirm stores the parent's choices: for each child, a class of the next year
// of the child's school and any of its clubs. A wrong choice changes nothing.
func (s *Service) ParentConfirm(ctx context.Context, token, browser string, choices []Placement) (ParentPage, error) {
	var p ParentPage
	err := s.Tx.InTx(ctx, func(ctx context.Context) error {
		var g registration.Guardian
		var err error
		if p, g, err = s.parent(ctx, token, browser); err != nil {
			return err
		}
		friend, err := s.Friends.FindFriend(ctx, p.Visit.FriendID)
		if err != nil {
			return err
		}
		if err := s.Guardians.RequireLIFF(ctx, friend, p.Visit); err != nil {
			return err
		}
		// A switch running now must finish first (it locks the school for update);
		// then the children are read again: after it, there is nothing to confirm.
		locked := map[int64]bool{}
		for _, pc := range p.Children {
			if !locked[pc.SchoolID] {
				if err := s.Store.ShareSchool(ctx, pc.SchoolID); err != nil {
					return err
				}
				locked[pc.SchoolID] = true
			}
		}
		v := p.Visit
		if p, g, err = s.parent(ctx, token, v.Browser); err != nil {
			return err
		}
		p.Visit = v
		f := apperr.Fields{}
		var save []Placement
		var boardID, schoolID int64
		for _, pc := range p.Children {
			if pc.Graduating {
				continue
			}
			i := slices.IndexFunc(choices, func(x Placement) bool { return x.ChildID == pc.ChildID })
			if i < 0 {
				continue
			}
			ch := choices[i]
			key := strconv.FormatInt(pc.ChildID, 10)
			if !slices.ContainsFunc(pc.Classes, func(c school.Class) bool { return c.ID == ch.ClassID }) {
				f.Add("class_"+key, "rollover.class.invalid")
			}
			for _, id := range ch.ClubIDs {
				if !slices.ContainsFunc(pc.Clubs, func(c school.Club) bool { return c.ID == id }) {
					f.Add("clubs_"+key, "rollover.club.invalid")
				}
			}
			save = append(save, ch)
			boardID, schoolID = pc.BoardID, pc.SchoolID
		}
		if err := f.Err(); err != nil {
			return err
		}
		if len(save) == 0 {
			return errNothing
		}
		for _, x := range save {
			if err := s.Store.SaveNext(ctx, x, g.ID); err != nil {
				return err
			}
		}
		if p, _, err = s.parent(ctx, token, v.Browser); err != nil {
			return err
		}
		p.Visit = v
		// Audited last, in the transaction of the work it records.
		return s.Audit.Record(ctx, audit.Event{Actor: audit.Actor{Kind: audit.Guardian, ID: g.ID}, Action: "rollover.confirm",
			ObjectKind: "guardian", ObjectID: strconv.FormatInt(g.ID, 10), BoardID: boardID, SchoolID: schoolID, Detail: map[string]any{"children": len(save)}})
	})
	return p, err
}
