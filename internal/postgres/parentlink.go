package postgres

import (
	"context"
	"time"

	"github.com/renraku/renraku/internal/parentlink"
	"github.com/renraku/renraku/internal/postgres/pgtx"
)

// ParentLinkStore keeps the parents' links (parentlink.Store). Nothing in a link is
// personal: the friend is a reference and the nonce and browser are hashed.
type ParentLinkStore struct{}

// CreateLink stores a parent link.
func (ParentLinkStore) CreateLink(ctx context.Context, nonceHash []byte, friendID int64, purpose string, expires time.Time) error {
	_, err := pgtx.Tx(ctx).Exec(ctx, `INSERT INTO parent_link (nonce_hash, friend_id, purpose, expires_at) VALUES ($1, $2, $3, $4)`, nonceHash, friendID, purpose, expires)
	return classify(err, "parent link")
}

// FindLink reads a parent link.
func (ParentLinkStore) FindLink(ctx context.Context, nonceHash []byte) (parentlink.Link, error) {
	var l parentlink.Link
	err := pgtx.Tx(ctx).QueryRow(ctx, `SELECT friend_id, purpose, expires_at, browser_hash, liff_verified FROM parent_link WHERE nonce_hash = $1`, nonceHash).
		Scan(&l.FriendID, &l.Purpose, &l.ExpiresAt, &l.BrowserHash, &l.LIFFVerified)
	return l, classify(err, "parent link")
}

// BindLink binds a link to the first browser that opened it.
func (ParentLinkStore) BindLink(ctx context.Context, nonceHash, browserHash []byte) error {
	_, err := pgtx.Tx(ctx).Exec(ctx, `UPDATE parent_link SET browser_hash = $2 WHERE nonce_hash = $1 AND browser_hash IS NULL`, nonceHash, browserHash)
	return classify(err, "bind link")
}

// VerifyLinkLIFF binds a link to a browser whose LINE user LIFF proved.
func (ParentLinkStore) VerifyLinkLIFF(ctx context.Context, nonceHash, browserHash []byte) error {
	_, err := pgtx.Tx(ctx).Exec(ctx, `UPDATE parent_link SET browser_hash = $2, liff_verified = true WHERE nonce_hash = $1`, nonceHash, browserHash)
	return classify(err, "verify link")
}
