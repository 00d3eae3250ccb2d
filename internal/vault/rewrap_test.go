package vault_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/renraku/renraku/internal/pgtest"
	"github.com/renraku/renraku/internal/vault"
	"github.com/renraku/renraku/internal/vault/vaulttest"
)

var probe = vault.Column{Table: "rewrap_probe", Column: "name_enc", ADColumn: "name"}

func seedProbe(t *testing.T, pool *pgxpool.Pool, v *vault.Vault, n int) {
	t.Helper()
	ctx := context.Background()
	if _, err := pool.Exec(ctx, `CREATE TABLE rewrap_probe (id bigint PRIMARY KEY, name_enc bytea)`); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= n; i++ {
		ct, err := v.EncryptPersonal(vault.Personal(fmt.Sprintf("保護者%d", i)), vault.NewAD("rewrap_probe", "name", fmt.Sprint(i)))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := pool.Exec(ctx, `INSERT INTO rewrap_probe VALUES ($1, $2)`, i, ct); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := pool.Exec(ctx, `INSERT INTO rewrap_probe VALUES (0, NULL)`); err != nil {
		t.Fatal(err)
	}
}

func readAll(t *testing.T, pool *pgxpool.Pool, v *vault.Vault) map[int64]string {
	t.Helper()
	rows, err := pool.Query(context.Background(), `SELECT id, name_enc FROM rewrap_probe WHERE name_enc IS NOT NULL`)
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
		p, err := v.DecryptPersonal(ct, vault.NewAD("rewrap_probe", "name", fmt.Sprint(id)))
		if err != nil {
			t.Fatalf("row %d unreadable: %v", id, err)
		}
		out[id] = p.Reveal()
	}
	return out
}

func TestRewrapResumesAfterCrash(t *testing.T) {
	t.Parallel()
	pool := pgtest.NewDB(t)
	path, key := vaulttest.Keyset(t)
	m, _ := vault.MasterFromKey(key)
	v, _ := vault.Open(path, m)
	seedProbe(t, pool, v, 10)
	oldKey := v.PrimaryKeyID()
	newKey, err := vault.Rotate(path, m)
	if err != nil {
		t.Fatal(err)
	}
	if err := v.Reload(); err != nil {
		t.Fatal(err)
	}

	// A "crash": the context ends after the first batch of 3.
	ctx, cancel := context.WithCancel(context.Background())
	crashing := &cancelAfterBegin{DBTX: pool, cancel: cancel, after: 1}
	done, err := v.Rewrap(ctx, crashing, probe, 3)
	if !errors.Is(err, context.Canceled) || done != 3 {
		t.Fatalf("crashed run: done %d, err %v", done, err)
	}
	if got := readAll(t, pool, v); len(got) != 10 || got[7] != "保護者7" {
		t.Fatalf("after crash: %v", got)
	}
	n, err := vault.RowsUsingKey(context.Background(), pool, []vault.Column{probe}, oldKey)
	if err != nil || n != 7 {
		t.Fatalf("rows on the old key after crash = %d (%v), want 7", n, err)
	}
	if err := vault.Retire(path, m, oldKey, func(id uint32) (int64, error) {
		return vault.RowsUsingKey(context.Background(), pool, []vault.Column{probe}, id)
	}); err == nil {
		t.Fatal("retired a key still in use")
	}

	done, err = v.Rewrap(context.Background(), pool, probe, 3)
	if err != nil || done != 7 {
		t.Fatalf("resumed run: done %d, err %v", done, err)
	}
	prog, err := vault.Progress(context.Background(), pool, []vault.Column{probe})
	if err != nil || prog[0].ByKey[newKey] != 10 || prog[0].ByKey[oldKey] != 0 {
		t.Fatalf("progress = %+v (%v)", prog, err)
	}
	if err := vault.Retire(path, m, oldKey, func(id uint32) (int64, error) {
		return vault.RowsUsingKey(context.Background(), pool, []vault.Column{probe}, id)
	}); err != nil {
		t.Fatal(err)
	}
	if err := v.Reload(); err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, pool, v); len(got) != 10 || got[1] != "保護者1" {
		t.Fatalf("after retire: %v", got)
	}
}

func TestRewrapNeverOverwritesAConcurrentWrite(t *testing.T) {
	t.Parallel()
	pool := pgtest.NewDB(t)
	path, key := vaulttest.Keyset(t)
	m, _ := vault.MasterFromKey(key)
	v, _ := vault.Open(path, m)
	seedProbe(t, pool, v, 3)
	// A writer still on the old key is in the middle of changing row 2.
	ctx := context.Background()
	writer, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer writer.Rollback(ctx)
	ct, _ := v.EncryptPersonal("書き換え後", vault.NewAD("rewrap_probe", "name", "2"))
	if _, err := writer.Exec(ctx, `UPDATE rewrap_probe SET name_enc = $1 WHERE id = 2`, ct); err != nil {
		t.Fatal(err)
	}
	if _, err := vault.Rotate(path, m); err != nil {
		t.Fatal(err)
	}
	_ = v.Reload()
	done, err := v.Rewrap(ctx, pool, probe, 10)
	if err != nil || done != 2 {
		t.Fatalf("rewrap around a locked row: done %d, err %v", done, err)
	}
	if err := writer.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, pool, v); got[2] != "書き換え後" || got[1] != "保護者1" {
		t.Fatalf("concurrent write lost: %v", got)
	}
	// Running again finishes the row the writer left on the old key.
	if done, err := v.Rewrap(ctx, pool, probe, 10); err != nil || done != 1 {
		t.Fatalf("second run: done %d, err %v", done, err)
	}
	prog, _ := vault.Progress(ctx, pool, []vault.Column{probe})
	if prog[0].ByKey[v.PrimaryKeyID()] != 3 {
		t.Fatalf("progress = %+v", prog)
	}
}
