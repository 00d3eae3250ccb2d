package line

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/renraku/renraku/internal/apperr"
	"github.com/renraku/renraku/internal/audit"
	"github.com/renraku/renraku/internal/authz"
	"github.com/renraku/renraku/internal/lineapi"
	"github.com/renraku/renraku/internal/school"
	"github.com/renraku/renraku/internal/txn"
	"github.com/renraku/renraku/internal/vault"
)

// ChannelStatus is what the console shows about a school's LINE channel: whether it is
// set and its (public) channel ID, never its secret or token.
type ChannelStatus struct {
	Configured bool
	ChannelID  string
}

// consoleChannel checks that the actor may manage the school's channel (the school's
// board read from the database, not taken from the caller) and returns the school's
// channel, if any.
func (s *Service) consoleChannel(ctx context.Context, boardID, schoolID int64) (*authz.Actor, Channel, bool, error) {
	a := authz.ActorFrom(ctx)
	if err := authz.SignedIn(a); err != nil {
		return nil, Channel{}, false, err
	}
	stored, err := txn.Get(ctx, s.Tx, func(ctx context.Context) (int64, error) { return s.Store.FindSchoolBoard(ctx, schoolID) })
	if err != nil {
		return nil, Channel{}, false, err
	}
	if stored != boardID {
		return nil, Channel{}, false, apperr.E(apperr.NotFound, "error.not_found.title", errors.New("school of another board"))
	}
	t := authz.Target{BoardID: stored, SchoolID: schoolID}
	if err := authz.Check(a, authz.ManageChannel, t); err != nil {
		if authz.Check(a, authz.ViewSchool, t) != nil {
			return nil, Channel{}, false, apperr.E(apperr.NotFound, "error.not_found.title", err)
		}
		return nil, Channel{}, false, err
	}
	ch, err := s.FindSchoolChannel(ctx, schoolID)
	if apperr.KindOf(err) == apperr.NotFound {
		return a, Channel{}, false, nil
	}
	return a, ch, err == nil, err
}

// ChannelStatus tells an administrator whether the school's channel is set.
func (s *Service) ChannelStatus(ctx context.Context, boardID, schoolID int64) (ChannelStatus, error) {
	var st ChannelStatus
	err := s.Tx.InTx(ctx, func(ctx context.Context) error {
		_, ch, ok, err := s.consoleChannel(ctx, boardID, schoolID)
		st = ChannelStatus{Configured: ok, ChannelID: ch.LineChannelID}
		return err
	})
	return st, err
}

var hexSecret = regexp.MustCompile(`^[0-9a-fA-F]{32}$`)

// SaveChannel stores the school's channel from the console. The secret and token are
// entered once and never shown again; left empty, the stored ones are kept.
func (s *Service) SaveChannel(ctx context.Context, boardID, schoolID int64, channelID, secret, token string) error {
	channelID, secret, token = strings.TrimSpace(channelID), strings.TrimSpace(secret), strings.TrimSpace(token)
	var a *authz.Actor
	var cur Channel
	var configured bool
	err := s.Tx.InTx(ctx, func(ctx context.Context) error {
		var err error
		a, cur, configured, err = s.consoleChannel(ctx, boardID, schoolID)
		return err
	})
	if err != nil {
		return err
	}
	keep := configured && cur.LineChannelID == channelID
	f := apperr.Fields{}
	if !lineapi.ValidChannelID(channelID) {
		f.Add("channel_id", "line.channel_id.invalid")
	}
	switch {
	case secret == "" && keep:
		secret = cur.Secret.Reveal()
	case !hexSecret.MatchString(secret):
		f.Add("secret", "line.secret.invalid")
	}
	switch {
	case token == "" && keep:
		token = cur.AccessToken.Reveal()
	case len(token) < 16 || len(token) > 1000 || strings.ContainsAny(token, " \t\r\n"):
		f.Add("token", "line.token.invalid")
	}
	if err := f.Err(); err != nil {
		return err
	}
	ch := Channel{LineChannelID: channelID, Secret: vault.Personal(secret), AccessToken: vault.Personal(token),
		LoginChannelID: cur.LoginChannelID, LIFFID: cur.LIFFID}
	_, err = s.SetChannel(ctx, audit.Actor{Kind: audit.Staff, ID: a.StaffID}, schoolID, boardID, ch)
	return err
}

// TestChannel asks LINE for the account's bot info with the stored token, which proves
// the token works. It returns the official account's name and basic ID.
func (s *Service) TestChannel(ctx context.Context, boardID, schoolID int64) (lineapi.BotInfo, error) {
	var a *authz.Actor
	var ch Channel
	var ok bool
	err := s.Tx.InTx(ctx, func(ctx context.Context) error {
		var err error
		a, ch, ok, err = s.consoleChannel(ctx, boardID, schoolID)
		return err
	})
	if err != nil {
		return lineapi.BotInfo{}, err
	}
	if !ok {
		return lineapi.BotInfo{}, apperr.E(apperr.Invalid, "line.channel.not_set", errors.New("no channel"))
	}
	info, callErr := s.Client.BotInfo(ctx, ch.API())
	result := "ok"
	var apiErr *lineapi.APIError
	switch {
	case callErr == nil:
	case errors.As(callErr, &apiErr) && (apiErr.Status == 401 || apiErr.Status == 403):
		result = "token_rejected"
	case errors.As(callErr, &apiErr):
		result = "status_" + strconv.Itoa(apiErr.Status)
	default:
		result = "unreachable"
	}
	if err := s.Tx.InTx(ctx, func(ctx context.Context) error {
		return s.Audit.Record(ctx, audit.Event{Actor: audit.Actor{Kind: audit.Staff, ID: a.StaffID}, Action: "line.channel.test",
			ObjectKind: "line_channel", ObjectID: strconv.FormatInt(ch.ID, 10), BoardID: boardID, SchoolID: schoolID,
			Detail: map[string]any{"result": result}})
	}); err != nil {
		return lineapi.BotInfo{}, err
	}
	switch result {
	case "ok":
		return info, nil
	case "token_rejected":
		return lineapi.BotInfo{}, apperr.E(apperr.Invalid, "line.channel.token_rejected", callErr)
	}
	return lineapi.BotInfo{}, apperr.E(apperr.Invalid, "line.channel.unreachable", callErr)
}

// MonthUsage is a school channel's LINE messages this month and its quota.
type MonthUsage struct {
	Sent  []Usage
	Quota lineapi.Quota
	// QuotaKnown is false when LINE could not be asked.
	QuotaKnown bool
}

// MonthlyUsage counts the school's channel's messages sent since the start of the month
// (Asia/Tokyo) by purpose and method, and asks LINE for the quota.
func (s *Service) MonthlyUsage(ctx context.Context, boardID, schoolID int64, monthStart time.Time) (MonthUsage, error) {
	var u MonthUsage
	var ch Channel
	var ok bool
	err := s.Tx.InTx(ctx, func(ctx context.Context) error {
		var err error
		if _, ch, ok, err = s.consoleChannel(ctx, boardID, schoolID); err != nil || !ok {
			return err
		}
		u.Sent, err = s.Store.CountOutbound(ctx, ch.ID, monthStart)
		return err
	})
	if err != nil || !ok {
		return u, err
	}
	if q, err := s.Client.Quota(ctx, ch.API()); err == nil {
		u.Quota, u.QuotaKnown = q, true
	}
	return u, nil
}

// ChannelPage is the console's channel page: whether the school has a channel and, when
// it has, this month's messages (in Asia/Tokyo, by the service's clock).
type ChannelPage struct {
	Status ChannelStatus
	Usage  MonthUsage
}

// OpenChannelPage returns the console's channel page for the school.
func (s *Service) OpenChannelPage(ctx context.Context, boardID, schoolID int64) (ChannelPage, error) {
	var p ChannelPage
	var err error
	if p.Status, err = s.ChannelStatus(ctx, boardID, schoolID); err != nil || !p.Status.Configured {
		return p, err
	}
	now := s.Clock.Now().In(school.Tokyo)
	p.Usage, err = s.MonthlyUsage(ctx, boardID, schoolID, time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, school.Tokyo))
	return p, err
}

// FriendURLPrefix begins the address at which a LINE user adds an official account as
// a friend; the account's basic ID ("@123abcd") follows.
const FriendURLPrefix = "https://line.me/R/ti/p/"

// FriendURL returns the address at which parents add the school's LINE official
// account as a friend, with the account's basic ID as LINE states it for the stored
// token. The address is public (schools print it on letters), so anyone who may see
// the school may have it; nothing is audited. A school without a channel is Invalid
// (line.channel.not_set), and so is an answer LINE did not give.
func (s *Service) FriendURL(ctx context.Context, boardID, schoolID int64) (string, error) {
	a := authz.ActorFrom(ctx)
	if err := authz.SignedIn(a); err != nil {
		return "", err
	}
	stored, err := txn.Get(ctx, s.Tx, func(ctx context.Context) (int64, error) { return s.Store.FindSchoolBoard(ctx, schoolID) })
	if err != nil {
		return "", err
	}
	if stored != boardID {
		return "", apperr.E(apperr.NotFound, "error.not_found.title", errors.New("school of another board"))
	}
	if err := authz.Check(a, authz.ViewSchool, authz.Target{BoardID: stored, SchoolID: schoolID}); err != nil {
		return "", err
	}
	ch, err := s.FindSchoolChannel(ctx, schoolID)
	if apperr.KindOf(err) == apperr.NotFound {
		return "", apperr.E(apperr.Invalid, "line.channel.not_set", err)
	}
	if err != nil {
		return "", err
	}
	info, err := s.Client.BotInfo(ctx, ch.API())
	var apiErr *lineapi.APIError
	switch {
	case errors.As(err, &apiErr) && (apiErr.Status == 401 || apiErr.Status == 403):
		return "", apperr.E(apperr.Invalid, "line.channel.token_rejected", err)
	case err != nil:
		return "", apperr.E(apperr.Invalid, "line.channel.unreachable", err)
	case !basicID.MatchString(info.BasicID):
		return "", apperr.E(apperr.Invalid, "line.channel.unreachable", fmt.Errorf("bot info without a basic ID: %q", info.BasicID))
	}
	return FriendURLPrefix + info.BasicID, nil
}

// basicID is the form of an official account's basic or premium ID ("@123abcde").
var basicID = regexp.MustCompile(`^@[0-9A-Za-z._-]{1,40}$`)

// QuotaUsed is a school channel's monthly message quota and what it has used, for the
// administrators' work queue (the channel tab's figure), as LINE gave it within the
// last QuotaFresh. ok is false when the school has no channel or LINE could not be
// asked.
func (s *Service) QuotaUsed(ctx context.Context, schoolID int64) (q lineapi.Quota, ok bool, err error) {
	boardID, err := txn.Get(ctx, s.Tx, func(ctx context.Context) (int64, error) { return s.Store.FindSchoolBoard(ctx, schoolID) })
	if err != nil {
		return q, false, err
	}
	var ch Channel
	err = s.Tx.InTx(ctx, func(ctx context.Context) error {
		var err error
		_, ch, ok, err = s.consoleChannel(ctx, boardID, schoolID)
		return err
	})
	if err != nil || !ok {
		return q, false, err
	}
	now := s.Clock.Now()
	s.quotaMu.Lock()
	c, cached := s.quotas[ch.ID]
	s.quotaMu.Unlock()
	if cached && now.Sub(c.at) < QuotaFresh {
		return c.quota, true, nil
	}
	if q, err = s.Client.Quota(ctx, ch.API()); err != nil {
		return lineapi.Quota{}, false, nil
	}
	s.quotaMu.Lock()
	if s.quotas == nil {
		s.quotas = map[int64]cachedQuota{}
	}
	s.quotas[ch.ID] = cachedQuota{quota: q, at: now}
	s.quotaMu.Unlock()
	return q, true, nil
}

// QuotaFresh is how long the work queues show a channel's quota figures before asking
// LINE again (the channel tab always asks).
const QuotaFresh = time.Minute
