package audit

import (
	"context"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// ApplyRetention removes the rows older than cutoff as one prefix of the chain and
// records that it did. It returns how many rows it removed.
func (l *Log) ApplyRetention(ctx context.Context, db Beginner, cutoff time.Time) (int64, error) {
	var removed int64
	err := pgx.BeginFunc(ctx, db, func(tx pgx.Tx) error {
		var anchorSeq int64
		if err := tx.QueryRow(ctx, `SELECT anchor_seq FROM audit_chain FOR UPDATE`).Scan(&anchorSeq); err != nil {
			return err
		}
		var seq int64
		var mac []byte
		err := tx.QueryRow(ctx, `SELECT seq, mac FROM audit_event WHERE occurred_at < $1 ORDER BY seq DESC LIMIT 1`, cutoff).Scan(&seq, &mac)
		if err == pgx.ErrNoRows || (err == nil && seq <= anchorSeq) {
			return nil
		}
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE audit_chain SET anchor_seq = $1, anchor_mac = $2`, seq, mac); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `DELETE FROM audit_event WHERE seq <= $1`, seq)
		if err != nil {
			return err
		}
		removed = tag.RowsAffected()
		return l.Record(ctx, tx, Event{
			Actor:  SystemActor,
			Action: "audit.retention",
			Detail: map[string]any{
				"removed":    removed,
				"anchor_seq": seq,
				"anchor_mac": hex.EncodeToString(mac),
				"cutoff":     cutoff.UTC().Format(time.RFC3339),
			},
		})
	})
	if err != nil {
		return 0, fmt.Errorf("audit: retention: %w", err)
	}
	return removed, nil
}
