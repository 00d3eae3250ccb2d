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
	"github.com/renraku/renraku/internal/vault"
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

// TestInsertFriendsTellsNewRows: the batch's INSERT of new friends reports which rows
// it made; a friend recorded meanwhile keeps their row and ID and is not reported new
// (a handler may then not assume that no guardian is registered for them).
func TestInsertFriendsTellsNewRows(t *testing.T) {
	t.Parallel()
	w := apptest.StartLineWorld(t)
	s := w.App.Services()
	store := &postgres.LineStore{Vault: s.Vault}
	ctx := context.Background()
	insert := func(fs ...*line.Friend) []bool {
		t.Helper()
		var got []bool
		ats := make([]time.Time, len(fs))
		for i := range ats {
			ats[i] = time.Now()
		}
		if err := s.Tx.InTx(ctx, func(ctx context.Context) (err error) {
			got, err = store.InsertFriends(ctx, fs, ats)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return got
	}
	first := &line.Friend{ChannelID: w.Ch.ID, UserID: vault.Personal(userID("fa", 1)), Following: true}
	if got := insert(first); len(got) != 1 || !got[0] || first.ID == 0 {
		t.Fatalf("first insert: %v, ID %d", got, first.ID)
	}
	again := &line.Friend{ChannelID: w.Ch.ID, UserID: vault.Personal(userID("fa", 1)), Following: true}
	other := &line.Friend{ChannelID: w.Ch.ID, UserID: vault.Personal(userID("fb", 2)), Following: false}
	got := insert(again, other)
	if len(got) != 2 || got[0] || !got[1] {
		t.Fatalf("second insert: %v, want [false true]", got)
	}
	if again.ID != first.ID || other.ID == 0 || other.ID == first.ID {
		t.Errorf("IDs: first %d, again %d, other %d", first.ID, again.ID, other.ID)
	}
	f, err := s.LINE.FindFriendByUserID(ctx, w.Ch.ID, vault.Personal(userID("fb", 2)))
	if err != nil || f.ID != other.ID || f.Following {
		t.Errorf("other friend read back: %+v, %v", f, err)
	}
}

// TestInsertOutboundsStoresWhatInsertOutboundStores: messages stored together at a
// batch's end read back as one stored alone would: a reply with its token and
// deadline, a push with neither (NULL, not empty), each with its retry key.
func TestInsertOutboundsStoresWhatInsertOutboundStores(t *testing.T) {
	t.Parallel()
	w := apptest.StartLineWorld(t)
	s := w.App.Services()
	store := &postgres.LineStore{Vault: s.Vault}
	ctx := context.Background()
	friend := &line.Friend{ChannelID: w.Ch.ID, UserID: vault.Personal(userID("ee", 1)), Following: true}
	deadline := time.Now().Add(45 * time.Second).Truncate(time.Microsecond)
	reply := &line.Outbound{ChannelID: w.Ch.ID, Purpose: "reply", Messages: []line.Message{{Text: "返信"}},
		ReplyToken: "0123456789abcdef0123456789abcdef", ReplyDeadline: deadline}
	push := &line.Outbound{ChannelID: w.Ch.ID, Purpose: "reply", Messages: []line.Message{{Text: "プッシュ"}}}
	if err := s.Tx.InTx(ctx, func(ctx context.Context) error {
		if _, err := store.InsertFriends(ctx, []*line.Friend{friend}, []time.Time{time.Now()}); err != nil {
			return err
		}
		for _, o := range []*line.Outbound{reply, push} {
			o.FriendID = friend.ID
			id, err := store.NewOutboundID(ctx)
			if err != nil {
				return err
			}
			o.ID = id
		}
		return store.InsertOutbounds(ctx, []*line.Outbound{reply, push})
	}); err != nil {
		t.Fatal(err)
	}
	if reply.RetryKey == "" || push.RetryKey == "" || reply.RetryKey == push.RetryKey || reply.State != line.StateQueued {
		t.Fatalf("retry keys %q, %q, state %q", reply.RetryKey, push.RetryKey, reply.State)
	}
	var nullToken, nullDeadline bool
	if err := s.Pool.QueryRow(ctx, `SELECT reply_token_enc IS NULL, reply_deadline IS NULL FROM line_outbound WHERE id = $1`, push.ID).
		Scan(&nullToken, &nullDeadline); err != nil {
		t.Fatal(err)
	}
	if !nullToken || !nullDeadline {
		t.Errorf("push: token NULL %v, deadline NULL %v; want both NULL", nullToken, nullDeadline)
	}
	var got [2]line.Outbound
	if err := s.Tx.Run(ctx, func(ctx context.Context) (err error) {
		if got[0], err = store.FindOutbound(ctx, reply.ID); err != nil {
			return err
		}
		got[1], err = store.FindOutbound(ctx, push.ID)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if got[0].ReplyToken.Reveal() != reply.ReplyToken.Reveal() || !got[0].ReplyDeadline.Equal(deadline) ||
		len(got[0].Messages) != 1 || got[0].Messages[0].Text != "返信" || got[0].RetryKey != reply.RetryKey {
		t.Errorf("reply read back: %+v", got[0])
	}
	if got[1].ReplyToken != "" || len(got[1].Messages) != 1 || got[1].Messages[0].Text != "プッシュ" || got[1].FriendID != friend.ID {
		t.Errorf("push read back: %+v", got[1])
	}
}
