package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/renraku/renraku/internal/pgtest"
)

// cli runs subcommands in-process with an environment of our own.
type cli struct {
	t   *testing.T
	env map[string]string
}

func (c *cli) run(args ...string) (string, error) {
	c.t.Helper()
	var out, errOut bytes.Buffer
	err := Run(context.Background(), &Env{Stdout: &out, Stderr: &errOut, Getenv: func(k string) string { return c.env[k] }}, args)
	return out.String() + errOut.String(), err
}

func (c *cli) must(args ...string) string {
	c.t.Helper()
	out, err := c.run(args...)
	if err != nil {
		c.t.Fatalf("renraku %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// mustWriteFile writes a file the test needs and stops the test if it cannot.
func mustWriteFile(t *testing.T, path, content string, perm os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), perm); err != nil {
		t.Fatalf("writing %s: %v", filepath.Base(path), err)
	}
}

func TestBootstrapCommands(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		t.Fatalf("generating a key: %v", err)
	}
	c := &cli{t: t, env: map[string]string{
		"DATABASE_URL":        pgtest.NewDBURL(t),
		"RENRAKU_MASTER_KEY":  base64.StdEncoding.EncodeToString(key),
		"RENRAKU_KEYSET_FILE": filepath.Join(dir, "keyset.json"),
		"RENRAKU_BASE_URL":    "https://renraku.example.jp",
		"RENRAKU_LOG_LEVEL":   "error",
	}}
	c.must("keys", "generate", "--out", c.env["RENRAKU_KEYSET_FILE"])
	if _, err := c.run("keys", "generate", "--out", c.env["RENRAKU_KEYSET_FILE"]); err == nil {
		t.Fatal("generate overwrote a keyset")
	}
	if out := c.must("migrate", "status"); !strings.Contains(out, "current") {
		t.Fatalf("migrate status: %s", out)
	}

	// Each bootstrap command is idempotent.
	for i, want := range []string{"created", "already existed"} {
		out := c.must("admin", "create-board", "--name", "みどり市教育委員会")
		if !strings.Contains(out, want) {
			t.Fatalf("create-board run %d: %s", i, out)
		}
		out = c.must("admin", "create-school", "--board", "みどり市教育委員会", "--name", "みどり市立さくら小学校", "--type", "小学校", "--district", "さくら学区")
		if !strings.Contains(out, want) || !strings.Contains(out, "小学校") {
			t.Fatalf("create-school run %d: %s", i, out)
		}
	}
	if _, err := c.run("admin", "create-school", "--board", "どこか", "--name", "x"); err == nil {
		t.Error("create-school in an unknown board succeeded")
	}
	if _, err := c.run("admin", "create-school", "--board", "みどり市教育委員会", "--name", "x", "--type", "高校"); err == nil {
		t.Error("unknown school type accepted")
	}

	secret, token := filepath.Join(dir, "secret"), filepath.Join(dir, "token")
	mustWriteFile(t, secret, "0123456789abcdef0123456789abcdef\n", 0o600)
	mustWriteFile(t, token, "channel-access-token-0123456789\n", 0o600)
	args := []string{"admin", "set-channel", "--school", "みどり市立さくら小学校", "--channel-id", "2000000001", "--secret-file", secret, "--token-file", token}
	if out := c.must(args...); !strings.Contains(out, "saved") || !strings.Contains(out, "https://renraku.example.jp/line/webhook/2000000001") {
		t.Fatalf("set-channel: %s", out)
	}
	if out := c.must(args...); !strings.Contains(out, "unchanged") {
		t.Fatalf("set-channel again: %s", out)
	}
	open := filepath.Join(dir, "open-secret")
	mustWriteFile(t, open, "0123456789abcdef0123456789abcdef", 0o644)
	if _, err := c.run("admin", "set-channel", "--school", "みどり市立さくら小学校", "--channel-id", "2000000001", "--secret-file", open, "--token-file", token); err == nil {
		t.Error("a world-readable secret file was accepted")
	}

	// The first administrator gets a one-time sign-in link on the public URL.
	out := c.must("admin", "create-staff", "--role", "board-admin", "--board", "みどり市教育委員会", "--login", "Midori.Admin", "--name", "緑 花子")
	if !strings.Contains(out, "midori.admin (board-admin) created") || !strings.Contains(out, "https://renraku.example.jp/staff/welcome/") {
		t.Fatalf("create-staff: %s", out)
	}
	for _, bad := range [][]string{
		{"--role", "board-admin", "--school", "みどり市立さくら小学校", "--login", "x.y.z", "--name", "x"},
		{"--role", "teacher", "--board", "みどり市教育委員会", "--login", "x.y.z", "--name", "x"},
		{"--role", "principal", "--school", "みどり市立さくら小学校", "--login", "x.y.z", "--name", "x"},
		{"--role", "teacher", "--school", "みどり市立さくら小学校", "--login", "midori.admin", "--name", "重複"},
		{"--role", "teacher", "--school", "みどり市立さくら小学校", "--login", "no", "--name", "短いID"},
	} {
		if out, err := c.run(append([]string{"admin", "create-staff"}, bad...)...); err == nil {
			t.Errorf("create-staff %v succeeded: %s", bad, out)
		}
	}

	if out := c.must("audit", "verify"); !strings.Contains(out, "intact: 4 rows") {
		t.Fatalf("audit verify: %s", out)
	}

	c.must("keys", "rotate")
	out = c.must("keys", "status")
	if strings.Count(out, "key ") != 2 || !strings.Contains(out, "(primary): enabled, 0 rows") {
		t.Fatalf("keys status after rotate: %s", out)
	}
}
