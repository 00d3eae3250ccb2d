package postgres

import (
	"context"
	"encoding/json"

	"github.com/renraku/renraku/internal/live"
	"github.com/renraku/renraku/internal/postgres/pgtx"
)

// LivePublisher implements live.Publisher with pg_notify on live.Channel in the
// context's transaction: PostgreSQL delivers it to every instance's LISTEN (Listen)
// when the transaction commits, once, and never if it rolls back.
type LivePublisher struct{}

var _ live.Publisher = LivePublisher{}

// Publish notifies e in the context's transaction; outside one it fails (an event
// published on its own would tell of a change that may never be made).
func (LivePublisher) Publish(ctx context.Context, e live.Event) error {
	if !pgtx.InTransaction(ctx) {
		return pgtx.ErrNoTx
	}
	payload, err := json.Marshal(e)
	if err != nil {
		return err
	}
	_, err = pgtx.Tx(ctx).Exec(ctx, `SELECT pg_notify('`+live.Channel+`', $1)`, string(payload))
	return classify(err, "publish live event")
}
