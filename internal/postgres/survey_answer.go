package postgres

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/renraku/renraku/internal/postgres/pgtx"
	"github.com/renraku/renraku/internal/survey"
	"github.com/renraku/renraku/internal/vault"
)

// The parents' side of surveys: the units a guardian answers, their answers and drafts
// (encrypted JSON, AD: survey_unit, answers|draft, unit id).

func unitAD(id int64, col string) vault.AD { return vault.NewADForID("survey_unit", col, id) }

// briefColumns are surveyColumns without the figures (zeros in their place).
const briefColumns = `v.id, v.board_id, COALESCE(v.school_id, 0), v.kind, v.audience, v.audience_label, v.title_enc, v.body_enc,
	v.questions_enc, v.per_child, v.sensitive, v.deadline, v.auto_remind, v.state, v.cancel_reason, v.scheduled_at, v.started_at,
	v.finished_at, v.first_answer_at, v.reminded_at, v.created_by, v.created_at, 0, 0, 0, 0`

// mineUnitsOf selects the IDs (and surveys) of the units the guardian whose ID is the
// SQL expression g answers: their own family units and the units of the children they
// are a verified guardian of. Each branch uses an index (survey_unit_guardian_id;
// guardianship's unique key and survey_unit_child_id), so a board-wide survey's other
// units are never read.
func mineUnitsOf(g string) string {
	return `SELECT u.id, u.survey_id FROM survey_unit u WHERE u.guardian_id = ` + g + `
	UNION
	SELECT u.id, u.survey_id FROM guardianship gs JOIN survey_unit u ON u.child_id = gs.child_id
		WHERE gs.guardian_id = ` + g + ` AND gs.status = 'verified'`
}

// mineUnits is mineUnitsOf guardian $1.
var mineUnits = mineUnitsOf("$1")

// guardianUnitsSQL selects the units of survey $2 that the guardian g (see
// mineUnitsOf) answers, in GuardianUnits' order and scanUnits' columns; answers and
// drafts only when withAnswers (NULL otherwise).
func guardianUnitsSQL(g string, withAnswers bool) string {
	cols := `NULL::bytea, NULL::bytea`
	if withAnswers {
		cols = `u.answers_enc, u.draft_enc`
	}
	return `WITH mine AS (` + mineUnitsOf(g) + `)
		SELECT u.id, u.survey_id, COALESCE(u.child_id, 0), COALESCE(u.guardian_id, 0), u.school_id, u.class_id, u.answered_at,
			COALESCE(u.answered_by, 0), c.name_enc, ` + cols + `
		FROM mine JOIN survey_unit u ON u.id = mine.id JOIN class cl ON cl.id = u.class_id LEFT JOIN child c ON c.id = u.child_id
		WHERE mine.survey_id = $2 ORDER BY cl.grade, cl.id, u.child_id NULLS FIRST, u.id`
}

// FindSurveyBrief reads a survey without its handouts and figures.
func (s *SurveyStore) FindSurveyBrief(ctx context.Context, id int64) (survey.Survey, error) {
	db := pgtx.Tx(ctx)
	sv, err := s.scanSurvey(db.QueryRow(ctx, `SELECT `+briefColumns+` FROM survey v WHERE v.id = $1`, id))
	return sv, classify(err, "survey")
}

// GuardianUnits returns the units of a survey the guardian answers, children by grade,
// class and ID.
func (s *SurveyStore) GuardianUnits(ctx context.Context, surveyID, guardianID int64, withAnswers bool) ([]survey.ParentUnit, error) {
	rows, err := pgtx.Tx(ctx).Query(ctx, guardianUnitsSQL("$1", withAnswers), guardianID, surveyID)
	return s.scanUnits(rows, err)
}

// FindTap reads the guardian behind a friend, a survey's brief and the guardian's units
// of it, the three statements sent together (one round trip: a tap is answered in the
// webhook's batch, where each round trip waits its turn).
func (s *SurveyStore) FindTap(ctx context.Context, friendID, surveyID int64) (survey.Tap, error) {
	ts, err := s.FindTaps(ctx, []survey.TapKey{{FriendID: friendID, SurveyID: surveyID}})
	if err != nil {
		return survey.Tap{}, err
	}
	return ts[0], nil
}

// FindTaps does FindTap for several taps, every statement sent together: one round
// trip for a batch's taps (each survey's brief read once).
func (s *SurveyStore) FindTaps(ctx context.Context, keys []survey.TapKey) ([]survey.Tap, error) {
	if len(keys) == 0 {
		return nil, nil
	}
	b := &pgx.Batch{}
	var surveys []int64
	for _, k := range keys {
		if !slices.Contains(surveys, k.SurveyID) {
			surveys = append(surveys, k.SurveyID)
			b.Queue(`SELECT `+briefColumns+` FROM survey v WHERE v.id = $1`, k.SurveyID)
		}
	}
	for _, k := range keys {
		b.Queue(`SELECT id FROM guardian WHERE friend_id = $1`, k.FriendID)
		b.Queue(guardianUnitsSQL(`(SELECT id FROM guardian WHERE friend_id = $1)`, false), k.FriendID, k.SurveyID)
	}
	res := pgtx.Tx(ctx).SendBatch(ctx, b)
	defer res.Close()
	briefs := make(map[int64]survey.Survey, len(surveys))
	for _, id := range surveys {
		sv, err := s.scanSurvey(res.QueryRow())
		switch {
		case err == nil:
			briefs[id] = sv
		case !errors.Is(err, pgx.ErrNoRows):
			return nil, classify(err, "survey")
		}
	}
	out := make([]survey.Tap, len(keys))
	for i, k := range keys {
		t := &out[i]
		if err := res.QueryRow().Scan(&t.GuardianID); err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return nil, classify(err, "guardian")
		}
		t.Survey, t.Found = briefs[k.SurveyID]
		rows, err := res.Query()
		units, err := s.scanUnits(rows, err)
		if err != nil {
			return nil, err
		}
		if t.Found && t.GuardianID != 0 {
			t.Units = units
		}
	}
	return out, classify(res.Close(), "survey tap")
}

// scanUnits reads the rows of guardianUnitsSQL.
func (s *SurveyStore) scanUnits(rows pgx.Rows, err error) ([]survey.ParentUnit, error) {
	if err != nil {
		return nil, classify(err, "survey units")
	}
	defer rows.Close()
	var out []survey.ParentUnit
	for rows.Next() {
		var u survey.ParentUnit
		var answered *time.Time
		var name, answers, draft []byte
		if err := rows.Scan(&u.ID, &u.SurveyID, &u.ChildID, &u.GuardianID, &u.SchoolID, &u.ClassID, &answered, &u.AnsweredBy,
			&name, &answers, &draft); err != nil {
			return nil, classify(err, "survey units")
		}
		if answered != nil {
			u.AnsweredAt = *answered
		}
		if name != nil {
			if u.ChildName, err = s.Vault.DecryptPersonal(name, vault.NewADForID("child", "name", u.ChildID)); err != nil {
				return nil, err
			}
		}
		if answers != nil {
			if err := s.decryptJSON(answers, unitAD(u.ID, "answers"), &u.Answers); err != nil {
				return nil, err
			}
		}
		if draft != nil {
			if err := s.decryptJSON(draft, unitAD(u.ID, "draft"), &u.Draft); err != nil {
				return nil, err
			}
		}
		out = append(out, u)
	}
	return out, classify(rows.Err(), "survey units")
}

// GuardianSurveys lists the sent surveys the guardian answers whose deadline is after
// since, soonest deadline first, with their units (no answers).
func (s *SurveyStore) GuardianSurveys(ctx context.Context, guardianID int64, since time.Time, limit int) ([]survey.ParentSurvey, error) {
	db := pgtx.Tx(ctx)
	rows, err := db.Query(ctx, `WITH mine AS (`+mineUnits+`)
		SELECT v.id FROM survey v WHERE v.id IN (SELECT survey_id FROM mine)
			AND v.state IN ('sending', 'sent') AND v.deadline > $2
		ORDER BY v.deadline, v.id LIMIT $3`, guardianID, since, limit)
	if err != nil {
		return nil, classify(err, "guardian surveys")
	}
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, classify(err, "guardian surveys")
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, classify(err, "guardian surveys")
	}
	out := make([]survey.ParentSurvey, 0, len(ids))
	for _, id := range ids {
		sv, err := s.FindSurveyBrief(ctx, id)
		if err != nil {
			return nil, err
		}
		units, err := s.GuardianUnits(ctx, id, guardianID, false)
		if err != nil {
			return nil, err
		}
		out = append(out, survey.ParentSurvey{Survey: sv, Units: units})
	}
	return out, nil
}

// CountOpenSurveys counts the sent surveys the guardian answers that are still open.
func (s *SurveyStore) CountOpenSurveys(ctx context.Context, guardianID int64, now time.Time) (int, error) {
	db := pgtx.Tx(ctx)
	var n int
	err := db.QueryRow(ctx, `WITH mine AS (`+mineUnits+`)
		SELECT count(*) FROM survey v WHERE v.id IN (SELECT survey_id FROM mine)
			AND v.state IN ('sending', 'sent') AND v.deadline > $2`, guardianID, now).Scan(&n)
	return n, classify(err, "open surveys")
}

// SaveAnswers stores a unit's answers and clears its draft.
func (s *SurveyStore) SaveAnswers(ctx context.Context, unitID int64, a survey.Answers, by int64, at time.Time) error {
	enc, err := s.encryptJSON(a, unitAD(unitID, "answers"))
	if err != nil {
		return err
	}
	_, err = pgtx.Tx(ctx).Exec(ctx, saveAnswersSQL, unitID, enc, at, by)
	return classify(err, "save survey answers")
}

// SaveAnswersAtCommit is SaveAnswers with the COMMIT of the Transactor's transaction
// that ctx carries, in its round trip (an error fails the commit; a savepoint rolled
// back takes back what was saved in it); elsewhere it runs at once. The answers are
// encrypted now. For a caller that reads nothing of the unit after it in the
// transaction: a tap in LINE, stored as a batch of events commits.
func (s *SurveyStore) SaveAnswersAtCommit(ctx context.Context, unitID int64, a survey.Answers, by int64, at time.Time) error {
	f, ok := pgtx.FinalOf(ctx)
	if !ok {
		return s.SaveAnswers(ctx, unitID, a, by, at)
	}
	enc, err := s.encryptJSON(a, unitAD(unitID, "answers"))
	if err != nil {
		return err
	}
	rows := f.Once(answersAtCommitKey{}, func() any { return &answersAtCommit{} }, func(v any) func(context.Context, pgx.Tx, *pgx.Batch) error {
		return func(_ context.Context, _ pgx.Tx, b *pgx.Batch) error {
			// One statement a unit, in the order saved: a later answer to the same
			// unit in the transaction replaces the earlier one, as at once.
			for _, r := range v.(*answersAtCommit).rows {
				b.Queue(saveAnswersSQL, r.unitID, r.enc, r.at, r.by)
			}
			return nil
		}
	}).(*answersAtCommit)
	rows.rows = append(rows.rows, answerRow{unitID: unitID, enc: enc, at: at, by: by})
	return nil
}

// saveAnswersSQL stores a unit's encrypted answers and who gave them, and clears its
// draft.
const saveAnswersSQL = `UPDATE survey_unit SET answers_enc = $2, answered_at = $3, answered_by = $4, draft_enc = NULL WHERE id = $1`

// answersAtCommit are the answers a transaction saves with its COMMIT.
type answersAtCommit struct{ rows []answerRow }

type answerRow struct {
	unitID, by int64
	enc        []byte
	at         time.Time
}

// Len and Truncate let a savepoint rolled back take back the answers saved in it.
func (a *answersAtCommit) Len() int       { return len(a.rows) }
func (a *answersAtCommit) Truncate(n int) { a.rows = a.rows[:n] }

type answersAtCommitKey struct{}

// SaveDraft stores a unit's draft, or clears it (nil).
func (s *SurveyStore) SaveDraft(ctx context.Context, unitID int64, a survey.Answers) error {
	var enc []byte
	if a != nil {
		var err error
		if enc, err = s.encryptJSON(a, unitAD(unitID, "draft")); err != nil {
			return err
		}
	}
	_, err := pgtx.Tx(ctx).Exec(ctx, `UPDATE survey_unit SET draft_enc = $2 WHERE id = $1`, unitID, enc)
	return classify(err, "save survey draft")
}

// MarkFirstAnswer records a survey's first answer once.
func (s *SurveyStore) MarkFirstAnswer(ctx context.Context, surveyID int64, at time.Time) error {
	_, err := pgtx.Tx(ctx).Exec(ctx, `UPDATE survey SET first_answer_at = $2 WHERE id = $1 AND first_answer_at IS NULL`, surveyID, at)
	return classify(err, "survey first answer")
}
