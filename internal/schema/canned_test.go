package schema_test

import (
	"context"
	"testing"

	"github.com/renraku/renraku/internal/schema"
)

// TestCannedReplyMigrationGoesDownWithSealedRows: below 000014 the schema has no room
// for encrypted 定型文 and SQL cannot decrypt them, so going down drops them and keeps
// the clear ones, and never leaves the schema dirty (which would stop every instance).
func TestCannedReplyMigrationGoesDownWithSealedRows(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	m, pool := migratedUp(t)
	if _, err := pool.Exec(ctx, `
		WITH b AS (INSERT INTO board (name) VALUES ('テスト市') RETURNING id),
		     s AS (INSERT INTO school (board_id, name, school_type) SELECT id, 'さくら小学校', 'elementary' FROM b RETURNING id)
		INSERT INTO canned_reply (school_id, title, body, title_enc, body_enc)
		SELECT id, 'お礼', 'ありがとうございます', NULL, NULL FROM s
		UNION ALL SELECT id, NULL, NULL, '\x0100000001aa'::bytea, '\x0100000001bb'::bytea FROM s`); err != nil {
		t.Fatal(err)
	}
	// A row both clear and sealed, or neither, is refused.
	for _, bad := range []string{
		`INSERT INTO canned_reply (school_id, title, body, title_enc, body_enc) SELECT id, 'x', 'y', '\x01'::bytea, '\x01'::bytea FROM school`,
		`INSERT INTO canned_reply (school_id) SELECT id FROM school`,
	} {
		if _, err := pool.Exec(ctx, bad); err == nil {
			t.Errorf("accepted: %s", bad)
		}
	}

	if err := m.Down(int(schema.Latest()) - 13); err != nil {
		t.Fatalf("down to 13: %v", err)
	}
	if st, err := m.Status(); err != nil || st.Current != 13 || st.Dirty {
		t.Fatalf("status after down = %+v, %v; want 13, clean", st, err)
	}
	var titles []string
	rows, err := pool.Query(ctx, `SELECT title FROM canned_reply ORDER BY id`)
	if err != nil {
		t.Fatalf("canned replies after down: %v", err)
	}
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		titles = append(titles, s)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if len(titles) != 1 || titles[0] != "お礼" {
		t.Errorf("canned replies after down = %q, want only the clear one", titles)
	}
	if err := m.Up(); err != nil {
		t.Fatalf("up again: %v", err)
	}
}
