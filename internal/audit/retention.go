package audit

import (
	"context"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/renraku/renraku/internal/postgres/pgtx"
)

// ApplyRetention removes the rows older than cutoff as one prefix of the chain and
// records that it did. It returns how many rows it removed.
//
// The removal is the database's audit_retain function (owned by the schema's owner),
// since the server's role may not delete audit rows: it removes only the prefix of
// rows older than cutoff, refuses a cutoff less than a year ago, and moves the anchor
// to the last removed row in the same step.
func (l *Log) ApplyRetention(ctx context.Context, db Beginner, cutoff time.Time) (int64, error) {
	var removed int64
	err := pgx.BeginFunc(ctx, db, func(tx pgx.Tx) error {
		var seq int64
		var mac []byte
		if err := tx.QueryRow(ctx, `SELECT anchor_seq, anchor_mac, removed FROM audit_retain($1)`, cutoff).Scan(&seq, &mac, &removed); err != nil {
			return err
		}
		if removed == 0 {
			return nil
		}
		return l.Record(pgtx.With(ctx, tx), Event{
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
