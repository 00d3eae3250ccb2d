package postgres

import (
	"context"
	"fmt"
	"strconv"

	"github.com/jackc/pgx/v5"

	"github.com/renraku/renraku/internal/apperr"
	"github.com/renraku/renraku/internal/postgres/pgtx"
	"github.com/renraku/renraku/internal/school"
)

// SchoolStore implements school.Store.
type SchoolStore struct{}

var _ school.Store = SchoolStore{}

// FindBoard finds a board by ID (all digits) or name.
func (SchoolStore) FindBoard(ctx context.Context, ref string) (school.Board, error) {
	db := pgtx.Tx(ctx)
	var b school.Board
	q := `SELECT id, name FROM board WHERE name = $1`
	var arg any = ref
	if id, err := strconv.ParseInt(ref, 10, 64); err == nil {
		q, arg = `SELECT id, name FROM board WHERE id = $1`, id
	}
	err := db.QueryRow(ctx, q, arg).Scan(&b.ID, &b.Name)
	return b, classify(err, "board")
}

// CreateBoard inserts the board unless one has the same name; b.ID is set either way.
func (SchoolStore) CreateBoard(ctx context.Context, b *school.Board) (bool, error) {
	db := pgtx.Tx(ctx)
	err := db.QueryRow(ctx, `INSERT INTO board (name) VALUES ($1) ON CONFLICT (name) DO NOTHING RETURNING id`, b.Name).Scan(&b.ID)
	if err == pgx.ErrNoRows {
		return false, classify(db.QueryRow(ctx, `SELECT id FROM board WHERE name = $1`, b.Name).Scan(&b.ID), "board")
	}
	return err == nil, classify(err, "create board")
}

// FindSchool finds a school by ID (all digits) or by name; a name shared by schools of
// different boards is refused as ambiguous.
func (SchoolStore) FindSchool(ctx context.Context, ref string) (school.School, error) {
	db := pgtx.Tx(ctx)
	q := `SELECT ` + schoolColumns + ` FROM school WHERE name = $1`
	var arg any = ref
	if id, err := strconv.ParseInt(ref, 10, 64); err == nil {
		q, arg = `SELECT `+schoolColumns+` FROM school WHERE id = $1`, id
	}
	rows, err := db.Query(ctx, q+` LIMIT 2`, arg)
	if err != nil {
		return school.School{}, classify(err, "school")
	}
	found, err := pgx.CollectRows(rows, scanSchool)
	switch {
	case err != nil:
		return school.School{}, classify(err, "school")
	case len(found) == 0:
		return school.School{}, classify(pgx.ErrNoRows, "school")
	case len(found) > 1:
		return school.School{}, apperr.E(apperr.Conflict, "", fmt.Errorf("school name is ambiguous: use its ID"))
	}
	return found[0], nil
}

// CreateSchool inserts the school unless its board has one of that name.
func (SchoolStore) CreateSchool(ctx context.Context, s *school.School) (bool, error) {
	db := pgtx.Tx(ctx)
	err := db.QueryRow(ctx, `
		INSERT INTO school (board_id, name, school_type, district) VALUES ($1, $2, $3, $4)
		ON CONFLICT (board_id, name) DO NOTHING RETURNING id`, s.BoardID, s.Name, s.Type, s.District).Scan(&s.ID)
	if err == pgx.ErrNoRows {
		err = db.QueryRow(ctx, `SELECT id, school_type, district FROM school WHERE board_id = $1 AND name = $2`, s.BoardID, s.Name).
			Scan(&s.ID, &s.Type, &s.District)
		return false, classify(err, "school")
	}
	return err == nil, classify(err, "create school")
}

const schoolColumns = `id, board_id, name, school_type, district, website_url, club_site_url, phone,
	to_char(office_open, 'HH24:MI'), to_char(office_close, 'HH24:MI'), office_days, auto_reply, current_year, teacher_totp,
	to_char(absence_cutoff, 'HH24:MI'), absence_reasons, absence_symptoms, absence_notify, absence_alert_percent, absence_alert_min, absence_club_reasons, inbox_inactivity_hours,
	response_window_days`

func scanSchool(r pgx.CollectableRow) (school.School, error) {
	var s school.School
	err := r.Scan(&s.ID, &s.BoardID, &s.Name, &s.Type, &s.District, &s.WebsiteURL, &s.ClubSiteURL, &s.Phone,
		&s.OfficeOpen, &s.OfficeClose, &s.OfficeDays, &s.AutoReply, &s.CurrentYear, &s.TeacherTOTP,
		&s.AbsenceCutoff, &s.AbsenceReasons, &s.AbsenceSymptoms, &s.AbsenceNotify, &s.AbsenceAlertPercent, &s.AbsenceAlertMin, &s.AbsenceClubReasons, &s.InboxInactivityHours,
		&s.ResponseWindowDays)
	return s, err
}

// FindSchoolByID finds a school by its ID.
func (SchoolStore) FindSchoolByID(ctx context.Context, id int64) (school.School, error) {
	db := pgtx.Tx(ctx)
	rows, _ := db.Query(ctx, `SELECT `+schoolColumns+` FROM school WHERE id = $1`, id)
	s, err := pgx.CollectExactlyOneRow(rows, scanSchool)
	return s, classify(err, "school")
}

// FindSchools lists a board's schools by name.
func (SchoolStore) FindSchools(ctx context.Context, boardID int64) ([]school.School, error) {
	db := pgtx.Tx(ctx)
	rows, _ := db.Query(ctx, `SELECT `+schoolColumns+` FROM school WHERE board_id = $1 ORDER BY school_type, name`, boardID)
	out, err := pgx.CollectRows(rows, scanSchool)
	return out, classify(err, "schools")
}

// UpdateSchool stores a school's settings.
func (SchoolStore) UpdateSchool(ctx context.Context, id int64, u school.Settings) error {
	db := pgtx.Tx(ctx)
	tag, err := db.Exec(ctx, `
		UPDATE school SET website_url = $2, club_site_url = $3, phone = $4, office_open = $5::time, office_close = $6::time,
			office_days = $7, auto_reply = $8, teacher_totp = $9, absence_cutoff = $10::time, absence_reasons = $11,
			absence_symptoms = $12, absence_notify = $13, absence_alert_percent = $14, absence_club_reasons = $15,
			inbox_inactivity_hours = $16, absence_alert_min = $17, response_window_days = $18
		WHERE id = $1`, id, u.WebsiteURL, u.ClubSiteURL, u.Phone, u.OfficeOpen, u.OfficeClose, u.OfficeDays, u.AutoReply, u.TeacherTOTP,
		u.AbsenceCutoff, u.AbsenceReasons, u.AbsenceSymptoms, u.AbsenceNotify, u.AbsenceAlertPercent, u.AbsenceClubReasons, u.InboxInactivityHours,
		u.AbsenceAlertMin, u.ResponseWindowDays)
	if err == nil && tag.RowsAffected() == 0 {
		err = pgx.ErrNoRows
	}
	return classify(err, "update school")
}

func scanClass(r pgx.CollectableRow) (school.Class, error) {
	var c school.Class
	err := r.Scan(&c.ID, &c.SchoolID, &c.Year, &c.Grade, &c.Name, &c.Enrolment)
	return c, err
}

// FindClasses lists a school year's classes in grade and name order.
func (SchoolStore) FindClasses(ctx context.Context, schoolID int64, year int) ([]school.Class, error) {
	db := pgtx.Tx(ctx)
	rows, _ := db.Query(ctx, `SELECT id, school_id, year, grade, name, enrolment FROM class WHERE school_id = $1 AND year = $2
		ORDER BY grade, length(name), name`, schoolID, year)
	out, err := pgx.CollectRows(rows, scanClass)
	return out, classify(err, "classes")
}

// FindClassByID finds a class.
func (SchoolStore) FindClassByID(ctx context.Context, id int64) (school.Class, error) {
	db := pgtx.Tx(ctx)
	rows, _ := db.Query(ctx, `SELECT id, school_id, year, grade, name, enrolment FROM class WHERE id = $1`, id)
	c, err := pgx.CollectExactlyOneRow(rows, scanClass)
	return c, classify(err, "class")
}

// CreateClass inserts a class; a duplicate is a Conflict.
func (SchoolStore) CreateClass(ctx context.Context, c *school.Class) error {
	db := pgtx.Tx(ctx)
	err := db.QueryRow(ctx, `INSERT INTO class (school_id, year, grade, name, enrolment) VALUES ($1, $2, $3, $4, $5) RETURNING id`,
		c.SchoolID, c.Year, c.Grade, c.Name, c.Enrolment).Scan(&c.ID)
	return classify(err, "create class")
}

// UpdateClass changes a class's enrolment.
func (SchoolStore) UpdateClass(ctx context.Context, id int64, upd school.ClassUpdate) error {
	db := pgtx.Tx(ctx)
	tag, err := db.Exec(ctx, `UPDATE class SET enrolment = $2 WHERE id = $1`, id, upd.Enrolment)
	if err == nil && tag.RowsAffected() == 0 {
		err = pgx.ErrNoRows
	}
	return classify(err, "update class")
}

// DeleteClass removes a class.
func (SchoolStore) DeleteClass(ctx context.Context, id int64) error {
	db := pgtx.Tx(ctx)
	_, err := db.Exec(ctx, `DELETE FROM class WHERE id = $1`, id)
	return classify(err, "delete class")
}

func scanClub(r pgx.CollectableRow) (school.Club, error) {
	var c school.Club
	err := r.Scan(&c.ID, &c.SchoolID, &c.Year, &c.Name)
	return c, err
}

// FindClubs lists a school year's clubs by name.
func (SchoolStore) FindClubs(ctx context.Context, schoolID int64, year int) ([]school.Club, error) {
	db := pgtx.Tx(ctx)
	rows, _ := db.Query(ctx, `SELECT id, school_id, year, name FROM club WHERE school_id = $1 AND year = $2 ORDER BY name`, schoolID, year)
	out, err := pgx.CollectRows(rows, scanClub)
	return out, classify(err, "clubs")
}

// FindClubByID finds a club.
func (SchoolStore) FindClubByID(ctx context.Context, id int64) (school.Club, error) {
	db := pgtx.Tx(ctx)
	rows, _ := db.Query(ctx, `SELECT id, school_id, year, name FROM club WHERE id = $1`, id)
	c, err := pgx.CollectExactlyOneRow(rows, scanClub)
	return c, classify(err, "club")
}

// CreateClub inserts a club; a duplicate is a Conflict.
func (SchoolStore) CreateClub(ctx context.Context, c *school.Club) error {
	db := pgtx.Tx(ctx)
	err := db.QueryRow(ctx, `INSERT INTO club (school_id, year, name) VALUES ($1, $2, $3) RETURNING id`,
		c.SchoolID, c.Year, c.Name).Scan(&c.ID)
	return classify(err, "create club")
}

// DeleteClub removes a club.
func (SchoolStore) DeleteClub(ctx context.Context, id int64) error {
	db := pgtx.Tx(ctx)
	_, err := db.Exec(ctx, `DELETE FROM club WHERE id = $1`, id)
	return classify(err, "delete club")
}

// FindYears lists the years with classes or clubs, and the current year.
func (SchoolStore) FindYears(ctx context.Context, schoolID int64) ([]int, error) {
	db := pgtx.Tx(ctx)
	rows, _ := db.Query(ctx, `
		SELECT year FROM class WHERE school_id = $1 UNION SELECT year FROM club WHERE school_id = $1
		UNION SELECT current_year FROM school WHERE id = $1 ORDER BY 1`, schoolID)
	out, err := pgx.CollectRows(rows, pgx.RowTo[int])
	return out, classify(err, "years")
}
