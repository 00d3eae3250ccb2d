package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/renraku/renraku/internal/announce"
	"github.com/renraku/renraku/internal/postgres/pgtx"
	"github.com/renraku/renraku/internal/survey"
	"github.com/renraku/renraku/internal/vault"
)

// SurveyStore implements survey.Store. Titles, explanations, questions, answers and
// handout names are encrypted.
type SurveyStore struct {
	Vault *vault.Vault
}

var _ survey.Store = (*SurveyStore)(nil)

func surveyAD(id int64, col string) vault.AD { return vault.NewADForID("survey", col, id) }

// encryptJSON encrypts v's JSON (questions, answers) as personal data.
func (s *SurveyStore) encryptJSON(v any, ad vault.AD) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return s.Vault.EncryptPersonal(vault.Personal(b), ad)
}

// decryptJSON decrypts what encryptJSON wrote into v.
func (s *SurveyStore) decryptJSON(enc []byte, ad vault.AD, v any) error {
	p, err := s.Vault.DecryptPersonal(enc, ad)
	if err != nil {
		return err
	}
	return json.Unmarshal([]byte(p.Reveal()), v)
}

// CreateSurvey stores a new survey.
func (s *SurveyStore) CreateSurvey(ctx context.Context, sv *survey.Survey) error {
	db := pgtx.Tx(ctx)
	if err := db.QueryRow(ctx, `SELECT nextval(pg_get_serial_sequence('survey', 'id'))`).Scan(&sv.ID); err != nil {
		return classify(err, "survey id")
	}
	title, body, qs, aud, err := s.content(*sv)
	if err != nil {
		return err
	}
	_, err = db.Exec(ctx, `INSERT INTO survey (id, board_id, school_id, kind, audience, audience_label, title_enc, body_enc, questions_enc,
			per_child, sensitive, deadline, auto_remind, state, scheduled_at, created_by)
		OVERRIDING SYSTEM VALUE VALUES ($1, $2, NULLIF($3, 0), $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)`,
		sv.ID, sv.BoardID, sv.SchoolID, sv.Kind, aud, sv.AudienceLabel, title, body, qs, sv.PerChild, sv.Sensitive, sv.Deadline,
		sv.AutoRemind, sv.State, nullTime(sv.ScheduledAt), sv.CreatedBy)
	return classify(err, "create survey")
}

func (s *SurveyStore) content(sv survey.Survey) (title, body, qs, aud []byte, err error) {
	if title, err = s.Vault.EncryptPersonal(sv.Title, surveyAD(sv.ID, "title")); err != nil {
		return
	}
	if body, err = s.Vault.EncryptPersonal(sv.Body, surveyAD(sv.ID, "body")); err != nil {
		return
	}
	if qs, err = s.encryptJSON(sv.Questions, surveyAD(sv.ID, "questions")); err != nil {
		return
	}
	aud, err = json.Marshal(sv.Audience)
	return
}

func nullTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// CreateHandout stores a handout's record (its bytes are in the file store).
func (s *SurveyStore) CreateHandout(ctx context.Context, surveyID int64, h *survey.Handout, sha []byte) error {
	db := pgtx.Tx(ctx)
	if err := db.QueryRow(ctx, `SELECT nextval(pg_get_serial_sequence('survey_handout', 'id'))`).Scan(&h.ID); err != nil {
		return classify(err, "survey handout id")
	}
	name, err := s.Vault.EncryptPersonal(h.Name, vault.NewADForID("survey_handout", "name", h.ID))
	if err != nil {
		return err
	}
	_, err = db.Exec(ctx, `INSERT INTO survey_handout (id, survey_id, position, name_enc, size_bytes, sha256, storage_key)
		OVERRIDING SYSTEM VALUE VALUES ($1, $2, $3, $4, $5, $6, $7)`, h.ID, surveyID, h.Position, name, h.Size, sha, h.Key)
	return classify(err, "create survey handout")
}

// UpdateSurvey stores an edited survey's content and times.
func (s *SurveyStore) UpdateSurvey(ctx context.Context, sv survey.Survey) error {
	db := pgtx.Tx(ctx)
	title, body, qs, aud, err := s.content(sv)
	if err != nil {
		return err
	}
	_, err = db.Exec(ctx, `UPDATE survey SET audience = $2, audience_label = $3, title_enc = $4, body_enc = $5, questions_enc = $6,
		per_child = $7, sensitive = $8, deadline = $9, auto_remind = $10, scheduled_at = $11 WHERE id = $1`,
		sv.ID, aud, sv.AudienceLabel, title, body, qs, sv.PerChild, sv.Sensitive, sv.Deadline, sv.AutoRemind, nullTime(sv.ScheduledAt))
	return classify(err, "update survey")
}

// DeleteHandout removes a handout's record.
func (s *SurveyStore) DeleteHandout(ctx context.Context, surveyID, handoutID int64) error {
	db := pgtx.Tx(ctx)
	_, err := db.Exec(ctx, `DELETE FROM survey_handout WHERE survey_id = $1 AND id = $2`, surveyID, handoutID)
	return classify(err, "delete survey handout")
}

const surveyColumns = `v.id, v.board_id, COALESCE(v.school_id, 0), v.kind, v.audience, v.audience_label, v.title_enc, v.body_enc,
	v.questions_enc, v.per_child, v.sensitive, v.deadline, v.auto_remind, v.state, v.cancel_reason, v.scheduled_at, v.started_at,
	v.finished_at, v.first_answer_at, v.reminded_at, v.created_by, v.created_at,
	(SELECT count(*) FROM survey_unit u WHERE u.survey_id = v.id),
	(SELECT count(*) FROM survey_unit u WHERE u.survey_id = v.id AND u.answered_at IS NOT NULL),
	(SELECT count(*) FROM survey_recipient r WHERE r.survey_id = v.id AND r.state = 'queued'),
	(SELECT count(*) FROM survey_recipient r WHERE r.survey_id = v.id AND r.state = 'skipped')`

func (s *SurveyStore) scanSurvey(r pgx.Row) (survey.Survey, error) {
	var sv survey.Survey
	var aud, title, body, qs []byte
	var sched, started, finished, first, reminded *time.Time
	c := &sv.Counts
	if err := r.Scan(&sv.ID, &sv.BoardID, &sv.SchoolID, &sv.Kind, &aud, &sv.AudienceLabel, &title, &body, &qs, &sv.PerChild,
		&sv.Sensitive, &sv.Deadline, &sv.AutoRemind, &sv.State, &sv.CancelReason, &sched, &started, &finished, &first, &reminded,
		&sv.CreatedBy, &sv.CreatedAt, &c.Units, &c.Answered, &c.Recipients, &c.Skipped); err != nil {
		return sv, err
	}
	for _, t := range []struct {
		from *time.Time
		to   *time.Time
	}{{sched, &sv.ScheduledAt}, {started, &sv.StartedAt}, {finished, &sv.FinishedAt}, {first, &sv.FirstAnswerAt}, {reminded, &sv.RemindedAt}} {
		if t.from != nil {
			*t.to = *t.from
		}
	}
	if err := json.Unmarshal(aud, &sv.Audience); err != nil {
		return sv, fmt.Errorf("survey audience: %w", err)
	}
	var err error
	if sv.Title, err = s.Vault.DecryptPersonal(title, surveyAD(sv.ID, "title")); err != nil {
		return sv, err
	}
	if sv.Body, err = s.Vault.DecryptPersonal(body, surveyAD(sv.ID, "body")); err != nil {
		return sv, err
	}
	return sv, s.decryptJSON(qs, surveyAD(sv.ID, "questions"), &sv.Questions)
}

// FindSurvey reads a survey with its handouts and figures.
func (s *SurveyStore) FindSurvey(ctx context.Context, id int64) (survey.Survey, error) {
	db := pgtx.Tx(ctx)
	sv, err := s.scanSurvey(db.QueryRow(ctx, `SELECT `+surveyColumns+` FROM survey v WHERE v.id = $1`, id))
	if err != nil {
		return sv, classify(err, "survey")
	}
	return sv, s.findHandouts(ctx, &sv)
}

func (s *SurveyStore) findHandouts(ctx context.Context, sv *survey.Survey) (err error) {
	sv.Handouts, err = readHandouts(ctx, s.Vault, "survey_handout", "survey_id", sv.ID)
	return err
}

// FindSurveys lists a school's surveys (schoolID: its own and the board's that reached
// it), or all of a board's (schoolID 0), newest first, without handouts.
func (s *SurveyStore) FindSurveys(ctx context.Context, boardID, schoolID int64, limit int) ([]survey.Survey, error) {
	db := pgtx.Tx(ctx)
	rows, err := db.Query(ctx, `SELECT `+surveyColumns+` FROM survey v
		WHERE v.board_id = $1 AND ($2 = 0 OR v.school_id = $2
			OR (v.school_id IS NULL AND EXISTS (SELECT 1 FROM survey_unit u WHERE u.survey_id = v.id AND u.school_id = $2)))
		ORDER BY v.created_at DESC, v.id DESC LIMIT $3`, boardID, schoolID, limit)
	if err != nil {
		return nil, classify(err, "surveys")
	}
	defer rows.Close()
	var out []survey.Survey
	for rows.Next() {
		sv, err := s.scanSurvey(rows)
		if err != nil {
			return nil, classify(err, "surveys")
		}
		out = append(out, sv)
	}
	return out, classify(rows.Err(), "surveys")
}

// LockState locks a survey's row and returns its state.
func (s *SurveyStore) LockState(ctx context.Context, id int64) (string, error) {
	db := pgtx.Tx(ctx)
	var st string
	err := db.QueryRow(ctx, `SELECT state FROM survey WHERE id = $1 FOR UPDATE`, id).Scan(&st)
	return st, classify(err, "survey state")
}

// SetState moves a survey on, stamping when sending started.
func (s *SurveyStore) SetState(ctx context.Context, id int64, state string, scheduledAt time.Time) error {
	db := pgtx.Tx(ctx)
	_, err := db.Exec(ctx, `UPDATE survey SET state = $2, scheduled_at = COALESCE($3, scheduled_at),
		started_at = CASE WHEN $2 IN ('sending', 'sent') THEN COALESCE(started_at, now()) ELSE started_at END WHERE id = $1`,
		id, state, nullTime(scheduledAt))
	return classify(err, "survey state")
}

// Finish marks a sending survey sent.
func (s *SurveyStore) Finish(ctx context.Context, id int64, at time.Time) error {
	db := pgtx.Tx(ctx)
	_, err := db.Exec(ctx, `UPDATE survey SET state = 'sent', finished_at = $2 WHERE id = $1 AND state = 'sending'`, id, at)
	return classify(err, "finish survey")
}

// DeleteSurvey deletes a draft.
func (s *SurveyStore) DeleteSurvey(ctx context.Context, id int64) error {
	db := pgtx.Tx(ctx)
	_, err := db.Exec(ctx, `DELETE FROM survey WHERE id = $1`, id)
	return classify(err, "delete survey")
}

// CountReach counts the guardians an audience reaches now, per channel.
func (s *SurveyStore) CountReach(ctx context.Context, boardID int64, a survey.Audience) ([]announce.Reach, error) {
	return (&AnnounceStore{Vault: s.Vault}).CountReach(ctx, boardID, a)
}

// Resolve stores the units and the recipients of a survey from its audience as it is
// now: per child, each child of the audience with a verified guardian; per family,
// each verified guardian, counted under the class of their first child in it (lowest
// grade, then class). Guardians who blocked the account are recipients skipped.
func (s *SurveyStore) Resolve(ctx context.Context, sv survey.Survey) (int, error) {
	db := pgtx.Tx(ctx)
	args := append(audienceArgs(sv.BoardID, sv.Audience), sv.ID)
	var err error
	if sv.PerChild {
		_, err = db.Exec(ctx, `INSERT INTO survey_unit (survey_id, child_id, school_id, class_id)
			SELECT DISTINCT $9::bigint, c.id, c.school_id, c.class_id`+reachFrom+audienceWhere+`
			ON CONFLICT DO NOTHING`, args...)
	} else {
		_, err = db.Exec(ctx, `INSERT INTO survey_unit (survey_id, guardian_id, school_id, class_id)
			SELECT DISTINCT ON (g.id) $9::bigint, g.id, c.school_id, c.class_id`+reachFrom+audienceWhere+`
			ORDER BY g.id, cl.grade, cl.id, c.id
			ON CONFLICT DO NOTHING`, args...)
	}
	if err != nil {
		return 0, classify(err, "survey units")
	}
	_, err = db.Exec(ctx, `INSERT INTO survey_recipient (survey_id, guardian_id, state)
		SELECT DISTINCT ON (g.id) $9::bigint, g.id, CASE WHEN f.following THEN 'queued' ELSE 'skipped' END`+reachFrom+audienceWhere+`
		ORDER BY g.id ON CONFLICT DO NOTHING`, args...)
	if err != nil {
		return 0, classify(err, "survey recipients")
	}
	var n int
	err = db.QueryRow(ctx, `SELECT count(*) FROM survey_recipient WHERE survey_id = $1 AND state = 'queued'`, sv.ID).Scan(&n)
	return n, classify(err, "survey recipients")
}

// PendingRecipients returns queued recipients whose message is not yet queued, with the
// units they answer (children by grade, class and ID).
func (s *SurveyStore) PendingRecipients(ctx context.Context, surveyID int64, limit int) ([]survey.Recipient, error) {
	db := pgtx.Tx(ctx)
	rows, err := db.Query(ctx, `SELECT r.guardian_id, f.id, f.channel_id, CASE WHEN f.language LIKE 'en%' THEN 'en' ELSE 'ja' END
		FROM survey_recipient r JOIN guardian g ON g.id = r.guardian_id JOIN line_friend f ON f.id = g.friend_id
		WHERE r.survey_id = $1 AND r.state = 'queued' AND r.outbound_id IS NULL ORDER BY r.guardian_id LIMIT $2`, surveyID, limit)
	if err != nil {
		return nil, classify(err, "pending survey recipients")
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (survey.Recipient, error) {
		var x survey.Recipient
		return x, r.Scan(&x.GuardianID, &x.FriendID, &x.ChannelID, &x.Language)
	})
	if err != nil || len(out) == 0 {
		return out, classify(err, "pending survey recipients")
	}
	ids := make([]int64, len(out))
	at := make(map[int64]int, len(out))
	for i, r := range out {
		ids[i] = r.GuardianID
		at[r.GuardianID] = i
	}
	urows, err := db.Query(ctx, `SELECT u.id, u.guardian_id, NULL::bytea, 0::bigint FROM survey_unit u
			WHERE u.survey_id = $1 AND u.guardian_id = ANY($2)
		UNION ALL
		SELECT u.id, gs.guardian_id, c.name_enc, c.id FROM survey_unit u JOIN guardianship gs ON gs.child_id = u.child_id AND gs.status = 'verified'
			JOIN child c ON c.id = u.child_id JOIN class cl ON cl.id = u.class_id
			WHERE u.survey_id = $1 AND gs.guardian_id = ANY($2)
		ORDER BY 2, 1`, surveyID, ids)
	if err != nil {
		return nil, classify(err, "survey recipient units")
	}
	defer urows.Close()
	for urows.Next() {
		var u survey.RecipientUnit
		var g, childID int64
		var name []byte
		if err := urows.Scan(&u.UnitID, &g, &name, &childID); err != nil {
			return nil, classify(err, "survey recipient units")
		}
		if name != nil {
			if u.ChildName, err = s.Vault.DecryptPersonal(name, vault.NewADForID("child", "name", childID)); err != nil {
				return nil, err
			}
		}
		i := at[g]
		out[i].Units = append(out[i].Units, u)
	}
	return out, classify(urows.Err(), "survey recipient units")
}

// SetRecipientOutbound records the outbox row carrying a recipient's message.
func (s *SurveyStore) SetRecipientOutbound(ctx context.Context, surveyID, guardianID, outboundID int64) error {
	db := pgtx.Tx(ctx)
	_, err := db.Exec(ctx, `UPDATE survey_recipient SET outbound_id = $3 WHERE survey_id = $1 AND guardian_id = $2`, surveyID, guardianID, outboundID)
	return classify(err, "survey recipient outbound")
}

// ReachesSchool reports whether a survey has units in a school.
func (s *SurveyStore) ReachesSchool(ctx context.Context, surveyID, schoolID int64) (bool, error) {
	db := pgtx.Tx(ctx)
	var ok bool
	err := db.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM survey_unit WHERE survey_id = $1 AND school_id = $2)`, surveyID, schoolID).Scan(&ok)
	return ok, classify(err, "survey reach")
}
