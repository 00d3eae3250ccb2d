package apptest

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/renraku/renraku/internal/survey"
	"github.com/renraku/renraku/internal/vault"
)

// WaitSurveySent waits until a survey has finished sending (its units and recipients
// are stored).
func WaitSurveySent(t testing.TB, w *LineWorld, id int64) {
	t.Helper()
	var state string
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if err := w.App.Services().Pool.QueryRow(context.Background(), `SELECT state FROM survey WHERE id = $1`, id).Scan(&state); err != nil {
			t.Fatal(err)
		}
		if state == survey.Sent {
			return
		}
	}
	t.Fatalf("survey %d still %s", id, state)
}

// SurveyUnit returns the ID of a survey's unit for a child (per child) or a guardian
// (per family).
func SurveyUnit(t testing.TB, w *LineWorld, surveyID, childID, guardianID int64) int64 {
	t.Helper()
	var id int64
	if err := w.App.Services().Pool.QueryRow(context.Background(), `SELECT id FROM survey_unit WHERE survey_id = $1
		AND (child_id = NULLIF($2, 0) OR guardian_id = NULLIF($3, 0))`, surveyID, childID, guardianID).Scan(&id); err != nil {
		t.Fatalf("survey %d's unit of child %d / guardian %d: %v", surveyID, childID, guardianID, err)
	}
	return id
}

// SeedSurveyAnswer stores a unit's answers as given by a guardian, encrypted by the
// vault as the parents' answers are (AD: survey_unit, answers, id), and marks the
// survey's first answer. It is for tests of what happens to answers (retention,
// withdrawal, leaks), whatever path a parent answers by.
func SeedSurveyAnswer(t testing.TB, w *LineWorld, unitID, guardianID int64, a survey.Answers) {
	t.Helper()
	s := w.App.Services()
	b, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	enc, err := s.Vault.EncryptPersonal(vault.Personal(b), vault.NewADForID("survey_unit", "answers", unitID))
	if err != nil {
		t.Fatal(err)
	}
	tag, err := s.Pool.Exec(context.Background(), `WITH u AS (UPDATE survey_unit SET answers_enc = $2, answered_at = now(), answered_by = $3 WHERE id = $1 RETURNING survey_id)
		UPDATE survey SET first_answer_at = COALESCE(first_answer_at, now()) WHERE id = (SELECT survey_id FROM u)`, unitID, enc, guardianID)
	if err != nil || tag.RowsAffected() != 1 {
		t.Fatal(fmt.Errorf("answering unit %d: %v (%d rows)", unitID, err, tag.RowsAffected()))
	}
}

// SurveyAnswer reads a unit's answers back through the vault (nil when unanswered).
func SurveyAnswer(t testing.TB, w *LineWorld, unitID int64) survey.Answers {
	t.Helper()
	s := w.App.Services()
	var enc []byte
	if err := s.Pool.QueryRow(context.Background(), `SELECT answers_enc FROM survey_unit WHERE id = $1`, unitID).Scan(&enc); err != nil {
		t.Fatal(err)
	}
	if enc == nil {
		return nil
	}
	p, err := s.Vault.DecryptPersonal(enc, vault.NewADForID("survey_unit", "answers", unitID))
	if err != nil {
		t.Fatal(err)
	}
	var a survey.Answers
	if err := json.Unmarshal([]byte(p.Reveal()), &a); err != nil {
		t.Fatal(err)
	}
	return a
}
