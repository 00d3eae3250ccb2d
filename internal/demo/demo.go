// Package demo creates the dev mode's demonstration data: a board of education with an
// elementary and a junior high school. Running it again changes nothing.
package demo

import (
	"context"
	"fmt"

	"github.com/renraku/renraku/internal/postgres"
)

// BoardName is the demo board's name.
const BoardName = "みどり市教育委員会"

// Schools are the demo schools, with their type and district.
var Schools = []struct{ Name, Type, District string }{
	{"みどり市立さくら小学校", "elementary", "さくら学区"},
	{"みどり市立ひかり中学校", "junior_high", "ひかり学区"},
}

// Seed creates the demo data if it is missing.
func Seed(ctx context.Context, db postgres.DBTX) error {
	tx, err := db.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx)
	var boardID int64
	err = tx.QueryRow(ctx, `
		INSERT INTO board (name) VALUES ($1)
		ON CONFLICT (name) DO UPDATE SET name = EXCLUDED.name
		RETURNING id`, BoardName).Scan(&boardID)
	if err != nil {
		return fmt.Errorf("demo: board: %w", err)
	}
	for _, s := range Schools {
		if _, err := tx.Exec(ctx, `
			INSERT INTO school (board_id, name, school_type, district) VALUES ($1, $2, $3, $4)
			ON CONFLICT (board_id, name) DO NOTHING`, boardID, s.Name, s.Type, s.District); err != nil {
			return fmt.Errorf("demo: school: %w", err)
		}
	}
	return tx.Commit(ctx)
}
