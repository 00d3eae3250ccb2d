package survey

import (
	"context"
	"strconv"

	"github.com/renraku/renraku/internal/apperr"
	"github.com/renraku/renraku/internal/line"
	"github.com/renraku/renraku/internal/parentlink"
	"github.com/renraku/renraku/internal/registration"
)

// Register answers the survey buttons in LINE: an answer by tap (survey.answer), the
// form of one survey (survey.open) and the list of the parent's open surveys
// (survey.list, offered by 配布プリント). Every answer is a free reply.
func (s *Service) Register(l line.Router) {
	l.HandlePostback("survey.answer", s.onAnswer)
	l.HandlePostback("survey.open", s.onOpen)
	l.HandlePostback("survey.list", s.onList)
}

// tapGuardian finds the registered guardian who tapped; someone not registered gets
// the registration link (ok false).
func (s *Service) tapGuardian(ctx context.Context, in *line.Incoming) (registration.Guardian, bool, error) {
	if in.Friend == nil || !in.Friend.Following {
		return registration.Guardian{}, false, nil
	}
	g, err := s.Guardians.FindGuardianByFriend(ctx, in.Friend.ID)
	if apperr.KindOf(err) == apperr.NotFound {
		return g, false, s.Guardians.SendRegisterLink(ctx, in)
	}
	return g, err == nil, err
}

// onAnswer stores the choice a parent tapped for a child (per family: for the family)
// and confirms it, or politely refuses a tap after the deadline, on a survey not sent
// to them, for a child not theirs or with a choice the question does not have; a
// refusal changes nothing. A webhook event delivered twice is processed once (the
// events are deduplicated when they arrive), and a second tap of the same choice is
// confirmed again.
func (s *Service) onAnswer(ctx context.Context, in *line.Incoming) error {
	g, ok, err := s.tapGuardian(ctx, in)
	if !ok {
		return err
	}
	lang := in.Friend.Language
	text := s.T(lang, "survey.line.not_yours", nil)
	_, args, _ := line.ParsePostbackData(in.Postback.Data)
	if sid, uid, choice, ok := ParseAnswerData(args); ok {
		t, err := s.answerTap(ctx, g.ID, lang, sid, uid, choice)
		switch {
		case err == nil:
			text = t
		case err == errClosed:
			text = s.T(lang, "survey.line.closed", nil)
		case err != errNotYours:
			return err
		}
	}
	return s.reply(ctx, in, []line.Message{{Text: text}})
}

// answerTap checks and stores a tapped answer and returns the confirmation.
func (s *Service) answerTap(ctx context.Context, guardianID int64, lang string, surveyID, unitID int64, choice string) (string, error) {
	sv, err := s.Store.FindSurveyBrief(ctx, surveyID)
	if apperr.KindOf(err) == apperr.NotFound {
		return "", errNotYours
	} else if err != nil {
		return "", err
	}
	if sv.State != Sending && sv.State != Sent {
		return "", errNotYours
	}
	units, err := s.Store.GuardianUnits(ctx, surveyID, guardianID, false)
	if err != nil {
		return "", err
	}
	var unit *ParentUnit
	for i := range units {
		if units[i].ID == unitID {
			unit = &units[i]
		}
	}
	if unit == nil {
		return "", errNotYours
	}
	if !sv.Open(s.now()) {
		return "", errClosed
	}
	if sv, err = s.lockForFirstAnswer(ctx, sv); err != nil {
		return "", err
	}
	if !sv.Tappable() {
		return "", errNotYours
	}
	q := sv.Questions[0]
	label := ""
	for _, c := range q.Choices {
		if c.Key == choice {
			label = c.Label
		}
	}
	if label == "" {
		return "", errNotYours
	}
	if err := s.storeAnswers(ctx, sv, *unit, guardianID, Answers{q.Key: {Choices: []string{choice}}}); err != nil {
		return "", err
	}
	data := map[string]any{"Choice": label, "Deadline": s.Deadline(lang, sv.Deadline)}
	if unit.ChildName.IsZero() {
		return s.T(lang, "survey.line.answered_family", data), nil
	}
	data["Child"] = unit.ChildName.Reveal()
	return s.T(lang, "survey.line.answered_child", data), nil
}

// onOpen answers 「回答する」 or 「プリントを見る」 with the parent's link to the survey's
// form, or to their list when it is not a survey of theirs.
func (s *Service) onOpen(ctx context.Context, in *line.Incoming) error {
	g, ok, err := s.tapGuardian(ctx, in)
	if !ok {
		return err
	}
	_, args, _ := line.ParsePostbackData(in.Postback.Data)
	id, err := strconv.ParseInt(args, 10, 64)
	if err != nil || id <= 0 {
		return s.sendLink(ctx, in, 0)
	}
	sv, err := s.Store.FindSurveyBrief(ctx, id)
	if apperr.KindOf(err) == apperr.NotFound || (err == nil && sv.State != Sending && sv.State != Sent) {
		return s.sendLink(ctx, in, 0)
	} else if err != nil {
		return err
	}
	units, err := s.Store.GuardianUnits(ctx, id, g.ID, false)
	if err != nil {
		return err
	}
	if len(units) == 0 {
		id = 0
	}
	return s.sendLink(ctx, in, id)
}

// onList answers 「アンケート」 (offered by 配布プリント) with the link to the parent's list.
func (s *Service) onList(ctx context.Context, in *line.Incoming) error {
	if _, ok, err := s.tapGuardian(ctx, in); !ok {
		return err
	}
	return s.sendLink(ctx, in, 0)
}

// sendLink replies with the parent's personal link to one survey's form (id), or to
// their list (0).
func (s *Service) sendLink(ctx context.Context, in *line.Incoming, id int64) error {
	url, err := s.Links.Issue(ctx, in.Friend.ID, parentlink.PurposeSurvey)
	if err != nil {
		return err
	}
	textID := "survey.line.link_list"
	if id > 0 {
		url += "/s/" + strconv.FormatInt(id, 10)
		textID = "survey.line.link_one"
	}
	lang := in.Friend.Language
	text := s.T(lang, textID, nil)
	return s.reply(ctx, in, []line.Message{{Text: text, AltText: text,
		Buttons: []line.Action{{Kind: "uri", Label: s.T(lang, "survey.line.link_button", nil), URI: url}}}})
}

func (s *Service) reply(ctx context.Context, in *line.Incoming, ms []line.Message) error {
	_, err := s.Outbox.Queue(ctx, line.Send{Friend: *in.Friend, Purpose: "survey", Reply: in, Messages: ms})
	return err
}

// CountOpenSurveys counts the surveys a guardian may still answer: 配布プリント offers
// them (announce.OpenSurveys).
func (s *Service) CountOpenSurveys(ctx context.Context, guardianID int64) (int, error) {
	return s.Store.CountOpenSurveys(ctx, guardianID, s.now())
}
