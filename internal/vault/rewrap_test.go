package vault_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/renraku/renraku/internal/pgtest"
	"github.com/renraku/renraku/internal/vault"
	"github.com/renraku/renraku/internal/vault/vaulttest"
)

// Both kinds of handle a store holds can run re-encryption.
var (
	_ vault.DBTX = (*pgxpool.Pool)(nil)
	_ vault.DBTX = pgx.Tx(nil)
	_ vault.DBTX = (*pgx.Conn)(nil)
)

// probe is the throwaway encrypted column the rewrap tests work on, in each test's
// own database.
var probe = vault.Column{Table: "rewrap_probe", Column: "name_enc", ADColumn: "name"}

// rewrapFixture is a fresh database with a probe table, a keyset and a vault on it.
type rewrapFixture struct {
	pool *pgxpool.Pool
	path string
	m    vault.Master
	v    *vault.Vault
}

func newRewrapFixture(t *testing.T) *rewrapFixture {
	t.Helper()
	pool := pgtest.NewDB(t)
	path, key := vaulttest.Keyset(t)
	f := &rewrapFixture{pool: pool, path: path, m: MustMaster(t, key), v: MustOpen(t, path, key)}
	// Tables are the owner's to create (as a migration would); the server's role uses it.
	if _, err := pgtest.Owner(t, pool).Exec(context.Background(), `CREATE TABLE rewrap_probe (id bigint PRIMARY KEY, name_enc bytea)`); err != nil {
		t.Fatal(err)
	}
	return f
}

// MustSeed inserts rows 1..n encrypted under the current primary key, plus row 0 with
// a NULL value, which every function must pass over.
func (f *rewrapFixture) MustSeed(t *testing.T, n int) {
	t.Helper()
	ctx := context.Background()
	for i := 1; i <= n; i++ {
		ct := MustEncrypt(t, f.v, vault.Personal(fmt.Sprintf("保護者%d", i)), probe.ADForID(int64(i)))
		if _, err := f.pool.Exec(ctx, `INSERT INTO rewrap_probe VALUES ($1, $2)`, i, ct); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := f.pool.Exec(ctx, `INSERT INTO rewrap_probe VALUES (0, NULL) ON CONFLICT DO NOTHING`); err != nil {
		t.Fatal(err)
	}
}

// MustRotate rotates the keyset and makes f.v use the new key.
func (f *rewrapFixture) MustRotate(t *testing.T) uint32 {
	t.Helper()
	id, err := vault.Rotate(f.path, f.m)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.v.Reload(); err != nil {
		t.Fatal(err)
	}
	return id
}

// MustReadAll decrypts every non-NULL row, failing on any unreadable one.
func (f *rewrapFixture) MustReadAll(t *testing.T) map[int64]string {
	t.Helper()
	rows, err := f.pool.Query(context.Background(), `SELECT id, name_enc FROM rewrap_probe WHERE name_enc IS NOT NULL`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[int64]string{}
	for rows.Next() {
		var id int64
		var ct []byte
		if err := rows.Scan(&id, &ct); err != nil {
			t.Fatal(err)
		}
		p, err := f.v.DecryptPersonal(ct, probe.ADForID(id))
		if err != nil {
			t.Fatalf("row %d unreadable: %v", id, err)
		}
		out[id] = p.Reveal()
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func (f *rewrapFixture) MustProgress(t *testing.T) vault.ColumnProgress {
	t.Helper()
	prog, err := vault.Progress(context.Background(), f.pool, []vault.Column{probe})
	if err != nil || len(prog) != 1 {
		t.Fatalf("Progress = %+v, %v", prog, err)
	}
	return prog[0]
}

func seeded(n int) map[int64]string {
	m := map[int64]string{}
	for i := 1; i <= n; i++ {
		m[int64(i)] = fmt.Sprintf("保護者%d", i)
	}
	return m
}

// crashingDB cancels the run's context inside its crashAt-th transaction, just as that
// transaction sends its updates: the process "dies" mid-batch.
type crashingDB struct {
	vault.DBTX
	cancel  context.CancelFunc
	crashAt int32
	begun   atomic.Int32
}

func (c *crashingDB) Begin(ctx context.Context) (pgx.Tx, error) {
	tx, err := c.DBTX.Begin(ctx)
	if err != nil {
		return nil, err
	}
	if c.begun.Add(1) == c.crashAt {
		return &crashingTx{Tx: tx, cancel: c.cancel}, nil
	}
	return tx, nil
}

type crashingTx struct {
	pgx.Tx
	cancel context.CancelFunc
}

func (c *crashingTx) SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults {
	c.cancel()
	return c.Tx.SendBatch(ctx, b)
}

func TestRewrapResumesAfterCrash(t *testing.T) {
	t.Parallel()
	f := newRewrapFixture(t)
	f.MustSeed(t, 10)
	oldKey := f.v.PrimaryKeyID()
	newKey := f.MustRotate(t)
	ctx := context.Background()
	inUse := func(id uint32) (int64, error) { return vault.RowsUsingKey(ctx, f.pool, []vault.Column{probe}, id) }

	// The first batch of 3 commits; the process dies while sending the second.
	crashCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	done, err := f.v.Rewrap(crashCtx, &crashingDB{DBTX: f.pool, cancel: cancel, crashAt: 2}, probe, 3)
	if !errors.Is(err, context.Canceled) || done != 3 {
		t.Fatalf("crashed run: done %d, err %v; want 3 and context.Canceled", done, err)
	}
	if diff := cmp.Diff(seeded(10), f.MustReadAll(t)); diff != "" {
		t.Fatalf("rows after the crash (-want +got):\n%s", diff)
	}
	want := vault.ColumnProgress{Table: "rewrap_probe", Column: "name_enc", ByKey: map[uint32]int64{oldKey: 7, newKey: 3}}
	if diff := cmp.Diff(want, f.MustProgress(t)); diff != "" {
		t.Fatalf("progress after the crash (-want +got):\n%s", diff)
	}
	if n, err := inUse(oldKey); err != nil || n != 7 {
		t.Fatalf("RowsUsingKey(old) = %d, %v; want 7", n, err)
	}
	if err := vault.Retire(f.path, f.m, oldKey, inUse); !errors.Is(err, vault.ErrKeyInUse) {
		t.Fatalf("Retire with 7 rows left: %v, want ErrKeyInUse", err)
	}

	// The rerun carries on with the 7 rows left, in batches of 3.
	done, err = f.v.Rewrap(ctx, f.pool, probe, 3)
	if err != nil || done != 7 {
		t.Fatalf("resumed run: done %d, err %v; want 7", done, err)
	}
	want.ByKey = map[uint32]int64{newKey: 10}
	if diff := cmp.Diff(want, f.MustProgress(t)); diff != "" {
		t.Fatalf("progress after the rerun (-want +got):\n%s", diff)
	}
	if r := f.MustProgress(t).Remaining(newKey); r != 0 {
		t.Fatalf("Remaining = %d", r)
	}
	if done, err := f.v.Rewrap(ctx, f.pool, probe, 3); err != nil || done != 0 {
		t.Fatalf("run with nothing to do: done %d, err %v", done, err)
	}

	if err := vault.Retire(f.path, f.m, oldKey, inUse); err != nil {
		t.Fatal(err)
	}
	if err := f.v.Reload(); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(seeded(10), f.MustReadAll(t)); diff != "" {
		t.Fatalf("rows after Retire (-want +got):\n%s", diff)
	}
}

func TestRewrapNeverOverwritesAConcurrentWrite(t *testing.T) {
	t.Parallel()
	f := newRewrapFixture(t)
	f.MustSeed(t, 3)
	ctx := context.Background()
	// A writer that has not seen the rotation yet is in the middle of changing row 2.
	writer, err := f.pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer writer.Rollback(ctx)
	ct := MustEncrypt(t, f.v, "書き換え後", probe.ADForID(2))
	if _, err := writer.Exec(ctx, `UPDATE rewrap_probe SET name_enc = $1 WHERE id = 2`, ct); err != nil {
		t.Fatal(err)
	}
	newKey := f.MustRotate(t)
	done, err := f.v.Rewrap(ctx, f.pool, probe, 10)
	if err != nil || done != 2 {
		t.Fatalf("rewrap around a locked row: done %d, err %v; want 2", done, err)
	}
	if err := writer.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	want := seeded(3)
	want[2] = "書き換え後"
	if diff := cmp.Diff(want, f.MustReadAll(t)); diff != "" {
		t.Fatalf("concurrent write lost (-want +got):\n%s", diff)
	}
	// The next run finishes the row the writer left on the old key.
	if done, err := f.v.Rewrap(ctx, f.pool, probe, 10); err != nil || done != 1 {
		t.Fatalf("second run: done %d, err %v; want 1", done, err)
	}
	if got := f.MustProgress(t).ByKey; got[newKey] != 3 || len(got) != 1 {
		t.Fatalf("progress = %v", got)
	}
}

func TestRewrapRunnersInParallel(t *testing.T) {
	t.Parallel()
	f := newRewrapFixture(t)
	f.MustSeed(t, 60)
	newKey := f.MustRotate(t)
	var total atomic.Int64
	var wg sync.WaitGroup
	for range 3 {
		wg.Go(func() {
			n, err := f.v.Rewrap(context.Background(), f.pool, probe, 4)
			if err != nil {
				t.Error(err)
			}
			total.Add(n)
		})
	}
	wg.Wait()
	// Runners may leave rows another one held locked; a last run sweeps up.
	n, err := f.v.Rewrap(context.Background(), f.pool, probe, 4)
	if err != nil {
		t.Fatal(err)
	}
	if got := total.Load() + n; got != 60 {
		t.Errorf("rows re-encrypted = %d, want 60 (each exactly once)", got)
	}
	if diff := cmp.Diff(map[uint32]int64{newKey: 60}, f.MustProgress(t).ByKey); diff != "" {
		t.Errorf("progress (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(seeded(60), f.MustReadAll(t)); diff != "" {
		t.Errorf("rows (-want +got):\n%s", diff)
	}
}

func TestRewrapLeavesUndecryptableRowsAndGoesOn(t *testing.T) {
	t.Parallel()
	f := newRewrapFixture(t)
	f.MustSeed(t, 5)
	oldKey := f.v.PrimaryKeyID()
	ctx := context.Background()
	// Row 3's ciphertext copied into row 4 (it will not decrypt there), and row 5
	// overwritten with bytes that are no ciphertext at all.
	if _, err := f.pool.Exec(ctx, `UPDATE rewrap_probe SET name_enc = (SELECT name_enc FROM rewrap_probe WHERE id = 3) WHERE id = 4`); err != nil {
		t.Fatal(err)
	}
	if _, err := f.pool.Exec(ctx, `UPDATE rewrap_probe SET name_enc = '\x0102'::bytea WHERE id = 5`); err != nil {
		t.Fatal(err)
	}
	newKey := f.MustRotate(t)
	done, err := f.v.Rewrap(ctx, f.pool, probe, 2)
	if !errors.Is(err, vault.ErrDecrypt) || done != 3 {
		t.Fatalf("done %d, err %v; want 3 and ErrDecrypt", done, err)
	}
	if msg := err.Error(); !strings.Contains(msg, "2 rows") || !strings.Contains(msg, "id 4") || strings.Contains(msg, "保護者") {
		t.Errorf("error should count the rows and name the first by ID only: %v", err)
	}
	want := vault.ColumnProgress{Table: "rewrap_probe", Column: "name_enc", ByKey: map[uint32]int64{oldKey: 1, newKey: 3}, Malformed: 1}
	got := f.MustProgress(t)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("progress (-want +got):\n%s", diff)
	}
	if r := got.Remaining(newKey); r != 2 {
		t.Errorf("Remaining = %d, want 2", r)
	}
	if n, err := vault.RowsUsingKey(ctx, f.pool, []vault.Column{probe}, oldKey); err != nil || n != 1 {
		t.Errorf("RowsUsingKey(old) = %d, %v; want 1: the damaged row keeps the key from being retired", n, err)
	}
}

func TestRewrapOnStringKeysAndComputedRowAD(t *testing.T) {
	t.Parallel()
	pool := pgtest.NewDB(t)
	path, key := vaulttest.Keyset(t)
	v, m := MustOpen(t, path, key), MustMaster(t, key)
	ctx := context.Background()
	// A table keyed by text whose AD names a composite of two columns, like line_event.
	col := vault.Column{Table: "Event Log", Column: "payload enc", ADColumn: "payload", ID: "event id",
		RowExpr: `"channel" || '/' || "event id"`}
	if _, err := pgtest.Owner(t, pool).Exec(ctx, `CREATE TABLE "Event Log" ("event id" text PRIMARY KEY, channel bigint, "payload enc" bytea)`); err != nil {
		t.Fatal(err)
	}
	for i, id := range []string{"01J0A", "01J0B", "01J0C"} {
		ct := MustEncrypt(t, v, vault.Personal("payload "+id), col.AD(fmt.Sprintf("%d/%s", 7+i, id)))
		if _, err := pool.Exec(ctx, `INSERT INTO "Event Log" VALUES ($1, $2, $3)`, id, 7+i, ct); err != nil {
			t.Fatal(err)
		}
	}
	newKey, err := vault.Rotate(path, m)
	if err != nil {
		t.Fatal(err)
	}
	if err := v.Reload(); err != nil {
		t.Fatal(err)
	}
	if done, err := v.Rewrap(ctx, pool, col, 2); err != nil || done != 3 {
		t.Fatalf("done %d, err %v", done, err)
	}
	prog, err := vault.Progress(ctx, pool, []vault.Column{col})
	if err != nil || prog[0].ByKey[newKey] != 3 {
		t.Fatalf("progress = %+v, %v", prog, err)
	}
	var ct []byte
	if err := pool.QueryRow(ctx, `SELECT "payload enc" FROM "Event Log" WHERE "event id" = '01J0B'`).Scan(&ct); err != nil {
		t.Fatal(err)
	}
	if got, err := v.DecryptPersonal(ct, col.AD("8/01J0B")); err != nil || got.Reveal() != "payload 01J0B" {
		t.Fatalf("row after rewrap: %v", err)
	}
}

func TestColumnIsValidated(t *testing.T) {
	t.Parallel()
	v := vaulttest.New(t)
	tests := []struct {
		name string
		col  vault.Column
	}{
		{"no table", vault.Column{Column: "c", ADColumn: "c"}},
		{"no column", vault.Column{Table: "t", ADColumn: "c"}},
		{"no AD column", vault.Column{Table: "t", Column: "c"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			// No database is reached: a nil DBTX would panic if it were.
			if _, err := v.Rewrap(context.Background(), nil, tt.col, 10); err == nil {
				t.Error("Rewrap accepted it")
			}
			if _, err := vault.Progress(context.Background(), nil, []vault.Column{tt.col}); err == nil {
				t.Error("Progress accepted it")
			}
			if _, err := vault.RowsUsingKey(context.Background(), nil, []vault.Column{tt.col}, 1); err == nil {
				t.Error("RowsUsingKey accepted it")
			}
		})
	}
}

// TestRewrapAllGoesOnPastFailingColumns: a column whose entry is wrong (no such key
// column) and one with a damaged row come first; the column after them is still
// re-encrypted, each failure is reported once, and the error names exactly the failed
// columns and still says which kind of failure each was.
func TestRewrapAllGoesOnPastFailingColumns(t *testing.T) {
	t.Parallel()
	f := newRewrapFixture(t)
	f.MustSeed(t, 4)
	ctx := context.Background()
	// A damaged row in a second table, which is otherwise fine.
	if _, err := pgtest.Owner(t, f.pool).Exec(ctx, `CREATE TABLE rewrap_damaged (id bigint PRIMARY KEY, name_enc bytea)`); err != nil {
		t.Fatal(err)
	}
	damaged := vault.Column{Table: "rewrap_damaged", Column: "name_enc", ADColumn: "name"}
	ct := MustEncrypt(t, f.v, "保護者", damaged.ADForID(1))
	if _, err := f.pool.Exec(ctx, `INSERT INTO rewrap_damaged VALUES (1, $1), (2, $1)`, ct); err != nil {
		t.Fatal(err)
	}
	wrongKey := vault.Column{Table: "rewrap_probe", Column: "name_enc", ADColumn: "name", ID: "probe_id"}
	newKey := f.MustRotate(t)

	reported := map[string]error{}
	err := f.v.RewrapAll(ctx, f.pool, []vault.Column{wrongKey, damaged, probe}, 2, func(col vault.Column, _ int64, err error) {
		reported[col.String()+"/"+col.ID] = err
	})
	if r := f.MustProgress(t).Remaining(newKey); r != 0 {
		t.Fatalf("the column after the failing ones has %d rows left", r)
	}
	var re *vault.RewrapError
	if !errors.As(err, &re) || len(re.Failed) != 2 || re.Failed[0].Column != wrongKey || re.Failed[1].Column != damaged {
		t.Fatalf("RewrapAll = %v, want a RewrapError naming the two failed columns", err)
	}
	if !errors.Is(err, vault.ErrDecrypt) {
		t.Errorf("the damaged column's ErrDecrypt is lost: %v", err)
	}
	if msg := err.Error(); !strings.Contains(msg, "rewrap_probe.name_enc, rewrap_damaged.name_enc") || strings.Contains(msg, "保護者") {
		t.Errorf("error should name the failed columns and no value: %v", msg)
	}
	if len(reported) != 3 || reported["rewrap_probe.name_enc/"] != nil || reported["rewrap_probe.name_enc/probe_id"] == nil || reported["rewrap_damaged.name_enc/"] == nil {
		t.Errorf("report calls = %v, want one per column with the failures' errors", reported)
	}
	f.MustReadAll(t)

	// A cancelled context stops the run instead of failing every column in turn.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	calls := 0
	if err := f.v.RewrapAll(cctx, f.pool, []vault.Column{probe, damaged}, 2, func(vault.Column, int64, error) { calls++ }); !errors.Is(err, context.Canceled) || calls != 0 {
		t.Errorf("cancelled: %v after %d columns, want context.Canceled before any", err, calls)
	}
}
