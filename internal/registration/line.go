package registration

import (
	"context"
	"slices"
	"strings"

	"github.com/renraku/renraku/internal/apperr"
	"github.com/renraku/renraku/internal/line"
	"github.com/renraku/renraku/internal/lineapi"
	"github.com/renraku/renraku/internal/parentlink"
)

// Register makes registration answer LINE: a new friend is welcomed with their personal
// registration link, 「登録する」 sends it again, and 「自分の情報を更新する」 sends an
// update link; 「心当たりがない」 under a notice of another registration for a child
// tells the school.
func (s *Service) Register(l line.Router) {
	l.Handle("follow", s.onFollow)
	l.HandlePostback("menu.register", s.onRegister)
	l.HandlePostback("menu.profile", s.onProfile)
	l.HandlePostback(PostbackDispute, s.onDispute)
	l.HandlePostback("menu.website", s.onSites("website"))
	l.HandlePostback("menu.clubs", s.onSites("clubs"))
}

// onSites answers 「学校ウェブサイト」 (kind "website") and 「部活動サイト」 ("clubs") with
// the addresses the schools set in the console: of the parent's children's schools
// once registered, else of every school the channel serves. A school that has set none
// is named with a note that it has not registered one.
func (s *Service) onSites(kind string) line.Handler {
	return func(ctx context.Context, in *line.Incoming) error {
		if in.Friend == nil {
			return nil
		}
		sites, err := s.Store.FindSchoolSites(ctx, in.Friend.ChannelID)
		if err != nil {
			return err
		}
		lang := in.Friend.Language
		if g, err := s.Store.FindGuardianByFriend(ctx, in.Friend.ID); err == nil {
			lang = g.Language
			mine := map[int64]bool{}
			for _, c := range g.Children {
				mine[c.SchoolID] = true
			}
			sites = slices.DeleteFunc(sites, func(x SchoolSite) bool { return !mine[x.ID] })
		} else if apperr.KindOf(err) != apperr.NotFound {
			return err
		}
		site := s.T(lang, "reg.line.sites."+kind, nil)
		var lines []string
		for _, x := range sites {
			url := x.Website
			if kind == "clubs" {
				url = x.ClubSite
			}
			if url == "" {
				lines = append(lines, s.T(lang, "reg.line.sites.none", map[string]any{"School": x.Name, "Site": site}))
			} else {
				lines = append(lines, s.T(lang, "reg.line.sites.one", map[string]any{"School": x.Name, "Site": site, "URL": url}))
			}
		}
		if len(lines) == 0 {
			lines = []string{s.T(lang, "reg.line.sites.no_school", map[string]any{"Site": site})}
		}
		return s.reply(ctx, in, line.Message{Text: strings.Join(lines, "\n")})
	}
}

func (s *Service) onFollow(ctx context.Context, in *line.Incoming) error {
	if in.Friend == nil {
		return nil
	}
	// A guardian who blocked and re-followed is simply active again.
	if _, err := s.Store.FindGuardianByFriend(ctx, in.Friend.ID); err == nil {
		return s.reply(ctx, in, line.Message{Text: s.T(in.Friend.Language, "reg.line.welcome_back", nil)})
	} else if apperr.KindOf(err) != apperr.NotFound {
		return err
	}
	return s.sendLink(ctx, in, parentlink.PurposeRegister, "reg.line.welcome")
}

func (s *Service) onRegister(ctx context.Context, in *line.Incoming) error {
	if in.Friend == nil {
		return nil
	}
	purpose, text := parentlink.PurposeRegister, "reg.line.register"
	if _, err := s.Store.FindGuardianByFriend(ctx, in.Friend.ID); err == nil {
		purpose, text = parentlink.PurposeUpdate, "reg.line.update"
	}
	return s.sendLink(ctx, in, purpose, text)
}

// SendRegisterLink answers a friend who is not registered (yet) with their registration
// link: other features call it when an unregistered friend taps their menu button.
func (s *Service) SendRegisterLink(ctx context.Context, in *line.Incoming) error {
	if in.Friend == nil {
		return nil
	}
	return s.sendLink(ctx, in, parentlink.PurposeRegister, "reg.line.register")
}

func (s *Service) onProfile(ctx context.Context, in *line.Incoming) error {
	return s.onRegister(ctx, in)
}

// sendLink answers with a buttons message carrying a new personal link.
func (s *Service) sendLink(ctx context.Context, in *line.Incoming, purpose, textID string) error {
	url, err := s.Links.Issue(ctx, in.Friend.ID, purpose)
	if err != nil {
		return err
	}
	lang := in.Friend.Language
	names, err := s.schoolNames(ctx, in.Friend.ChannelID)
	if err != nil {
		return err
	}
	text := s.T(lang, textID, map[string]any{"School": names})
	label := s.T(lang, "reg.line.button_"+purpose, nil)
	return s.reply(ctx, in, line.Message{Text: lineapi.TrimUTF16(text, lineapi.MaxButtonsTextLength), AltText: text,
		Buttons: []line.Action{{Kind: "uri", Label: label, URI: url}}})
}

func (s *Service) schoolNames(ctx context.Context, channelID int64) (string, error) {
	c, err := s.Store.FindChoices(ctx, channelID)
	if err != nil {
		return "", err
	}
	var names []string
	for _, sc := range c.Schools {
		names = append(names, sc.Name)
	}
	return strings.Join(names, "・"), nil
}

func (s *Service) reply(ctx context.Context, in *line.Incoming, m line.Message) error {
	if !in.Friend.Following {
		return nil
	}
	_, err := s.Outbox.Queue(ctx, line.Send{Friend: *in.Friend, Purpose: "registration", Messages: []line.Message{m}, Reply: in})
	return err
}
