// Package schema applies renraku's embedded migrations and reports whether a
// database's schema matches this binary.
package schema

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/golang-migrate/migrate/v4"
	_ "github.com/golang-migrate/migrate/v4/database/pgx/v5" // registers pgx5://
	"github.com/golang-migrate/migrate/v4/source/iofs"
	"github.com/jackc/pgx/v5"

	"github.com/renraku/renraku/migrations"
)

// ErrSchemaBehind means the database's migrations are older than the binary's; the
// fix is `renraku migrate up`.
var ErrSchemaBehind = errors.New("database schema is behind this binary: run `renraku migrate up`")

// ErrSchemaDirty means a migration failed half-way and needs an operator's attention.
var ErrSchemaDirty = errors.New("database schema is dirty (a migration failed half-way): see `renraku migrate status`")

// ErrSchemaAhead means the database was migrated by a newer binary.
var ErrSchemaAhead = errors.New("database schema is newer than this binary: deploy the newer version")

// Status describes the database's migration state.
type Status struct {
	Current uint // 0 when no migration was applied
	Latest  uint // the newest migration embedded in this binary
	Dirty   bool
}

// Err says what is wrong with the schema, or nil when it is current.
func (s Status) Err() error {
	switch {
	case s.Dirty:
		return ErrSchemaDirty
	case s.Current < s.Latest:
		return ErrSchemaBehind
	case s.Current > s.Latest:
		return ErrSchemaAhead
	}
	return nil
}

// Latest is the highest version among the embedded migrations.
func Latest() uint {
	v, err := latestVersion(migrations.FS)
	if err != nil {
		panic(err) // the embedded files are checked by tests; a bad name is a build error
	}
	return v
}

func latestVersion(fsys fs.FS) (uint, error) {
	names, err := fs.Glob(fsys, "*.up.sql")
	if err != nil {
		return 0, err
	}
	sort.Strings(names)
	var latest uint
	for _, n := range names {
		v, err := strconv.ParseUint(strings.SplitN(n, "_", 2)[0], 10, 32)
		if err != nil {
			return 0, fmt.Errorf("migration %s: name must start with its number", n)
		}
		latest = max(latest, uint(v))
	}
	return latest, nil
}

// Migrator applies the embedded migrations to one database.
type Migrator struct {
	m *migrate.Migrate
}

// NewMigrator prepares migrations against the database at dbURL (a postgres:// URL).
func NewMigrator(dbURL string) (*Migrator, error) {
	u, err := url.Parse(dbURL)
	if err != nil {
		return nil, errors.New("schema: DATABASE_URL cannot be parsed")
	}
	u.Scheme = "pgx5"
	src, err := iofs.New(migrations.FS, ".")
	if err != nil {
		return nil, fmt.Errorf("schema: migrations: %w", err)
	}
	m, err := migrate.NewWithSourceInstance("iofs", src, u.String())
	if err != nil {
		return nil, fmt.Errorf("schema: migrations: %s", redactURL(err.Error(), dbURL))
	}
	return &Migrator{m: m}, nil
}

// Up applies every pending migration.
func (mg *Migrator) Up() error {
	if err := mg.m.Up(); err != nil && !errors.Is(err, migrate.ErrNoChange) {
		return fmt.Errorf("schema: migrate up: %w", err)
	}
	return nil
}

// Down reverts steps migrations, or all of them when steps is 0.
func (mg *Migrator) Down(steps int) error {
	var err error
	if steps <= 0 {
		err = mg.m.Down()
	} else {
		err = mg.m.Steps(-steps)
	}
	if err != nil && !errors.Is(err, migrate.ErrNoChange) {
		return fmt.Errorf("schema: migrate down: %w", err)
	}
	return nil
}

// Status reports the current and latest versions.
func (mg *Migrator) Status() (Status, error) {
	st := Status{Latest: Latest()}
	v, dirty, err := mg.m.Version()
	if errors.Is(err, migrate.ErrNilVersion) {
		return st, nil
	}
	if err != nil {
		return st, fmt.Errorf("schema: migrate status: %w", err)
	}
	st.Current, st.Dirty = v, dirty
	return st, nil
}

// Close releases the migrator's connection.
func (mg *Migrator) Close() error {
	srcErr, dbErr := mg.m.Close()
	return errors.Join(srcErr, dbErr)
}

// Querier runs a query (a pool, a connection or a transaction).
type Querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// StatusOf reads the migration state through an existing connection, cheaply enough
// for every /readyz request.
func StatusOf(ctx context.Context, db Querier) (Status, error) {
	st := Status{Latest: Latest()}
	var v int64
	err := db.QueryRow(ctx, `SELECT version, dirty FROM schema_migrations LIMIT 1`).Scan(&v, &st.Dirty)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return st, nil
	case err != nil && strings.Contains(err.Error(), "does not exist"):
		return st, nil
	case err != nil:
		return st, fmt.Errorf("schema: read schema version: %w", err)
	}
	st.Current = uint(v)
	return st, nil
}

// redactURL removes a connection URL (which may hold a password) from a message.
func redactURL(msg, dbURL string) string {
	return strings.ReplaceAll(msg, dbURL, "[DATABASE_URL]")
}
