package audit

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/renraku/renraku/internal/pgtest"
)

// TestServerRoleCannotRewriteAudit: the server's role (what pgtest connects as, like
// `serve`) owns nothing, so every way of cutting the log's newest rows is refused by
// PostgreSQL itself, and the chain still verifies afterwards.
func TestServerRoleCannotRewriteAudit(t *testing.T) {
	t.Parallel()
	pool := pgtest.NewDB(t)
	l := newLog()
	for i := 0; i < 5; i++ {
		record(t, l, pool, event(i))
	}
	tests := []struct{ name, sql string }{
		{"disable the triggers", `ALTER TABLE audit_event DISABLE TRIGGER ALL`},
		{"disable one trigger", `ALTER TABLE audit_event DISABLE TRIGGER audit_event_no_delete`},
		{"disable the chain's trigger", `ALTER TABLE audit_chain DISABLE TRIGGER audit_chain_forward`},
		{"bypass the triggers", `SET session_replication_role = replica`},
		{"drop the guard", `DROP TRIGGER audit_event_no_delete ON audit_event`},
		{"replace the guard", `CREATE OR REPLACE FUNCTION audit_event_guard() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN OLD; END $$`},
		{"delete the newest rows", `DELETE FROM audit_event WHERE seq > 3`},
		{"update a row", `UPDATE audit_event SET action = 'x.y.z' WHERE seq = 5`},
		{"truncate", `TRUNCATE audit_event`},
		{"rewind the head", `UPDATE audit_chain SET head_seq = 3`},
		{"insert a chain row", `INSERT INTO audit_chain DEFAULT VALUES`},
		{"delete the chain", `DELETE FROM audit_chain`},
		{"insert a row off the head", `INSERT INTO audit_event SELECT 9, occurred_at, actor_kind, actor_id, action, object_kind, object_id, board_id, school_id, remote_addr, detail, mac, mac FROM audit_event WHERE seq = 5`},
		{"retention of recent rows", `SELECT * FROM audit_retain(now())`},
		{"retention half a year back", `SELECT * FROM audit_retain(now() - interval '6 months')`},
		{"grant itself more", `SELECT renraku_grant_app()`},
		{"own the table", `ALTER TABLE audit_event OWNER TO current_user`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := pool.Exec(context.Background(), tt.sql)
			var pgErr *pgconn.PgError
			if !errors.As(err, &pgErr) || pgErr.Code != "42501" { // insufficient_privilege
				t.Fatalf("err = %v, want PostgreSQL's insufficient_privilege", err)
			}
		})
	}
	if rep := mustVerify(t, l, pool); !rep.OK || rep.Checked != 5 || rep.HeadSeq != 5 {
		t.Fatalf("after refused changes: %v", rep)
	}
}

// TestKeptHeadFindsCutTail: someone with full database access (a superuser) removes the
// newest rows and moves the head back; the chain alone still verifies, but the check
// against a head kept before the cut fails, naming the cut. Without a cut, it passes.
func TestKeptHeadFindsCutTail(t *testing.T) {
	t.Parallel()
	pool := pgtest.NewDB(t)
	l := newLog()
	for i := 0; i < 10; i++ {
		record(t, l, pool, event(i))
	}
	h, err := CurrentHead(context.Background(), pool)
	if err != nil {
		t.Fatal(err)
	}
	signed, err := l.SignHead(h)
	if err != nil {
		t.Fatal(err)
	}
	// Kept as a log line, read back from it.
	kept, err := l.ParseHead(`{"level":"INFO","msg":"audit chain head","head":"` + signed + `"}`)
	if err != nil || kept.Seq != 10 {
		t.Fatalf("kept head %+v (%v)", kept, err)
	}
	record(t, l, pool, event(11)) // the chain goes on after the head was kept
	if rep, err := l.VerifyWithHead(context.Background(), pool, kept); err != nil || !rep.OK || !strings.Contains(rep.String(), "kept head (row 10)") {
		t.Fatalf("nothing cut: %v (%v)", rep, err)
	}

	tamper(t, pool, `DELETE FROM audit_event WHERE seq > 7`)
	tamper(t, pool, `UPDATE audit_chain SET head_seq = 7, head_mac = (SELECT mac FROM audit_event WHERE seq = 7)`)
	if rep := mustVerify(t, l, pool); !rep.OK || rep.HeadSeq != 7 {
		t.Fatalf("the chain alone should not see a clean cut: %v", rep)
	}
	rep, err := l.VerifyWithHead(context.Background(), pool, kept)
	if err != nil {
		t.Fatal(err)
	}
	if rep.OK || rep.BrokenSeq != 8 || !strings.Contains(rep.Reason, "cut") {
		t.Fatalf("report = %+v, want the cut after row 7 found", rep)
	}
}

// TestKeptHeadRewrittenChain: the chain rebuilt under the key past the kept head (the
// kept row replaced) is found too.
func TestKeptHeadRewrittenChain(t *testing.T) {
	t.Parallel()
	pool := pgtest.NewDB(t)
	l := newLog()
	for i := 0; i < 4; i++ {
		record(t, l, pool, event(i))
	}
	kept, err := CurrentHead(context.Background(), pool)
	if err != nil {
		t.Fatal(err)
	}
	tamper(t, pool, `DELETE FROM audit_event WHERE seq = 4`)
	tamper(t, pool, `UPDATE audit_chain SET head_seq = 3, head_mac = (SELECT mac FROM audit_event WHERE seq = 3)`)
	record(t, l, pool, event(40)) // a different row 4, properly chained
	rep, err := l.VerifyWithHead(context.Background(), pool, kept)
	if err != nil {
		t.Fatal(err)
	}
	if rep.OK || rep.BrokenSeq != 4 || !strings.Contains(rep.Reason, "rewritten") {
		t.Fatalf("report = %+v, want row 4 found rewritten", rep)
	}
}

func TestSignedHeadRefusesForgery(t *testing.T) {
	t.Parallel()
	l := newLog()
	signed, err := l.SignHead(Head{Seq: 42, MAC: []byte{1, 2, 3}})
	if err != nil {
		t.Fatal(err)
	}
	if h, err := l.ParseHead(signed); err != nil || h.Seq != 42 {
		t.Fatalf("genuine head: %+v %v", h, err)
	}
	tests := map[string]string{
		"lower sequence number": strings.Replace(signed, ":42:", ":41:", 1),
		"other MAC":             strings.Replace(signed, ":010203:", ":010204:", 1),
		"another keyset":        must(New(testMAC("another key")).SignHead(Head{Seq: 42, MAC: []byte{1, 2, 3}})),
	}
	for name, s := range tests {
		if _, err := l.ParseHead(s); !errors.Is(err, ErrHeadNotGenuine) {
			t.Errorf("%s: err = %v, want ErrHeadNotGenuine", name, err)
		}
	}
	if _, err := l.ParseHead("no head here"); err == nil {
		t.Error("text without a head accepted")
	}
}

func must(s string, err error) string {
	if err != nil {
		panic(err)
	}
	return s
}

// TestRetentionUnderServerRole: retention still works as the server's role, through
// audit_retain, which removes only the prefix of old rows: a row written last but dated
// in the past does not take the recent rows with it.
func TestRetentionUnderServerRole(t *testing.T) {
	t.Parallel()
	pool := pgtest.NewDB(t)
	l := newLog()
	now := time.Now()
	dates := []time.Time{now.AddDate(-7, 0, 0), now.AddDate(-6, 0, 0), now.AddDate(0, -1, 0), now.AddDate(-9, 0, 0)}
	for i, at := range dates {
		l.clock.Set(at)
		record(t, l, pool, event(i))
	}
	l.clock.Reset()
	removed, err := l.ApplyRetention(context.Background(), pool, now.AddDate(-5, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	if removed != 2 {
		t.Fatalf("removed %d, want the two old rows before the first recent one", removed)
	}
	rep := mustVerify(t, l, pool)
	if !rep.OK || rep.AnchorSeq != 2 || rep.Checked != 3 { // 2 kept + the retention event
		t.Fatalf("after retention: %+v", rep)
	}
	// A kept head older than the anchor says nothing, and says so.
	rep, err = l.VerifyWithHead(context.Background(), pool, Head{Seq: 1})
	if err != nil || !rep.OK || !strings.Contains(rep.KeptNote, "older than the retention anchor") {
		t.Fatalf("head below anchor: %+v (%v)", rep, err)
	}
}
