package audit

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/renraku/renraku/internal/pgtest"
	"github.com/renraku/renraku/internal/postgres/pgtx"
)

// testMAC stands in for the keyset's PRF: keyed, outside the database.
func testMAC(key string) MAC {
	return func(data []byte) ([]byte, error) {
		m := hmac.New(sha256.New, []byte(key))
		m.Write(data)
		return m.Sum(nil), nil
	}
}

func newLog() *Log { return New(testMAC("test chain key")) }

func record(t *testing.T, l *Log, pool *pgxpool.Pool, e Event) {
	t.Helper()
	if err := l.RecordAlone(context.Background(), pool, e); err != nil {
		t.Fatal(err)
	}
}

func event(i int) Event {
	return Event{
		Actor:      Actor{Kind: Staff, ID: int64(i%7 + 1)},
		Action:     "guardian.view",
		ObjectKind: "guardian",
		ObjectID:   fmt.Sprint(100 + i),
		BoardID:    1,
		SchoolID:   int64(i%3 + 1),
		RemoteAddr: netip.MustParseAddr("192.0.2.10"),
		Detail:     map[string]any{"fields": 3, "export": false},
	}
}

func mustVerify(t *testing.T, l *Log, pool *pgxpool.Pool) Report {
	t.Helper()
	rep, err := l.Verify(context.Background(), pool)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// tamper runs SQL as a superuser who bypasses the append-only triggers.
func tamper(t *testing.T, pool *pgxpool.Pool, sql string, args ...any) {
	t.Helper()
	err := pgx.BeginFunc(context.Background(), pgtest.Owner(t, pool), func(tx pgx.Tx) error {
		if _, err := tx.Exec(context.Background(), "SET LOCAL session_replication_role = replica"); err != nil {
			return err
		}
		_, err := tx.Exec(context.Background(), sql, args...)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestRecordAndVerify(t *testing.T) {
	t.Parallel()
	pool := pgtest.NewDB(t)
	l := newLog()
	if rep := mustVerify(t, l, pool); !rep.OK || rep.Checked != 0 {
		t.Fatalf("empty log: %v", rep)
	}
	for i := 0; i < 10; i++ {
		record(t, l, pool, event(i))
	}
	rep := mustVerify(t, l, pool)
	if !rep.OK || rep.Checked != 10 || rep.HeadSeq != 10 {
		t.Fatalf("report = %+v", rep)
	}
	var addr, detail string
	if err := pool.QueryRow(context.Background(), `SELECT host(remote_addr), detail::text FROM audit_event WHERE seq = 1`).Scan(&addr, &detail); err != nil {
		t.Fatal(err)
	}
	if addr != "192.0.2.10" || detail != `{"export":false,"fields":3}` {
		t.Errorf("stored addr %q detail %q", addr, detail)
	}
}

func TestVerifyWithAnotherKeyFails(t *testing.T) {
	t.Parallel()
	pool := pgtest.NewDB(t)
	record(t, newLog(), pool, event(1))
	if rep := mustVerify(t, New(testMAC("another key")), pool); rep.OK || rep.BrokenSeq != 1 {
		t.Fatalf("report = %+v, want broken at 1", rep)
	}
}

func TestInvalidEventsRefused(t *testing.T) {
	t.Parallel()
	pool := pgtest.NewDB(t)
	l := newLog()
	type personal string // stands for vault.Personal: a string-based type
	tests := []struct {
		name string
		e    Event
	}{
		{"unknown actor", Event{Actor: Actor{Kind: "robot"}, Action: "x.y.z"}},
		{"staff without id", Event{Actor: Actor{Kind: Staff}, Action: "staff.sign_in"}},
		{"bad action", Event{Actor: SystemActor, Action: "Sign In!"}},
		{"long detail string", Event{Actor: SystemActor, Action: "job.run", Detail: map[string]any{"s": strings.Repeat("あ", 30)}}},
		{"personal value in detail", Event{Actor: SystemActor, Action: "job.run", Detail: map[string]any{"name": personal("山田花子")}}},
		{"struct in detail", Event{Actor: SystemActor, Action: "job.run", Detail: map[string]any{"x": struct{}{}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := l.RecordAlone(context.Background(), pool, tt.e)
			if !errors.Is(err, ErrInvalidEvent) {
				t.Fatalf("err = %v, want ErrInvalidEvent", err)
			}
		})
	}
	var n int
	if err := pool.QueryRow(context.Background(), `SELECT count(*) FROM audit_event`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("rows = %d (%v), want none stored", n, err)
	}
}

func TestAppendOnly(t *testing.T) {
	t.Parallel()
	pool := pgtest.NewDB(t)
	l := newLog()
	for i := 0; i < 3; i++ {
		record(t, l, pool, event(i))
	}
	tests := []struct{ name, sql string }{
		{"update", `UPDATE audit_event SET action = 'x.y.z' WHERE seq = 2`},
		{"delete", `DELETE FROM audit_event WHERE seq = 2`},
		{"truncate", `TRUNCATE audit_event`},
		{"chain backwards", `UPDATE audit_chain SET head_seq = 1`},
		{"anchor to a made-up MAC", `UPDATE audit_chain SET anchor_seq = 1, anchor_mac = '\x00'`},
		{"delete chain", `DELETE FROM audit_chain`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := pool.Exec(context.Background(), tt.sql)
			if err == nil || !strings.Contains(err.Error(), "append-only") && !strings.Contains(err.Error(), "audit") {
				t.Fatalf("err = %v, want refusal", err)
			}
		})
	}
	if rep := mustVerify(t, l, pool); !rep.OK || rep.Checked != 3 {
		t.Fatalf("after refused changes: %v", rep)
	}
}

func TestVerifyDetectsTampering(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		sql        string
		wantBroken int64
		wantReason string
	}{
		{"modified action", `UPDATE audit_event SET action = 'guardian.export' WHERE seq = 5`, 5, "MAC"},
		{"modified detail", `UPDATE audit_event SET detail = '{"export":true,"fields":3}' WHERE seq = 7`, 7, "MAC"},
		{"modified time", `UPDATE audit_event SET occurred_at = occurred_at - interval '1 day' WHERE seq = 3`, 3, "MAC"},
		{"deleted row", `DELETE FROM audit_event WHERE seq = 4`, 4, "missing"},
		{"deleted last row", `DELETE FROM audit_event WHERE seq = 10`, 10, "missing at the end"},
		{"inserted row after head", `INSERT INTO audit_event SELECT seq + 1, occurred_at, actor_kind, actor_id, action, object_kind, object_id, board_id, school_id, remote_addr, detail, mac, mac FROM audit_event WHERE seq = 10`, 11, "beyond"},
		{"inserted row with head moved", `WITH i AS (INSERT INTO audit_event SELECT 11, occurred_at, actor_kind, actor_id, 'guardian.export', object_kind, object_id, board_id, school_id, remote_addr, detail, mac, sha256(mac) FROM audit_event WHERE seq = 10 RETURNING mac) UPDATE audit_chain SET head_seq = 11, head_mac = (SELECT mac FROM i)`, 11, "MAC"},
		{"row replaced by a copy of another", `UPDATE audit_event SET (occurred_at, actor_kind, actor_id, action, object_kind, object_id, detail, prev_mac, mac) = (SELECT occurred_at, actor_kind, actor_id, action, object_kind, object_id, detail, prev_mac, mac FROM audit_event WHERE seq = 2) WHERE seq = 6`, 6, "link"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			pool := pgtest.NewDB(t)
			l := newLog()
			for i := 0; i < 10; i++ {
				record(t, l, pool, event(i))
			}
			tamper(t, pool, tt.sql)
			rep := mustVerify(t, l, pool)
			if rep.OK || rep.BrokenSeq != tt.wantBroken || !strings.Contains(rep.Reason, tt.wantReason) {
				t.Fatalf("report = %+v, want broken at %d (%s)", rep, tt.wantBroken, tt.wantReason)
			}
			if !strings.Contains(rep.String(), fmt.Sprintf("row %d", tt.wantBroken)) {
				t.Errorf("message %q does not name the row", rep.String())
			}
		})
	}
}

func TestConcurrentWritersKeepOneChain(t *testing.T) {
	t.Parallel()
	pool := pgtest.NewDB(t)
	l := newLog()
	const writers, each = 8, 25
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < each; i++ {
				if err := l.RecordAlone(context.Background(), pool, event(w*each+i)); err != nil {
					errs <- err
					return
				}
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if rep := mustVerify(t, l, pool); !rep.OK || rep.Checked != writers*each {
		t.Fatalf("report = %+v", rep)
	}
}

func TestRolledBackWorkLeavesNoEvent(t *testing.T) {
	t.Parallel()
	pool := pgtest.NewDB(t)
	l := newLog()
	record(t, l, pool, event(1))
	boom := errors.New("work failed")
	err := pgx.BeginFunc(context.Background(), pool, func(tx pgx.Tx) error {
		if err := l.Record(pgtx.With(context.Background(), tx), event(2)); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatal(err)
	}
	record(t, l, pool, event(3))
	if rep := mustVerify(t, l, pool); !rep.OK || rep.Checked != 2 || rep.HeadSeq != 2 {
		t.Fatalf("report = %+v", rep)
	}
}

func TestRetentionKeepsChainVerifiable(t *testing.T) {
	t.Parallel()
	pool := pgtest.NewDB(t)
	l := newLog()
	base := time.Date(2020, 4, 1, 9, 0, 0, 0, time.UTC)
	for i := 0; i < 10; i++ {
		at := base.AddDate(0, i, 0)
		l.clock.Set(at)
		record(t, l, pool, event(i))
	}
	l.clock.Set(base.AddDate(6, 0, 0))

	// Rows from 2020-04 … 2020-09 are older than the cutoff: six rows go.
	removed, err := l.ApplyRetention(context.Background(), pool, base.AddDate(0, 5, 15))
	if err != nil {
		t.Fatal(err)
	}
	if removed != 6 {
		t.Fatalf("removed = %d, want 6", removed)
	}
	rep := mustVerify(t, l, pool)
	if !rep.OK || rep.AnchorSeq != 6 || rep.Checked != 5 { // 4 kept + the retention event
		t.Fatalf("after retention: %+v", rep)
	}
	var action string
	if err := pool.QueryRow(context.Background(), `SELECT action FROM audit_event ORDER BY seq DESC LIMIT 1`).Scan(&action); err != nil || action != "audit.retention" {
		t.Fatalf("last action = %q (%v)", action, err)
	}
	// Running again with the same cutoff removes nothing more.
	if removed, err := l.ApplyRetention(context.Background(), pool, base.AddDate(0, 5, 15)); err != nil || removed != 0 {
		t.Fatalf("second run removed %d (%v)", removed, err)
	}
	// Rows above the anchor still cannot be deleted.
	if _, err := pool.Exec(context.Background(), `DELETE FROM audit_event WHERE seq = 8`); err == nil {
		t.Fatal("deleted a row above the anchor")
	}
	// A row slipped in below the anchor is found.
	tamper(t, pool, `INSERT INTO audit_event SELECT 3, occurred_at, actor_kind, actor_id, action, object_kind, object_id, board_id, school_id, remote_addr, detail, prev_mac, mac FROM audit_event WHERE seq = 7`)
	if rep := mustVerify(t, l, pool); rep.OK || rep.BrokenSeq != 3 {
		t.Fatalf("row below anchor: %+v", rep)
	}
}
