package postgres_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/renraku/renraku/internal/live"
	"github.com/renraku/renraku/internal/pgtest"
	"github.com/renraku/renraku/internal/postgres"
	"github.com/renraku/renraku/internal/postgres/pgtx"
)

// TestLivePublisher publishes live events in transactions and hears them through
// Listen: an event of a transaction that rolls back never arrives, one of a transaction
// that commits arrives once, and publishing outside a transaction is refused.
func TestLivePublisher(t *testing.T) {
	t.Parallel()
	pool := pgtest.NewDB(t)
	tr := postgres.NewTransactor(pool)
	pub := postgres.LivePublisher{}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	heard := make(chan live.Event, 100)
	go postgres.Listen(ctx, pool, live.Channel, slog.New(slog.NewTextHandler(io.Discard, nil)), func(payload string) {
		var e live.Event
		if err := json.Unmarshal([]byte(payload), &e); err != nil {
			t.Errorf("payload %q: %v", payload, err)
		}
		heard <- e
	})
	publish := func(e live.Event, fail error) error {
		return tr.InTx(ctx, func(ctx context.Context) error {
			if err := pub.Publish(ctx, e); err != nil {
				return err
			}
			return fail
		})
	}
	// next waits for the next event heard.
	next := func() live.Event {
		t.Helper()
		select {
		case e := <-heard:
			return e
		case <-time.After(30 * time.Second):
			t.Fatal("no event heard")
		}
		return live.Event{}
	}

	// The listener is ready once it hears a probe (published until it does).
	probe := live.Event{Kind: live.Message, Board: 1}
	for ready := false; !ready; {
		if err := publish(probe, nil); err != nil {
			t.Fatal(err)
		}
		select {
		case <-heard:
			ready = true
		case <-time.After(200 * time.Millisecond):
		}
	}
	for len(heard) > 0 { // the probes published while it connected
		<-heard
	}

	if err := pub.Publish(ctx, probe); !errors.Is(err, pgtx.ErrNoTx) {
		t.Errorf("publish outside a transaction: %v, want ErrNoTx", err)
	}
	if err := tr.Run(ctx, func(ctx context.Context) error { return pub.Publish(ctx, probe) }); !errors.Is(err, pgtx.ErrNoTx) {
		t.Errorf("publish in Run's statements: %v, want ErrNoTx", err)
	}
	boom := errors.New("boom")
	if err := publish(live.Event{Kind: live.Reply, Board: 1, Conversation: 1, Staff: 9}, boom); !errors.Is(err, boom) {
		t.Fatal(err)
	}
	committed := live.Event{Kind: live.Reply, Board: 1, Conversation: 2, Staff: 9}
	if err := publish(committed, nil); err != nil {
		t.Fatal(err)
	}
	// Notifications arrive in commit order: had the rolled-back one been sent, it would
	// come first.
	if got := next(); got != committed {
		t.Errorf("heard %+v, want the committed event %+v", got, committed)
	}
	// One transaction: the same event twice and another, and one in a savepoint rolled
	// back. Each committed event is heard once, in order; the undone one never.
	twice := live.Event{Kind: live.SurveyAnswer, Board: 1, Survey: 4}
	other := live.Event{Kind: live.SurveyAnswer, Board: 1, Survey: 5}
	undone := live.Event{Kind: live.SurveyAnswer, Board: 1, Survey: 6}
	if err := tr.InTx(ctx, func(ctx context.Context) error {
		for _, e := range []live.Event{twice, twice, other} {
			if err := pub.Publish(ctx, e); err != nil {
				return err
			}
		}
		if err := tr.Savepoint(ctx, func(ctx context.Context) error {
			if err := pub.Publish(ctx, undone); err != nil {
				return err
			}
			return boom
		}); !errors.Is(err, boom) {
			return fmt.Errorf("savepoint: %v", err)
		}
		return pub.Publish(ctx, twice)
	}); err != nil {
		t.Fatal(err)
	}
	if got := next(); got != twice {
		t.Errorf("heard %+v, want %+v", got, twice)
	}
	if got := next(); got != other {
		t.Errorf("heard %+v, want %+v (each event once)", got, other)
	}
	last := live.Event{Kind: live.Delivery, Board: 1, Announcement: 3, Staff: 9}
	if err := publish(last, nil); err != nil {
		t.Fatal(err)
	}
	if got := next(); got != last {
		t.Errorf("heard %+v, want %+v (the committed event once)", got, last)
	}
}
