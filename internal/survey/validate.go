package survey

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/renraku/renraku/internal/apperr"
	"github.com/renraku/renraku/internal/usertext"
)

// Field names of question problems: "q<i>.text", "q<i>.choices", … (i from 1), so a
// form shows each next to its question.
func qField(i int, part string) string { return fmt.Sprintf("q%d.%s", i+1, part) }

// CleanQuestions trims the questions' texts, drops empty choices and gives questions
// and choices their stable keys (q1…, c1…) in order. It is applied before
// CheckQuestions, and again on every edit (before the first answer, so no stored answer
// refers to an old key).
func CleanQuestions(qs []Question) []Question {
	out := make([]Question, 0, len(qs))
	for _, q := range qs {
		q.Text = strings.TrimSpace(usertext.Clean(q.Text))
		q.Unit = strings.TrimSpace(usertext.Clean(q.Unit))
		q.ConsentText = strings.TrimSpace(usertext.Clean(q.ConsentText))
		var cs []Choice
		for _, c := range q.Choices {
			c.Label = strings.TrimSpace(usertext.Clean(c.Label))
			if c.Label != "" {
				cs = append(cs, c)
			}
		}
		for i := range cs {
			cs[i].Key = fmt.Sprintf("c%d", i+1)
		}
		switch q.Kind {
		case Single, Multi:
			q.Choices = cs
			q.Unit, q.Min, q.Max, q.ConsentText = "", nil, nil, ""
		case Number:
			q.Choices, q.ConsentText = nil, ""
		case Consent:
			q.Choices, q.Unit, q.Min, q.Max = nil, "", nil, nil
			q.Required = true
		default:
			q.Choices, q.Unit, q.Min, q.Max, q.ConsentText = nil, "", nil, nil, ""
		}
		out = append(out, q)
	}
	for i := range out {
		out[i].Key = fmt.Sprintf("q%d", i+1)
	}
	return out
}

// CheckQuestions checks a survey's questions against the limits; the problems are
// named by question (q1.text …).
func CheckQuestions(qs []Question) apperr.Fields {
	f := apperr.Fields{}
	if len(qs) == 0 {
		f.Add("questions", "survey.questions.none")
		return f
	}
	if len(qs) > MaxQuestions {
		f.Add("questions", "survey.questions.too_many")
		return f
	}
	for i, q := range qs {
		switch q.Kind {
		case Single, Multi, Short, Long, Number, Date, Consent:
		default:
			f.Add(qField(i, "kind"), "survey.question.kind")
			continue
		}
		if q.Text == "" {
			f.Add(qField(i, "text"), "survey.question.text_required")
		} else if utf8.RuneCountInString(q.Text) > MaxQuestionText {
			f.Add(qField(i, "text"), "survey.question.text_too_long")
		}
		switch q.Kind {
		case Single, Multi:
			if len(q.Choices) < 2 {
				f.Add(qField(i, "choices"), "survey.question.choices_too_few")
			} else if len(q.Choices) > MaxChoices {
				f.Add(qField(i, "choices"), "survey.question.choices_too_many")
			}
			seen := map[string]bool{}
			for _, c := range q.Choices {
				if utf8.RuneCountInString(c.Label) > MaxChoiceLabel {
					f.Add(qField(i, "choices"), "survey.question.choice_too_long")
				}
				if seen[c.Label] {
					f.Add(qField(i, "choices"), "survey.question.choice_twice")
				}
				seen[c.Label] = true
			}
		case Number:
			if utf8.RuneCountInString(q.Unit) > MaxUnit {
				f.Add(qField(i, "unit"), "survey.question.unit_too_long")
			}
			if q.Min != nil && q.Max != nil && *q.Min > *q.Max {
				f.Add(qField(i, "range"), "survey.question.range")
			}
		case Consent:
			if q.ConsentText == "" {
				f.Add(qField(i, "consent"), "survey.question.consent_required")
			} else if utf8.RuneCountInString(q.ConsentText) > MaxConsentText {
				f.Add(qField(i, "consent"), "survey.question.consent_too_long")
			}
		}
	}
	return f
}

// HasConsent reports whether a consent question is among qs (the survey is then
// sensitive).
func HasConsent(qs []Question) bool {
	for _, q := range qs {
		if q.Kind == Consent {
			return true
		}
	}
	return false
}

// CleanAnswers keeps the answers to the questions asked, with text cleaned and empty
// values dropped.
func CleanAnswers(qs []Question, a Answers) Answers {
	out := Answers{}
	for _, q := range qs {
		v, ok := a[q.Key]
		if !ok {
			continue
		}
		v.Text = strings.TrimSpace(usertext.Clean(v.Text))
		v.Date = strings.TrimSpace(v.Date)
		var cs []string
		for _, k := range v.Choices {
			for _, c := range q.Choices {
				if c.Key == k {
					cs = append(cs, k)
					break
				}
			}
		}
		v.Choices = cs
		if len(v.Choices) == 0 && v.Text == "" && v.Number == nil && v.Date == "" && !v.Agreed {
			continue
		}
		out[q.Key] = v
	}
	return out
}

// CheckAnswers checks answers against the questions: for a draft only what would be
// refused whatever else is typed (lengths, ranges, dates); for an answer sent, also the
// required questions. Problems are named by question key.
func CheckAnswers(qs []Question, a Answers, final bool) apperr.Fields {
	f := apperr.Fields{}
	for _, q := range qs {
		v, ok := a[q.Key]
		if !ok {
			if final && q.Required {
				f.Add(q.Key, "survey.answer.required")
			}
			continue
		}
		switch q.Kind {
		case Single:
			if len(v.Choices) > 1 {
				f.Add(q.Key, "survey.answer.one_choice")
			}
		case Short:
			if utf8.RuneCountInString(v.Text) > MaxShortAnswer {
				f.Add(q.Key, "survey.answer.too_long_short")
			}
		case Long:
			if utf8.RuneCountInString(v.Text) > MaxLongAnswer {
				f.Add(q.Key, "survey.answer.too_long_long")
			}
		case Number:
			if v.Number == nil {
				break
			}
			if (q.Min != nil && *v.Number < *q.Min) || (q.Max != nil && *v.Number > *q.Max) {
				f.Add(q.Key, "survey.answer.out_of_range")
			}
		case Date:
			if _, err := time.Parse(time.DateOnly, v.Date); err != nil {
				f.Add(q.Key, "survey.answer.date")
			}
		case Consent:
			if final && q.Required && !v.Agreed {
				f.Add(q.Key, "survey.answer.consent")
			}
		}
	}
	return f
}

// AttendanceQuestions builds an attendance check's questions: 参加／不参加 (in the
// sender's language), then optionally a reason and the number attending.
func AttendanceQuestions(t func(id string) string, reason, count bool) []Question {
	qs := []Question{{Kind: Single, Text: t("survey.attendance.question"), Required: true,
		Choices: []Choice{{Label: t("survey.attendance.yes")}, {Label: t("survey.attendance.no")}}}}
	if reason {
		qs = append(qs, Question{Kind: Short, Text: t("survey.attendance.reason")})
	}
	if count {
		lo, hi := int64(1), int64(10)
		qs = append(qs, Question{Kind: Number, Text: t("survey.attendance.count"), Unit: t("survey.attendance.count_unit"), Min: &lo, Max: &hi})
	}
	return CleanQuestions(qs)
}
