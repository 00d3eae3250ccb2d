package parentlink_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/renraku/renraku/internal/apperr"
	"github.com/renraku/renraku/internal/parentlink"
	"github.com/renraku/renraku/internal/pgtest"
	"github.com/renraku/renraku/internal/postgres"
	"github.com/renraku/renraku/internal/postgres/pgtx"
	"github.com/renraku/renraku/internal/txn"
)

// mustCreateFriend stores a board, a LINE channel and a friend of it, and returns the
// friend's ID: a link belongs to a friend.
func mustCreateFriend(t *testing.T, pool *pgxpool.Pool) int64 {
	t.Helper()
	ctx := context.Background()
	var id int64
	err := pool.QueryRow(ctx, `WITH b AS (INSERT INTO board (name) VALUES ('テスト市教育委員会') RETURNING id),
		c AS (INSERT INTO line_channel (line_channel_id, board_id, secret_enc, token_enc) SELECT '1234567890', id, '\x00', '\x00' FROM b RETURNING id)
		INSERT INTO line_friend (channel_id, user_key, user_id_enc, following) SELECT id, '\x01', '\x00', true FROM c RETURNING id`).Scan(&id)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func TestStore(t *testing.T) {
	t.Parallel()
	pool := pgtest.NewDB(t)
	friendID := mustCreateFriend(t, pool)
	tx := postgres.NewTransactor(pool)
	st := postgres.ParentLinkStore{}
	ctx := context.Background()
	nonce := sha256.Sum256([]byte("nonce"))
	first, second := sha256.Sum256([]byte("first browser")), sha256.Sum256([]byte("second browser"))
	expires := time.Date(2026, time.May, 12, 8, 0, 0, 0, time.UTC)

	if err := st.CreateLink(ctx, nonce[:], friendID, parentlink.PurposeAbsence, expires); !errors.Is(err, pgtx.ErrNoTx) {
		t.Fatalf("CreateLink outside a transaction: %v, want pgtx.ErrNoTx", err)
	}
	find := func(t *testing.T) parentlink.Link {
		t.Helper()
		l, err := txn.Get(ctx, tx, func(ctx context.Context) (parentlink.Link, error) { return st.FindLink(ctx, nonce[:]) })
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	must := func(t *testing.T, fn func(ctx context.Context) error) {
		t.Helper()
		if err := tx.InTx(ctx, fn); err != nil {
			t.Fatal(err)
		}
	}

	must(t, func(ctx context.Context) error {
		return st.CreateLink(ctx, nonce[:], friendID, parentlink.PurposeAbsence, expires)
	})
	if l := find(t); l.FriendID != friendID || l.Purpose != parentlink.PurposeAbsence || !l.ExpiresAt.Equal(expires) || l.BrowserHash != nil || l.LIFFVerified {
		t.Fatalf("new link: %+v", l)
	}
	// The same nonce twice is a conflict, not a second link.
	err := tx.InTx(ctx, func(ctx context.Context) error {
		return st.CreateLink(ctx, nonce[:], friendID, parentlink.PurposeAbsence, expires)
	})
	if apperr.KindOf(err) != apperr.Conflict {
		t.Fatalf("the same nonce again: %v, want a conflict", err)
	}
	// An unknown purpose is refused by the schema.
	other := sha256.Sum256([]byte("other"))
	if err := tx.InTx(ctx, func(ctx context.Context) error {
		return st.CreateLink(ctx, other[:], friendID, "elsewhere", expires)
	}); err == nil {
		t.Fatal("a link of an unknown purpose was stored")
	}

	// The first browser binds the link; a second bind leaves it bound to the first.
	must(t, func(ctx context.Context) error { return st.BindLink(ctx, nonce[:], first[:]) })
	must(t, func(ctx context.Context) error { return st.BindLink(ctx, nonce[:], second[:]) })
	if l := find(t); string(l.BrowserHash) != string(first[:]) || l.LIFFVerified {
		t.Fatalf("after two binds: %+v, want bound to the first browser", l)
	}
	// LIFF's proof moves it to another browser and marks it.
	must(t, func(ctx context.Context) error { return st.VerifyLinkLIFF(ctx, nonce[:], second[:]) })
	if l := find(t); string(l.BrowserHash) != string(second[:]) || !l.LIFFVerified {
		t.Fatalf("after LIFF: %+v, want bound to the second browser and proved", l)
	}

	_, err = txn.Get(ctx, tx, func(ctx context.Context) (parentlink.Link, error) { return st.FindLink(ctx, other[:]) })
	if apperr.KindOf(err) != apperr.NotFound {
		t.Fatalf("an unknown link: %v, want not found", err)
	}
}
