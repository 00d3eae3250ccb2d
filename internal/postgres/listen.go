package postgres

import (
	"context"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Listen LISTENs on channel until ctx ends, reconnecting after failures, and hands
// every notification's payload to fn.
func Listen(ctx context.Context, pool *pgxpool.Pool, channel string, log *slog.Logger, fn func(payload string)) {
	ListenWith(ctx, pool, channel, log, fn, nil)
}

// ListenWith is Listen that also tells up whether it hears the channel: up(true) once
// LISTEN is done on a connection (every notification committed from then on reaches
// fn), up(false) when that connection is lost or ctx ends (notifications committed
// until the next up(true) are never heard). A cache kept current by the channel drops
// what it holds on both.
func ListenWith(ctx context.Context, pool *pgxpool.Pool, channel string, log *slog.Logger, fn func(payload string), up func(bool)) {
	if up == nil {
		up = func(bool) {}
	}
	for ctx.Err() == nil {
		if err := listen(ctx, pool, channel, fn, up); err != nil && ctx.Err() == nil {
			log.Warn("listener", "channel", channel, "err", err)
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
		}
	}
}

func listen(ctx context.Context, pool *pgxpool.Pool, channel string, fn func(payload string), up func(bool)) error {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{channel}.Sanitize()); err != nil {
		return err
	}
	up(true)
	defer up(false)
	for {
		n, err := conn.Conn().WaitForNotification(ctx)
		if err != nil {
			// The connection may be mid-wait: do not hand it back to the pool.
			_ = conn.Conn().Close(context.WithoutCancel(ctx))
			return err
		}
		fn(n.Payload)
	}
}
