package line

import (
	"context"

	"github.com/renraku/renraku/internal/vault"
)

// The lookups below are what other features need of LINE's records. Each runs in the
// caller's transaction when there is one, or in its own.

// FindChannelByLineID returns a channel by LINE's channel ID.
func (s *Service) FindChannelByLineID(ctx context.Context, lineChannelID string) (ch Channel, err error) {
	err = s.Tx.Run(ctx, func(ctx context.Context) error {
		ch, err = s.Store.FindChannelByLineID(ctx, lineChannelID)
		return err
	})
	return ch, err
}

// FindSchoolChannel returns the channel a school's parents use.
func (s *Service) FindSchoolChannel(ctx context.Context, schoolID int64) (ch Channel, err error) {
	err = s.Tx.Run(ctx, func(ctx context.Context) error {
		ch, err = s.Store.FindSchoolChannel(ctx, schoolID)
		return err
	})
	return ch, err
}

// FindFriend returns a LINE friend by renraku's ID.
func (s *Service) FindFriend(ctx context.Context, id int64) (f Friend, err error) {
	err = s.Tx.Run(ctx, func(ctx context.Context) error {
		f, err = s.Store.FindFriend(ctx, id)
		return err
	})
	return f, err
}

// FindFriendByUserID returns a channel's friend by their LINE user ID.
func (s *Service) FindFriendByUserID(ctx context.Context, channelID int64, userID vault.Personal) (f Friend, err error) {
	err = s.Tx.Run(ctx, func(ctx context.Context) error {
		f, err = s.Store.FindFriendByUserID(ctx, channelID, userID)
		return err
	})
	return f, err
}

// WipeOutbound removes the copies of the messages sent to a friend (their registration
// ended) and reports how many there were.
func (s *Service) WipeOutbound(ctx context.Context, friendID int64) (n int, err error) {
	err = s.Tx.Run(ctx, func(ctx context.Context) error {
		n, err = s.Store.WipeOutbound(ctx, friendID)
		return err
	})
	return n, err
}
