package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/renraku/renraku/internal/postgres/pgtx"
	"github.com/renraku/renraku/internal/report"
	"github.com/renraku/renraku/internal/school"
)

// ReportStore implements report.Store: counts only.
type ReportStore struct{}

var _ report.Store = ReportStore{}

// Figures counts a month per school ($1 board, $2 school or 0, [$3, $4)), and the
// board's own announcements (safety alerts to several schools) in a row of their own.
func (ReportStore) Figures(ctx context.Context, boardID, schoolID int64, from, to time.Time) ([]report.Row, error) {
	db := pgtx.Tx(ctx)
	rows, err := db.Query(ctx, `
		SELECT sc.id, sc.name,
			(SELECT count(DISTINCT g.id) FROM guardian g JOIN guardianship gs ON gs.guardian_id = g.id JOIN child c ON c.id = gs.child_id
				WHERE c.school_id = sc.id AND g.created_at >= $3 AND g.created_at < $4),
			(SELECT count(DISTINCT g.id) FROM guardian g JOIN line_friend f ON f.id = g.friend_id JOIN guardianship gs ON gs.guardian_id = g.id
				JOIN child c ON c.id = gs.child_id WHERE c.school_id = sc.id AND gs.status = 'verified' AND f.following),
			(SELECT count(*) FROM absence_report r WHERE r.school_id = sc.id AND r.created_at >= $3 AND r.created_at < $4),
			(SELECT count(*) FROM message m JOIN conversation cv ON cv.id = m.conversation_id
				WHERE cv.school_id = sc.id AND m.direction = 'in' AND m.created_at >= $3 AND m.created_at < $4),
			(SELECT count(*) FROM message m JOIN conversation cv ON cv.id = m.conversation_id
				WHERE cv.school_id = sc.id AND m.direction = 'out' AND m.created_at >= $3 AND m.created_at < $4),
			(SELECT count(*) FROM announcement a WHERE a.school_id = sc.id AND a.kind = 'notice' AND a.started_at >= $3 AND a.started_at < $4),
			(SELECT count(*) FROM announcement a WHERE a.school_id = sc.id AND a.kind = 'safety' AND a.started_at >= $3 AND a.started_at < $4)
		FROM school sc WHERE sc.board_id = $1 AND ($2 = 0 OR sc.id = $2) ORDER BY sc.school_type, sc.name`, boardID, schoolID, from, to)
	if err != nil {
		return nil, classify(err, "report figures")
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (report.Row, error) {
		var x report.Row
		return x, r.Scan(&x.SchoolID, &x.School, &x.Registrations, &x.Guardians, &x.AbsenceReports, &x.MessagesIn, &x.MessagesOut,
			&x.Announcements, &x.SafetyAlerts)
	})
	if err != nil || schoolID != 0 {
		return out, classify(err, "report figures")
	}
	var own report.Row // SchoolID 0: the board's own
	if err := db.QueryRow(ctx, `SELECT count(*) FILTER (WHERE kind = 'notice'), count(*) FILTER (WHERE kind = 'safety')
		FROM announcement WHERE board_id = $1 AND school_id IS NULL AND started_at >= $2 AND started_at < $3`, boardID, from, to).
		Scan(&own.Announcements, &own.SafetyAlerts); err != nil {
		return nil, classify(err, "report board figures")
	}
	if own.Announcements+own.SafetyAlerts > 0 {
		out = append(out, own)
	}
	return out, nil
}

// Daily counts each day's absence reports and parents' messages.
func (ReportStore) Daily(ctx context.Context, boardID, schoolID int64, from, to time.Time) ([]report.Day, error) {
	db := pgtx.Tx(ctx)
	rows, err := db.Query(ctx, `
		SELECT d::date,
			(SELECT count(*) FROM absence_report r JOIN school sc ON sc.id = r.school_id WHERE sc.board_id = $1 AND ($2 = 0 OR sc.id = $2)
				AND r.created_at >= d AND r.created_at < d + interval '1 day'),
			(SELECT count(*) FROM message m JOIN conversation cv ON cv.id = m.conversation_id JOIN school sc ON sc.id = cv.school_id
				WHERE sc.board_id = $1 AND ($2 = 0 OR sc.id = $2) AND m.direction = 'in' AND m.created_at >= d AND m.created_at < d + interval '1 day')
		FROM generate_series($3::timestamptz, $4::timestamptz - interval '1 day', interval '1 day') AS d ORDER BY d`, boardID, schoolID, from, to)
	if err != nil {
		return nil, classify(err, "report days")
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (report.Day, error) {
		var x report.Day
		err := r.Scan(&x.Day, &x.Absences, &x.Messages)
		y, m, d := x.Day.Date()
		x.Day = time.Date(y, m, d, 0, 0, 0, 0, school.Tokyo)
		return x, err
	})
	return out, classify(err, "report days")
}

// Withdrawals counts the board's parents who withdrew in the month.
func (ReportStore) Withdrawals(ctx context.Context, boardID int64, from, to time.Time) (int, error) {
	db := pgtx.Tx(ctx)
	var n int
	err := db.QueryRow(ctx, `SELECT COALESCE(sum(count), 0) FROM deletion_record WHERE board_id = $1 AND category = 'guardian'
		AND reason = 'withdrawal' AND occurred_at >= $2 AND occurred_at < $3`, boardID, from, to).Scan(&n)
	return n, classify(err, "report withdrawals")
}

// Channels counts each channel's messages against the quota and its failed deliveries.
func (ReportStore) Channels(ctx context.Context, boardID, schoolID int64, from, to time.Time) ([]report.Channel, error) {
	db := pgtx.Tx(ctx)
	rows, err := db.Query(ctx, `
		SELECT ch.id, ch.line_channel_id, string_agg(DISTINCT sc.name, '・'),
			(SELECT count(*) FROM line_outbound o WHERE o.channel_id = ch.id AND o.state = 'sent' AND o.method = 'push'
				AND o.sent_at >= $3 AND o.sent_at < $4)
			+ (SELECT COALESCE(sum(b.recipients), 0) FROM announcement_batch b WHERE b.channel_id = ch.id AND b.state = 'sent'
				AND b.sent_at >= $3 AND b.sent_at < $4),
			(SELECT count(*) FROM line_outbound o WHERE o.channel_id = ch.id AND o.state IN ('failed', 'undeliverable')
				AND o.created_at >= $3 AND o.created_at < $4)
			+ (SELECT count(*) FROM `+reached+` r JOIN announcement a ON a.id = r.announcement_id
				WHERE r.channel_id = ch.id AND r.state = 'failed' AND a.started_at >= $3 AND a.started_at < $4)
		FROM line_channel ch JOIN school sc ON sc.line_channel_id = ch.id
		WHERE sc.board_id = $1 AND ($2 = 0 OR sc.id = $2) GROUP BY ch.id ORDER BY ch.id`, boardID, schoolID, from, to)
	if err != nil {
		return nil, classify(err, "report channels")
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (report.Channel, error) {
		var x report.Channel
		return x, r.Scan(&x.ID, &x.LineChannelID, &x.Schools, &x.Used, &x.Failures)
	})
	return out, classify(err, "report channels")
}

// Beats counts the minutes with a beat in [from, to).
func (ReportStore) Beats(ctx context.Context, from, to time.Time) (int, error) {
	db := pgtx.Tx(ctx)
	var n int
	err := db.QueryRow(ctx, `SELECT count(*) FROM availability_beat WHERE at >= $1 AND at < $2`, from, to).Scan(&n)
	return n, classify(err, "report beats")
}

// Beat records the minute of at.
func (ReportStore) Beat(ctx context.Context, at time.Time) error {
	db := pgtx.Tx(ctx)
	_, err := db.Exec(ctx, `INSERT INTO availability_beat (at) VALUES (date_trunc('minute', $1::timestamptz)) ON CONFLICT DO NOTHING`, at)
	return classify(err, "beat")
}

// BoardName reads a board's name.
func (ReportStore) BoardName(ctx context.Context, boardID int64) (string, error) {
	return RetentionStore{}.BoardName(ctx, boardID)
}

// FirstBeat returns the first beat ever recorded.
func (ReportStore) FirstBeat(ctx context.Context) (time.Time, bool, error) {
	db := pgtx.Tx(ctx)
	var at *time.Time
	err := db.QueryRow(ctx, `SELECT min(at) FROM availability_beat`).Scan(&at)
	if err != nil || at == nil {
		return time.Time{}, false, classify(err, "first beat")
	}
	return *at, true, nil
}
