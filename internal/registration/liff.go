package registration

import (
	"context"
	"errors"

	"github.com/renraku/renraku/internal/apperr"
	"github.com/renraku/renraku/internal/line/menu"
	"github.com/renraku/renraku/internal/parentlink"
	"github.com/renraku/renraku/internal/vault"
)

// LIFF pages: on a channel with a LIFF app the rich menu opens a parent's pages in one
// tap (a URI action to the LIFF app, line.MenuSpecs) instead of a bot message with a
// link. The page proves the parent's LINE user with the LIFF ID token and is then given
// a link of its own, bound to that browser and marked as proved, exactly as a link sent
// in the chat and proved with LIFF would be.

// liffPurposes maps the rich menu's LIFF pages to link purposes.
var liffPurposes = map[string]string{
	menu.PageRegister: parentlink.PurposeRegister,
	menu.PageUpdate:   parentlink.PurposeUpdate,
	menu.PageAbsence:  parentlink.PurposeAbsence,
	menu.PageHandouts: parentlink.PurposeHandouts,
}

var errLIFFPage = apperr.E(apperr.NotFound, "error.not_found.title", errors.New("no such LIFF page"))

// LIFFApp returns the LIFF app of the channel (by its LINE channel ID) for one of the
// rich menu's pages; a channel without LIFF, or an unknown page, is not found.
func (s *Service) LIFFApp(ctx context.Context, lineChannelID, page string) (string, error) {
	if _, ok := liffPurposes[page]; !ok {
		return "", errLIFFPage
	}
	ch, err := s.Friends.FindChannelByLineID(ctx, lineChannelID)
	if apperr.KindOf(err) == apperr.NotFound || (err == nil && (ch.LIFFID == "" || ch.LoginChannelID == "")) {
		return "", errLIFFPage
	}
	return ch.LIFFID, err
}

// OpenWithLIFF checks a LIFF ID token from a rich menu page of the channel and returns a
// new link to the page for the LINE user it names, bound to a new browser (the Visit, whose
// cookie the caller sets) and marked as proved by LIFF. Someone not registered gets the
// registration page whatever they tapped, a registered parent tapping 登録する their
// update page. A user who is not a friend of the channel is refused.
func (s *Service) OpenWithLIFF(ctx context.Context, lineChannelID, page, idToken string) (string, parentlink.Visit, error) {
	purpose, ok := liffPurposes[page]
	if !ok {
		return "", parentlink.Visit{}, errLIFFPage
	}
	ch, err := s.Friends.FindChannelByLineID(ctx, lineChannelID)
	if apperr.KindOf(err) == apperr.NotFound || (err == nil && ch.LIFFID == "") {
		return "", parentlink.Visit{}, errLIFFPage
	} else if err != nil {
		return "", parentlink.Visit{}, err
	}
	sub, err := s.verifyIDToken(ctx, ch, idToken)
	if err != nil {
		return "", parentlink.Visit{}, err
	}
	var url string
	var v parentlink.Visit
	err = s.Tx.InTx(ctx, func(ctx context.Context) error {
		f, err := s.Friends.FindFriendByUserID(ctx, ch.ID, vault.Personal(sub))
		if apperr.KindOf(err) == apperr.NotFound || (err == nil && !f.Following) {
			return apperr.E(apperr.Forbidden, "reg.liff.not_friend", errors.New("not a friend of the channel"))
		} else if err != nil {
			return err
		}
		_, err = s.Store.FindGuardianByFriend(ctx, f.ID)
		switch {
		case apperr.KindOf(err) == apperr.NotFound:
			purpose = parentlink.PurposeRegister
		case err != nil:
			return err
		case purpose == parentlink.PurposeRegister:
			purpose = parentlink.PurposeUpdate
		}
		url, v, err = s.Links.IssueProved(ctx, f.ID, purpose)
		return err
	})
	if err != nil {
		return "", parentlink.Visit{}, err
	}
	return url, v, nil
}
