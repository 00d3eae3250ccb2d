package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/renraku/renraku/internal/postgres/pgtx"
	"github.com/renraku/renraku/internal/school"
)

var _ school.ClosedDayStore = SchoolStore{}

// FindClosedDays lists a school's closed days from a day on, in order.
func (SchoolStore) FindClosedDays(ctx context.Context, schoolID int64, from time.Time) ([]school.ClosedDay, error) {
	db := pgtx.Tx(ctx)
	rows, err := db.Query(ctx, `SELECT to_char(day, 'YYYY-MM-DD'), note FROM school_closed_day WHERE school_id = $1 AND day >= $2::date ORDER BY day`,
		schoolID, from.In(school.Tokyo).Format("2006-01-02"))
	if err != nil {
		return nil, classify(err, "closed days")
	}
	defer rows.Close()
	var out []school.ClosedDay
	for rows.Next() {
		var day string
		var d school.ClosedDay
		if err := rows.Scan(&day, &d.Note); err != nil {
			return nil, classify(err, "closed days")
		}
		if d.Day, err = school.ParseDay(day); err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, classify(rows.Err(), "closed days")
}

// AddClosedDay stores a closed day (a day already marked is a conflict).
func (SchoolStore) AddClosedDay(ctx context.Context, schoolID int64, d school.ClosedDay) error {
	db := pgtx.Tx(ctx)
	_, err := db.Exec(ctx, `INSERT INTO school_closed_day (school_id, day, note) VALUES ($1, $2::date, $3)`,
		schoolID, d.Day.In(school.Tokyo).Format("2006-01-02"), d.Note)
	return classify(err, "add closed day")
}

// DeleteClosedDay removes a closed day (one not marked is not found).
func (SchoolStore) DeleteClosedDay(ctx context.Context, schoolID int64, day time.Time) error {
	db := pgtx.Tx(ctx)
	tag, err := db.Exec(ctx, `DELETE FROM school_closed_day WHERE school_id = $1 AND day = $2::date`, schoolID, day.In(school.Tokyo).Format("2006-01-02"))
	if err == nil && tag.RowsAffected() == 0 {
		err = pgx.ErrNoRows
	}
	return classify(err, "delete closed day")
}
