package line_test

import (
	"context"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/renraku/renraku/internal/apptest"
	"github.com/renraku/renraku/internal/line"
	"github.com/renraku/renraku/internal/postgres"
)

// countingStore counts the channels read from the database.
type countingStore struct {
	line.Store
	reads atomic.Int32
}

func (c *countingStore) FindChannel(ctx context.Context, id int64) (line.Channel, error) {
	c.reads.Add(1)
	return c.Store.FindChannel(ctx, id)
}

// TestChannelCacheHearsChanges: an instance keeps the channels it looked up only while
// it hears their changes; a change made by anyone (here plain SQL, as another instance
// or a person with psql) is seen by the next lookup once it commits; when the listener
// stops, every lookup reads the database again.
func TestChannelCacheHearsChanges(t *testing.T) {
	t.Parallel()
	w := apptest.StartLineWorld(t)
	s := w.App.Services()
	ctx := context.Background()
	store := &countingStore{Store: &postgres.LineStore{Vault: s.Vault}}
	svc := line.NewService(s.Tx, store, nil, slog.New(slog.DiscardHandler), s.Audit, nil)
	ch, err := s.LINE.FindChannelByLineID(ctx, w.Ch.LineChannelID)
	if err != nil {
		t.Fatal(err)
	}
	find := func() line.Channel {
		t.Helper()
		got, err := svc.FindChannel(ctx, ch.ID)
		if err != nil {
			t.Fatal(err)
		}
		return got
	}

	// Not listening yet: nothing is kept.
	find()
	find()
	if n := store.reads.Load(); n != 2 {
		t.Fatalf("two lookups before listening read %d times, want 2", n)
	}

	listenCtx, stop := context.WithCancel(ctx)
	ups := make(chan bool, 4)
	done := make(chan struct{})
	go func() {
		defer close(done)
		postgres.ListenWith(listenCtx, s.Pool, line.ChannelsChannel, slog.New(slog.DiscardHandler), svc.ChannelChanged,
			func(up bool) { svc.ChannelsListening(up); ups <- up })
	}()
	if up := <-ups; !up {
		t.Fatal("listener did not come up")
	}
	store.reads.Store(0)
	if got := find(); got.AccessToken.Reveal() != ch.AccessToken.Reveal() || got.LIFFID != ch.LIFFID {
		t.Fatalf("channel read: %+v", got)
	}
	find()
	find()
	if n := store.reads.Load(); n != 1 {
		t.Fatalf("three lookups while listening read %d times, want 1", n)
	}

	// A change committed elsewhere reaches the cache.
	if _, err := s.Pool.Exec(ctx, `UPDATE line_channel SET liff_id = '2000000000-changed' WHERE id = $1`, ch.ID); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for find().LIFFID != "2000000000-changed" {
		if time.Now().After(deadline) {
			t.Fatal("the change was not seen within 10 s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	store.reads.Store(0)
	find()
	if n := store.reads.Load(); n != 0 {
		t.Fatalf("a lookup after the change was read again read %d times, want 0", n)
	}

	// Not listening any more: every lookup reads.
	stop()
	<-done
	find()
	find()
	if n := store.reads.Load(); n != 2 {
		t.Fatalf("two lookups after the listener stopped read %d times, want 2", n)
	}
}
