package survey

import (
	"context"
	"slices"
	"sort"
	"strconv"

	"github.com/renraku/renraku/internal/audit"
	"github.com/renraku/renraku/internal/authz"
	"github.com/renraku/renraku/internal/vault"
)

// Results is what staff see of a sent survey: its figures, a chart per question, the
// counts by class, the answers they may see and who has not answered yet.
//
// Answers follow the absence reports' rule: a unit's answers are seen by the
// homeroom and sub-homeroom teachers of its class (ViewClassData) and administrators
// (ViewSchoolData); by a club's advisor for the children of the clubs the survey was
// addressed to (ViewClubData), unless the survey is sensitive. The survey's creator
// always sees its figures, charts and who has not answered, over every unit; anyone
// else sees them over the units whose answers they may see.
type Results struct {
	Survey Survey
	// Creator: the person created the survey (the figures cover every unit).
	Creator bool
	// Units and Answered count the units in scope; Recipients and Skipped are the
	// survey's (guardians sent to, and those who had blocked the account).
	Units, Answered, Recipients, Skipped int
	Questions                            []QuestionResult
	Classes                              []ClassResult
	// Answers are the answered units whose answers the person may see, by class.
	Answers []ResultUnit
	// Pending are the units in scope not answered yet, by class.
	Pending []ResultUnit
}

// QuestionResult sums one question's answers.
type QuestionResult struct {
	Question Question
	// Answered is how many units answered it.
	Answered int
	// Bars are the counts per choice (single, multi), per day (date) or agreed (consent).
	Bars []Bar
	// Total and Average of a number question's answers (Numbers of them).
	Numbers int
	Total   int64
	Average float64
	// Agreed counts a consent question's agreements.
	Agreed int
}

// Bar is one bar of a question's chart.
type Bar struct {
	Key     string
	Label   string
	Count   int
	Percent int // of the units that answered the question
}

// ClassResult is one class's row of the counts by class: its units, those answered,
// and the count of each choice by question key and choice key.
type ClassResult struct {
	ClassID  int64
	Label    string
	Units    int
	Answered int
	Choices  map[string]map[string]int
}

// Nickname is the nickname the unit is listed under: the guardian who answered, else
// its first guardian.
func (u ResultUnit) Nickname() vault.Personal {
	for i, g := range u.GuardianIDs {
		if g == u.AnsweredBy && i < len(u.Nicknames) {
			return u.Nicknames[i]
		}
	}
	if len(u.Nicknames) > 0 {
		return u.Nicknames[0]
	}
	return ""
}

// mayRead reports whether a may see the answers of unit u of survey sv.
func mayRead(a *authz.Actor, sv Survey, u ResultUnit) bool {
	t := authz.Target{BoardID: sv.BoardID, SchoolID: u.SchoolID, Year: u.Year, ClassID: u.ClassID}
	if authz.Check(a, authz.ViewClassData, t) == nil || authz.Check(a, authz.ViewSchoolData, t) == nil {
		return true
	}
	if sv.Sensitive {
		return false
	}
	for _, c := range u.Clubs {
		if slices.Contains(sv.Audience.Clubs, c) &&
			authz.Check(a, authz.ViewClubData, authz.Target{BoardID: sv.BoardID, SchoolID: u.SchoolID, Year: u.Year, ClubID: c}) == nil {
			return true
		}
	}
	return false
}

// readable reads a sent survey the actor may see with the units whose answers they may
// see (answers) and the units their figures cover (scope).
func (s *Service) readable(ctx context.Context, id int64) (a *authz.Actor, sv Survey, answers, scope []ResultUnit, err error) {
	a, sv, err = s.visible(ctx, id)
	if err != nil || sv.State == Draft || sv.State == Scheduled {
		return a, sv, nil, nil, err
	}
	// A school's staff read only their school's units: no other unit could be theirs
	// to see (mayRead), so none is read and decrypted. Its creator's figures cover
	// every unit.
	creator := sv.CreatedBy == a.StaffID
	school := a.SchoolID
	if creator {
		school = 0
	}
	units, err := s.Store.FindResultUnits(ctx, id, school)
	if err != nil {
		return a, sv, nil, nil, err
	}
	for _, u := range units {
		if mayRead(a, sv, u) {
			answers = append(answers, u)
			scope = append(scope, u)
		} else if creator {
			scope = append(scope, u)
		}
	}
	return a, sv, answers, scope, nil
}

// OpenResults is the results page of a survey. A draft or scheduled survey has none:
// only Survey is set (the page shows its preview instead). Every view of answers is
// audited with the number shown.
func (s *Service) OpenResults(ctx context.Context, id int64) (Results, error) {
	var r Results
	err := s.Tx.InTx(ctx, func(ctx context.Context) error {
		a, sv, answers, scope, err := s.readable(ctx, id)
		if err != nil {
			return err
		}
		r = Results{Survey: sv, Creator: sv.CreatedBy == a.StaffID, Recipients: sv.Counts.Recipients, Skipped: sv.Counts.Skipped}
		if sv.State == Draft || sv.State == Scheduled {
			return nil
		}
		summarise(&r, scope)
		for _, u := range answers {
			if !u.AnsweredAt.IsZero() {
				r.Answers = append(r.Answers, u)
			}
		}
		return s.Audit.Record(ctx, audit.Event{Actor: staffActor(a), Action: "survey.view_answers",
			ObjectKind: "survey", ObjectID: strconv.FormatInt(id, 10), BoardID: sv.BoardID, SchoolID: sv.SchoolID,
			Detail: map[string]any{"answers": len(r.Answers), "pending": len(r.Pending)}})
	})
	return r, err
}

// summarise counts the units in scope: figures, charts, classes and who has not answered.
func summarise(r *Results, scope []ResultUnit) {
	qs := r.Survey.Questions
	r.Questions = make([]QuestionResult, len(qs))
	byChoice := make([]map[string]int, len(qs))
	for i, q := range qs {
		r.Questions[i].Question = q
		byChoice[i] = map[string]int{}
	}
	classAt := map[int64]int{}
	for _, u := range scope {
		r.Units++
		ci, ok := classAt[u.ClassID]
		if !ok {
			ci = len(r.Classes)
			classAt[u.ClassID] = ci
			r.Classes = append(r.Classes, ClassResult{ClassID: u.ClassID, Label: u.ClassLabel, Choices: map[string]map[string]int{}})
		}
		c := &r.Classes[ci]
		c.Units++
		if u.AnsweredAt.IsZero() {
			r.Pending = append(r.Pending, u)
			continue
		}
		r.Answered++
		c.Answered++
		for i, q := range qs {
			v, ok := u.Answers[q.Key]
			if !ok || blank(q, v) {
				continue
			}
			qr := &r.Questions[i]
			qr.Answered++
			switch q.Kind {
			case Single, Multi:
				if c.Choices[q.Key] == nil {
					c.Choices[q.Key] = map[string]int{}
				}
				for _, k := range v.Choices {
					byChoice[i][k]++
					c.Choices[q.Key][k]++
				}
			case Date:
				byChoice[i][v.Date]++
			case Number:
				if v.Number != nil {
					qr.Numbers++
					qr.Total += *v.Number
				}
			case Consent:
				if v.Agreed {
					qr.Agreed++
				}
			}
		}
	}
	for i, q := range qs {
		qr := &r.Questions[i]
		pct := func(n int) int {
			if qr.Answered == 0 {
				return 0
			}
			return (n*100 + qr.Answered/2) / qr.Answered
		}
		switch q.Kind {
		case Single, Multi:
			for _, c := range q.Choices {
				n := byChoice[i][c.Key]
				qr.Bars = append(qr.Bars, Bar{Key: c.Key, Label: c.Label, Count: n, Percent: pct(n)})
			}
		case Date:
			days := make([]string, 0, len(byChoice[i]))
			for d := range byChoice[i] {
				days = append(days, d)
			}
			sort.Strings(days)
			for _, d := range days {
				qr.Bars = append(qr.Bars, Bar{Key: d, Label: d, Count: byChoice[i][d], Percent: pct(byChoice[i][d])})
			}
		case Number:
			if qr.Numbers > 0 {
				qr.Average = float64(qr.Total) / float64(qr.Numbers)
			}
		case Consent:
			qr.Bars = []Bar{{Key: "agreed", Count: qr.Agreed, Percent: pct(qr.Agreed)}}
		}
	}
}

// blank reports whether v answers nothing to q.
func blank(q Question, v Value) bool {
	switch q.Kind {
	case Single, Multi:
		return len(v.Choices) == 0
	case Short, Long:
		return v.Text == ""
	case Number:
		return v.Number == nil
	case Date:
		return v.Date == ""
	case Consent:
		return false
	}
	return true
}
