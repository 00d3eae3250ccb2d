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
	l.HandlePostbackAhead("survey.answer", s.answersAhead)
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
	_, args, _ := line.ParsePostbackData(in.Postback.Data)
	sid, uid, choice, parsed := ParseAnswerData(args)
	if !parsed {
		if _, ok, err := s.tapGuardian(ctx, in); !ok {
			return err
		}
		return s.reply(ctx, in, []line.Message{{Text: s.T(in.Friend.Language, "survey.line.not_yours", nil)}})
	}
	t, ok, err := s.findTap(ctx, in, sid)
	if !ok {
		return err
	}
	lang := in.Friend.Language
	text, err := s.answerTap(ctx, t, lang, uid, choice)
	switch {
	case err == errClosed:
		text = s.T(lang, "survey.line.closed", nil)
	case err == errNotYours:
		text = s.T(lang, "survey.line.not_yours", nil)
	case err != nil:
		return err
	}
	return s.reply(ctx, in, []line.Message{{Text: text}})
}

// answersAhead reads what the taps of a batch of webhook events need, in one round trip
// (Store.FindTaps), for findTap to take.
func (s *Service) answersAhead(ctx context.Context, evs []line.Ahead) error {
	var keys []TapKey
	var ids []int64
	for _, ev := range evs {
		if sid, _, _, ok := ParseAnswerData(ev.Args); ok {
			keys = append(keys, TapKey{FriendID: ev.Friend.ID, SurveyID: sid})
			ids = append(ids, ev.EventID)
		}
	}
	taps, err := s.Store.FindTaps(ctx, keys)
	if err != nil {
		return err
	}
	for i, t := range taps {
		line.KeepAhead(ctx, ids[i], tapAhead{key: keys[i], tap: t})
	}
	return nil
}

// tapAhead is a tap read ahead, with what it was read for.
type tapAhead struct {
	key TapKey
	tap Tap
}

// findTap reads what a tap or button on survey id needs (Store.FindTap, or what the
// batch read ahead): someone not registered gets the registration link (ok false), as
// with tapGuardian.
func (s *Service) findTap(ctx context.Context, in *line.Incoming, id int64) (Tap, bool, error) {
	if in.Friend == nil || !in.Friend.Following {
		return Tap{}, false, nil
	}
	var t Tap
	var err error
	v, _ := line.TakeAhead(ctx, in.EventID)
	if a, ok := v.(tapAhead); ok && a.key == (TapKey{FriendID: in.Friend.ID, SurveyID: id}) {
		t = a.tap
	} else {
		t, err = s.Store.FindTap(ctx, in.Friend.ID, id)
	}
	if err != nil {
		return t, false, err
	}
	if t.GuardianID == 0 {
		return t, false, s.Guardians.SendRegisterLink(ctx, in)
	}
	return t, true, nil
}

// answerTap checks and stores a tapped answer and returns the confirmation.
func (s *Service) answerTap(ctx context.Context, t Tap, lang string, unitID int64, choice string) (string, error) {
	sv := t.Survey
	if !t.Found || (sv.State != Sending && sv.State != Sent) {
		return "", errNotYours
	}
	var unit *ParentUnit
	for i := range t.Units {
		if t.Units[i].ID == unitID {
			unit = &t.Units[i]
		}
	}
	if unit == nil {
		return "", errNotYours
	}
	if !sv.Open(s.now()) {
		return "", errClosed
	}
	sv, err := s.lockForFirstAnswer(ctx, sv)
	if err != nil {
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
	if err := s.storeAnswers(ctx, sv, *unit, t.GuardianID, Answers{q.Key: {Choices: []string{choice}}}, true); err != nil {
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
	_, args, _ := line.ParsePostbackData(in.Postback.Data)
	id, err := strconv.ParseInt(args, 10, 64)
	if err != nil || id <= 0 {
		if _, ok, err := s.tapGuardian(ctx, in); !ok {
			return err
		}
		return s.sendLink(ctx, in, 0)
	}
	t, ok, err := s.findTap(ctx, in, id)
	if !ok {
		return err
	}
	if !t.Found || (t.Survey.State != Sending && t.Survey.State != Sent) || len(t.Units) == 0 {
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
