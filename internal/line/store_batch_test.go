package line_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/renraku/renraku/internal/app"
	"github.com/renraku/renraku/internal/apptest"
	"github.com/renraku/renraku/internal/line"
	"github.com/renraku/renraku/internal/postgres"
	"github.com/renraku/renraku/internal/postgres/pgtx"
	"github.com/renraku/renraku/internal/vault"
)

// Tests of the statements a batch stores several rows with at once.

// storeWorld starts an app for a test of the LINE store used directly.
func storeWorld(t *testing.T) (*apptest.LineWorld, *app.Services, *postgres.LineStore) {
	t.Helper()
	w := apptest.StartLineWorld(t)
	s := w.App.Services()
	return w, s, &postgres.LineStore{Vault: s.Vault}
}

// TestInsertFriendsTellsNewRows: the batch's INSERT of new friends reports which rows
// it made; a friend recorded meanwhile keeps their row and ID and is not reported new
// (a handler may then not assume that no guardian is registered for them).
func TestInsertFriendsTellsNewRows(t *testing.T) {
	t.Parallel()
	w, s, store := storeWorld(t)
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
	w, s, store := storeWorld(t)
	ctx := context.Background()
	fx := newOutboundFixture(t, w, s, store, "ee")
	if err := s.Tx.InTx(ctx, func(ctx context.Context) error {
		if err := fx.takeIDs(ctx, store); err != nil {
			return err
		}
		return store.InsertOutbounds(ctx, []*line.Outbound{fx.reply, fx.push})
	}); err != nil {
		t.Fatal(err)
	}
	reply, push := fx.reply, fx.push
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
	got := fx.readBack(t, s, store)
	if got[0].RetryKey != reply.RetryKey {
		t.Errorf("reply's retry key read back %q, want %q", got[0].RetryKey, reply.RetryKey)
	}
}

// outboundFixture is a friend, recorded, and a reply and a push to them, not stored.
type outboundFixture struct {
	friend      *line.Friend
	reply, push *line.Outbound
	deadline    time.Time
}

// newOutboundFixture records a friend (userID(hex, 1)) and makes the messages.
func newOutboundFixture(t *testing.T, w *apptest.LineWorld, s *app.Services, store *postgres.LineStore, hex string) outboundFixture {
	t.Helper()
	fx := outboundFixture{
		friend:   &line.Friend{ChannelID: w.Ch.ID, UserID: vault.Personal(userID(hex, 1)), Following: true},
		deadline: time.Now().Add(45 * time.Second).Truncate(time.Microsecond),
	}
	fx.reply = &line.Outbound{ChannelID: w.Ch.ID, Purpose: "reply", Messages: []line.Message{{Text: "返信"}},
		ReplyToken: "0123456789abcdef0123456789abcdef", ReplyDeadline: fx.deadline}
	fx.push = &line.Outbound{ChannelID: w.Ch.ID, Purpose: "reply", Messages: []line.Message{{Text: "プッシュ"}}}
	if err := s.Tx.InTx(context.Background(), func(ctx context.Context) error {
		_, err := store.InsertFriends(ctx, []*line.Friend{fx.friend}, []time.Time{time.Now()})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return fx
}

// takeIDs addresses the messages to the friend and takes their IDs.
func (fx outboundFixture) takeIDs(ctx context.Context, store *postgres.LineStore, os ...*line.Outbound) error {
	if len(os) == 0 {
		os = []*line.Outbound{fx.reply, fx.push}
	}
	for _, o := range os {
		o.FriendID = fx.friend.ID
		id, err := store.NewOutboundID(ctx)
		if err != nil {
			return err
		}
		o.ID = id
	}
	return nil
}

// readBack reads the stored reply and push and checks what a row stored alone would
// hold: the reply's token and deadline, the push's content and friend, no token nor
// deadline, queued, each with a retry key of its own.
func (fx outboundFixture) readBack(t *testing.T, s *app.Services, store *postgres.LineStore) [2]line.Outbound {
	t.Helper()
	var got [2]line.Outbound
	if err := s.Tx.Run(context.Background(), func(ctx context.Context) (err error) {
		if got[0], err = store.FindOutbound(ctx, fx.reply.ID); err != nil {
			return err
		}
		got[1], err = store.FindOutbound(ctx, fx.push.ID)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if got[0].ReplyToken.Reveal() != fx.reply.ReplyToken.Reveal() || !got[0].ReplyDeadline.Equal(fx.deadline) || got[0].State != line.StateQueued ||
		len(got[0].Messages) != 1 || got[0].Messages[0].Text != "返信" || got[0].RetryKey == "" {
		t.Errorf("reply read back: %+v", got[0])
	}
	if got[1].ReplyToken != "" || !got[1].ReplyDeadline.IsZero() || len(got[1].Messages) != 1 || got[1].Messages[0].Text != "プッシュ" ||
		got[1].FriendID != fx.friend.ID || got[1].RetryKey == "" || got[1].RetryKey == got[0].RetryKey {
		t.Errorf("push read back: %+v", got[1])
	}
	return got
}

// TestInsertOutboundsAtCommitStoresWithTheCommit: messages stored at commit are not
// there before the transaction's end, are there after it as InsertOutbounds stores
// them, and are not there when the transaction rolls back.
func TestInsertOutboundsAtCommitStoresWithTheCommit(t *testing.T) {
	t.Parallel()
	w, s, store := storeWorld(t)
	ctx := context.Background()
	fx := newOutboundFixture(t, w, s, store, "ef")
	count := func(ctx context.Context) int {
		t.Helper()
		var n int
		if err := s.Tx.Run(ctx, func(ctx context.Context) error {
			return pgtx.Tx(ctx).QueryRow(ctx, `SELECT count(*) FROM line_outbound WHERE friend_id = $1`, fx.friend.ID).Scan(&n)
		}); err != nil {
			t.Fatal(err)
		}
		return n
	}
	rollback := errors.New("rolled back")
	if err := s.Tx.InTx(ctx, func(ctx context.Context) error {
		undone := &line.Outbound{ChannelID: w.Ch.ID, Purpose: "reply", Messages: []line.Message{{Text: "取り消し"}}}
		if err := fx.takeIDs(ctx, store, undone); err != nil {
			return err
		}
		if err := store.InsertOutboundsAtCommit(ctx, []*line.Outbound{undone}); err != nil {
			return err
		}
		return rollback
	}); !errors.Is(err, rollback) {
		t.Fatalf("rolled back transaction: %v", err)
	}
	if err := s.Tx.InTx(ctx, func(ctx context.Context) error {
		if err := fx.takeIDs(ctx, store); err != nil {
			return err
		}
		if err := store.InsertOutboundsAtCommit(ctx, []*line.Outbound{fx.reply, fx.push}); err != nil {
			return err
		}
		if n := count(ctx); n != 0 {
			t.Errorf("%d messages stored before the commit", n)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if n := count(ctx); n != 2 {
		t.Fatalf("%d messages stored after the commit, want 2 (not the rolled back one)", n)
	}
	fx.readBack(t, s, store)
}
