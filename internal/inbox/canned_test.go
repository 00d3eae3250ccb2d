package inbox_test

import (
	"bytes"
	"context"
	"log/slog"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/renraku/renraku/internal/app"
	"github.com/renraku/renraku/internal/apptest"
	"github.com/renraku/renraku/internal/inbox"
	"github.com/renraku/renraku/internal/leaktest"
	"github.com/renraku/renraku/internal/logging"
	"github.com/renraku/renraku/internal/pgtest"
	"github.com/renraku/renraku/internal/postgres"
)

// TestCannedRepliesAreNotStoredInClear: a 定型文 saved by a teacher is in no readable
// form in a dump of the database nor in a direct SELECT, and one written before
// migration 000014 (clear text) is sealed by the re-encryption job; both still read
// back as they were written.
func TestCannedRepliesAreNotStoredInClear(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dbURL := pgtest.NewDBURL(t)
	pool, err := pgxpool.New(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	w := apptest.NewRotationWorld(t, pool)
	svc := &inbox.Service{Tx: postgres.NewTransactor(pool), Store: &postgres.InboxStore{Vault: w.Vault}, Audit: w.Audit}
	asTeacher := w.Ctx(t, w.HomeroomA11)

	newTitle, newBody := leaktest.Marker(t, "新しい題"), leaktest.Marker(t, "回転太郎さんの件")
	if err := svc.AddCanned(asTeacher, newTitle, newBody, false); err != nil {
		t.Fatal(err)
	}
	// A row as a database migrated from before 000014 holds it, until the app seals it.
	oldTitle, oldBody := leaktest.Marker(t, "古い題"), leaktest.Marker(t, "古い本文")
	if _, err := pool.Exec(ctx, `INSERT INTO canned_reply (school_id, title, body) VALUES ($1, $2, $3)`, w.SchoolA.ID, oldTitle, oldBody); err != nil {
		t.Fatal(err)
	}
	dump := leaktest.PgDump(t, dbURL)
	leaktest.AssertAbsent(t, "a pg_dump", dump, newTitle, newBody)
	// The same check finds the clear row: it is worth something.
	leaktest.AssertPresent(t, "a pg_dump before sealing", dump, oldTitle, oldBody)

	var logs bytes.Buffer
	if err := app.Rewrap(ctx, pool, w.Vault, postgres.EncryptedColumns, logging.New(&logs, slog.LevelInfo)); err != nil {
		t.Fatalf("re-encryption job: %v\n%s", err, logs.String())
	}
	leaktest.AssertAbsent(t, "a pg_dump after sealing", leaktest.PgDump(t, dbURL), newTitle, newBody, oldTitle, oldBody)
	leaktest.AssertAbsent(t, "the job's log", logs.Bytes(), newTitle, newBody, oldTitle, oldBody)
	var clear int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM canned_reply WHERE title IS NOT NULL OR body IS NOT NULL OR body_enc IS NULL`).Scan(&clear); err != nil {
		t.Fatal(err)
	}
	if clear != 0 {
		t.Errorf("%d canned replies still in clear text after the job", clear)
	}

	got, err := svc.Canned(asTeacher)
	if err != nil {
		t.Fatal(err)
	}
	type tb struct{ Title, Body string }
	var texts []tb
	for _, c := range got {
		texts = append(texts, tb{c.Title.Reveal(), c.Body.Reveal()})
	}
	// The school's first, then the teacher's own.
	want := []tb{{oldTitle, oldBody}, {newTitle, newBody}}
	if diff := cmp.Diff(want, texts); diff != "" {
		t.Errorf("canned replies as read back (-want +got):\n%s", diff)
	}
}
