package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/renraku/renraku/internal/app"
	"github.com/renraku/renraku/internal/audit"
	"github.com/renraku/renraku/internal/schema"
)

// keysetReminder is said after every backup and restore: the archive alone cannot be
// read.
const keysetReminder = `The encryption keyset and its master key are NOT in the archive: without them
the personal fields cannot be read. Keep them backed up separately, apart from the
database backups (docs/OPERATIONS.md, "Keys").`

// pgTool returns the path of a PostgreSQL client program: in dir when given, else from
// PATH.
func pgTool(dir, name string) string {
	if dir != "" {
		return filepath.Join(dir, name)
	}
	return name
}

// pgTarget splits a database URL into one without its password (for the command line,
// which `ps` shows) and the environment that carries the password.
func pgTarget(dbURL string) (string, []string, error) {
	u, err := url.Parse(dbURL)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return "", nil, errors.New("DATABASE_URL must be a postgres:// URL")
	}
	env := os.Environ()
	if pw, ok := u.User.Password(); ok {
		env = append(env, "PGPASSWORD="+pw)
		u.User = url.User(u.User.Username())
	}
	return u.String(), env, nil
}

// runTool runs a PostgreSQL client program, its error output kept for the message.
func runTool(ctx context.Context, env []string, bin string, args ...string) error {
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = env
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s: %w: %s", filepath.Base(bin), err, strings.TrimSpace(stderr.String()))
	}
	return nil
}

// runBackup writes the database to a pg_dump archive (custom format), checks that
// pg_restore can read it, and reminds that the keyset is backed up separately.
func runBackup(ctx context.Context, env *Env, args []string) error {
	var out, pgBin string
	cfg, _, err := loadConfig(env, "backup", args, func(fs *flag.FlagSet) {
		fs.StringVar(&out, "out", "", "archive to write (pg_dump custom format); must not exist")
		fs.StringVar(&pgBin, "pg-bin", env.Getenv("RENRAKU_PG_BIN"), "folder of pg_dump and pg_restore (default: from PATH)")
	})
	if err != nil {
		return err
	}
	if out == "" {
		return errors.New("backup: say --out FILE")
	}
	if cfg.DatabaseURL == "" {
		return errors.New("backup: DATABASE_URL is not set")
	}
	if _, err := os.Stat(out); err == nil {
		return fmt.Errorf("backup: %s exists; choose a new name", out)
	}
	target, penv, err := pgTarget(cfg.DatabaseURL)
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	// A backup is an export of (encrypted) personal data: it is audited, as the
	// operator's, before the dump, so the archive holds its own record.
	tools, err := app.OpenTools(ctx, cfg, newLogger(env, cfg))
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	err = tools.Audit.RecordAlone(ctx, tools.Pool, audit.Event{Actor: audit.OperatorActor, Action: "backup.create"})
	tools.Close()
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	tmp := out + ".partial"
	defer os.Remove(tmp)
	if err := runTool(ctx, penv, pgTool(pgBin, "pg_dump"), "--format=custom", "--no-owner", "--no-privileges", "--file="+tmp, "--dbname="+target); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	if err := runTool(ctx, penv, pgTool(pgBin, "pg_restore"), "--list", tmp); err != nil {
		return fmt.Errorf("backup: the archive cannot be read back: %w", err)
	}
	if err := os.Chmod(tmp, 0o600); err != nil {
		return err
	}
	if err := os.Rename(tmp, out); err != nil {
		return err
	}
	st, err := os.Stat(out)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "backup written: %s (%d bytes)\n%s\n", out, st.Size(), keysetReminder)
	return nil
}

// runRestore loads an archive into an empty database, checks its schema against this
// binary's, and prints what it holds.
func runRestore(ctx context.Context, env *Env, args []string) error {
	var in, pgBin string
	cfg, _, err := loadConfig(env, "restore", args, func(fs *flag.FlagSet) {
		fs.StringVar(&in, "in", "", "archive written by renraku backup")
		fs.StringVar(&pgBin, "pg-bin", env.Getenv("RENRAKU_PG_BIN"), "folder of pg_restore (default: from PATH)")
	})
	if err != nil {
		return err
	}
	if in == "" {
		return errors.New("restore: say --in FILE")
	}
	// The restored tables belong to whoever restores them: the schema's owner.
	ownerURL := cfg.MigrationURL()
	if ownerURL == "" {
		return errors.New("restore: DATABASE_URL is not set (an empty database to restore into; RENRAKU_OWNER_DATABASE_URL when the server has its own role)")
	}
	conn, err := pgx.Connect(ctx, ownerURL)
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	var tables int
	err = conn.QueryRow(ctx, `SELECT count(*) FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')`).Scan(&tables)
	conn.Close(ctx)
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	if tables > 0 {
		return fmt.Errorf("restore: the database is not empty (%d tables); restore into a new one", tables)
	}
	target, penv, err := pgTarget(ownerURL)
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	if err := runTool(ctx, penv, pgTool(pgBin, "pg_restore"), "--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction",
		"--dbname="+target, in); err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	conn, err = pgx.Connect(ctx, ownerURL)
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	defer conn.Close(ctx)
	// The archive holds no privileges: give the server's role its rights again (an
	// archive from before migration 000015 gets them from `renraku migrate up`).
	if _, err := conn.Exec(ctx, `DO $$ BEGIN IF to_regproc('renraku_grant_app') IS NOT NULL THEN PERFORM renraku_grant_app(); END IF; END $$`); err != nil {
		return fmt.Errorf("restore: grant the server's role: %w", err)
	}
	st, err := schema.StatusOf(ctx, conn)
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	fmt.Fprintf(env.Stdout, "restored %s: schema version %d (this binary: %d)\n", in, st.Current, st.Latest)
	for _, table := range []string{"school", "staff", "guardian", "child", "absence_report", "message", "announcement", "audit_event"} {
		var n int64
		if err := conn.QueryRow(ctx, `SELECT count(*) FROM `+pgx.Identifier{table}.Sanitize()).Scan(&n); err != nil {
			return fmt.Errorf("restore: count %s: %w", table, err)
		}
		fmt.Fprintf(env.Stdout, "  %-15s %d\n", table, n)
	}
	fmt.Fprintf(env.Stdout, "%s\nNext: run `renraku keys status` and `renraku audit verify` with the kept keyset.\n", keysetReminder)
	if st.Err() != nil {
		return fmt.Errorf("restore: %w (run `renraku migrate up` with this binary)", st.Err())
	}
	// The restore is recorded in the restored chain (which needs the kept keyset).
	tools, err := app.OpenTools(ctx, cfg, newLogger(env, cfg))
	if err != nil {
		return fmt.Errorf("restore: restored, but not recorded in the audit log: %w", err)
	}
	defer tools.Close()
	if err := tools.Audit.RecordAlone(ctx, tools.Pool, audit.Event{Actor: audit.OperatorActor, Action: "backup.restore"}); err != nil {
		return fmt.Errorf("restore: restored, but not recorded in the audit log: %w", err)
	}
	return nil
}
