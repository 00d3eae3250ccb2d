package postgres

import (
	"context"
	"time"

	"github.com/renraku/renraku/internal/postgres/pgtx"
	"github.com/renraku/renraku/internal/survey"
	"github.com/renraku/renraku/internal/vault"
)

// What the results page, the export and the print read: one query for every unit of a
// survey, its class, its children and guardians (names and nicknames still encrypted;
// decrypted in one pass below) and the clubs of its children. The lateral subqueries
// each use an index (guardianship by child or guardian, guardian and child by ID).

const resultUnitsQuery = `SELECT u.id, COALESCE(u.child_id, 0), COALESCE(u.guardian_id, 0), u.school_id, u.class_id, cl.year, cl.grade,
		cl.grade::text || '年' || cl.name, u.answers_enc, u.answered_at, COALESCE(u.answered_by, 0), u.reminded_at,
		gu.ids, gu.nicks, ch.ids, ch.names,
		ARRAY(SELECT DISTINCT cc.club_id FROM child_club cc WHERE cc.child_id = ANY(ch.ids))
	FROM survey_unit u JOIN class cl ON cl.id = u.class_id
	CROSS JOIN LATERAL (SELECT COALESCE(array_agg(x.id ORDER BY x.id), '{}') AS ids, COALESCE(array_agg(x.nickname_enc ORDER BY x.id), '{}') AS nicks
		FROM (SELECT g.id, g.nickname_enc FROM guardian g WHERE g.id = u.guardian_id
			UNION ALL
			SELECT g.id, g.nickname_enc FROM guardianship gs JOIN guardian g ON g.id = gs.guardian_id
				WHERE gs.child_id = u.child_id AND gs.status = 'verified') x) gu
	CROSS JOIN LATERAL (SELECT COALESCE(array_agg(x.id ORDER BY x.id), '{}') AS ids, COALESCE(array_agg(x.name_enc ORDER BY x.id), '{}') AS names
		FROM (SELECT c.id, c.name_enc FROM child c WHERE c.id = u.child_id
			UNION ALL
			SELECT c.id, c.name_enc FROM guardianship gs JOIN child c ON c.id = gs.child_id
				WHERE gs.guardian_id = u.guardian_id AND gs.status = 'verified' AND c.school_id = u.school_id) x) ch
	WHERE u.survey_id = $1 AND ($2 = 0 OR u.school_id = $2)
	ORDER BY cl.grade, cl.name, u.class_id, u.id`

// FindResultUnits reads the units of a survey (of one school, unless schoolID is 0)
// with their class, children, nicknames, clubs and answers, decrypted.
func (s *SurveyStore) FindResultUnits(ctx context.Context, surveyID, schoolID int64) ([]survey.ResultUnit, error) {
	db := pgtx.Tx(ctx)
	rows, err := db.Query(ctx, resultUnitsQuery, surveyID, schoolID)
	if err != nil {
		return nil, classify(err, "survey result units")
	}
	defer rows.Close()
	var out []survey.ResultUnit
	for rows.Next() {
		var u survey.ResultUnit
		var answers []byte
		var answered, reminded *time.Time
		var gids, cids []int64
		var nicks, names [][]byte
		if err := rows.Scan(&u.ID, &u.ChildID, &u.GuardianID, &u.SchoolID, &u.ClassID, &u.Year, &u.Grade, &u.ClassLabel, &answers, &answered,
			&u.AnsweredBy, &reminded, &gids, &nicks, &cids, &names, &u.Clubs); err != nil {
			return nil, classify(err, "survey result units")
		}
		u.SurveyID = surveyID
		if answered != nil {
			u.AnsweredAt = *answered
		}
		if reminded != nil {
			u.RemindedAt = *reminded
		}
		if answers != nil {
			if err := s.decryptJSON(answers, unitAD(u.ID, "answers"), &u.Answers); err != nil {
				return nil, err
			}
		}
		u.GuardianIDs = gids
		for i, enc := range nicks {
			n, err := s.Vault.DecryptPersonal(enc, guardianAD(gids[i], "nickname"))
			if err != nil {
				return nil, err
			}
			u.Nicknames = append(u.Nicknames, n)
		}
		for i, enc := range names {
			n, err := s.Vault.DecryptPersonal(enc, vault.NewADForID("child", "name", cids[i]))
			if err != nil {
				return nil, err
			}
			u.Children = append(u.Children, n)
		}
		out = append(out, u)
	}
	return out, classify(rows.Err(), "survey result units")
}

// RemindRecipients returns the survey's recipients who follow the account now, each
// with the units they answer for that are not answered yet (children in grade, class
// and ID order).
func (s *SurveyStore) RemindRecipients(ctx context.Context, surveyID int64) ([]survey.Recipient, error) {
	db := pgtx.Tx(ctx)
	rows, err := db.Query(ctx, `SELECT r.guardian_id, f.id, f.channel_id, CASE WHEN f.language LIKE 'en%' THEN 'en' ELSE 'ja' END,
			x.unit_id, x.child_id, c.name_enc
		FROM survey_recipient r JOIN guardian g ON g.id = r.guardian_id JOIN line_friend f ON f.id = g.friend_id
		JOIN LATERAL (SELECT u.id AS unit_id, 0::bigint AS child_id, 0 AS grade, '' AS cname FROM survey_unit u
				WHERE u.survey_id = r.survey_id AND u.guardian_id = r.guardian_id AND u.answered_at IS NULL
			UNION ALL
			SELECT u.id, u.child_id, cl.grade, cl.name FROM guardianship gs JOIN survey_unit u ON u.child_id = gs.child_id AND u.survey_id = r.survey_id
				JOIN class cl ON cl.id = u.class_id
				WHERE gs.guardian_id = r.guardian_id AND gs.status = 'verified' AND u.answered_at IS NULL) x ON true
		LEFT JOIN child c ON c.id = NULLIF(x.child_id, 0)
		WHERE r.survey_id = $1 AND f.following
		ORDER BY r.guardian_id, x.grade, x.cname, x.unit_id`, surveyID)
	if err != nil {
		return nil, classify(err, "survey remind recipients")
	}
	defer rows.Close()
	var out []survey.Recipient
	for rows.Next() {
		var r survey.Recipient
		var u survey.RecipientUnit
		var childID int64
		var name []byte
		if err := rows.Scan(&r.GuardianID, &r.FriendID, &r.ChannelID, &r.Language, &u.UnitID, &childID, &name); err != nil {
			return nil, classify(err, "survey remind recipients")
		}
		if name != nil {
			if u.ChildName, err = s.Vault.DecryptPersonal(name, vault.NewADForID("child", "name", childID)); err != nil {
				return nil, err
			}
		}
		if n := len(out); n > 0 && out[n-1].GuardianID == r.GuardianID {
			out[n-1].Units = append(out[n-1].Units, u)
			continue
		}
		r.Units = []survey.RecipientUnit{u}
		out = append(out, r)
	}
	return out, classify(rows.Err(), "survey remind recipients")
}

// MarkReminded stamps the recipients and the units reminded.
func (s *SurveyStore) MarkReminded(ctx context.Context, surveyID int64, guardianIDs, unitIDs []int64, at time.Time) error {
	db := pgtx.Tx(ctx)
	if _, err := db.Exec(ctx, `UPDATE survey_recipient SET reminded_at = $3 WHERE survey_id = $1 AND guardian_id = ANY($2)`,
		surveyID, guardianIDs, at); err != nil {
		return classify(err, "survey recipients reminded")
	}
	_, err := db.Exec(ctx, `UPDATE survey_unit SET reminded_at = $3 WHERE survey_id = $1 AND id = ANY($2)`, surveyID, unitIDs, at)
	return classify(err, "survey units reminded")
}

// DueAutoReminders lists the surveys due their automatic reminder at now: sent (or
// sending), chosen, not yet reminded, whose deadline is less than a day away and which
// were sent at least a day before it.
func (s *SurveyStore) DueAutoReminders(ctx context.Context, now time.Time, limit int) ([]int64, error) {
	db := pgtx.Tx(ctx)
	rows, err := db.Query(ctx, `SELECT id FROM survey
		WHERE state IN ('sending', 'sent') AND auto_remind AND reminded_at IS NULL
			AND deadline > $1 AND deadline - interval '24 hours' <= $1 AND started_at <= deadline - interval '24 hours'
		ORDER BY deadline, id LIMIT $2`, now, limit)
	if err != nil {
		return nil, classify(err, "due survey reminders")
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, classify(err, "due survey reminders")
		}
		out = append(out, id)
	}
	return out, classify(rows.Err(), "due survey reminders")
}

// ClaimAutoReminder stamps survey.reminded_at when unset, reporting whether it did.
func (s *SurveyStore) ClaimAutoReminder(ctx context.Context, id int64, at time.Time) (bool, error) {
	db := pgtx.Tx(ctx)
	tag, err := db.Exec(ctx, `UPDATE survey SET reminded_at = $2 WHERE id = $1 AND reminded_at IS NULL`, id, at)
	if err != nil {
		return false, classify(err, "claim survey reminder")
	}
	return tag.RowsAffected() == 1, nil
}
