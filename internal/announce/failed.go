package announce

import (
	"context"
	"errors"
	"time"

	"github.com/renraku/renraku/internal/apperr"
	"github.com/renraku/renraku/internal/authz"
)

// FailedWindow is how far back the work queue looks for announcements with failed
// deliveries: a failure older than a month is history, not work.
const FailedWindow = 30 * 24 * time.Hour

// FailedDelivery is an announcement some of whose deliveries failed, as the work queue
// shows it: no title or text, only its kind, audience, time and count.
type FailedDelivery struct {
	ID            int64
	SchoolID      int64
	Kind          string
	AudienceLabel string
	StartedAt     time.Time
	Failed        int
}

// FailedDeliveries lists a school's announcements of the last FailedWindow with failed
// deliveries that the actor is to see to: a teacher's own, every one of the school for
// its administrators and the board's (0: the actor's school). Counts, not audited.
func (s *Service) FailedDeliveries(ctx context.Context, schoolID int64) ([]FailedDelivery, error) {
	a := authz.ActorFrom(ctx)
	if err := authz.SignedIn(a); err != nil {
		return nil, err
	}
	if schoolID == 0 {
		schoolID = a.SchoolID
	}
	if schoolID == 0 || (a.SchoolID != 0 && a.SchoolID != schoolID) {
		return nil, apperr.E(apperr.NotFound, "error.not_found.title", errors.New("announcements of another school"))
	}
	var out []FailedDelivery
	err := s.Tx.InTx(ctx, func(ctx context.Context) error {
		boardID, year, err := s.Scopes.FindSchoolScope(ctx, schoolID)
		if err != nil {
			return err
		}
		t := authz.Target{BoardID: boardID, SchoolID: schoolID, Year: year}
		if err := authz.Check(a, authz.ViewSchool, t); err != nil {
			return apperr.E(apperr.NotFound, "error.not_found.title", err)
		}
		var by int64
		if authz.Check(a, authz.ViewSchoolData, t) != nil {
			by = a.StaffID // a teacher: their own announcements
		}
		all, err := s.Store.FindFailed(ctx, schoolID, by, s.now().Add(-FailedWindow))
		if err != nil {
			return err
		}
		for _, an := range all {
			if _, err := s.authorize(ctx, a, an.Audience, an.Kind, true); err != nil {
				continue
			}
			out = append(out, FailedDelivery{ID: an.ID, SchoolID: an.SchoolID, Kind: an.Kind, AudienceLabel: an.AudienceLabel,
				StartedAt: an.StartedAt, Failed: an.Counts.Failed})
		}
		return nil
	})
	return out, err
}
