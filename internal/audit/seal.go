package audit

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/renraku/renraku/internal/postgres/pgtx"
)

// sealBatch is the most pending events one seal transaction takes; a seal goes on
// until it takes fewer.
const sealBatch = 1000

// sealRounds makes concurrent seals one (a group commit): a caller whose events have
// committed needs one round that began after that; while a round runs, the callers
// that arrive wait for it to end, and the first of them runs the next round, for all.
type sealRounds struct {
	mu       sync.Mutex
	started  atomic.Uint64 // rounds begun
	finished uint64        // the last round that sealed everything it saw (under mu)
}

// queuePending queues the insert of rows into audit_pending in b (sent with the
// COMMIT): no lock is taken, so audited transactions no longer follow one another.
func queuePending(b *pgx.Batch, rows []row) {
	if len(rows) == 0 {
		return
	}
	cols := make([][]any, 10)
	for i := range rows {
		r := &rows[i]
		for j, v := range []any{r.OccurredAt, r.ActorKind, r.ActorID, r.Action, r.ObjectKind, r.ObjectID,
			r.BoardID, r.SchoolID, r.RemoteAddr, r.Detail} {
			cols[j] = append(cols[j], v)
		}
	}
	b.Queue(insertPending, typed(cols)...)
}

// The rows in the order given, so that pending IDs (and the chain) follow the order
// in which the transaction recorded them.
const insertPending = `
	INSERT INTO audit_pending (occurred_at, actor_kind, actor_id, action, object_kind, object_id,
		board_id, school_id, remote_addr, detail)
	SELECT occurred_at, actor_kind, NULLIF(actor_id, 0), action, object_kind, object_id, NULLIF(board_id, 0),
		NULLIF(school_id, 0), NULLIF(remote_addr, '')::inet, detail::json
	FROM unnest($1::timestamptz[], $2::text[], $3::bigint[], $4::text[], $5::text[], $6::text[], $7::bigint[],
		$8::bigint[], $9::text[], $10::text[])
		WITH ORDINALITY AS r(occurred_at, actor_kind, actor_id, action, object_kind, object_id, board_id, school_id,
			remote_addr, detail, n)
	ORDER BY n`

// The pending events as the chain encodes them (as Verify reads audit_event).
const selectPending = `
	SELECT id, occurred_at, actor_kind, coalesce(actor_id, 0), action, object_kind, object_id,
		coalesce(board_id, 0), coalesce(school_id, 0), coalesce(host(remote_addr), ''), detail::text
	FROM audit_pending ORDER BY id LIMIT $1`

// sealCommitted is the transactor's step after a commit that recorded events: seal
// them now, so that when the request ends its events are in the chain. A failure is
// logged (no personal data: the database's error) and leaves them pending, safe, for
// the next seal.
func (l *Log) sealCommitted(ctx context.Context, pool *pgxpool.Pool) {
	if err := l.Seal(ctx, pool); err != nil {
		lg := l.Logger
		if lg == nil {
			lg = slog.Default()
		}
		lg.Error("audit events committed but not sealed yet; the next seal takes them", "err", err)
	}
}

// Seal moves every audit event pending when it is called (and any committed since)
// into the chain, in the order of their pending IDs: linked to the head, MACed, each
// with the next sequence number. Concurrent calls share rounds: a call returns once a
// round that began after it was made has sealed all it saw.
func (l *Log) Seal(ctx context.Context, pool *pgxpool.Pool) error {
	after := l.seal.started.Load()
	l.seal.mu.Lock()
	defer l.seal.mu.Unlock()
	if l.seal.finished > after {
		return nil
	}
	round := l.seal.started.Add(1)
	for {
		n, err := l.sealSome(ctx, pool)
		if err != nil {
			return err
		}
		if n < sealBatch {
			break
		}
	}
	l.seal.finished = round
	return nil
}

// SealLeftovers seals what a process that stopped before sealing left pending
// (nothing to do, and no lock taken, when nothing is).
func (l *Log) SealLeftovers(ctx context.Context, pool *pgxpool.Pool) error {
	var left bool
	if err := pool.QueryRow(ctx, `SELECT EXISTS (SELECT FROM audit_pending)`).Scan(&left); err != nil || !left {
		return err
	}
	return l.Seal(ctx, pool)
}

// sealSome seals up to sealBatch pending events in one transaction of two round
// trips: BEGIN, the head's lock and the read of the pending events (after the lock,
// so it sees whatever another seal committed); then their insert into audit_event,
// which removes them from audit_pending (the trigger audit_event_seal), and COMMIT.
func (l *Log) sealSome(ctx context.Context, pool *pgxpool.Pool) (n int, err error) {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return 0, err
	}
	defer conn.Release()
	defer func() {
		if err != nil && conn.Conn().PgConn().TxStatus() != 'I' {
			_, _ = conn.Exec(context.WithoutCancel(ctx), "ROLLBACK")
		}
	}()
	b := &pgx.Batch{}
	b.Queue("BEGIN")
	b.Queue(`SELECT head_seq, head_mac FROM audit_lock_head()`)
	b.Queue(selectPending, sealBatch)
	br := conn.SendBatch(ctx, b)
	var seq int64
	var prev []byte
	var rows []row
	_, err = br.Exec()
	if err == nil {
		err = br.QueryRow().Scan(&seq, &prev)
	}
	if err == nil {
		rows, err = scanPending(br)
	}
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return 0, fmt.Errorf("audit: seal: %w", err)
	}
	b = &pgx.Batch{}
	if len(rows) > 0 {
		if err := l.link(b, seq, prev, rows); err != nil {
			return 0, err
		}
	}
	if err = pgtx.CommitWith(ctx, conn, b); err != nil {
		return 0, fmt.Errorf("audit: seal: %w", err)
	}
	return len(rows), nil
}

func scanPending(br pgx.BatchResults) ([]row, error) {
	rs, err := br.Query()
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	var out []row
	for rs.Next() {
		var r row
		if err := rs.Scan(&r.PendingID, &r.OccurredAt, &r.ActorKind, &r.ActorID, &r.Action, &r.ObjectKind, &r.ObjectID,
			&r.BoardID, &r.SchoolID, &r.RemoteAddr, &r.Detail); err != nil {
			return nil, err
		}
		r.OccurredAt = r.OccurredAt.UTC()
		out = append(out, r)
	}
	return out, rs.Err()
}
