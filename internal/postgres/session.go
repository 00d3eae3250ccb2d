package postgres

import (
	"context"
	"crypto/sha256"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// SessionStore keeps staff browser sessions for alexedwards/scs in PostgreSQL, so every
// app instance sees every session. Only the SHA-256 of a session token is stored: a
// database dump cannot be replayed as a cookie.
type SessionStore struct {
	Pool *pgxpool.Pool
}

func sessionKey(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// Find implements scs.Store.
func (s SessionStore) Find(token string) ([]byte, bool, error) {
	return s.FindCtx(context.Background(), token)
}

// Commit implements scs.Store.
func (s SessionStore) Commit(token string, b []byte, expiry time.Time) error {
	return s.CommitCtx(context.Background(), token, b, expiry)
}

// Delete implements scs.Store.
func (s SessionStore) Delete(token string) error { return s.DeleteCtx(context.Background(), token) }

// FindCtx implements scs.CtxStore.
func (s SessionStore) FindCtx(ctx context.Context, token string) ([]byte, bool, error) {
	var b []byte
	err := s.Pool.QueryRow(ctx, `SELECT data FROM staff_session WHERE token_hash = $1 AND expiry > now()`, sessionKey(token)).Scan(&b)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, classify(err, "find session")
	}
	return b, true, nil
}

// CommitCtx implements scs.CtxStore.
func (s SessionStore) CommitCtx(ctx context.Context, token string, b []byte, expiry time.Time) error {
	_, err := s.Pool.Exec(ctx, `
		INSERT INTO staff_session (token_hash, data, expiry) VALUES ($1, $2, $3)
		ON CONFLICT (token_hash) DO UPDATE SET data = EXCLUDED.data, expiry = EXCLUDED.expiry`, sessionKey(token), b, expiry)
	return classify(err, "commit session")
}

// DeleteCtx implements scs.CtxStore.
func (s SessionStore) DeleteCtx(ctx context.Context, token string) error {
	_, err := s.Pool.Exec(ctx, `DELETE FROM staff_session WHERE token_hash = $1`, sessionKey(token))
	return classify(err, "delete session")
}

// DeleteExpiredSessions removes expired sessions (a periodic job).
func DeleteExpiredSessions(ctx context.Context, db *pgxpool.Pool) (int64, error) {
	tag, err := db.Exec(ctx, `DELETE FROM staff_session WHERE expiry <= now()`)
	if err != nil {
		return 0, classify(err, "expire sessions")
	}
	return tag.RowsAffected(), nil
}
