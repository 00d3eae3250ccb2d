package schema_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"regexp"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/renraku/renraku/internal/pgtest"
	"github.com/renraku/renraku/internal/schema"
	"github.com/renraku/renraku/migrations"
)

func TestMigrationsUpDownUp(t *testing.T) {
	t.Parallel()
	dbURL := pgtest.NewEmptyDBURL(t)
	m, err := schema.NewMigrator(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()

	st, err := m.Status()
	if err != nil {
		t.Fatal(err)
	}
	if st.Current != 0 || !errors.Is(st.Err(), schema.ErrSchemaBehind) {
		t.Fatalf("fresh database status = %+v (%v), want behind at 0", st, st.Err())
	}
	steps := []struct {
		name string
		do   func() error
		want uint
	}{
		{"up", m.Up, schema.Latest()},
		{"down to zero", func() error { return m.Down(0) }, 0},
		{"up again", m.Up, schema.Latest()},
	}
	for _, s := range steps {
		if err := s.do(); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		st, err := m.Status()
		if err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if st.Current != s.want || st.Dirty {
			t.Fatalf("%s: status = %+v, want version %d clean", s.name, st, s.want)
		}
	}

	pool, err := pgxpool.New(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	// After down to zero and up again, only the migration table and ours exist: the
	// down files removed everything their up files made.
	var n int
	if err := pool.QueryRow(context.Background(),
		`SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public' AND table_name <> 'schema_migrations'`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n == 0 {
		t.Fatal("no tables after migrating up")
	}
}

func TestDownRemovesEverything(t *testing.T) {
	t.Parallel()
	m, pool := migratedUp(t)
	if err := m.Down(0); err != nil {
		t.Fatal(err)
	}
	var leftovers []string
	rows, err := pool.Query(context.Background(), `
		SELECT table_schema || '.' || table_name FROM information_schema.tables
		WHERE table_schema NOT IN ('pg_catalog', 'information_schema') AND table_name <> 'schema_migrations'
		UNION ALL
		SELECT n.nspname FROM pg_namespace n
		WHERE n.nspname NOT IN ('public', 'pg_catalog', 'information_schema', 'pg_toast') AND n.nspname NOT LIKE 'pg_temp%' AND n.nspname NOT LIKE 'pg_toast_temp%'`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		leftovers = append(leftovers, s)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if len(leftovers) > 0 {
		t.Fatalf("down to zero left %v", leftovers)
	}
}

// TestMigrationFiles checks what `make verify` promises: numbered up/down pairs with no
// duplicate numbers and no gaps, each wrapped in a transaction.
func TestMigrationFiles(t *testing.T) {
	t.Parallel()
	names, err := fs.Glob(migrations.FS, "*.sql")
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`^(\d{6})_([a-z0-9_]+)\.(up|down)\.sql$`)
	type pair struct{ name, up, down string }
	byNum := map[string]*pair{}
	for _, n := range names {
		m := re.FindStringSubmatch(n)
		if m == nil {
			t.Errorf("%s: name must be NNNNNN_name.up.sql or .down.sql", n)
			continue
		}
		p := byNum[m[1]]
		if p == nil {
			p = &pair{name: m[2]}
			byNum[m[1]] = p
		}
		if p.name != m[2] {
			t.Errorf("migration %s has two names: %s and %s", m[1], p.name, m[2])
		}
		b, err := fs.ReadFile(migrations.FS, n)
		if err != nil {
			t.Fatalf("%s: %v", n, err)
		}
		if !regexp.MustCompile(`(?m)^BEGIN;`).Match(b) || !regexp.MustCompile(`(?m)^COMMIT;`).Match(b) {
			t.Errorf("%s: must be wrapped in BEGIN; … COMMIT;", n)
		}
		if m[3] == "up" {
			p.up = n
		} else {
			p.down = n
		}
	}
	for i := 1; i <= len(byNum); i++ {
		num := fmt.Sprintf("%06d", i)
		p, ok := byNum[num]
		if !ok {
			t.Errorf("migration %s is missing (numbers must have no gaps)", num)
			continue
		}
		if p.up == "" || p.down == "" {
			t.Errorf("migration %s needs both up and down files", num)
		}
	}
	if uint(len(byNum)) != schema.Latest() {
		t.Errorf("latest = %d, but %d migrations", schema.Latest(), len(byNum))
	}
}

// migratedUp returns the migrator of a new database migrated to the latest version and
// a pool on it as its owner; both are closed when the test ends.
func migratedUp(t *testing.T) (*schema.Migrator, *pgxpool.Pool) {
	t.Helper()
	dbURL := pgtest.NewEmptyDBURL(t)
	m, err := schema.NewMigrator(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	if err := m.Up(); err != nil {
		t.Fatal(err)
	}
	pool, err := pgxpool.New(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return m, pool
}
