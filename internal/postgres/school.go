package postgres

import (
	"context"
	"fmt"
	"strconv"

	"github.com/jackc/pgx/v5"

	"github.com/renraku/renraku/internal/apperr"
	"github.com/renraku/renraku/internal/school"
)

// SchoolStore implements school.Store.
type SchoolStore struct{}

var _ school.Store = SchoolStore{}

// FindBoard finds a board by ID (all digits) or name.
func (SchoolStore) FindBoard(ctx context.Context, db pgx.Tx, ref string) (school.Board, error) {
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
func (SchoolStore) CreateBoard(ctx context.Context, db pgx.Tx, b *school.Board) (bool, error) {
	err := db.QueryRow(ctx, `INSERT INTO board (name) VALUES ($1) ON CONFLICT (name) DO NOTHING RETURNING id`, b.Name).Scan(&b.ID)
	if err == pgx.ErrNoRows {
		return false, classify(db.QueryRow(ctx, `SELECT id FROM board WHERE name = $1`, b.Name).Scan(&b.ID), "board")
	}
	return err == nil, classify(err, "create board")
}

// FindSchool finds a school by ID (all digits) or by name; a name shared by schools of
// different boards is refused as ambiguous.
func (SchoolStore) FindSchool(ctx context.Context, db pgx.Tx, ref string) (school.School, error) {
	q := `SELECT id, board_id, name, school_type, district FROM school WHERE name = $1`
	var arg any = ref
	if id, err := strconv.ParseInt(ref, 10, 64); err == nil {
		q, arg = `SELECT id, board_id, name, school_type, district FROM school WHERE id = $1`, id
	}
	rows, err := db.Query(ctx, q+` LIMIT 2`, arg)
	if err != nil {
		return school.School{}, classify(err, "school")
	}
	found, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (school.School, error) {
		var s school.School
		err := r.Scan(&s.ID, &s.BoardID, &s.Name, &s.Type, &s.District)
		return s, err
	})
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
func (SchoolStore) CreateSchool(ctx context.Context, db pgx.Tx, s *school.School) (bool, error) {
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
