package announce

import (
	"context"
	"errors"
	"strconv"

	"github.com/renraku/renraku/internal/apperr"
	"github.com/renraku/renraku/internal/line"
	"github.com/renraku/renraku/internal/parentlink"
	"github.com/renraku/renraku/internal/registration"
)

// Register answers 「配布プリント」 and the handout button of an announcement with the
// parent's own link (free: a reply).
func (s *Service) Register(l line.Router) {
	l.HandlePostback("menu.handouts", s.onMenu)
	l.HandlePostback("handouts.open", s.onOpen)
}

func (s *Service) onMenu(ctx context.Context, in *line.Incoming) error {
	return s.sendLink(ctx, in, "")
}

func (s *Service) onOpen(ctx context.Context, in *line.Incoming) error {
	_, args, _ := line.ParsePostbackData(in.Postback.Data)
	if _, err := strconv.ParseInt(args, 10, 64); err != nil {
		args = ""
	}
	return s.sendLink(ctx, in, args)
}

// sendLink answers with a link to the parent's handouts (or to one announcement);
// someone not registered gets the registration link.
func (s *Service) sendLink(ctx context.Context, in *line.Incoming, announcementID string) error {
	if in.Friend == nil || !in.Friend.Following {
		return nil
	}
	g, err := s.Guardians.FindGuardianByFriend(ctx, in.Friend.ID)
	if apperr.KindOf(err) == apperr.NotFound {
		return s.Guardians.SendRegisterLink(ctx, in)
	} else if err != nil {
		return err
	}
	url, err := s.Links.Issue(ctx, in.Friend.ID, parentlink.PurposeHandouts)
	if err != nil {
		return err
	}
	textID := "announce.line.list"
	if announcementID != "" {
		url += "/a/" + announcementID
		textID = "announce.line.one"
	}
	lang := in.Friend.Language
	text := s.T(lang, textID, nil)
	buttons := []line.Action{{Kind: "uri", Label: s.T(lang, "announce.line.button", nil), URI: url}}
	if announcementID == "" && s.Surveys != nil {
		// The parent's open surveys (アンケート・出欠確認) are reached from 配布プリント too.
		n, err := s.Surveys.CountOpenSurveys(ctx, g.ID)
		if err != nil {
			return err
		}
		if n > 0 {
			buttons = append(buttons, line.Action{Kind: "postback", Label: s.T(lang, "survey.line.menu_button", map[string]any{"Count": n}),
				Data: line.PostbackData("survey.list", "")})
		}
	}
	_, err = s.Outbox.Queue(ctx, line.Send{Friend: *in.Friend, Purpose: "handouts", Reply: in,
		Messages: []line.Message{{Text: text, AltText: text, Buttons: buttons}}})
	return err
}

// ParentPage is the parent's 配布プリント page.
type ParentPage struct {
	Visit    parentlink.Visit
	Language string
	Items    []ParentItem
	// Open is the announcement being read (nil on the list).
	Open *Announcement
}

// guardian opens a handouts link.
func (s *Service) guardian(ctx context.Context, token, browser string) (parentlink.Visit, registration.Guardian, error) {
	v, err := s.Links.Open(ctx, parentlink.PurposeHandouts, token, browser)
	if err != nil {
		return v, registration.Guardian{}, err
	}
	g, err := s.Guardians.FindGuardianByFriend(ctx, v.FriendID)
	return v, g, err
}

// ParentList lists what the parent received, newest first.
func (s *Service) ParentList(ctx context.Context, token, browser string) (ParentPage, error) {
	var p ParentPage
	err := s.Tx.InTx(ctx, func(ctx context.Context) error {
		v, g, err := s.guardian(ctx, token, browser)
		if err != nil {
			return err
		}
		p.Visit, p.Language = v, g.Language
		p.Items, err = s.Store.FindGuardianAnnouncements(ctx, g.ID, 100)
		return err
	})
	return p, err
}

var errNotRecipient = apperr.E(apperr.NotFound, "error.not_found.title", errors.New("not a recipient"))

// ParentOpen shows one announcement to a parent it was sent to, and counts the open
// (既読).
func (s *Service) ParentOpen(ctx context.Context, token, browser string, id int64) (ParentPage, error) {
	var p ParentPage
	err := s.Tx.InTx(ctx, func(ctx context.Context) error {
		v, g, err := s.guardian(ctx, token, browser)
		if err != nil {
			return err
		}
		p.Visit, p.Language = v, g.Language
		ok, err := s.Store.MarkOpened(ctx, id, g.ID, s.now())
		if err != nil {
			return err
		}
		if !ok {
			return errNotRecipient
		}
		an, err := s.Store.FindAnnouncement(ctx, id)
		if err != nil {
			return err
		}
		p.Open = &an
		return nil
	})
	return p, err
}

// ParentHandout returns a handout of an announcement the parent received (and counts
// the open).
func (s *Service) ParentHandout(ctx context.Context, token, browser string, id, handoutID int64) (ParentPage, Handout, []byte, error) {
	p, err := s.ParentOpen(ctx, token, browser, id)
	if err != nil {
		return p, Handout{}, nil, err
	}
	for _, h := range p.Open.Handouts {
		if h.ID == handoutID {
			data, err := s.Files.Get(ctx, h.Key)
			return p, h, data, err
		}
	}
	return p, Handout{}, nil, errNotRecipient
}
