package registration

import "context"

// FindGuardianByFriend returns the guardian a LINE friend registered as, with their
// children: what other features need to serve a parent who wrote or tapped. It runs in
// the caller's transaction when there is one, or in its own.
func (s *Service) FindGuardianByFriend(ctx context.Context, friendID int64) (g Guardian, err error) {
	err = s.Tx.Run(ctx, func(ctx context.Context) error {
		g, err = s.Store.FindGuardianByFriend(ctx, friendID)
		return err
	})
	return g, err
}
