package leaktest_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/renraku/renraku/internal/leaktest"
	"github.com/renraku/renraku/internal/pgtest"
)

// TestDumpCheckFindsPlaintext makes sure the check can fail: a value stored in clear
// text, as json or as bytea, is found in the dump.
func TestDumpCheckFindsPlaintext(t *testing.T) {
	t.Parallel()
	dbURL := pgtest.NewDBURL(t)
	pool, err := pgxpool.New(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	ctx := context.Background()
	// Tables are the owner's to create (as a migration would); the server's role uses it.
	if _, err := pgtest.Owner(t, pool).Exec(ctx, `CREATE TABLE leak_probe (plain text, as_json json, as_bytes bytea)`); err != nil {
		t.Fatal(err)
	}
	tests := []struct{ name, sql string }{
		{"text", `INSERT INTO leak_probe (plain) VALUES ($1)`},
		{"json", `INSERT INTO leak_probe (as_json) VALUES (json_build_object('v', $1::text))`},
		{"bytea", `INSERT INTO leak_probe (as_bytes) VALUES (convert_to($1, 'UTF8'))`},
	}
	for _, tt := range tests {
		marker := leaktest.Marker(t, "山田花子"+tt.name)
		if _, err := pool.Exec(ctx, tt.sql, marker); err != nil {
			t.Fatal(err)
		}
		dump := leaktest.PgDump(t, dbURL)
		leaktest.AssertPresent(t, "pg_dump ("+tt.name+")", dump, marker)
	}
}

func TestLogForms(t *testing.T) {
	t.Parallel()
	escaped := []byte(`{"msg":"x","name":"\u4f50\u85e4\u592a\u90ce"}`)
	leaktest.AssertPresent(t, "JSON-escaped log", escaped, "佐藤太郎")
	leaktest.AssertPresent(t, "plain log", []byte("name=佐藤太郎"), "佐藤太郎")
	leaktest.AssertAbsent(t, "clean log", []byte(`{"msg":"ok"}`), "佐藤太郎")
	if bytes.Contains(escaped, []byte("佐藤太郎")) {
		t.Fatal("test data is not escaped")
	}
}
