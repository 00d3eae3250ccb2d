package survey

import (
	"context"
	"strconv"
	"strings"

	"github.com/renraku/renraku/internal/audit"
	"github.com/renraku/renraku/internal/authz"
	"github.com/renraku/renraku/internal/csvexport"
	"github.com/renraku/renraku/internal/school"
)

// Display is an answer as staff read it: choices by label (several joined with 、),
// text as written, a number with its unit, a date, consent as 同意／未同意.
func (s *Service) Display(lang string, q Question, v Value) string {
	switch q.Kind {
	case Single, Multi:
		var labels []string
		for _, k := range v.Choices {
			for _, c := range q.Choices {
				if c.Key == k {
					labels = append(labels, c.Label)
				}
			}
		}
		return strings.Join(labels, "、")
	case Short, Long:
		return v.Text
	case Number:
		if v.Number == nil {
			return ""
		}
		return strconv.FormatInt(*v.Number, 10) + q.Unit
	case Date:
		return v.Date
	case Consent:
		if v.Agreed {
			return s.T(lang, "survey_results.consent.agreed", nil)
		}
		return s.T(lang, "survey_results.consent.not_agreed", nil)
	}
	return ""
}

// readableUnits reads the units of a sent survey whose answers the actor may see.
func (s *Service) readableUnits(ctx context.Context, id int64) (*authz.Actor, Survey, []ResultUnit, error) {
	a, sv, answers, _, err := s.readable(ctx, id)
	if err != nil {
		return nil, sv, nil, err
	}
	if sv.State == Draft || sv.State == Scheduled {
		return nil, sv, nil, errNotFound
	}
	return a, sv, answers, nil
}

// Export writes the answers the actor may see as CSV, one row per child (per child) or
// per family: class, child, the guardian's nickname, when answered, then one column
// per question. Text is formula-safe (csvexport). The export is audited with its rows.
func (s *Service) Export(ctx context.Context, id int64, lang string, enc csvexport.Encoding) (csvexport.File, error) {
	var f csvexport.File
	err := s.Tx.InTx(ctx, func(ctx context.Context) error {
		a, sv, units, err := s.readableUnits(ctx, id)
		if err != nil {
			return err
		}
		t := func(id string) string { return s.T(lang, id, nil) }
		head := []string{t("survey_results.col.class")}
		if sv.PerChild {
			head = append(head, t("survey_results.col.child"))
		}
		head = append(head, t("survey_results.col.nickname"), t("survey_results.col.answered_at"))
		for _, q := range sv.Questions {
			head = append(head, q.Text)
		}
		tab := csvexport.NewTable(head...)
		for _, u := range units {
			row := []csvexport.Cell{csvexport.Text(u.ClassLabel)}
			if sv.PerChild {
				row = append(row, csvexport.Text(u.Child()))
			}
			at := ""
			if !u.AnsweredAt.IsZero() {
				at = u.AnsweredAt.In(school.Tokyo).Format("2006/01/02 15:04")
			}
			row = append(row, csvexport.Text(u.Nickname().Reveal()), csvexport.Text(at))
			for _, q := range sv.Questions {
				v, ok := u.Answers[q.Key]
				switch {
				case !ok || u.AnsweredAt.IsZero():
					row = append(row, csvexport.Text(""))
				case q.Kind == Number && v.Number != nil:
					row = append(row, csvexport.Int(*v.Number))
				default:
					row = append(row, csvexport.Text(s.Display(lang, q, v)))
				}
			}
			tab.Row(row...)
		}
		if f, err = tab.Encode(enc); err != nil {
			return err
		}
		return s.Audit.Record(ctx, audit.Event{Actor: staffActor(a), Action: "survey.export", ObjectKind: "survey",
			ObjectID: strconv.FormatInt(id, 10), BoardID: sv.BoardID, SchoolID: sv.SchoolID,
			Detail: map[string]any{"rows": len(units), "encoding": string(enc)}})
	})
	return f, err
}

// Child is the unit's child's name, or the family's children joined with 、.
func (u ResultUnit) Child() string {
	names := make([]string, len(u.Children))
	for i, c := range u.Children {
		names[i] = c.Reveal()
	}
	return strings.Join(names, "、")
}
