package parentlink_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/renraku/renraku/internal/apperr"
	"github.com/renraku/renraku/internal/parentlink"
)

// noTx runs the function at once: the fake store needs no transaction.
type noTx struct{}

func (noTx) InTx(ctx context.Context, fn func(ctx context.Context) error) error    { return fn(ctx) }
func (noTx) InNewTx(ctx context.Context, fn func(ctx context.Context) error) error { return fn(ctx) }
func (noTx) Run(ctx context.Context, fn func(ctx context.Context) error) error     { return fn(ctx) }

// memStore is a Store in memory, keyed by the nonce's hash; its …Func fields, when
// set, replace a method.
type memStore struct {
	links        map[string]parentlink.Link
	FindLinkFunc func(ctx context.Context, nonceHash []byte) (parentlink.Link, error)
}

func (m *memStore) CreateLink(_ context.Context, nonceHash []byte, friendID int64, purpose string, expires time.Time) error {
	m.links[string(nonceHash)] = parentlink.Link{FriendID: friendID, Purpose: purpose, ExpiresAt: expires}
	return nil
}

func (m *memStore) FindLink(ctx context.Context, nonceHash []byte) (parentlink.Link, error) {
	if m.FindLinkFunc != nil {
		return m.FindLinkFunc(ctx, nonceHash)
	}
	l, ok := m.links[string(nonceHash)]
	if !ok {
		return l, apperr.E(apperr.NotFound, "error.not_found.title", nil)
	}
	return l, nil
}

func (m *memStore) BindLink(_ context.Context, nonceHash, browserHash []byte) error {
	if l := m.links[string(nonceHash)]; l.BrowserHash == nil {
		l.BrowserHash = browserHash
		m.links[string(nonceHash)] = l
	}
	return nil
}

func (m *memStore) VerifyLinkLIFF(_ context.Context, nonceHash, browserHash []byte) error {
	l := m.links[string(nonceHash)]
	l.BrowserHash, l.LIFFVerified = browserHash, true
	m.links[string(nonceHash)] = l
	return nil
}

func newService(t *testing.T) (*parentlink.Service, *memStore) {
	t.Helper()
	st := &memStore{links: map[string]parentlink.Link{}}
	key := []byte("a test key, not a secret")
	s := &parentlink.Service{Tx: noTx{}, Store: st, BaseURL: "https://renraku.example",
		Key: func(domain, value string) ([]byte, error) {
			m := hmac.New(sha256.New, key)
			m.Write([]byte(domain + "\x00" + value))
			return m.Sum(nil), nil
		}}
	s.Clock.Set(time.Date(2026, time.May, 11, 8, 0, 0, 0, time.UTC))
	return s, st
}

// tokenOf returns the token at the end of a link's URL.
func tokenOf(t *testing.T, url, purpose string) string {
	t.Helper()
	prefix := "https://renraku.example/p/" + purpose + "/"
	if !strings.HasPrefix(url, prefix) {
		t.Fatalf("link %q does not start with %q", url, prefix)
	}
	return strings.TrimPrefix(url, prefix)
}

func TestIssueStoresOnlyAHash(t *testing.T) {
	t.Parallel()
	s, st := newService(t)
	url, err := s.Issue(context.Background(), 7, parentlink.PurposeAbsence)
	if err != nil {
		t.Fatal(err)
	}
	token := tokenOf(t, url, parentlink.PurposeAbsence)
	raw, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil || len(raw) != 30 {
		t.Fatalf("token %q: %d bytes, %v; want 30 bytes of base64url", token, len(raw), err)
	}
	if len(st.links) != 1 {
		t.Fatalf("%d links stored, want 1", len(st.links))
	}
	for h, l := range st.links {
		if want := sha256.Sum256(raw[:18]); h != string(want[:]) {
			t.Error("the link is not stored under the hash of its nonce")
		}
		if bytes.Contains([]byte(h), raw[:18]) {
			t.Error("the nonce itself is stored")
		}
		if l.FriendID != 7 || l.Purpose != parentlink.PurposeAbsence || !l.ExpiresAt.Equal(s.Clock.Now().Add(parentlink.DefaultTTL)) {
			t.Errorf("stored %+v", l)
		}
	}
}

func TestOpen(t *testing.T) {
	t.Parallel()
	const browser = "a-browser-id-of-enough-length"
	tests := []struct {
		name string
		// change alters the token or the service before the link is opened.
		change  func(t *testing.T, s *parentlink.Service, token string) (purpose, tok string)
		kind    apperr.Kind
		message string
	}{
		{name: "valid", change: func(_ *testing.T, _ *parentlink.Service, tok string) (string, string) {
			return parentlink.PurposeHandouts, tok
		}},
		{name: "altered MAC", kind: apperr.NotFound, message: "reg.link.invalid",
			change: func(_ *testing.T, _ *parentlink.Service, tok string) (string, string) {
				return parentlink.PurposeHandouts, flip(tok, len(tok)-1)
			}},
		{name: "altered nonce", kind: apperr.NotFound, message: "reg.link.invalid",
			change: func(_ *testing.T, _ *parentlink.Service, tok string) (string, string) {
				return parentlink.PurposeHandouts, flip(tok, 0)
			}},
		{name: "other purpose", kind: apperr.NotFound, message: "reg.link.invalid",
			change: func(_ *testing.T, _ *parentlink.Service, tok string) (string, string) {
				return parentlink.PurposeAbsence, tok
			}},
		{name: "truncated", kind: apperr.NotFound, message: "reg.link.invalid",
			change: func(_ *testing.T, _ *parentlink.Service, tok string) (string, string) {
				return parentlink.PurposeHandouts, tok[:len(tok)-4]
			}},
		{name: "not base64", kind: apperr.NotFound, message: "reg.link.invalid",
			change: func(_ *testing.T, _ *parentlink.Service, tok string) (string, string) {
				return parentlink.PurposeHandouts, "!" + tok[1:]
			}},
		{name: "a second before expiry", change: func(_ *testing.T, s *parentlink.Service, tok string) (string, string) {
			s.Clock.Set(s.Clock.Now().Add(parentlink.DefaultTTL - time.Second))
			return parentlink.PurposeHandouts, tok
		}},
		{name: "at expiry", kind: apperr.NotFound, message: "reg.link.invalid",
			change: func(_ *testing.T, s *parentlink.Service, tok string) (string, string) {
				s.Clock.Set(s.Clock.Now().Add(parentlink.DefaultTTL))
				return parentlink.PurposeHandouts, tok
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, st := newService(t)
			url, err := s.Issue(context.Background(), 3, parentlink.PurposeHandouts)
			if err != nil {
				t.Fatal(err)
			}
			purpose, tok := tt.change(t, s, tokenOf(t, url, parentlink.PurposeHandouts))
			asked := false
			st.FindLinkFunc = func(ctx context.Context, h []byte) (parentlink.Link, error) {
				asked = true
				st.FindLinkFunc = nil
				return st.FindLink(ctx, h)
			}
			v, err := s.Open(context.Background(), purpose, tok, browser)
			if tt.kind == 0 {
				if err != nil {
					t.Fatalf("Open: %v", err)
				}
				if v.FriendID != 3 || v.Purpose != parentlink.PurposeHandouts || v.Browser != browser || v.NewBrowser {
					t.Errorf("visit %+v", v)
				}
				return
			}
			if apperr.KindOf(err) != tt.kind || apperr.MessageIDOf(err) != tt.message {
				t.Fatalf("Open: %v (kind %v, message %q), want kind %v, %q", err, apperr.KindOf(err), apperr.MessageIDOf(err), tt.kind, tt.message)
			}
			// A token whose MAC fails is refused before the store is asked.
			if macFails := tt.name != "at expiry"; macFails && asked {
				t.Error("the store was asked for a forged token")
			}
		})
	}
}

func TestOpenBindsTheFirstBrowser(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := newService(t)
	url, err := s.Issue(ctx, 5, parentlink.PurposeRegister)
	if err != nil {
		t.Fatal(err)
	}
	tok := tokenOf(t, url, parentlink.PurposeRegister)
	// A browser without an ID of its own gets one, and the link is bound to it.
	first, err := s.Open(ctx, parentlink.PurposeRegister, tok, "")
	if err != nil {
		t.Fatal(err)
	}
	if !first.NewBrowser || len(first.Browser) < 20 {
		t.Fatalf("first visit %+v: want a new browser ID", first)
	}
	again, err := s.Open(ctx, parentlink.PurposeRegister, tok, first.Browser)
	if err != nil || again.NewBrowser || again.Browser != first.Browser {
		t.Fatalf("the same browser again: %+v, %v", again, err)
	}
	_, err = s.Open(ctx, parentlink.PurposeRegister, tok, "another-browser-id-of-enough-length")
	if apperr.KindOf(err) != apperr.Forbidden || apperr.MessageIDOf(err) != "reg.link.foreign" {
		t.Fatalf("another browser: %v, want reg.link.foreign", err)
	}
	// LIFF's proof moves the link to a new browser, which may then open it.
	if _, err := s.Find(ctx, parentlink.PurposeRegister, tok); err != nil {
		t.Fatalf("Find: %v", err)
	}
	proved, err := s.Prove(ctx, parentlink.PurposeRegister, tok)
	if err != nil {
		t.Fatal(err)
	}
	v, err := s.Open(ctx, parentlink.PurposeRegister, tok, proved)
	if err != nil || !v.LIFFVerified {
		t.Fatalf("the proved browser: %+v, %v", v, err)
	}
	if _, err := s.Open(ctx, parentlink.PurposeRegister, tok, first.Browser); apperr.MessageIDOf(err) != "reg.link.foreign" {
		t.Fatalf("the first browser after LIFF: %v, want reg.link.foreign", err)
	}
}

func TestIssueProved(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := newService(t)
	url, v, err := s.IssueProved(ctx, 9, parentlink.PurposeAbsence)
	if err != nil {
		t.Fatal(err)
	}
	if v.FriendID != 9 || v.Purpose != parentlink.PurposeAbsence || !v.NewBrowser || !v.LIFFVerified || v.Browser == "" {
		t.Fatalf("visit %+v", v)
	}
	tok := tokenOf(t, url, parentlink.PurposeAbsence)
	got, err := s.Open(ctx, parentlink.PurposeAbsence, tok, v.Browser)
	if err != nil || !got.LIFFVerified || got.NewBrowser {
		t.Fatalf("Open in the proved browser: %+v, %v", got, err)
	}
	if _, err := s.Open(ctx, parentlink.PurposeAbsence, tok, "another-browser-id-of-enough-length"); apperr.MessageIDOf(err) != "reg.link.foreign" {
		t.Fatalf("another browser: %v, want reg.link.foreign", err)
	}
}

func TestFindRefusesExpired(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := newService(t)
	until := s.Clock.Now().Add(time.Hour)
	url, err := s.IssueUntil(ctx, 2, parentlink.PurposeRollover, until)
	if err != nil {
		t.Fatal(err)
	}
	tok := tokenOf(t, url, parentlink.PurposeRollover)
	if l, err := s.Find(ctx, parentlink.PurposeRollover, tok); err != nil || l.FriendID != 2 || !l.ExpiresAt.Equal(until) {
		t.Fatalf("Find: %+v, %v", l, err)
	}
	s.Clock.Set(until)
	if _, err := s.Find(ctx, parentlink.PurposeRollover, tok); apperr.MessageIDOf(err) != "reg.link.invalid" {
		t.Fatalf("Find at expiry: %v, want reg.link.invalid", err)
	}
}

// flip changes the character at i of a base64url token to another valid one.
func flip(tok string, i int) string {
	b := []byte(tok)
	if b[i] == 'A' {
		b[i] = 'B'
	} else {
		b[i] = 'A'
	}
	return string(b)
}
