package postgres

import (
	"context"
	"encoding/json"

	"github.com/jackc/pgx/v5"

	"github.com/renraku/renraku/internal/live"
	"github.com/renraku/renraku/internal/postgres/pgtx"
)

// LivePublisher implements live.Publisher with pg_notify on live.Channel in the
// context's transaction: PostgreSQL delivers it to every instance's LISTEN (Listen)
// when the transaction commits, once, and never if it rolls back.
type LivePublisher struct{}

var _ live.Publisher = LivePublisher{}

// Publish notifies e in the context's transaction; outside one it fails (an event
// published on its own would tell of a change that may never be made). In a
// transaction of the Transactor the notices are sent with its COMMIT, in one statement
// and each once (a batch of webhook events may tell of the same change many times);
// PostgreSQL delivers them at commit either way.
func (LivePublisher) Publish(ctx context.Context, e live.Event) error {
	if !pgtx.InTransaction(ctx) {
		return pgtx.ErrNoTx
	}
	payload, err := json.Marshal(e)
	if err != nil {
		return err
	}
	if f, ok := pgtx.FinalOf(ctx); ok {
		n := f.Once(liveNoticesKey{}, func() any { return &liveNotices{} }, func(v any) func(context.Context, pgx.Tx, *pgx.Batch) error {
			return func(_ context.Context, _ pgx.Tx, b *pgx.Batch) error {
				if p := v.(*liveNotices).distinct(); len(p) > 0 {
					b.Queue(`SELECT pg_notify('`+live.Channel+`', p) FROM unnest($1::text[]) WITH ORDINALITY AS u(p, ord) ORDER BY ord`, p)
				}
				return nil
			}
		}).(*liveNotices)
		n.payloads = append(n.payloads, string(payload))
		return nil
	}
	_, err = pgtx.Tx(ctx).Exec(ctx, `SELECT pg_notify('`+live.Channel+`', $1)`, string(payload))
	return classify(err, "publish live event")
}

// liveNotices are the live events a transaction published, to send at its commit.
type liveNotices struct{ payloads []string }

// Len and Truncate let a savepoint rolled back take back the notices published in it.
func (n *liveNotices) Len() int       { return len(n.payloads) }
func (n *liveNotices) Truncate(k int) { n.payloads = n.payloads[:k] }

// distinct returns the payloads in order, each once.
func (n *liveNotices) distinct() []string {
	seen := make(map[string]bool, len(n.payloads))
	out := make([]string, 0, len(n.payloads))
	for _, p := range n.payloads {
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	return out
}

type liveNoticesKey struct{}
