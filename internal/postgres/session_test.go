package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"

	"github.com/renraku/renraku/internal/pgtest"
	"github.com/renraku/renraku/internal/postgres"
)

// TestSessionStoreSkipsIdleRewrites: a session written back by the request that read
// it, with the same values and an expiry moved by less than SessionRefresh, is not
// written again; new values, an expiry moved further, or a write without a read are.
func TestSessionStoreSkipsIdleRewrites(t *testing.T) {
	t.Parallel()
	pool := pgtest.NewDB(t)
	ctx := context.Background()
	store := postgres.NewSessionStore(pool)
	var codec scs.GobCodec
	deadline := time.Now().Add(12 * time.Hour).UTC().Truncate(time.Microsecond)
	encode := func(values map[string]any) []byte {
		t.Helper()
		b, err := codec.Encode(deadline, values)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	stored := func() (map[string]any, time.Time) {
		t.Helper()
		var b []byte
		var expiry time.Time
		if err := pool.QueryRow(ctx, `SELECT data, expiry FROM staff_session`).Scan(&b, &expiry); err != nil {
			t.Fatal(err)
		}
		_, v, err := codec.Decode(b)
		if err != nil {
			t.Fatal(err)
		}
		return v, expiry
	}
	values := map[string]any{"staff": int64(7), "epoch": int64(1), "a": "x", "b": "y", "c": "z"}
	t0 := time.Now().Add(time.Hour).UTC().Truncate(time.Microsecond)
	if err := store.CommitCtx(ctx, "tok", encode(values), t0); err != nil {
		t.Fatal(err)
	}

	// A request reads it and writes it back 30 s later: skipped (the values encoded
	// again, possibly in another order, compare equal).
	if _, found, err := store.FindCtx(ctx, "tok"); err != nil || !found {
		t.Fatalf("find: %v %v", found, err)
	}
	if err := store.CommitCtx(ctx, "tok", encode(values), t0.Add(30*time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, expiry := stored(); !expiry.Equal(t0) {
		t.Errorf("expiry %v after a write-back 30 s on, want it left at %v", expiry, t0)
	}

	// Without a read first (the read was taken by the write above): written.
	if err := store.CommitCtx(ctx, "tok", encode(values), t0.Add(40*time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, expiry := stored(); !expiry.Equal(t0.Add(40 * time.Second)) {
		t.Errorf("expiry %v after a write without a read, want %v", expiry, t0.Add(40*time.Second))
	}

	// Read, then written back with the expiry a refresh further: written.
	t1 := t0.Add(40*time.Second + postgres.SessionRefresh)
	if _, _, err := store.FindCtx(ctx, "tok"); err != nil {
		t.Fatal(err)
	}
	if err := store.CommitCtx(ctx, "tok", encode(values), t1); err != nil {
		t.Fatal(err)
	}
	if _, expiry := stored(); !expiry.Equal(t1) {
		t.Errorf("expiry %v after a write-back a refresh on, want %v", expiry, t1)
	}

	// Read, then written back with a value changed a second later: written.
	if _, _, err := store.FindCtx(ctx, "tok"); err != nil {
		t.Fatal(err)
	}
	values["flash"] = "保存しました"
	if err := store.CommitCtx(ctx, "tok", encode(values), t1.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	if v, expiry := stored(); v["flash"] != "保存しました" || !expiry.Equal(t1.Add(time.Second)) {
		t.Errorf("after a changed value: %v, expiry %v", v, expiry)
	}

	// Read, then deleted: gone, and a later write-back of the same values is written.
	if _, _, err := store.FindCtx(ctx, "tok"); err != nil {
		t.Fatal(err)
	}
	if err := store.DeleteCtx(ctx, "tok"); err != nil {
		t.Fatal(err)
	}
	if _, found, err := store.FindCtx(ctx, "tok"); err != nil || found {
		t.Fatalf("deleted session found: %v %v", found, err)
	}
	if err := store.CommitCtx(ctx, "tok", encode(values), t1.Add(2*time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, expiry := stored(); !expiry.Equal(t1.Add(2 * time.Second)) {
		t.Errorf("expiry %v after a write-back of a deleted session, want %v", expiry, t1.Add(2*time.Second))
	}

	// A session with little time left (a short idle timeout) is written back when its
	// expiry moves by more than a twentieth of that time.
	if _, err := pool.Exec(ctx, `DELETE FROM staff_session`); err != nil {
		t.Fatal(err)
	}
	short := time.Now().Add(2 * time.Second).UTC().Truncate(time.Microsecond)
	if err := store.CommitCtx(ctx, "short", encode(values), short); err != nil {
		t.Fatal(err)
	}
	if _, _, err := store.FindCtx(ctx, "short"); err != nil {
		t.Fatal(err)
	}
	if err := store.CommitCtx(ctx, "short", encode(values), short.Add(500*time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	if _, expiry := stored(); !expiry.Equal(short.Add(500 * time.Millisecond)) {
		t.Errorf("short session: expiry %v, want it moved to %v", expiry, short.Add(500*time.Millisecond))
	}
}
