package parentlink

import (
	"context"
	"time"
)

// Purposes a link is for: each opens one kind of page, under /p/<purpose>/<token>.
const (
	PurposeRegister = "register"
	PurposeUpdate   = "update"
	PurposeAbsence  = "absence"
	PurposeHandouts = "handouts"
	PurposeRollover = "rollover"
	PurposeSurvey   = "survey"
)

// DefaultTTL is how long a link works unless configured.
const DefaultTTL = 24 * time.Hour

// Link is a stored parent link.
type Link struct {
	FriendID  int64
	Purpose   string
	ExpiresAt time.Time
	// BrowserHash is the hash of the browser the link is bound to (nil until one
	// opened it).
	BrowserHash  []byte
	LIFFVerified bool
}

// Visit is an opened link: whose it is, and the browser it is bound to.
type Visit struct {
	FriendID int64
	Purpose  string
	// Browser is the browser's ID; when it is new, the page sets it as a cookie.
	Browser    string
	NewBrowser bool
	// LIFFVerified is true once LIFF proved the browser's LINE user.
	LIFFVerified bool
}

// Store keeps the links, in the context's transaction. Links are found by the hash of
// their nonce; the nonce itself is never stored.
type Store interface {
	// CreateLink stores a new link.
	CreateLink(ctx context.Context, nonceHash []byte, friendID int64, purpose string, expires time.Time) error
	// FindLink reads a link; an unknown one is apperr.NotFound.
	FindLink(ctx context.Context, nonceHash []byte) (Link, error)
	// BindLink binds a link to the first browser that opened it (a link already bound
	// is left as it is).
	BindLink(ctx context.Context, nonceHash, browserHash []byte) error
	// VerifyLinkLIFF binds a link to a browser whose LINE user LIFF proved.
	VerifyLinkLIFF(ctx context.Context, nonceHash, browserHash []byte) error
}
