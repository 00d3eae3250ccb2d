package line

import (
	"context"
	"errors"
	"strconv"
	"strings"

	"github.com/renraku/renraku/internal/apperr"
	"github.com/renraku/renraku/internal/audit"
	"github.com/renraku/renraku/internal/lineapi"
	"github.com/renraku/renraku/internal/vault"
)

// SetChannel stores a school's channel (creating or updating it by LINE's channel ID)
// and makes the school use it. Running it again with the same values changes nothing
// and records nothing; a change is audited.
func (s *Service) SetChannel(ctx context.Context, actor audit.Actor, schoolID, boardID int64, ch Channel) (changed bool, err error) {
	ch.Secret = vault.Personal(strings.TrimSpace(ch.Secret.Reveal()))
	ch.AccessToken = vault.Personal(strings.TrimSpace(ch.AccessToken.Reveal()))
	switch {
	case !lineapi.ValidChannelID(ch.LineChannelID):
		return false, apperr.E(apperr.Invalid, "line.channel_id.invalid", errors.New("channel ID must be 6–20 digits"))
	case len(ch.Secret.Reveal()) < 16 || strings.ContainsAny(ch.Secret.Reveal(), " \n\t"):
		return false, apperr.E(apperr.Invalid, "line.secret.invalid", errors.New("channel secret looks wrong (expected 32 hex characters)"))
	case len(ch.AccessToken.Reveal()) < 16 || strings.ContainsAny(ch.AccessToken.Reveal(), " \n\t"):
		return false, apperr.E(apperr.Invalid, "line.token.invalid", errors.New("channel access token looks wrong"))
	case ch.LoginChannelID != "" && !lineapi.ValidChannelID(ch.LoginChannelID):
		return false, apperr.E(apperr.Invalid, "line.channel_id.invalid", errors.New("LINE Login channel ID must be 6–20 digits"))
	}
	ch.BoardID = boardID
	err = s.Tx.InTx(ctx, func(ctx context.Context) error {
		existing, err := s.Store.FindChannelByLineID(ctx, ch.LineChannelID)
		if err == nil && existing.BoardID != boardID {
			return apperr.E(apperr.Conflict, "line.channel.other_board", errors.New("channel belongs to another board"))
		}
		saved, err := s.Store.SaveChannel(ctx, &ch)
		if err != nil {
			return err
		}
		assigned, err := s.Store.AssignSchoolChannel(ctx, schoolID, ch.ID)
		if err != nil {
			return err
		}
		changed = saved || assigned
		if !changed {
			return nil
		}
		return s.Audit.Record(ctx, audit.Event{Actor: actor, Action: "line.channel.set", ObjectKind: "line_channel",
			ObjectID: strconv.FormatInt(ch.ID, 10), BoardID: boardID, SchoolID: schoolID,
			Detail: map[string]any{"credentials_changed": saved, "school_assigned": assigned}})
	})
	if err == nil && changed {
		s.forgetChannel(ch.LineChannelID)
		s.channels.drop(ch.ID) // at once here; the other instances are told (ChannelChanged)
	}
	return changed, err
}
