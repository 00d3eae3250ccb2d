package staff

import (
	"context"

	"github.com/renraku/renraku/internal/txn"
)

// The methods below read and write accounts for an import or export of a school's
// roster (internal/roster), which has authorised the whole file and records one audit
// event for it: they check nothing themselves and run in the caller's transaction
// when there is one.

// FindAccountByLogin returns the account with a login ID.
func (s *Service) FindAccountByLogin(ctx context.Context, login string) (Staff, error) {
	return txn.Get(ctx, s.Tx, func(ctx context.Context) (Staff, error) {
		st, _, err := s.Store.FindStaffByLogin(ctx, login)
		return st, err
	})
}

// FindAccounts lists the accounts a filter selects.
func (s *Service) FindAccounts(ctx context.Context, f Filter) ([]Staff, error) {
	return txn.Get(ctx, s.Tx, func(ctx context.Context) ([]Staff, error) { return s.Store.FindStaffs(ctx, f) })
}

// FindDuties lists an account's duties, every year.
func (s *Service) FindDuties(ctx context.Context, staffID int64) ([]Assignment, error) {
	return txn.Get(ctx, s.Tx, func(ctx context.Context) ([]Assignment, error) { return s.Store.FindAssignments(ctx, staffID) })
}

// ImportDuty adds a duty.
func (s *Service) ImportDuty(ctx context.Context, a *Assignment) error {
	return s.Tx.InTx(ctx, func(ctx context.Context) error { return s.Store.CreateAssignment(ctx, a) })
}
