package survey

import (
	"context"
	"errors"

	"github.com/renraku/renraku/internal/apperr"
)

// Handout returns a handout of a survey the actor may see, for the staff's preview and
// results pages (a handout is what every recipient received: no personal data of
// anyone, so opening it is not audited, as an announcement's).
func (s *Service) Handout(ctx context.Context, id, handoutID int64) (Handout, []byte, error) {
	var h Handout
	var data []byte
	err := s.Tx.InTx(ctx, func(ctx context.Context) error {
		_, sv, err := s.visible(ctx, id)
		if err != nil {
			return err
		}
		for _, x := range sv.Handouts {
			if x.ID == handoutID {
				h = x
				data, err = s.Files.Get(ctx, x.Key)
				return err
			}
		}
		return apperr.E(apperr.NotFound, "error.not_found.title", errors.New("not a handout of the survey"))
	})
	return h, data, err
}
