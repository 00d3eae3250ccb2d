// Package pgtest hands each test its own freshly migrated PostgreSQL database, so tests
// run in parallel against the real server without seeing each other's rows.
//
// The server is the one named by DATABASE_URL; `make test` starts a throwaway one (see
// cmd/pgrun) when none is given. Once per run, a template database is created and
// migrated, named after a hash of the migrations so a changed schema never reuses a stale
// template; every NewDB is then a cheap CREATE DATABASE … TEMPLATE, dropped at cleanup.
//
// Tests run as the server does in production: NewDB and NewDBURL connect as a login
// role that is a member of renraku_app (schema.AppRole), which may read and write
// every table but only read and append to the audit log. DATABASE_URL's role is the
// schema's owner: it migrates, and Owner/OwnerURL hand it out to tests that need it.
package pgtest

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"github.com/renraku/renraku/internal/schema"
	"io/fs"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/renraku/renraku/migrations"
)

var (
	templateOnce sync.Once
	templateName string
	templateErr  error

	appOnce sync.Once
	appBase string
	appErr  error
)

// appLogin is the test cluster's login role for the server (a member of
// schema.AppRole). Roles belong to the cluster, so every test process shares it.
const appLogin, appPassword = "renraku_test_app", "renraku_test_app"

// AdminURL returns DATABASE_URL, failing the test with instructions when it is unset.
func AdminURL(t testing.TB) string {
	t.Helper()
	u := os.Getenv("DATABASE_URL")
	if u == "" {
		t.Fatal("DATABASE_URL is not set: run `make test`, or `go run ./cmd/pgrun -- go test ./...`, which start a throwaway PostgreSQL")
	}
	return u
}

// NewDB returns a pool on a new database migrated to the latest version, connected as
// the server's role. The database is dropped when the test ends.
func NewDB(t testing.TB) *pgxpool.Pool {
	t.Helper()
	return open(t, NewDBURL(t))
}

// NewDBURL creates a new migrated database and returns its URL as the server's role,
// for tests that start the whole app. The database is dropped when the test ends.
func NewDBURL(t testing.TB) string {
	t.Helper()
	return AppURL(t, newDB(t, true))
}

// AppURL returns the URL of dbURL's database as the server's role.
func AppURL(t testing.TB, dbURL string) string {
	t.Helper()
	admin := AdminURL(t)
	// The group role exists once a database was migrated (the template); roles belong
	// to the cluster, so the login role is made through the maintenance database.
	templateOnce.Do(func() { templateName, templateErr = ensureTemplate(context.Background(), admin) })
	appOnce.Do(func() {
		if templateErr == nil {
			appBase, appErr = schema.EnsureAppLogin(context.Background(), withDatabase(admin, "postgres"), appLogin, appPassword)
		}
	})
	if err := errors.Join(templateErr, appErr); err != nil {
		t.Fatalf("pgtest: the server's login role: %v", err)
	}
	return withDatabase(appBase, databaseOf(dbURL))
}

// NewEmptyDBURL creates a new database with no migrations applied, for migration tests.
// Its URL connects as the owner (DATABASE_URL's role), who migrates.
func NewEmptyDBURL(t testing.TB) string {
	t.Helper()
	return newDB(t, false)
}

// OwnerURL returns the URL of dbURL's database as its owner (DATABASE_URL's role: a
// superuser on the throwaway server), for what the server's role may not do: migrate,
// or play an attacker with full database access.
func OwnerURL(t testing.TB, dbURL string) string {
	t.Helper()
	return withDatabase(AdminURL(t), databaseOf(dbURL))
}

// Owner returns a pool on pool's database as its owner (see OwnerURL), closed when the
// test ends.
func Owner(t testing.TB, pool *pgxpool.Pool) *pgxpool.Pool {
	t.Helper()
	return open(t, withDatabase(AdminURL(t), pool.Config().ConnConfig.Database))
}

func open(t testing.TB, dbURL string) *pgxpool.Pool {
	t.Helper()
	pool, err := pgxpool.New(context.Background(), dbURL)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	t.Cleanup(pool.Close)
	return pool
}

// databaseOf returns the database named in dbURL.
func databaseOf(dbURL string) string {
	u, err := url.Parse(dbURL)
	if err != nil {
		panic("pgtest: a database URL cannot be parsed")
	}
	return strings.TrimPrefix(u.Path, "/")
}

func newDB(t testing.TB, migrated bool) string {
	t.Helper()
	admin := AdminURL(t)
	ctx := context.Background()
	var tpl string
	if migrated {
		templateOnce.Do(func() { templateName, templateErr = ensureTemplate(ctx, admin) })
		if templateErr != nil {
			t.Fatalf("pgtest: template database: %v", templateErr)
		}
		tpl = templateName
	}
	name := "renraku_test_" + randomHex(8)
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		t.Fatalf("pgtest: connect: %v", err)
	}
	defer conn.Close(ctx)
	stmt := "CREATE DATABASE " + pgx.Identifier{name}.Sanitize()
	if tpl != "" {
		stmt += " TEMPLATE " + pgx.Identifier{tpl}.Sanitize()
	}
	if err := execRetry(ctx, conn, stmt); err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	t.Cleanup(func() {
		c, err := pgx.Connect(context.Background(), admin)
		if err != nil {
			t.Errorf("pgtest: drop %s: %v", name, err)
			return
		}
		defer c.Close(context.Background())
		if _, err := c.Exec(context.Background(), "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
			t.Errorf("pgtest: drop %s: %v", name, err)
		}
	})
	return withDatabase(admin, name)
}

// execRetry retries CREATE DATABASE when another session briefly holds the template.
func execRetry(ctx context.Context, conn *pgx.Conn, stmt string) error {
	var err error
	for i := 0; i < 50; i++ {
		if _, err = conn.Exec(ctx, stmt); err == nil || !strings.Contains(err.Error(), "being accessed by other users") {
			return err
		}
		time.Sleep(100 * time.Millisecond)
	}
	return err
}

// ensureTemplate creates the migrated template once per schema version, across all the
// test processes of a run (serialised by an advisory lock).
func ensureTemplate(ctx context.Context, admin string) (string, error) {
	sum, err := migrationsHash()
	if err != nil {
		return "", err
	}
	name := "renraku_tpl_" + sum[:16]
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		return "", err
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock(7301100)"); err != nil {
		return "", err
	}
	defer conn.Exec(ctx, "SELECT pg_advisory_unlock(7301100)")

	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
		return "", err
	}
	if exists {
		return name, nil
	}
	building := name + "_build"
	if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{building}.Sanitize()+" WITH (FORCE)"); err != nil {
		return "", err
	}
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{building}.Sanitize()); err != nil {
		return "", err
	}
	m, err := schema.NewMigrator(withDatabase(admin, building))
	if err != nil {
		return "", err
	}
	upErr := m.Up()
	closeErr := m.Close()
	if err := errors.Join(upErr, closeErr); err != nil {
		return "", err
	}
	// Renaming last makes a half-built template invisible to other processes.
	if _, err := conn.Exec(ctx, "ALTER DATABASE "+pgx.Identifier{building}.Sanitize()+" RENAME TO "+pgx.Identifier{name}.Sanitize()); err != nil {
		return "", err
	}
	if _, err := conn.Exec(ctx, "ALTER DATABASE "+pgx.Identifier{name}.Sanitize()+" IS_TEMPLATE true"); err != nil {
		return "", err
	}
	return name, nil
}

func migrationsHash() (string, error) {
	h := sha256.New()
	err := fs.WalkDir(migrations.FS, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(migrations.FS, p)
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "%s\x00%d\x00", p, len(b))
		h.Write(b)
		return nil
	})
	return hex.EncodeToString(h.Sum(nil)), err
}

// withDatabase returns admin with its database name replaced.
func withDatabase(admin, db string) string {
	u, err := url.Parse(admin)
	if err != nil {
		panic("pgtest: DATABASE_URL cannot be parsed")
	}
	u.Path = "/" + db
	return u.String()
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
