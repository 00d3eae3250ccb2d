package registration

import (
	"context"
	"errors"
	"strconv"

	"github.com/renraku/renraku/internal/apperr"
	"github.com/renraku/renraku/internal/audit"
	"github.com/renraku/renraku/internal/authz"
)

// ErrNameClash refuses a move into a class that already has a child of the same name
// (a second registration of one child is found by name within a class).
var ErrNameClash = apperr.E(apperr.Conflict, "class.move.name_clash", errors.New("another child of the same name in the class"))

var errMoveTarget = apperr.Fields{"class": "class.move.invalid"}.Err()

// MoveToClass puts a child in another class of this school year: a correction, or a
// child the year rollover could not place. Their guardians' verification and the clubs
// of that year stay. The school's administrators do it; it is audited.
func (s *Service) MoveToClass(ctx context.Context, childID, classID int64) (ChildScope, error) {
	var sc ChildScope
	err := s.Tx.InTx(ctx, func(ctx context.Context) error {
		a := authz.ActorFrom(ctx)
		if err := authz.SignedIn(a); err != nil {
			return err
		}
		var err error
		if sc, err = s.Store.FindChildScope(ctx, childID); err != nil {
			return err
		}
		t := authz.Target{BoardID: sc.BoardID, SchoolID: sc.SchoolID}
		if err := authz.Check(a, authz.ManageStructure, t); err != nil {
			if authz.Check(a, authz.ViewSchool, t) != nil {
				return apperr.E(apperr.NotFound, "error.not_found.title", err)
			}
			return err
		}
		ok, err := s.Store.CurrentClass(ctx, sc.SchoolID, classID)
		if err != nil {
			return err
		}
		if !ok || classID == sc.ClassID {
			return errMoveTarget
		}
		clubs, err := s.Store.ChildClubs(ctx, childID)
		if err != nil {
			return err
		}
		if err := s.Store.MoveChild(ctx, childID, classID, clubs); err != nil {
			return err
		}
		from := sc.ClassID
		sc.ClassID = classID
		return s.Audit.Record(ctx, audit.Event{Actor: staffActor(a), Action: "child.move", ObjectKind: "child",
			ObjectID: strconv.FormatInt(childID, 10), BoardID: sc.BoardID, SchoolID: sc.SchoolID,
			Detail: map[string]any{"from_class": from, "to_class": classID}})
	})
	return sc, err
}
