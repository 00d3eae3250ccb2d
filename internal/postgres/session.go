package postgres

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"reflect"
	"sync"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// SessionStore keeps staff browser sessions for alexedwards/scs in PostgreSQL, so every
// app instance sees every session. Only the SHA-256 of a session token is stored: a
// database dump cannot be replayed as a cookie.
//
// With an idle timeout, scs writes the session back at the end of every request, to
// move its expiry. The store skips that write when the session's values are those it
// read for the request and the expiry would move by less than SessionRefresh and less
// than a twentieth of the session's time left: a staff page costs one statement (a
// write) less, and an idle session may end that much before its idle timeout (a
// minute of the default hour), never after.
type SessionStore struct {
	Pool *pgxpool.Pool
	read *sessionsRead
}

// SessionRefresh is how far, at most, an idle session's expiry must move before it is
// written again.
const SessionRefresh = time.Minute

// NewSessionStore returns the session store on pool.
func NewSessionStore(pool *pgxpool.Pool) SessionStore {
	return SessionStore{Pool: pool, read: &sessionsRead{m: map[string]sessionRead{}}}
}

// sessionsRead are the sessions read by requests that have not written them back yet.
type sessionsRead struct {
	mu sync.Mutex
	m  map[string]sessionRead // by token hash
}

type sessionRead struct {
	data   []byte
	expiry time.Time
	at     time.Time
}

// keep records what a request read; entries of requests that never wrote back (a
// session destroyed, a request that failed) go once they are older than a minute.
func (r *sessionsRead) keep(key string, e sessionRead) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.m) >= 4096 {
		for k, old := range r.m {
			if e.at.Sub(old.at) > time.Minute {
				delete(r.m, k)
			}
		}
	}
	r.m[key] = e
}

func (r *sessionsRead) take(key string) (sessionRead, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	e, ok := r.m[key]
	delete(r.m, key)
	return e, ok
}

// unchanged reports whether writing data with expiry would only move the expiry of
// what was read by less than SessionRefresh. The values are compared decoded (scs's
// encoding of a map is in no fixed order).
func (e sessionRead) unchanged(data []byte, expiry time.Time) bool {
	if d := expiry.Sub(e.expiry); d < 0 || d >= min(SessionRefresh, e.expiry.Sub(e.at)/20) {
		return false
	}
	if bytes.Equal(data, e.data) {
		return true
	}
	var codec scs.GobCodec
	d1, v1, err1 := codec.Decode(data)
	d2, v2, err2 := codec.Decode(e.data)
	return err1 == nil && err2 == nil && d1.Equal(d2) && reflect.DeepEqual(v1, v2)
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
	var expiry time.Time
	key := sessionKey(token)
	err := s.Pool.QueryRow(ctx, `SELECT data, expiry FROM staff_session WHERE token_hash = $1 AND expiry > now()`, key).Scan(&b, &expiry)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, classify(err, "find session")
	}
	if s.read != nil {
		s.read.keep(string(key), sessionRead{data: b, expiry: expiry, at: time.Now()})
	}
	return b, true, nil
}

// CommitCtx implements scs.CtxStore.
func (s SessionStore) CommitCtx(ctx context.Context, token string, b []byte, expiry time.Time) error {
	key := sessionKey(token)
	if s.read != nil {
		if e, ok := s.read.take(string(key)); ok && e.unchanged(b, expiry) {
			return nil
		}
	}
	_, err := s.Pool.Exec(ctx, `
		INSERT INTO staff_session (token_hash, data, expiry) VALUES ($1, $2, $3)
		ON CONFLICT (token_hash) DO UPDATE SET data = EXCLUDED.data, expiry = EXCLUDED.expiry`, key, b, expiry)
	return classify(err, "commit session")
}

// DeleteCtx implements scs.CtxStore.
func (s SessionStore) DeleteCtx(ctx context.Context, token string) error {
	key := sessionKey(token)
	if s.read != nil {
		s.read.take(string(key))
	}
	_, err := s.Pool.Exec(ctx, `DELETE FROM staff_session WHERE token_hash = $1`, key)
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
