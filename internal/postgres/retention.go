package postgres

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/renraku/renraku/internal/postgres/pgtx"
	"github.com/renraku/renraku/internal/retention"
	"github.com/renraku/renraku/internal/school"
)

// RetentionStore implements retention.Store.
type RetentionStore struct{}

var _ retention.Store = RetentionStore{}

// FindPolicy reads a board's policy, or the defaults.
func (RetentionStore) FindPolicy(ctx context.Context, boardID int64) (retention.Policy, error) {
	db := pgtx.Tx(ctx)
	p := retention.Defaults
	p.BoardID = boardID
	err := db.QueryRow(ctx, `SELECT message_days, absence_days, announcement_days, survey_days, delete_on_leave, single_year, single_year_done, updated_at
		FROM retention_policy WHERE board_id = $1`, boardID).
		Scan(&p.MessageDays, &p.AbsenceDays, &p.AnnouncementDays, &p.SurveyDays, &p.DeleteOnLeave, &p.SingleYear, &p.SingleYearDone, &p.UpdatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return p, nil
	}
	return p, classify(err, "retention policy")
}

// SavePolicy stores a board's policy.
func (RetentionStore) SavePolicy(ctx context.Context, p retention.Policy) error {
	db := pgtx.Tx(ctx)
	_, err := db.Exec(ctx, `INSERT INTO retention_policy (board_id, message_days, absence_days, announcement_days, delete_on_leave, single_year, single_year_done, survey_days)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
		ON CONFLICT (board_id) DO UPDATE SET message_days = $2, absence_days = $3, announcement_days = $4, delete_on_leave = $5,
			single_year = $6, single_year_done = $7, survey_days = $8, updated_at = now()`,
		p.BoardID, p.MessageDays, p.AbsenceDays, p.AnnouncementDays, p.DeleteOnLeave, p.SingleYear, p.SingleYearDone, p.SurveyDays)
	return classify(err, "save retention policy")
}

// yearEndScope is every registration of a board's schools: $1 is the board.
const yearEndChildren = `SELECT c.id FROM child c JOIN school sc ON sc.id = c.school_id WHERE sc.board_id = $1`

// YearEnd counts or deletes every registration of a board: its guardians (those with a
// child in its schools), its children with their absence reports and conversations.
func (RetentionStore) YearEnd(ctx context.Context, boardID int64, dry bool) ([]retention.Item, []int64, error) {
	db := pgtx.Tx(ctx)
	var guardians, children, reports, conversations int
	if err := db.QueryRow(ctx, `SELECT
			(SELECT count(DISTINCT gs.guardian_id) FROM guardianship gs WHERE gs.child_id IN (`+yearEndChildren+`)),
			(SELECT count(*) FROM (`+yearEndChildren+`) x),
			(SELECT count(*) FROM absence_report r WHERE r.child_id IN (`+yearEndChildren+`)),
			(SELECT count(*) FROM conversation cv JOIN school sc ON sc.id = cv.school_id WHERE sc.board_id = $1)`, boardID).
		Scan(&guardians, &children, &reports, &conversations); err != nil {
		return nil, nil, classify(err, "count registrations")
	}
	items := []retention.Item{{Category: "guardian", Count: guardians, Reason: "year_end", Policy: "single_year"},
		{Category: "child", Count: children, Reason: "year_end", Policy: "single_year"},
		{Category: "absence_report", Count: reports, Reason: "year_end", Policy: "single_year"},
		{Category: "conversation", Count: conversations, Reason: "year_end", Policy: "single_year"}}
	if dry {
		return items, nil, nil
	}
	rows, err := db.Query(ctx, `DELETE FROM guardian g WHERE g.id IN (SELECT gs.guardian_id FROM guardianship gs WHERE gs.child_id IN (`+yearEndChildren+`))
		RETURNING g.friend_id`, boardID)
	if err != nil {
		return nil, nil, classify(err, "delete guardians")
	}
	friends, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, nil, classify(err, "delete guardians")
	}
	if _, err := db.Exec(ctx, `DELETE FROM conversation cv USING school sc WHERE sc.id = cv.school_id AND sc.board_id = $1`, boardID); err != nil {
		return nil, nil, classify(err, "delete conversations")
	}
	if _, err := db.Exec(ctx, `DELETE FROM child c USING school sc WHERE sc.id = c.school_id AND sc.board_id = $1`, boardID); err != nil {
		return nil, nil, classify(err, "delete children")
	}
	return items, friends, nil
}

// MarkYearEnd records the school year whose single-year deletion ran.
func (RetentionStore) MarkYearEnd(ctx context.Context, boardID int64, year int) error {
	db := pgtx.Tx(ctx)
	_, err := db.Exec(ctx, `UPDATE retention_policy SET single_year_done = $2 WHERE board_id = $1`, boardID, year)
	return classify(err, "mark year end")
}

// retentionRule is one category: the SQL that counts and the SQL that deletes what a
// board keeps past its cut-off ($1 board, $2 cut-off). A category whose rows name
// stored files (handouts) has the SQL that lists their keys, read before the delete.
type retentionRule struct {
	category, policy string
	cutoff           func(p retention.Policy, now time.Time) any
	count, delete    string
	files            string
}

func daysBefore(now time.Time, days int) time.Time { return now.AddDate(0, 0, -days) }

func dayBefore(now time.Time, days int) time.Time {
	y, m, d := now.In(school.Tokyo).AddDate(0, 0, -days).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

var retentionRules = []retentionRule{
	{category: "message", policy: "message_days",
		cutoff: func(p retention.Policy, now time.Time) any { return daysBefore(now, p.MessageDays) },
		count: `SELECT count(*) FROM message m JOIN conversation cv ON cv.id = m.conversation_id JOIN school sc ON sc.id = cv.school_id
			WHERE sc.board_id = $1 AND m.created_at < $2`,
		delete: `DELETE FROM message m USING conversation cv, school sc WHERE cv.id = m.conversation_id AND sc.id = cv.school_id
			AND sc.board_id = $1 AND m.created_at < $2`},
	// A conversation whose last message is past the cut-off has no message left.
	{category: "conversation", policy: "message_days",
		cutoff: func(p retention.Policy, now time.Time) any { return daysBefore(now, p.MessageDays) },
		count:  `SELECT count(*) FROM conversation cv JOIN school sc ON sc.id = cv.school_id WHERE sc.board_id = $1 AND cv.last_message_at < $2`,
		delete: `DELETE FROM conversation cv USING school sc WHERE sc.id = cv.school_id AND sc.board_id = $1 AND cv.last_message_at < $2
			AND NOT EXISTS (SELECT 1 FROM message m WHERE m.conversation_id = cv.id)`},
	// Copies of messages sent in LINE go with the conversations' period; the rows stay
	// (they count the month's LINE usage).
	{category: "line_copy", policy: "message_days",
		cutoff: func(p retention.Policy, now time.Time) any { return daysBefore(now, p.MessageDays) },
		count: `SELECT count(*) FROM line_outbound o JOIN line_channel ch ON ch.id = o.channel_id
			WHERE ch.board_id = $1 AND o.created_at < $2 AND o.state <> 'queued' AND o.messages_enc IS NOT NULL`,
		delete: `UPDATE line_outbound o SET messages_enc = NULL, reply_token_enc = NULL FROM line_channel ch
			WHERE ch.id = o.channel_id AND ch.board_id = $1 AND o.created_at < $2 AND o.state <> 'queued' AND o.messages_enc IS NOT NULL`},
	{category: "absence_report", policy: "absence_days",
		cutoff: func(p retention.Policy, now time.Time) any { return dayBefore(now, p.AbsenceDays) },
		count:  `SELECT count(*) FROM absence_report r JOIN school sc ON sc.id = r.school_id WHERE sc.board_id = $1 AND r.date_to < $2::date`,
		delete: `DELETE FROM absence_report r USING school sc WHERE sc.id = r.school_id AND sc.board_id = $1 AND r.date_to < $2::date`},
	// A child who left (graduation or transfer under a board that keeps their data) has
	// no guardian; once the periods have removed their reports and conversations, the
	// child goes too.
	{category: "child", policy: "absence_days",
		cutoff: func(p retention.Policy, now time.Time) any { return dayBefore(now, p.AbsenceDays) },
		count: `SELECT count(*) FROM child c JOIN school sc ON sc.id = c.school_id WHERE sc.board_id = $1 AND $2::date IS NOT NULL
			AND NOT EXISTS (SELECT 1 FROM guardianship gs WHERE gs.child_id = c.id)
			AND NOT EXISTS (SELECT 1 FROM absence_report r WHERE r.child_id = c.id AND r.date_to >= $2::date)
			AND NOT EXISTS (SELECT 1 FROM conversation cv WHERE cv.child_id = c.id)`,
		delete: `DELETE FROM child c USING school sc WHERE sc.id = c.school_id AND sc.board_id = $1 AND $2::date IS NOT NULL
			AND NOT EXISTS (SELECT 1 FROM guardianship gs WHERE gs.child_id = c.id)
			AND NOT EXISTS (SELECT 1 FROM absence_report r WHERE r.child_id = c.id)
			AND NOT EXISTS (SELECT 1 FROM conversation cv WHERE cv.child_id = c.id)`},
	// Handouts go with their announcement; counted first.
	{category: "handout", policy: "announcement_days",
		cutoff: func(p retention.Policy, now time.Time) any { return daysBefore(now, p.AnnouncementDays) },
		count: `SELECT count(*) FROM handout h JOIN announcement a ON a.id = h.announcement_id
			WHERE a.board_id = $1 AND a.created_at < $2 AND a.state NOT IN ('scheduled', 'sending')`,
		files: `SELECT h.storage_key FROM handout h JOIN announcement a ON a.id = h.announcement_id
			WHERE a.board_id = $1 AND a.created_at < $2 AND a.state NOT IN ('scheduled', 'sending')`},
	{category: "announcement", policy: "announcement_days",
		cutoff: func(p retention.Policy, now time.Time) any { return daysBefore(now, p.AnnouncementDays) },
		count:  `SELECT count(*) FROM announcement a WHERE a.board_id = $1 AND a.created_at < $2 AND a.state NOT IN ('scheduled', 'sending')`,
		delete: `DELETE FROM announcement a WHERE a.board_id = $1 AND a.created_at < $2 AND a.state NOT IN ('scheduled', 'sending')`},
	// A survey goes a period after its deadline, with (by cascade) its units and their
	// answers, its recipients and its handouts, whose files go too. The answers and the
	// handouts are counted first.
	{category: "survey_answer", policy: "survey_days",
		cutoff: func(p retention.Policy, now time.Time) any { return daysBefore(now, p.SurveyDays) },
		count: `SELECT count(*) FROM survey_unit u JOIN survey s ON s.id = u.survey_id
			WHERE s.board_id = $1 AND s.deadline < $2 AND s.state NOT IN ('scheduled', 'sending') AND u.answered_at IS NOT NULL`},
	{category: "survey_handout", policy: "survey_days",
		cutoff: func(p retention.Policy, now time.Time) any { return daysBefore(now, p.SurveyDays) },
		count: `SELECT count(*) FROM survey_handout h JOIN survey s ON s.id = h.survey_id
			WHERE s.board_id = $1 AND s.deadline < $2 AND s.state NOT IN ('scheduled', 'sending')`,
		files: `SELECT h.storage_key FROM survey_handout h JOIN survey s ON s.id = h.survey_id
			WHERE s.board_id = $1 AND s.deadline < $2 AND s.state NOT IN ('scheduled', 'sending')`},
	{category: "survey", policy: "survey_days",
		cutoff: func(p retention.Policy, now time.Time) any { return daysBefore(now, p.SurveyDays) },
		count:  `SELECT count(*) FROM survey s WHERE s.board_id = $1 AND s.deadline < $2 AND s.state NOT IN ('scheduled', 'sending')`,
		delete: `DELETE FROM survey s WHERE s.board_id = $1 AND s.deadline < $2 AND s.state NOT IN ('scheduled', 'sending')`},
}

func policyDays(p retention.Policy, name string) int {
	switch name {
	case "message_days":
		return p.MessageDays
	case "absence_days":
		return p.AbsenceDays
	case "survey_days":
		return p.SurveyDays
	}
	return p.AnnouncementDays
}

// Apply counts or deletes what a board keeps past its policy.
func (RetentionStore) Apply(ctx context.Context, p retention.Policy, now time.Time, dry bool) ([]retention.Item, []string, error) {
	db := pgtx.Tx(ctx)
	var items []retention.Item
	var keys []string
	for _, r := range retentionRules {
		cut := r.cutoff(p, now)
		if r.files != "" && !dry {
			rows, err := db.Query(ctx, r.files, p.BoardID, cut)
			if err != nil {
				return nil, nil, classify(err, "expired "+r.category)
			}
			k, err := pgx.CollectRows(rows, pgx.RowTo[string])
			if err != nil {
				return nil, nil, classify(err, "expired "+r.category)
			}
			keys = append(keys, k...)
		}
		var n int
		if dry || r.delete == "" {
			if err := db.QueryRow(ctx, r.count, p.BoardID, cut).Scan(&n); err != nil {
				return nil, nil, classify(err, "count "+r.category)
			}
		} else {
			tag, err := db.Exec(ctx, r.delete, p.BoardID, cut)
			if err != nil {
				return nil, nil, classify(err, "delete "+r.category)
			}
			n = int(tag.RowsAffected())
		}
		items = append(items, retention.Item{Category: r.category, Count: n, Reason: "retention",
			Policy: r.policy + "=" + strconv.Itoa(policyDays(p, r.policy))})
	}
	if !dry && len(keys) > 0 {
		// The PostgreSQL file store's rows go in this transaction; a folder's files after.
		if _, err := db.Exec(ctx, `DELETE FROM file_blob WHERE key = ANY($1)`, keys); err != nil {
			return nil, nil, classify(err, "expired handout files")
		}
	}
	return items, keys, nil
}

// RecordRun writes a run's deletion records (categories with something deleted).
func (RetentionStore) RecordRun(ctx context.Context, boardID int64, runID, actor string, items []retention.Item) error {
	db := pgtx.Tx(ctx)
	for _, it := range items {
		if it.Count == 0 {
			continue
		}
		if _, err := db.Exec(ctx, `INSERT INTO deletion_record (board_id, category, count, reason, policy, run_id, actor)
			VALUES ($1, $2, $3, $4, $5, $6, $7)`, boardID, it.Category, it.Count, it.Reason, it.Policy, runID, actor); err != nil {
			return classify(err, "deletion record")
		}
	}
	return nil
}

// FindRecords lists a board's deletion records in [from, to).
func (RetentionStore) FindRecords(ctx context.Context, boardID int64, from, to time.Time) ([]retention.Record, error) {
	db := pgtx.Tx(ctx)
	rows, err := db.Query(ctx, `SELECT d.id, d.occurred_at, COALESCE(sc.name, ''), d.category, d.count, d.reason, d.policy, d.actor
		FROM deletion_record d LEFT JOIN school sc ON sc.id = d.school_id
		WHERE d.board_id = $1 AND d.occurred_at >= $2 AND d.occurred_at < $3 ORDER BY d.occurred_at, d.id`, boardID, from, to)
	if err != nil {
		return nil, classify(err, "deletion records")
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (retention.Record, error) {
		var x retention.Record
		return x, r.Scan(&x.ID, &x.OccurredAt, &x.SchoolName, &x.Category, &x.Count, &x.Reason, &x.Policy, &x.Actor)
	})
	return out, classify(err, "deletion records")
}

// BoardIDs lists every board.
func (RetentionStore) BoardIDs(ctx context.Context) ([]int64, error) {
	db := pgtx.Tx(ctx)
	rows, err := db.Query(ctx, `SELECT id FROM board ORDER BY id`)
	if err != nil {
		return nil, classify(err, "boards")
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	return ids, classify(err, "boards")
}

// BoardName reads a board's name.
func (RetentionStore) BoardName(ctx context.Context, boardID int64) (string, error) {
	db := pgtx.Tx(ctx)
	var name string
	err := db.QueryRow(ctx, `SELECT name FROM board WHERE id = $1`, boardID).Scan(&name)
	return name, classify(err, "board")
}
