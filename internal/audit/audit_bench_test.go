package audit

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/renraku/renraku/internal/pgtest"
)

// BenchmarkRecord measures what auditing adds to a request's transaction: a
// transaction that records one event, against an empty transaction.
func BenchmarkRecord(b *testing.B) {
	pool := pgtest.NewDB(b)
	l := newLog()
	ctx := context.Background()
	b.Run("empty_tx", func(b *testing.B) {
		for b.Loop() {
			if err := pgx.BeginFunc(ctx, pool, func(pgx.Tx) error { return nil }); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("tx_with_event", func(b *testing.B) {
		i := 0
		for b.Loop() {
			i++
			if err := l.RecordAlone(ctx, pool, event(i)); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkVerify measures `audit verify` over a chain of AUDIT_BENCH_ROWS rows
// (default 1,000,000), written with COPY so seeding stays fast.
func BenchmarkVerify(b *testing.B) {
	n := 1_000_000
	if s := os.Getenv("AUDIT_BENCH_ROWS"); s != "" {
		var err error
		if n, err = strconv.Atoi(s); err != nil || n < 1 {
			b.Fatalf("AUDIT_BENCH_ROWS=%q: want a positive number of rows (%v)", s, err)
		}
	}
	pool := pgtest.NewDB(b)
	l := newLog()
	ctx := context.Background()
	seedChain(b, l, pgtest.Owner(b, pool), n)
	b.ResetTimer()
	for b.Loop() {
		rep, err := l.Verify(ctx, pool)
		if err != nil || !rep.OK || rep.Checked != int64(n) {
			b.Fatalf("%v %v", rep, err)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}

func seedChain(b *testing.B, l *Log, pool interface {
	Begin(context.Context) (pgx.Tx, error)
}, n int) {
	b.Helper()
	ctx := context.Background()
	start := time.Date(2026, 4, 1, 8, 0, 0, 0, time.UTC)
	prev := []byte{}
	rows := make([][]any, 0, n)
	for i := 1; i <= n; i++ {
		e := event(i)
		detail, err := detailJSON(e.Detail)
		if err != nil {
			b.Fatalf("encoding the detail of event %d: %v", i, err)
		}
		r := row{Seq: int64(i), OccurredAt: start.Add(time.Duration(i) * time.Second), ActorKind: string(e.Actor.Kind),
			ActorID: e.Actor.ID, Action: e.Action, ObjectKind: e.ObjectKind, ObjectID: e.ObjectID, BoardID: e.BoardID,
			SchoolID: e.SchoolID, RemoteAddr: e.RemoteAddr.String(), Detail: detail, PrevMAC: prev}
		mac, err := l.mac(r.canonical())
		if err != nil {
			b.Fatal(err)
		}
		rows = append(rows, []any{r.Seq, r.OccurredAt, r.ActorKind, r.ActorID, r.Action, r.ObjectKind, r.ObjectID,
			r.BoardID, r.SchoolID, r.RemoteAddr, r.Detail, r.PrevMAC, mac})
		prev = mac
	}
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"audit_event"},
			[]string{"seq", "occurred_at", "actor_kind", "actor_id", "action", "object_kind", "object_id", "board_id", "school_id", "remote_addr", "detail", "prev_mac", "mac"},
			pgx.CopyFromRows(rows)); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `UPDATE audit_chain SET head_seq = $1, head_mac = $2`, n, prev)
		return err
	})
	if err != nil {
		b.Fatal(fmt.Errorf("seed: %w", err))
	}
}

// BenchmarkSeal measures a seal of n pending events (one op: n events committed as
// pending, then sealed); ns/op divided by n is the seal's cost per event. With n 1
// it compares with BenchmarkRecord's tx_with_event, the direct append under the lock.
func BenchmarkSeal(b *testing.B) {
	pool := pgtest.NewDB(b)
	l := newLog()
	ctx := context.Background()
	for _, n := range []int{1, 26, 200} {
		b.Run("events_"+strconv.Itoa(n), func(b *testing.B) {
			rows := make([]row, n)
			for b.Loop() {
				b.StopTimer()
				for i := range rows {
					r, err := l.newRow(event(i))
					if err != nil {
						b.Fatal(err)
					}
					rows[i] = r
				}
				batch := &pgx.Batch{}
				queuePending(batch, rows)
				if err := pool.SendBatch(ctx, batch).Close(); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				if err := l.Seal(ctx, pool); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
