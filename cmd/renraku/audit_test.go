package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/renraku/renraku/internal/pgtest"
)

// TestAuditVerifyAgainstKeptHead: the operator keeps the signed head (`audit head`, or
// the daily log line); a superuser then removes the newest audit rows and moves
// audit_chain back. `audit verify` alone still says intact — the chain cannot show a
// clean cut at its end — but `audit verify --head` with the kept head finds it.
func TestAuditVerifyAgainstKeptHead(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		t.Fatalf("generating a key: %v", err)
	}
	dbURL := pgtest.NewDBURL(t)
	c := &cli{t: t, env: map[string]string{
		"DATABASE_URL":        dbURL,
		"RENRAKU_MASTER_KEY":  base64.StdEncoding.EncodeToString(key),
		"RENRAKU_KEYSET_FILE": filepath.Join(dir, "keyset.json"),
		"RENRAKU_LOG_LEVEL":   "error",
	}}
	c.must("keys", "generate", "--out", c.env["RENRAKU_KEYSET_FILE"])
	c.must("admin", "create-board", "--name", "みどり市教育委員会")
	c.must("admin", "create-school", "--board", "みどり市教育委員会", "--name", "みどり市立さくら小学校", "--type", "小学校", "--district", "さくら学区")
	head := strings.TrimSpace(c.must("audit", "head"))
	if !strings.HasPrefix(head, "audit-head-v1:") {
		t.Fatalf("audit head printed %q", head)
	}
	// Kept as the operator would: the daily log line, in a file.
	logFile := filepath.Join(dir, "renraku.log")
	if err := os.WriteFile(logFile, []byte(`{"level":"INFO","msg":"audit chain head","audit_head":"`+head+`"}`+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c.must("admin", "create-school", "--board", "みどり市教育委員会", "--name", "みどり市立もみじ小学校", "--type", "小学校", "--district", "もみじ学区")
	if out := c.must("audit", "verify", "--head", logFile); !strings.Contains(out, "intact") || !strings.Contains(out, "kept head") {
		t.Fatalf("nothing cut: %s", out)
	}

	// A superuser cuts the newest rows and rewinds the head past the kept one.
	owner, err := pgx.Connect(ctx, pgtest.OwnerURL(t, dbURL))
	if err != nil {
		t.Fatal(err)
	}
	defer owner.Close(ctx)
	err = pgx.BeginFunc(ctx, owner, func(tx pgx.Tx) error {
		for _, sql := range []string{
			`SET LOCAL session_replication_role = replica`,
			`DELETE FROM audit_event WHERE seq > 1`,
			`UPDATE audit_chain SET head_seq = 1, head_mac = (SELECT mac FROM audit_event WHERE seq = 1)`,
		} {
			if _, err := tx.Exec(ctx, sql); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if out := c.must("audit", "verify"); !strings.Contains(out, "intact") {
		t.Fatalf("the chain alone: %s", out)
	}
	out, err := c.run("audit", "verify", "--head", head)
	if err == nil || !strings.Contains(out, "BROKEN") || !strings.Contains(out, "cut") {
		t.Fatalf("audit verify --head after a cut: %v\n%s", err, out)
	}
	// A kept head that was altered is refused, not believed.
	forged := strings.Replace(head, "audit-head-v1:", "audit-head-v1:1", 1)
	if out, err := c.run("audit", "verify", "--head", forged); err == nil || !strings.Contains(out+err.Error(), "not genuine") {
		t.Fatalf("forged head: %v\n%s", err, out)
	}
}
