package audit

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// Querier runs queries: *pgxpool.Pool and pgx.Tx satisfy it.
type Querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// TxBeginner starts transactions with options: *pgxpool.Pool satisfies it.
type TxBeginner interface {
	BeginTx(ctx context.Context, opts pgx.TxOptions) (pgx.Tx, error)
}

// Report is the outcome of Verify.
type Report struct {
	Checked   int64 // rows whose MAC and link were checked
	AnchorSeq int64 // the retention anchor the chain starts after
	HeadSeq   int64 // the last row the chain claims
	OK        bool
	BrokenSeq int64  // the first row found wrong (0 when OK)
	Reason    string // what is wrong with it
	// Kept is the head kept outside the database that the chain was checked against
	// (VerifyWithHead); nil for Verify.
	Kept *Head
	// KeptNote says what the comparison with Kept found when the chain is intact.
	KeptNote string
}

func (r Report) String() string {
	if r.OK {
		s := fmt.Sprintf("audit chain intact: %d rows verified (sequence %d–%d)", r.Checked, r.AnchorSeq+1, r.HeadSeq)
		if r.KeptNote != "" {
			s += "; " + r.KeptNote
		}
		return s
	}
	return fmt.Sprintf("audit chain BROKEN at row %d: %s (%d rows verified before it)", r.BrokenSeq, r.Reason, r.Checked)
}

// Verify walks the whole chain from the retention anchor to the head and reports the
// first row that was modified, removed or inserted. It reads in one consistent snapshot.
func (l *Log) Verify(ctx context.Context, db TxBeginner) (Report, error) {
	var rep Report
	err := pgx.BeginTxFunc(ctx, db, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		var err error
		rep, err = l.verify(ctx, tx)
		return err
	})
	return rep, err
}

func (l *Log) verify(ctx context.Context, q Querier) (Report, error) {
	var rep Report
	var anchorMAC, headMAC []byte
	if err := q.QueryRow(ctx, `SELECT anchor_seq, anchor_mac, head_seq, head_mac FROM audit_chain`).
		Scan(&rep.AnchorSeq, &anchorMAC, &rep.HeadSeq, &headMAC); err != nil {
		return rep, fmt.Errorf("audit: read chain: %w", err)
	}
	rows, err := q.Query(ctx, `
		SELECT seq, occurred_at, actor_kind, coalesce(actor_id, 0), action, object_kind, object_id,
			coalesce(board_id, 0), coalesce(school_id, 0), coalesce(host(remote_addr), ''), detail::text, prev_mac, mac
		FROM audit_event ORDER BY seq`)
	if err != nil {
		return rep, fmt.Errorf("audit: read rows: %w", err)
	}
	defer rows.Close()

	broken := func(seq int64, reason string) (Report, error) {
		rep.BrokenSeq, rep.Reason = seq, reason
		return rep, nil
	}
	expect, prev := rep.AnchorSeq+1, anchorMAC
	var r row
	var at time.Time
	for rows.Next() {
		if err := rows.Scan(&r.Seq, &at, &r.ActorKind, &r.ActorID, &r.Action, &r.ObjectKind, &r.ObjectID,
			&r.BoardID, &r.SchoolID, &r.RemoteAddr, &r.Detail, &r.PrevMAC, &r.MAC); err != nil {
			return rep, fmt.Errorf("audit: scan: %w", err)
		}
		r.OccurredAt = at
		switch {
		case r.Seq <= rep.AnchorSeq:
			return broken(r.Seq, "row at or below the retention anchor (inserted after retention)")
		case r.Seq > expect:
			return broken(expect, fmt.Sprintf("row missing (next row present is %d)", r.Seq))
		case r.Seq > rep.HeadSeq:
			return broken(r.Seq, "row beyond the chain's head (inserted)")
		case !bytes.Equal(r.PrevMAC, prev):
			return broken(r.Seq, "link to the previous row broken (a row before it was changed, removed or inserted)")
		}
		want, err := l.mac(r.canonical())
		if err != nil {
			return rep, fmt.Errorf("audit: mac: %w", err)
		}
		if !bytes.Equal(want, r.MAC) {
			return broken(r.Seq, "row content does not match its MAC (modified or forged)")
		}
		rep.Checked++
		prev = r.MAC
		expect++
	}
	if err := rows.Err(); err != nil {
		return rep, fmt.Errorf("audit: read rows: %w", err)
	}
	if expect-1 != rep.HeadSeq {
		return broken(expect, fmt.Sprintf("rows missing at the end (head says %d)", rep.HeadSeq))
	}
	if !bytes.Equal(prev, headMAC) {
		return broken(rep.HeadSeq, "head MAC does not match the last row")
	}
	rep.OK = true
	return rep, nil
}
