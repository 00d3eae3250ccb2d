package survey

import (
	"context"
	"errors"
	"strconv"
	"strings"

	"github.com/renraku/renraku/internal/apperr"
	"github.com/renraku/renraku/internal/live"
	"github.com/renraku/renraku/internal/usertext"
)

// Refusals of an answer. Neither says whether the survey or the child exists.
var (
	// errClosed: the survey's deadline has passed.
	errClosed = apperr.E(apperr.Conflict, "survey.parent.closed", errors.New("survey closed"))
	// errNotYours: not a survey sent to the guardian, not their unit, or not a choice
	// of the question.
	errNotYours = apperr.E(apperr.NotFound, "error.not_found.title", errors.New("not a unit of the guardian"))
)

// FormAnswers reads a unit's answers from a form's fields: get returns the values
// posted for a question key (a choice key per radio or checkbox, the text, the number,
// the date, "yes" for consent). A number that is not one is a problem of its question.
func FormAnswers(qs []Question, get func(key string) []string) (Answers, apperr.Fields) {
	a := Answers{}
	f := apperr.Fields{}
	for _, q := range qs {
		vs := get(q.Key)
		first := ""
		if len(vs) > 0 {
			first = vs[0]
		}
		var v Value
		switch q.Kind {
		case Single, Multi:
			v.Choices = vs
		case Short, Long:
			v.Text = first
		case Number:
			t := strings.TrimSpace(usertext.Clean(first))
			if t == "" {
				break
			}
			// Full-width digits typed on a Japanese keyboard count as digits.
			n, err := strconv.ParseInt(toASCIIDigits(t), 10, 64)
			if err != nil {
				f.Add(q.Key, "survey.answer.number")
				continue
			}
			v.Number = &n
		case Date:
			v.Date = first
		case Consent:
			v.Agreed = first == "yes"
		}
		a[q.Key] = v
	}
	return CleanAnswers(qs, a), f
}

func toASCIIDigits(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= '０' && r <= '９':
			return '0' + (r - '０')
		case r == '－' || r == '−':
			return '-'
		}
		return r
	}, s)
}

// FormValues are the form's fields for a unit's answers (the inverse of FormAnswers),
// by question key.
func FormValues(qs []Question, a Answers) map[string][]string {
	out := map[string][]string{}
	for _, q := range qs {
		v, ok := a[q.Key]
		if !ok {
			continue
		}
		switch q.Kind {
		case Single, Multi:
			out[q.Key] = v.Choices
		case Short, Long:
			out[q.Key] = []string{v.Text}
		case Number:
			if v.Number != nil {
				out[q.Key] = []string{strconv.FormatInt(*v.Number, 10)}
			}
		case Date:
			out[q.Key] = []string{v.Date}
		case Consent:
			if v.Agreed {
				out[q.Key] = []string{"yes"}
			}
		}
	}
	return out
}

// lockForFirstAnswer re-reads a survey that has no answer yet with its row locked, so
// that an edit of its wording (allowed until the first answer) and the first answer
// do not cross: the answer is checked against the wording it is stored with.
func (s *Service) lockForFirstAnswer(ctx context.Context, sv Survey) (Survey, error) {
	if !sv.FirstAnswerAt.IsZero() {
		return sv, nil
	}
	if _, err := s.Store.LockState(ctx, sv.ID); err != nil {
		return sv, err
	}
	return s.Store.FindSurveyBrief(ctx, sv.ID)
}

// storeAnswers stores a unit's checked answers given by guardian g, records the
// survey's first answer and tells the open results pages, in the caller's transaction.
// A parent's own answer is not a view of anyone's data: nothing is audited.
// atCommit saves the answers with the transaction's COMMIT (a tap in LINE, which reads
// nothing after them); the form reads them back for the page after.
func (s *Service) storeAnswers(ctx context.Context, sv Survey, u ParentUnit, g int64, a Answers, atCommit bool) error {
	now := s.now()
	save := s.Store.SaveAnswers
	if atCommit {
		save = s.Store.SaveAnswersAtCommit
	}
	if err := save(ctx, u.ID, a, g, now); err != nil {
		return err
	}
	if sv.FirstAnswerAt.IsZero() {
		if err := s.Store.MarkFirstAnswer(ctx, sv.ID, now); err != nil {
			return err
		}
	}
	return s.Live.Publish(ctx, live.Event{Kind: live.SurveyAnswer, Board: sv.BoardID, School: u.SchoolID, Class: u.ClassID, Survey: sv.ID})
}
