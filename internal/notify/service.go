package notify

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	webpush "github.com/SherClockHolmes/webpush-go"

	"github.com/renraku/renraku/internal/apperr"
	"github.com/renraku/renraku/internal/audit"
	"github.com/renraku/renraku/internal/authz"
	"github.com/renraku/renraku/internal/clock"
	"github.com/renraku/renraku/internal/jobs"
	"github.com/renraku/renraku/internal/live"
	"github.com/renraku/renraku/internal/txn"
)

// Channel is the PostgreSQL NOTIFY channel that tells open pages to show a desktop
// notification: {"staff": ID, "kind", "title", "body", "link"}, no personal data.
const Channel = "renraku_notify"

// VAPID is the server's key pair for Web Push (RFC 8292), base64url.
type VAPID struct {
	Public  string
	Private string
}

// String keeps the private key out of logs and error messages.
func (VAPID) String() string { return "vapid key pair" }

// Store is the persistence the service needs (internal/postgres NotifyStore).
type Store interface {
	// FindRecipient reads an account's state, choices and school office hours.
	FindRecipient(ctx context.Context, staffID int64) (Recipient, error)
	SavePrefs(ctx context.Context, staffID int64, p Prefs) error

	// AddPending adds one event at place to what waits for the person and kind, and
	// returns the row, locked until the transaction ends.
	AddPending(ctx context.Context, staffID int64, kind live.Kind, place Place) (Pending, error)
	// LockPending reads and locks what waits (NotFound when nothing ever did).
	LockPending(ctx context.Context, staffID int64, kind live.Kind) (Pending, error)
	// SetDue records when the queued send job runs (zero: none queued).
	SetDue(ctx context.Context, staffID int64, kind live.Kind, due time.Time) error
	// ClearPending forgets what waits; sent says whether it was just sent (at sent).
	ClearPending(ctx context.Context, staffID int64, kind live.Kind, sent time.Time) error

	// SaveSubscription stores a browser's subscription for the person; a browser
	// already subscribed (by anyone) is moved to them.
	SaveSubscription(ctx context.Context, staffID int64, sub Subscription) error
	// DeleteSubscription removes the person's subscription of endpoint.
	DeleteSubscription(ctx context.Context, staffID int64, endpoint string) (bool, error)
	DeleteSubscriptionByID(ctx context.Context, id int64) error
	DeleteSubscriptions(ctx context.Context, staffID int64) (int, error)
	DeleteAllSubscriptions(ctx context.Context) (int, error)
	FindSubscriptionIDs(ctx context.Context, staffID int64) ([]int64, error)
	FindSubscription(ctx context.Context, id int64) (Subscription, error)

	// FindVAPID returns the key pair (NotFound when Web Push is off).
	FindVAPID(ctx context.Context) (VAPID, error)
	// SaveVAPID stores the key pair, replacing one only when replace is set; it
	// reports whether it stored k.
	SaveVAPID(ctx context.Context, k VAPID, replace bool) (bool, error)

	// Signal tells the open pages of a person to show n (pg_notify on Channel, on
	// commit).
	Signal(ctx context.Context, staffID int64, n Notification) error
}

// Service is the staff's notifications: choices, grouping, Web Push and the signal
// to open pages.
type Service struct {
	Tx            txn.Transactor
	Store         Store
	Jobs          *jobs.Queue
	Staff         Staff
	Schools       Schools
	Announcements Announcements
	Audit         *audit.Log
	Log           *slog.Logger
	// Clock is the service's time (zero value: the system's).
	Clock clock.Clock
	// T translates catalogue IDs (notifications are written in Japanese).
	T func(lang, id string, data map[string]any) string
	// Subscriber is the contact in the VAPID token's "sub" claim (an https URL or a
	// mailto: address).
	Subscriber string
	// HTTP sends the pushes (nil: a client with a 30-second timeout).
	HTTP *http.Client
	// Endpoint decides which push services the server sends to (nil: PushService).
	Endpoint func(u *url.URL) bool
	// Pace is the least time between two notifications of a kind to a person (zero:
	// Pace, a minute; tests shorten it before the first event).
	Pace time.Duration
}

func (s *Service) pace() time.Duration {
	if s.Pace > 0 {
		return s.Pace
	}
	return Pace
}

func (s *Service) now() time.Time { return s.Clock.Now() }

// lang is the language notifications are written in: staff read renraku in Japanese
// (a notification reaches a device, not a page whose language was chosen).
const lang = "ja"

func (s *Service) ja(id string, data map[string]any) string { return s.T(lang, id, data) }

// Publish queues the notifications of e in the caller's transaction (a durable job,
// so nothing is sent when it rolls back); kinds nobody is notified of are ignored.
func (s *Service) Publish(ctx context.Context, e live.Event) error {
	if !Notifies(e.Kind) {
		return nil
	}
	_, err := s.Jobs.Insert(ctx, EventArgs{Event: e}, nil)
	return err
}

// PushService accepts the push services of the browsers staff use (https only): an
// endpoint is an address the server will post to, so it may not point anywhere else.
func PushService(u *url.URL) bool {
	if u.Scheme != "https" || u.User != nil {
		return false
	}
	h := strings.ToLower(u.Hostname())
	for _, suffix := range []string{".googleapis.com", ".mozilla.com", ".push.apple.com", ".notify.windows.com"} {
		if strings.HasSuffix(h, suffix) {
			return true
		}
	}
	return false
}

func (s *Service) allowed(u *url.URL) bool {
	if s.Endpoint != nil {
		return s.Endpoint(u)
	}
	return PushService(u)
}

func own(ctx context.Context, act authz.Action) (*authz.Actor, error) {
	a := authz.ActorFrom(ctx)
	return a, authz.Check(a, act, authz.Target{StaffID: a.StaffIDOrZero()})
}

func (s *Service) record(ctx context.Context, a *authz.Actor, action string, detail map[string]any) error {
	return s.Audit.Record(ctx, audit.Event{Actor: audit.Actor{Kind: audit.Staff, ID: a.StaffID}, Action: action,
		ObjectKind: "staff", ObjectID: strconv.FormatInt(a.StaffID, 10), BoardID: a.BoardID, SchoolID: a.SchoolID, Detail: detail})
}

// Settings returns the signed-in person's choices for the account page.
func (s *Service) Settings(ctx context.Context) (Settings, error) {
	a, err := own(ctx, authz.ViewOwnAccount)
	if err != nil {
		return Settings{}, err
	}
	var st Settings
	err = s.Tx.InTx(ctx, func(ctx context.Context) error {
		r, err := s.Store.FindRecipient(ctx, a.StaffID)
		if err != nil {
			return err
		}
		st = Settings{On: map[live.Kind]bool{}, Own: r.Prefs.Window != nil, Window: r.Window(), Office: r.Office}
		for _, k := range Kinds {
			st.On[k] = r.Prefs.On(k)
		}
		k, err := s.Store.FindVAPID(ctx)
		switch {
		case err == nil:
			st.VAPIDKey = k.Public
		case apperr.KindOf(err) != apperr.NotFound:
			return err
		}
		ids, err := s.Store.FindSubscriptionIDs(ctx, a.StaffID)
		st.Devices = len(ids)
		return err
	})
	return st, err
}

// SavePreferences stores the signed-in person's choices.
func (s *Service) SavePreferences(ctx context.Context, f Form) error {
	a, err := own(ctx, authz.ManageOwnAccount)
	if err != nil {
		return err
	}
	p, err := f.check()
	if err != nil {
		return err
	}
	return s.Tx.InTx(ctx, func(ctx context.Context) error {
		if err := s.Store.SavePrefs(ctx, a.StaffID, p); err != nil {
			return err
		}
		return s.record(ctx, a, "notify.preferences", map[string]any{"kinds_off": len(p.Off), "own_window": p.Window != nil})
	})
}

func decodedLen(s string) int {
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
	if err != nil {
		return -1
	}
	return len(b)
}

// Subscribe stores the signed-in person's browser subscription (one per browser).
func (s *Service) Subscribe(ctx context.Context, sub Subscription) error {
	a, err := own(ctx, authz.ManageOwnAccount)
	if err != nil {
		return err
	}
	u, err := url.Parse(sub.Endpoint)
	if err != nil || len(sub.Endpoint) > 1000 || !s.allowed(u) || decodedLen(sub.P256dh) != 65 || decodedLen(sub.Auth) != 16 {
		return apperr.E(apperr.Invalid, "notify.subscription.invalid", errors.New("notify: subscription refused"))
	}
	return s.Tx.InTx(ctx, func(ctx context.Context) error {
		if _, err := s.Store.FindVAPID(ctx); err != nil {
			if apperr.KindOf(err) == apperr.NotFound {
				return apperr.E(apperr.Invalid, "notify.push_unavailable", err)
			}
			return err
		}
		if err := s.Store.SaveSubscription(ctx, a.StaffID, sub); err != nil {
			return err
		}
		return s.record(ctx, a, "notify.subscribe", nil)
	})
}

// Unsubscribe removes the signed-in person's subscription of endpoint (this browser).
func (s *Service) Unsubscribe(ctx context.Context, endpoint string) error {
	a, err := own(ctx, authz.ManageOwnAccount)
	if err != nil {
		return err
	}
	return s.Tx.InTx(ctx, func(ctx context.Context) error {
		done, err := s.Store.DeleteSubscription(ctx, a.StaffID, endpoint)
		if err != nil || !done {
			return err
		}
		return s.record(ctx, a, "notify.unsubscribe", nil)
	})
}

// EndSubscriptions removes every subscription of an account, in the caller's
// transaction (staff.Service, when the account is disabled or signed out everywhere).
func (s *Service) EndSubscriptions(ctx context.Context, staffID int64) error {
	return s.Tx.InTx(ctx, func(ctx context.Context) error {
		_, err := s.Store.DeleteSubscriptions(ctx, staffID)
		return err
	})
}

// Watch checks that the signed-in person may open their stream of desktop
// notifications and returns whose it is.
func (s *Service) Watch(ctx context.Context) (int64, error) {
	a, err := own(ctx, authz.ViewOwnAccount)
	if err != nil {
		return 0, err
	}
	return a.StaffID, nil
}

// GenerateVAPID makes the server's VAPID key pair when there is none (or, with
// replace, a new one: every subscription ends, since browsers subscribed with the old
// public key). It returns the public key in force and whether it made it.
func (s *Service) GenerateVAPID(ctx context.Context, replace bool) (string, bool, error) {
	var k VAPID
	var err error
	k.Private, k.Public, err = webpush.GenerateVAPIDKeys()
	if err != nil {
		return "", false, fmt.Errorf("notify: generate VAPID keys: %w", err)
	}
	var public string
	var made bool
	err = s.Tx.InTx(ctx, func(ctx context.Context) error {
		if made, err = s.Store.SaveVAPID(ctx, k, replace); err != nil {
			return err
		}
		if !made {
			cur, err := s.Store.FindVAPID(ctx)
			public = cur.Public
			return err
		}
		public = k.Public
		ended := 0
		if replace {
			if ended, err = s.Store.DeleteAllSubscriptions(ctx); err != nil {
				return err
			}
		}
		return s.Audit.Record(ctx, audit.Event{Actor: audit.Actor{Kind: audit.Operator}, Action: "notify.vapid_key",
			Detail: map[string]any{"replaced": replace, "subscriptions_ended": ended}})
	})
	return public, made, err
}
