package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/renraku/renraku/internal/app"
	"github.com/renraku/renraku/internal/logging"
	"github.com/renraku/renraku/internal/pgtest"
	"github.com/renraku/renraku/internal/postgres"
)

// tools opens the services on the database and keyset of c's environment.
func (c *cli) tools() *app.Tools {
	c.t.Helper()
	cfg, _, err := loadConfig(&Env{Stdout: io.Discard, Stderr: io.Discard, Getenv: func(k string) string { return c.env[k] }}, "test", nil, nil)
	if err != nil {
		c.t.Fatal(err)
	}
	t, err := app.OpenTools(context.Background(), cfg, logging.New(io.Discard, slog.LevelError))
	if err != nil {
		c.t.Fatal(err)
	}
	c.t.Cleanup(t.Close)
	return t
}

// TestRestoreDrill: seed, back up, restore into a fresh database; the counts match,
// encrypted fields decrypt with the kept keyset (and not with another), and the audit
// chain verifies.
func TestRestoreDrill(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		t.Fatalf("generating a key: %v", err)
	}
	src := &cli{t: t, env: map[string]string{
		"DATABASE_URL":        pgtest.NewDBURL(t),
		"RENRAKU_MASTER_KEY":  base64.StdEncoding.EncodeToString(key),
		"RENRAKU_KEYSET_FILE": filepath.Join(dir, "keyset.json"),
		"RENRAKU_BASE_URL":    "https://renraku.example.jp",
		"RENRAKU_LOG_LEVEL":   "error",
		"RENRAKU_PG_BIN":      os.Getenv("RENRAKU_PG_BIN"),
	}}
	src.must("keys", "generate", "--out", src.env["RENRAKU_KEYSET_FILE"])
	src.must("admin", "create-board", "--name", "みどり市教育委員会")
	src.must("admin", "create-school", "--board", "みどり市教育委員会", "--name", "みどり市立さくら小学校", "--type", "小学校", "--district", "さくら学区")
	src.must("admin", "create-staff", "--role", "board-admin", "--board", "みどり市教育委員会", "--login", "midori.admin", "--name", "緑 花子")

	// Fifty families, encrypted as the app writes them.
	s := src.tools()
	var schoolID, classID int64
	if err := s.Pool.QueryRow(ctx, `SELECT id, current_year FROM school`).Scan(&schoolID, new(int)); err != nil {
		t.Fatal(err)
	}
	if err := s.Pool.QueryRow(ctx, `INSERT INTO class (school_id, year, grade, name) SELECT id, current_year, 1, '1組' FROM school RETURNING id`).Scan(&classID); err != nil {
		t.Fatal(err)
	}
	secret, token := filepath.Join(dir, "secret"), filepath.Join(dir, "token")
	mustWriteFile(t, secret, "0123456789abcdef0123456789abcdef\n", 0o600)
	mustWriteFile(t, token, "channel-access-token-0123456789\n", 0o600)
	src.must("admin", "set-channel", "--school", "みどり市立さくら小学校", "--channel-id", "2000000001", "--secret-file", secret, "--token-file", token)
	var channelID int64
	if err := s.Pool.QueryRow(ctx, `SELECT id FROM line_channel`).Scan(&channelID); err != nil {
		t.Fatal(err)
	}
	var fams []postgres.Family
	for i := range 50 {
		fams = append(fams, postgres.Family{UserID: fmt.Sprintf("U%032x", i+1), ChannelID: channelID, SchoolID: schoolID, ClassID: classID,
			Nickname: fmt.Sprintf("保護者%02d", i), ChildName: fmt.Sprintf("児童 %02d", i), Verified: true, Following: true})
	}
	if err := postgres.SeedFamilies(ctx, s.Pool, s.Vault, fams); err != nil {
		t.Fatal(err)
	}
	counts := func(pool interface {
		QueryRow(context.Context, string, ...any) pgx.Row
	}) map[string]int {
		out := map[string]int{}
		for _, table := range []string{"school", "staff", "guardian", "child", "line_friend", "audit_event"} {
			var n int
			if err := pool.QueryRow(ctx, `SELECT count(*) FROM `+table).Scan(&n); err != nil {
				t.Fatal(err)
			}
			out[table] = n
		}
		return out
	}
	before := counts(s.Pool)

	archive := filepath.Join(dir, "renraku.dump")
	if out := src.must("backup", "--out", archive); !strings.Contains(out, "keyset") {
		t.Errorf("backup does not remind of the keyset: %s", out)
	}
	if _, err := src.run("backup", "--out", archive); err == nil {
		t.Error("backup overwrote an archive")
	}
	if st, err := os.Stat(archive); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("archive: %v %v", st, err)
	}

	// Into a fresh, empty database; not into one with data.
	dst := &cli{t: t, env: map[string]string{}}
	for k, v := range src.env {
		dst.env[k] = v
	}
	// Restored by the schema's owner; the server's role reads it afterwards, so the
	// restore must have given that role its rights again.
	dst.env["RENRAKU_OWNER_DATABASE_URL"] = pgtest.NewEmptyDBURL(t)
	dst.env["DATABASE_URL"] = pgtest.AppURL(t, dst.env["RENRAKU_OWNER_DATABASE_URL"])
	out := dst.must("restore", "--in", archive)
	if !strings.Contains(out, fmt.Sprintf("guardian        %d", before["guardian"])) {
		t.Errorf("restore report: %s", out)
	}
	if _, err := src.run("restore", "--in", archive); err == nil {
		t.Error("restore into a database with data succeeded")
	}
	r := dst.tools()
	// The archive holds the backup's own audit event, and the restore adds one.
	before["audit_event"] += 2
	if after := counts(r.Pool); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Errorf("counts after restore %v, before %v", after, before)
	}
	var operatorEvents int
	if err := r.Pool.QueryRow(ctx, `SELECT count(*) FROM audit_event WHERE actor_kind = 'operator' AND action IN ('backup.create', 'backup.restore')`).Scan(&operatorEvents); err != nil || operatorEvents != 2 {
		t.Errorf("backup and restore audit events: %d %v", operatorEvents, err)
	}
	var friendID int64
	if err := r.Pool.QueryRow(ctx, `SELECT friend_id FROM guardian ORDER BY id LIMIT 1`).Scan(&friendID); err != nil {
		t.Fatal(err)
	}
	err := r.Tx.InTx(ctx, func(ctx context.Context) error {
		g, err := r.Registration.FindGuardianByFriend(ctx, friendID)
		if err == nil && g.Nickname != "保護者00" {
			err = fmt.Errorf("nickname %q", g.Nickname)
		}
		return err
	})
	if err != nil {
		t.Fatalf("decrypt with the kept keyset: %v", err)
	}
	if out := dst.must("audit", "verify"); !strings.Contains(out, "audit chain intact") {
		t.Errorf("audit verify: %s", out)
	}

	// Another keyset cannot read the restored data.
	other := &cli{t: t, env: map[string]string{}}
	for k, v := range dst.env {
		other.env[k] = v
	}
	other.env["RENRAKU_KEYSET_FILE"] = filepath.Join(dir, "other.json")
	other.must("keys", "generate", "--out", other.env["RENRAKU_KEYSET_FILE"])
	o := other.tools()
	err = o.Tx.InTx(ctx, func(ctx context.Context) error {
		_, err := o.Registration.FindGuardianByFriend(ctx, friendID)
		return err
	})
	if err == nil {
		t.Error("a different keyset decrypted the restored data")
	}
}
