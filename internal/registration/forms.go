package registration

import (
	"context"
	"errors"

	"github.com/renraku/renraku/internal/apperr"
	"github.com/renraku/renraku/internal/parentlink"
)

// SubmitForm is the registration form sent: the page as Open has it (viewed and
// audited whatever becomes of the submission, and returned also on failure for the
// form to be shown again), then Submit. A form with no language of its own keeps the
// one the parent's LINE uses.
func (s *Service) SubmitForm(ctx context.Context, purpose, token, browser string, f Form) (Page, Result, error) {
	p, err := s.Open(ctx, purpose, token, browser)
	if err != nil {
		return p, Result{}, err
	}
	res, err := s.Submit(ctx, purpose, token, browser, f)
	return p, res, err
}

// WithdrawForm is the withdrawal sent from the update page: the page as Open has it
// (returned also on failure, for the page to be shown again), then Withdraw when the
// parent ticked the confirmation, which a withdrawal needs.
func (s *Service) WithdrawForm(ctx context.Context, token, browser string, confirmed bool) (Page, error) {
	p, err := s.Open(ctx, parentlink.PurposeUpdate, token, browser)
	if err != nil {
		return p, err
	}
	if !confirmed {
		return p, apperr.E(apperr.Invalid, "reg.withdraw.unconfirmed", errors.New("withdrawal not confirmed"))
	}
	return p, s.Withdraw(ctx, token, browser)
}
