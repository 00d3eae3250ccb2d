package survey

import (
	"context"
	"errors"
	"reflect"
	"strconv"
	"time"

	"github.com/renraku/renraku/internal/apperr"
	"github.com/renraku/renraku/internal/parentlink"
	"github.com/renraku/renraku/internal/registration"
)

// ClosedShown is how long a closed survey stays in the parent's list.
const ClosedShown = 30 * 24 * time.Hour

// ParentPage is what the parent's survey pages show: their list (open surveys, soonest
// deadline first, and those closed recently, latest first), or one survey with the
// units they answer (answers and drafts decrypted).
type ParentPage struct {
	Visit    parentlink.Visit
	Language string
	Now      time.Time
	Open     []ParentSurvey
	Closed   []ParentSurvey
	// Survey is the survey shown (nil on the list), with its handouts.
	Survey *Survey
	Units  []ParentUnit
}

// SurveyClosed reports whether the survey shown no longer takes answers.
func (p ParentPage) SurveyClosed() bool { return p.Survey != nil && !p.Survey.Open(p.Now) }

// ParentForm is the parent's form sent: "draft" keeps it as a draft, "send" stores the
// answers. Fields are the values posted per unit and question key.
type ParentForm struct {
	Op     string
	Fields map[int64]map[string][]string
}

// Form operations.
const (
	OpDraft = "draft"
	OpSend  = "send"
)

// opener opens a survey link and finds the guardian behind it.
func (s *Service) opener(ctx context.Context, token, browser string) (ParentPage, registration.Guardian, error) {
	v, err := s.Links.Open(ctx, parentlink.PurposeSurvey, token, browser)
	if err != nil {
		return ParentPage{}, registration.Guardian{}, err
	}
	g, err := s.Guardians.FindGuardianByFriend(ctx, v.FriendID)
	if err != nil {
		return ParentPage{}, g, err
	}
	return ParentPage{Visit: v, Language: g.Language, Now: s.now()}, g, nil
}

// ParentList lists the parent's open surveys and those closed in the last 30 days.
func (s *Service) ParentList(ctx context.Context, token, browser string) (ParentPage, error) {
	var p ParentPage
	err := s.Tx.InTx(ctx, func(ctx context.Context) error {
		var g registration.Guardian
		var err error
		if p, g, err = s.opener(ctx, token, browser); err != nil {
			return err
		}
		all, err := s.Store.GuardianSurveys(ctx, g.ID, p.Now.Add(-ClosedShown), 100)
		if err != nil {
			return err
		}
		for _, ps := range all {
			if ps.Survey.Open(p.Now) {
				p.Open = append(p.Open, ps)
			} else {
				p.Closed = append([]ParentSurvey{ps}, p.Closed...)
			}
		}
		return nil
	})
	return p, err
}

// parentSurvey reads a sent survey and the units the guardian answers in it; a survey
// not sent to them is not found.
func (s *Service) parentSurvey(ctx context.Context, p *ParentPage, guardianID, id int64, withAnswers bool) error {
	sv, err := s.Store.FindSurvey(ctx, id)
	if apperr.KindOf(err) == apperr.NotFound {
		return errNotYours
	} else if err != nil {
		return err
	}
	if sv.State != Sending && sv.State != Sent {
		return errNotYours
	}
	units, err := s.Store.GuardianUnits(ctx, id, guardianID, withAnswers)
	if err != nil {
		return err
	}
	if len(units) == 0 {
		return errNotYours
	}
	p.Survey, p.Units = &sv, units
	return nil
}

// ParentSurvey shows one survey to a parent it was sent to: its explanation, handouts
// and questions, with each unit's saved answer or draft.
func (s *Service) ParentSurvey(ctx context.Context, token, browser string, id int64) (ParentPage, error) {
	var p ParentPage
	err := s.Tx.InTx(ctx, func(ctx context.Context) error {
		var g registration.Guardian
		var err error
		if p, g, err = s.opener(ctx, token, browser); err != nil {
			return err
		}
		return s.parentSurvey(ctx, &p, g.ID, id, true)
	})
	return p, err
}

// ParentHandout returns a handout of a survey sent to the parent.
func (s *Service) ParentHandout(ctx context.Context, token, browser string, id, handoutID int64) (ParentPage, Handout, []byte, error) {
	var p ParentPage
	var h Handout
	var data []byte
	err := s.Tx.InTx(ctx, func(ctx context.Context) error {
		var g registration.Guardian
		var err error
		if p, g, err = s.opener(ctx, token, browser); err != nil {
			return err
		}
		if err := s.parentSurvey(ctx, &p, g.ID, id, false); err != nil {
			return err
		}
		for _, x := range p.Survey.Handouts {
			if x.ID == handoutID {
				h = x
				data, err = s.Files.Get(ctx, x.Key)
				return err
			}
		}
		return errNotYours
	})
	return p, h, data, err
}

// ParentSubmit saves the parent's form as a draft, or stores its answers, for every
// unit on it. Nothing is saved unless every unit's answers pass (for a draft: lengths,
// ranges and dates; to send, also the required questions); the problems are named
// "u<unit>.<question>". After the deadline nothing is taken. The page is read again
// (in the parent's language) whatever the outcome: with the error, the form is shown
// again with what was typed.
func (s *Service) ParentSubmit(ctx context.Context, token, browser string, id int64, f ParentForm) (ParentPage, error) {
	var p ParentPage
	err := s.Tx.InTx(ctx, func(ctx context.Context) error {
		var g registration.Guardian
		var err error
		if p, g, err = s.opener(ctx, token, browser); err != nil {
			return err
		}
		if err := s.parentSurvey(ctx, &p, g.ID, id, true); err != nil {
			return err
		}
		if f.Op != OpDraft && f.Op != OpSend {
			return apperr.E(apperr.Invalid, "form.invalid", errors.New("unknown op"))
		}
		if !p.Survey.Open(p.Now) {
			return errClosed
		}
		sv, err := s.lockForFirstAnswer(ctx, *p.Survey)
		if err != nil {
			return err
		}
		final := f.Op == OpSend
		problems := apperr.Fields{}
		answers := make([]Answers, len(p.Units))
		typed := false
		for i, u := range p.Units {
			prefix := UnitField(u.ID, "")
			fields := f.Fields[u.ID]
			a, fp := FormAnswers(sv.Questions, func(k string) []string { return fields[k] })
			for k, v := range fp {
				problems[prefix+k] = v
			}
			for k, v := range CheckAnswers(sv.Questions, a, final) {
				if _, ok := problems[prefix+k]; !ok {
					problems[prefix+k] = v
				}
			}
			answers[i] = a
			typed = typed || len(a) > 0
		}
		if len(problems) > 0 {
			return problems.Err()
		}
		if !typed {
			return apperr.Fields{"form": "survey.parent.nothing"}.Err()
		}
		for i, u := range p.Units {
			if !final {
				// A draft that says what is stored already (a tapped answer shown on
				// the form) is no draft: the unit stays answered.
				d := answers[i]
				if len(d) == 0 || reflect.DeepEqual(d, u.Answers) {
					d = nil
				}
				if err := s.Store.SaveDraft(ctx, u.ID, d); err != nil {
					return err
				}
				continue
			}
			if len(answers[i]) == 0 {
				continue // nothing typed for this child, and nothing required
			}
			if err := s.storeAnswers(ctx, sv, u, g.ID, answers[i], false); err != nil {
				return err
			}
			sv.FirstAnswerAt = p.Now
		}
		// The page after: the answers as stored.
		return s.parentSurvey(ctx, &p, g.ID, id, true)
	})
	if err == nil || p.Visit.FriendID == 0 {
		return p, err
	}
	// Refused: the page as it is, to show the form again with what was typed.
	q, qerr := s.ParentSurvey(ctx, token, browser, id)
	if qerr != nil {
		return p, err
	}
	return q, err
}

// UnitField names a form field of a unit's question (or the unit's prefix, for key ""):
// "u<unit>.<question>".
func UnitField(unitID int64, key string) string {
	return "u" + strconv.FormatInt(unitID, 10) + "." + key
}
