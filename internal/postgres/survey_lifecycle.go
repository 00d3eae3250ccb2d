package postgres

import (
	"context"

	"github.com/renraku/renraku/internal/postgres/pgtx"
)

// Surveys' part in the other features' lifecycles (issue 19): the year rollover cancels
// those not yet sent to last year's classes, and a withdrawing guardian's answers go
// with them. Their retention period is in retention.go; a child's or a guardian's units
// and recipients go with them by cascade.

// CancelSurveys cancels a school's surveys not yet sent (drafts and scheduled) to
// classes, clubs or grades: at the switch those are last year's, and the survey would
// reach the wrong families. Surveys already sent stay readable.
func (s *RolloverStore) CancelSurveys(ctx context.Context, schoolID int64) (int, error) {
	db := pgtx.Tx(ctx)
	tag, err := db.Exec(ctx, `UPDATE survey SET state = 'cancelled', cancel_reason = 'rollover' WHERE school_id = $1 AND state IN ('draft', 'scheduled')
		AND (audience ? 'classes' OR audience ? 'clubs' OR audience ? 'grades')`, schoolID)
	if err != nil {
		return 0, classify(err, "cancel last year's surveys")
	}
	return int(tag.RowsAffected()), nil
}

// WipeSurveyAnswers removes the answers a guardian gave (answers, draft, when and by
// whom) from every survey unit they last answered, and returns how many. A per-child
// unit of a child who stays registered through another guardian stays, unanswered: no
// data the withdrawing guardian gave survives. Their per-family units and those of the
// children deleted with them go by cascade.
func (s *RegistrationStore) WipeSurveyAnswers(ctx context.Context, guardianID int64) (int, error) {
	db := pgtx.Tx(ctx)
	tag, err := db.Exec(ctx, `UPDATE survey_unit SET answers_enc = NULL, answered_at = NULL, answered_by = NULL, draft_enc = NULL
		WHERE answered_by = $1`, guardianID)
	if err != nil {
		return 0, classify(err, "wipe a guardian's survey answers")
	}
	return int(tag.RowsAffected()), nil
}
