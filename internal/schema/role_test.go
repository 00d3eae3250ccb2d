package schema_test

import (
	"context"
	"errors"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/renraku/renraku/internal/pgtest"
	"github.com/renraku/renraku/internal/schema"
)

// TestServerRolePrivileges: the server's role may read and write every table and
// sequence of the schema (River's included), except the audit log, which it may only
// read and append to, and the schema version, which it may only read.
func TestServerRolePrivileges(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := pgtest.NewDB(t)
	rows, err := pool.Query(ctx, `
		SELECT c.relname, c.relkind::text,
			has_table_privilege(c.oid, 'SELECT'), has_table_privilege(c.oid, 'INSERT'),
			has_table_privilege(c.oid, 'UPDATE'), has_table_privilege(c.oid, 'DELETE'),
			has_table_privilege(c.oid, 'TRUNCATE'), pg_has_role(c.relowner, 'MEMBER')
		FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')`)
	if err != nil {
		t.Fatal(err)
	}
	type privs struct{ sel, ins, upd, del, trunc, owner bool }
	got := map[string]privs{}
	for rows.Next() {
		var name, kind string
		var p privs
		if err := rows.Scan(&name, &kind, &p.sel, &p.ins, &p.upd, &p.del, &p.trunc, &p.owner); err != nil {
			t.Fatal(err)
		}
		got[name] = p
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if len(got) < 20 || got["river_job"] == (privs{}) {
		t.Fatalf("tables seen: %v", got)
	}
	want := map[string]privs{
		"audit_event":       {sel: true, ins: true},
		"audit_chain":       {sel: true},
		"audit_pending":     {sel: true, ins: true},
		"schema_migrations": {sel: true},
	}
	for name, p := range got {
		w, ok := want[name]
		if !ok {
			w = privs{sel: true, ins: true, upd: true, del: true}
		}
		if p != w {
			t.Errorf("%s: server role has %+v, want %+v", name, p, w)
		}
	}
	var seqs []string
	if err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		r, err := tx.Query(ctx, `SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
			WHERE n.nspname = 'public' AND c.relkind = 'S' AND NOT (has_sequence_privilege(c.oid, 'USAGE') AND has_sequence_privilege(c.oid, 'UPDATE'))`)
		if err != nil {
			return err
		}
		seqs, err = pgx.CollectRows(r, pgx.RowTo[string])
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if len(seqs) > 0 {
		t.Errorf("sequences the server role cannot use: %v", seqs)
	}
	if err := schema.CheckAppRole(ctx, pool); err != nil {
		t.Errorf("CheckAppRole as the server's role: %v", err)
	}
	if err := schema.CheckAppRole(ctx, pgtest.Owner(t, pool)); !errors.Is(err, schema.ErrOwnerRole) {
		t.Errorf("CheckAppRole as the owner: %v, want ErrOwnerRole", err)
	}
}

// TestLaterMigrationsReachServerRole: a table a later migration creates (as the owner,
// like every migration) is usable by the server's role without a grant of its own, by
// the default privileges migration 000015 set; so is its sequence.
func TestLaterMigrationsReachServerRole(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := pgtest.NewDB(t)
	owner := pgtest.Owner(t, pool)
	if _, err := owner.Exec(ctx, `CREATE TABLE later_feature (id bigserial PRIMARY KEY, note text NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	for _, sql := range []string{
		`INSERT INTO later_feature (note) VALUES ('a'), ('b')`,
		`UPDATE later_feature SET note = 'c' WHERE id = 1`,
		`DELETE FROM later_feature WHERE id = 2`,
		`SELECT setval(pg_get_serial_sequence('later_feature', 'id'), 10)`,
	} {
		if _, err := pool.Exec(ctx, sql); err != nil {
			t.Errorf("%s: %v", sql, err)
		}
	}
	// But it is not the table's owner: it cannot alter or drop it.
	_, err := pool.Exec(ctx, `DROP TABLE later_feature`)
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "42501" {
		t.Errorf("DROP TABLE as the server's role: %v, want insufficient_privilege", err)
	}
}
