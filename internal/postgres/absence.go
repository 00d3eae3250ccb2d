package postgres

import (
	"context"
	"encoding/json"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/renraku/renraku/internal/absence"
	"github.com/renraku/renraku/internal/postgres/pgtx"
	"github.com/renraku/renraku/internal/school"
	"github.com/renraku/renraku/internal/vault"
)

// AbsenceStore implements absence.Store. A report's detail (reason, symptoms,
// temperature, times, note) is encrypted.
type AbsenceStore struct {
	Vault *vault.Vault
}

var _ absence.Store = (*AbsenceStore)(nil)

func absenceAD(id int64) vault.AD { return vault.NewADForID("absence_report", "detail", id) }

// FindSettings reads how a school takes reports.
func (s *AbsenceStore) FindSettings(ctx context.Context, schoolID int64) (absence.Settings, error) {
	db := pgtx.Tx(ctx)
	st := absence.Settings{SchoolID: schoolID}
	err := db.QueryRow(ctx, `SELECT board_id, to_char(absence_cutoff, 'HH24:MI'), absence_reasons, absence_symptoms, absence_notify, phone,
		absence_alert_percent, absence_alert_min, absence_club_reasons
		FROM school WHERE id = $1`, schoolID).Scan(&st.BoardID, &st.Cutoff, &st.Reasons, &st.Symptoms, &st.Notify, &st.Phone, &st.AlertPercent, &st.AlertMin, &st.ClubReasons)
	return st, classify(err, "absence settings")
}

// FindFormSettings reads how a school takes reports and its closed days from..to.
func (s *AbsenceStore) FindFormSettings(ctx context.Context, schoolID int64, from, to time.Time) (absence.Settings, error) {
	db := pgtx.Tx(ctx)
	st := absence.Settings{SchoolID: schoolID}
	var closed []string
	err := db.QueryRow(ctx, `SELECT board_id, to_char(absence_cutoff, 'HH24:MI'), absence_reasons, absence_symptoms, absence_notify, phone,
		absence_alert_percent, absence_alert_min, absence_club_reasons,
		ARRAY(SELECT to_char(day, 'YYYY-MM-DD') FROM school_closed_day WHERE school_id = $1 AND day BETWEEN $2::date AND $3::date ORDER BY day)
		FROM school WHERE id = $1`, schoolID, from.In(school.Tokyo).Format("2006-01-02"), to.In(school.Tokyo).Format("2006-01-02")).
		Scan(&st.BoardID, &st.Cutoff, &st.Reasons, &st.Symptoms, &st.Notify, &st.Phone, &st.AlertPercent, &st.AlertMin, &st.ClubReasons, &closed)
	if err != nil {
		return st, classify(err, "absence settings")
	}
	for _, day := range closed {
		d, err := school.ParseDay(day)
		if err != nil {
			return st, err
		}
		st.Closed = append(st.Closed, d)
	}
	return st, nil
}

func (s *AbsenceStore) sealDetail(id int64, d absence.Detail) ([]byte, error) {
	b, err := json.Marshal(d)
	if err != nil {
		return nil, err
	}
	return s.Vault.EncryptBytes(b, absenceAD(id))
}

// SaveReport stores or corrects a report (see absence.Store) in two statements: one
// that finds a report stored under the key, the child's report of that day (locked)
// and a new ID, then the insert or the correction.
func (s *AbsenceStore) SaveReport(ctx context.Context, r *absence.Report, key []byte) (bool, error) {
	db := pgtx.Tx(ctx)
	var seen, day *int64
	var id int64
	// The new ID is drawn whether or not it is used (a sequence has gaps anyway): one
	// round trip less for the report stored at the morning peak.
	err := db.QueryRow(ctx, `SELECT (SELECT id FROM absence_report WHERE submit_key = $1),
		(SELECT id FROM absence_report WHERE child_id = $2 AND date_from = $3 AND status <> 'cancelled' ORDER BY id DESC LIMIT 1 FOR UPDATE),
		nextval(pg_get_serial_sequence('absence_report', 'id'))`, key, r.ChildID, r.From).Scan(&seen, &day, &id)
	if err != nil {
		return false, classify(err, "absence key")
	}
	if seen != nil {
		got, err := s.FindReport(ctx, *seen)
		*r = got
		return false, err
	}
	if day != nil {
		enc, err := s.sealDetail(*day, r.Detail)
		if err != nil {
			return false, err
		}
		if err := db.QueryRow(ctx, `UPDATE absence_report SET kind = $2, date_to = $3, detail_enc = $4, status = 'sent', revision = revision + 1,
			submit_key = $5, acknowledged_by = NULL, acknowledged_at = NULL, updated_at = now() WHERE id = $1 RETURNING revision`,
			*day, r.Kind, r.To, enc, key).Scan(&r.Revision); err != nil {
			return false, classify(err, "correct absence")
		}
		r.ID, r.Status = *day, absence.Sent
		return false, nil
	}
	r.ID = id
	enc, err := s.sealDetail(r.ID, r.Detail)
	if err != nil {
		return false, err
	}
	err = db.QueryRow(ctx, `INSERT INTO absence_report (id, child_id, guardian_id, school_id, class_id, kind, date_from, date_to, detail_enc, submit_key)
		OVERRIDING SYSTEM VALUE VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING created_at, revision, status`,
		r.ID, r.ChildID, r.GuardianID, r.SchoolID, r.ClassID, r.Kind, r.From, r.To, enc, key).Scan(&r.CreatedAt, &r.Revision, &r.Status)
	return true, classify(err, "insert absence")
}

// FindClosedDays lists the days from..to a school marked closed (school_closed_day).
func (s *AbsenceStore) FindClosedDays(ctx context.Context, schoolID int64, from, to time.Time) ([]time.Time, error) {
	db := pgtx.Tx(ctx)
	rows, err := db.Query(ctx, `SELECT to_char(day, 'YYYY-MM-DD') FROM school_closed_day WHERE school_id = $1 AND day BETWEEN $2::date AND $3::date ORDER BY day`,
		schoolID, from.In(school.Tokyo).Format("2006-01-02"), to.In(school.Tokyo).Format("2006-01-02"))
	if err != nil {
		return nil, classify(err, "closed days")
	}
	defer rows.Close()
	var out []time.Time
	for rows.Next() {
		var day string
		if err := rows.Scan(&day); err != nil {
			return nil, classify(err, "closed days")
		}
		d, err := school.ParseDay(day)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, classify(rows.Err(), "closed days")
}

const reportColumns = `a.id, a.child_id, COALESCE(a.guardian_id, 0), a.school_id, a.class_id, a.kind, a.date_from, a.date_to, a.detail_enc,
	a.status, a.revision, a.created_at, c.name_enc, cl.grade::text || '年' || cl.name, gu.nickname_enc,
	COALESCE(gs.status = 'verified', false)`

const reportFrom = ` FROM absence_report a JOIN child c ON c.id = a.child_id JOIN class cl ON cl.id = a.class_id
	LEFT JOIN guardian gu ON gu.id = a.guardian_id
	LEFT JOIN guardianship gs ON gs.guardian_id = a.guardian_id AND gs.child_id = a.child_id `

func (s *AbsenceStore) scanReport(row pgx.Row) (absence.Report, error) {
	var r absence.Report
	var detail, name, nick []byte
	if err := row.Scan(&r.ID, &r.ChildID, &r.GuardianID, &r.SchoolID, &r.ClassID, &r.Kind, &r.From, &r.To, &detail, &r.Status, &r.Revision,
		&r.CreatedAt, &name, &r.ClassLabel, &nick, &r.Verified); err != nil {
		return r, err
	}
	b, err := s.Vault.DecryptBytes(detail, absenceAD(r.ID))
	if err != nil {
		return r, err
	}
	if err := json.Unmarshal(b, &r.Detail); err != nil {
		return r, err
	}
	if r.ChildName, err = s.Vault.DecryptPersonal(name, vault.NewADForID("child", "name", r.ChildID)); err != nil {
		return r, err
	}
	if nick != nil {
		r.Nickname, err = s.Vault.DecryptPersonal(nick, guardianAD(r.GuardianID, "nickname"))
	}
	return r, err
}

func (s *AbsenceStore) reports(ctx context.Context, where string, args ...any) ([]absence.Report, error) {
	db := pgtx.Tx(ctx)
	rows, err := db.Query(ctx, `SELECT `+reportColumns+reportFrom+where, args...)
	if err != nil {
		return nil, classify(err, "absence reports")
	}
	defer rows.Close()
	var out []absence.Report
	for rows.Next() {
		r, err := s.scanReport(rows)
		if err != nil {
			return nil, classify(err, "absence reports")
		}
		out = append(out, r)
	}
	return out, classify(rows.Err(), "absence reports")
}

// FindReport reads one report.
func (s *AbsenceStore) FindReport(ctx context.Context, id int64) (absence.Report, error) {
	db := pgtx.Tx(ctx)
	r, err := s.scanReport(db.QueryRow(ctx, `SELECT `+reportColumns+reportFrom+`WHERE a.id = $1`, id))
	return r, classify(err, "absence report")
}

// FindGuardianReports lists a guardian's reports from a day on, newest first.
func (s *AbsenceStore) FindGuardianReports(ctx context.Context, guardianID int64, since time.Time) ([]absence.Report, error) {
	return s.reports(ctx, `WHERE a.guardian_id = $1 AND a.date_to >= $2 ORDER BY a.date_from DESC, a.id DESC LIMIT 30`, guardianID, since)
}

// CancelReport cancels a report.
func (s *AbsenceStore) CancelReport(ctx context.Context, id int64) error {
	db := pgtx.Tx(ctx)
	_, err := db.Exec(ctx, `UPDATE absence_report SET status = 'cancelled', updated_at = now() WHERE id = $1`, id)
	return classify(err, "cancel absence")
}

// FindClassReports lists a class's reports covering a day (cancelled ones too, shown
// struck through), oldest first.
func (s *AbsenceStore) FindClassReports(ctx context.Context, classID int64, day time.Time) ([]absence.Report, error) {
	return s.reports(ctx, `WHERE a.class_id = $1 AND a.date_from <= $2 AND a.date_to >= $2 ORDER BY a.created_at, a.id`, classID, day)
}

// AcknowledgeReports marks reports acknowledged and returns them.
func (s *AbsenceStore) AcknowledgeReports(ctx context.Context, ids []int64, staffID int64) ([]absence.Report, error) {
	db := pgtx.Tx(ctx)
	if len(ids) == 0 {
		return nil, nil
	}
	if _, err := db.Exec(ctx, `UPDATE absence_report SET status = 'acknowledged', acknowledged_by = $2, acknowledged_at = now(), updated_at = now()
		WHERE id = ANY($1) AND status = 'sent'`, ids, staffID); err != nil {
		return nil, classify(err, "acknowledge")
	}
	return s.reports(ctx, `WHERE a.id = ANY($1) ORDER BY a.id`, ids)
}

// FindClassScope returns a class's school and year.
func (s *AbsenceStore) FindClassScope(ctx context.Context, classID int64) (int64, int, error) {
	db := pgtx.Tx(ctx)
	var schoolID int64
	var year int
	err := db.QueryRow(ctx, `SELECT school_id, year FROM class WHERE id = $1`, classID).Scan(&schoolID, &year)
	return schoolID, year, classify(err, "class")
}

// FindGuardianFriend returns a guardian's LINE friend and language.
func (s *AbsenceStore) FindGuardianFriend(ctx context.Context, guardianID int64) (int64, string, error) {
	db := pgtx.Tx(ctx)
	var friendID int64
	var lang string
	err := db.QueryRow(ctx, `SELECT friend_id, language FROM guardian WHERE id = $1`, guardianID).Scan(&friendID, &lang)
	return friendID, lang, classify(err, "guardian friend")
}

// FindClubReports lists the reports covering a day of a club's members.
func (s *AbsenceStore) FindClubReports(ctx context.Context, clubID int64, day time.Time) ([]absence.Report, error) {
	return s.reports(ctx, `WHERE a.child_id IN (SELECT child_id FROM child_club WHERE club_id = $1)
		AND a.date_from <= $2 AND a.date_to >= $2 AND a.status <> 'cancelled' ORDER BY cl.grade, cl.name, a.id`, clubID, day)
}

// FindClubScope returns a club's school and year.
func (s *AbsenceStore) FindClubScope(ctx context.Context, clubID int64) (int64, int, error) {
	db := pgtx.Tx(ctx)
	var schoolID int64
	var year int
	err := db.QueryRow(ctx, `SELECT school_id, year FROM club WHERE id = $1`, clubID).Scan(&schoolID, &year)
	return schoolID, year, classify(err, "club")
}

// FindClubs lists a school year's clubs by name.
func (s *AbsenceStore) FindClubs(ctx context.Context, schoolID int64, year int) ([]absence.ClubChoice, error) {
	db := pgtx.Tx(ctx)
	rows, _ := db.Query(ctx, `SELECT id, name FROM club WHERE school_id = $1 AND year = $2 ORDER BY name`, schoolID, year)
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (absence.ClubChoice, error) {
		var c absence.ClubChoice
		err := r.Scan(&c.ID, &c.Name)
		return c, err
	})
	return out, classify(err, "clubs")
}

// FindSchoolReports lists a school's reports covering any day of from..to.
func (s *AbsenceStore) FindSchoolReports(ctx context.Context, schoolID int64, from, to time.Time) ([]absence.Report, error) {
	return s.reports(ctx, `WHERE a.school_id = $1 AND a.date_from <= $3 AND a.date_to >= $2 AND a.status <> 'cancelled' ORDER BY a.id`, schoolID, from, to)
}

// FindClassInfo lists a school year's classes with their enrolment and the number of
// their children that have at least one verified guardian.
func (s *AbsenceStore) FindClassInfo(ctx context.Context, schoolID int64, year int) ([]absence.ClassInfo, error) {
	db := pgtx.Tx(ctx)
	rows, _ := db.Query(ctx, `SELECT cl.id, cl.grade, cl.grade::text || '年' || cl.name, count(DISTINCT c.id) FILTER (WHERE gs.status = 'verified'), cl.enrolment
		FROM class cl LEFT JOIN child c ON c.class_id = cl.id LEFT JOIN guardianship gs ON gs.child_id = c.id
		WHERE cl.school_id = $1 AND cl.year = $2 GROUP BY cl.id ORDER BY cl.grade, length(cl.name), cl.name`, schoolID, year)
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (absence.ClassInfo, error) {
		var c absence.ClassInfo
		err := r.Scan(&c.ID, &c.Grade, &c.Label, &c.Registered, &c.Enrolment)
		return c, err
	})
	return out, classify(err, "class info")
}

// CountUnacknowledged counts a school's reports covering day that are still only sent,
// per class (of the given classes, or all), oldest first.
func (s *AbsenceStore) CountUnacknowledged(ctx context.Context, schoolID int64, day time.Time, classIDs []int64) ([]absence.ClassPending, error) {
	db := pgtx.Tx(ctx)
	rows, _ := db.Query(ctx, `SELECT sc.board_id, sc.id, cl.id, cl.year, cl.grade::text || '年' || cl.name, count(*), min(a.created_at)
		FROM absence_report a JOIN class cl ON cl.id = a.class_id JOIN school sc ON sc.id = a.school_id
		WHERE a.school_id = $1 AND a.status = 'sent' AND a.date_from <= $2 AND a.date_to >= $2 AND ($3::bigint[] IS NULL OR a.class_id = ANY($3))
		GROUP BY sc.board_id, sc.id, cl.id ORDER BY min(a.created_at), cl.id`, schoolID, day, classIDs)
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (absence.ClassPending, error) {
		var c absence.ClassPending
		err := r.Scan(&c.BoardID, &c.SchoolID, &c.ClassID, &c.Year, &c.Label, &c.Count, &c.Since)
		return c, err
	})
	return out, classify(err, "count unacknowledged")
}

// CountDay counts a school's reports covering day by kind (not cancelled).
func (s *AbsenceStore) CountDay(ctx context.Context, schoolID int64, day time.Time) (absence.Counts, error) {
	db := pgtx.Tx(ctx)
	var c absence.Counts
	err := db.QueryRow(ctx, `SELECT count(*) FILTER (WHERE kind = 'absent'), count(*) FILTER (WHERE kind = 'late'), count(*) FILTER (WHERE kind = 'early')
		FROM absence_report WHERE school_id = $1 AND status <> 'cancelled' AND date_from <= $2 AND date_to >= $2`, schoolID, day).Scan(&c.Absent, &c.Late, &c.Early)
	return c, classify(err, "count day")
}
