package parentlink

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"time"

	"github.com/renraku/renraku/internal/apperr"
	"github.com/renraku/renraku/internal/clock"
	"github.com/renraku/renraku/internal/txn"
)

// Service issues and opens parent links.
type Service struct {
	Tx    txn.Transactor
	Store Store
	// Key is a keyed PRF (the vault's blind index): it signs the links.
	Key func(domain, value string) ([]byte, error)
	// BaseURL is the public URL links are built on.
	BaseURL string
	// TTL is how long a link works (DefaultTTL when zero).
	TTL time.Duration
	// Clock is the service's time (its zero value reads the system time).
	Clock clock.Clock
}

// macDomain separates the links' MAC from every other use of the PRF key.
const macDomain = "parent.link.v1"

// A token is a nonce and the first macSize bytes of its MAC, in unpadded base64url.
const (
	nonceSize = 18
	macSize   = 12
)

var (
	errInvalid = apperr.E(apperr.NotFound, "reg.link.invalid", errors.New("unknown or expired link"))
	errForeign = apperr.E(apperr.Forbidden, "reg.link.foreign", errors.New("link bound to another browser"))
)

func hash(b []byte) []byte {
	h := sha256.Sum256(b)
	return h[:]
}

func (s *Service) ttl() time.Duration {
	if s.TTL > 0 {
		return s.TTL
	}
	return DefaultTTL
}

// Issue stores a new link of purpose for a friend, working for the service's TTL,
// and returns its URL.
func (s *Service) Issue(ctx context.Context, friendID int64, purpose string) (string, error) {
	return s.IssueUntil(ctx, friendID, purpose, s.Clock.Now().Add(s.ttl()))
}

// IssueUntil stores a new link of purpose that works until expires (the year
// rollover's confirmation lasts until the new year starts) and returns its URL.
func (s *Service) IssueUntil(ctx context.Context, friendID int64, purpose string, expires time.Time) (string, error) {
	return txn.Get(ctx, s.Tx, func(ctx context.Context) (string, error) {
		url, _, err := s.create(ctx, friendID, purpose, expires)
		return url, err
	})
}

// IssueProved stores a new link of purpose for a friend whose LINE user LIFF proved
// in the browser asking: the link is bound at once to a new browser ID (the Visit's,
// which the caller sets as a cookie) and marked as proved.
func (s *Service) IssueProved(ctx context.Context, friendID int64, purpose string) (string, Visit, error) {
	v := Visit{FriendID: friendID, Purpose: purpose, NewBrowser: true, LIFFVerified: true}
	var url string
	err := s.Tx.InTx(ctx, func(ctx context.Context) error {
		u, nonce, err := s.create(ctx, friendID, purpose, s.Clock.Now().Add(s.ttl()))
		if err != nil {
			return err
		}
		b := make([]byte, 24)
		if _, err := rand.Read(b); err != nil {
			return err
		}
		url, v.Browser = u, base64.RawURLEncoding.EncodeToString(b)
		return s.Store.VerifyLinkLIFF(ctx, hash(nonce), hash([]byte(v.Browser)))
	})
	if err != nil {
		return "", Visit{}, err
	}
	return url, v, nil
}

// create stores a new link and returns its URL and nonce. The token is a random nonce
// and a MAC over it and the purpose, so a forged or altered token is refused before
// the database is asked.
func (s *Service) create(ctx context.Context, friendID int64, purpose string, expires time.Time) (string, []byte, error) {
	nonce := make([]byte, nonceSize)
	if _, err := rand.Read(nonce); err != nil {
		return "", nil, err
	}
	mac, err := s.Key(macDomain, purpose+"|"+string(nonce))
	if err != nil {
		return "", nil, err
	}
	if err := s.Store.CreateLink(ctx, hash(nonce), friendID, purpose, expires); err != nil {
		return "", nil, err
	}
	token := base64.RawURLEncoding.EncodeToString(append(nonce, mac[:macSize]...))
	return s.BaseURL + "/p/" + purpose + "/" + token, nonce, nil
}

// Open checks a link of purpose: its MAC, its purpose, its expiry, and the browser.
// The first browser to open a link is bound to it (one without an ID of its own gets
// a new one, NewBrowser); any other browser is refused.
func (s *Service) Open(ctx context.Context, purpose, token, browser string) (Visit, error) {
	nonce, err := s.checkToken(purpose, token)
	if err != nil {
		return Visit{}, err
	}
	return txn.Get(ctx, s.Tx, func(ctx context.Context) (Visit, error) {
		l, err := s.Store.FindLink(ctx, hash(nonce))
		if apperr.KindOf(err) == apperr.NotFound || (err == nil && (l.Purpose != purpose || !s.Clock.Now().Before(l.ExpiresAt))) {
			return Visit{}, errInvalid
		}
		if err != nil {
			return Visit{}, err
		}
		v := Visit{FriendID: l.FriendID, Purpose: purpose, Browser: browser, LIFFVerified: l.LIFFVerified}
		if l.BrowserHash == nil {
			if len(browser) < 20 {
				b := make([]byte, 24)
				if _, err := rand.Read(b); err != nil {
					return Visit{}, err
				}
				v.Browser, v.NewBrowser = base64.RawURLEncoding.EncodeToString(b), true
			}
			return v, s.Store.BindLink(ctx, hash(nonce), hash([]byte(v.Browser)))
		}
		if subtle.ConstantTimeCompare(l.BrowserHash, hash([]byte(browser))) != 1 {
			return Visit{}, errForeign
		}
		return v, nil
	})
}

// Find checks a link of purpose (its MAC, its purpose and its expiry) without asking
// which browser it is bound to: for LIFF, whose proof of the LINE user is stronger
// than the browser's. A link it cannot use, for whatever reason, is invalid.
func (s *Service) Find(ctx context.Context, purpose, token string) (Link, error) {
	nonce, err := s.checkToken(purpose, token)
	if err != nil {
		return Link{}, err
	}
	return txn.Get(ctx, s.Tx, func(ctx context.Context) (Link, error) {
		l, err := s.Store.FindLink(ctx, hash(nonce))
		if err != nil || l.Purpose != purpose || !s.Clock.Now().Before(l.ExpiresAt) {
			return Link{}, errInvalid
		}
		return l, nil
	})
}

// Prove binds a link of purpose to a new browser whose LINE user LIFF proved (even if
// another browser opened it first), marks it as proved, and returns the new browser's
// ID, which the caller sets as a cookie. The caller checked the link with Find and the
// LINE user with LIFF.
func (s *Service) Prove(ctx context.Context, purpose, token string) (string, error) {
	nonce, err := s.checkToken(purpose, token)
	if err != nil {
		return "", err
	}
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	browser := base64.RawURLEncoding.EncodeToString(b)
	err = s.Tx.InTx(ctx, func(ctx context.Context) error {
		return s.Store.VerifyLinkLIFF(ctx, hash(nonce), hash([]byte(browser)))
	})
	if err != nil {
		return "", err
	}
	return browser, nil
}

// checkToken verifies a token's MAC for purpose and returns its nonce.
func (s *Service) checkToken(purpose, token string) ([]byte, error) {
	raw, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil || len(raw) != nonceSize+macSize {
		return nil, errInvalid
	}
	nonce, mac := raw[:nonceSize], raw[nonceSize:]
	want, err := s.Key(macDomain, purpose+"|"+string(nonce))
	if err != nil {
		return nil, err
	}
	if subtle.ConstantTimeCompare(mac, want[:macSize]) != 1 {
		return nil, errInvalid
	}
	return nonce, nil
}
