package staff

import (
	"context"
	"errors"
	"time"

	"github.com/renraku/renraku/internal/apperr"
	"github.com/renraku/renraku/internal/audit"
	"github.com/renraku/renraku/internal/authz"
	"github.com/renraku/renraku/internal/credential"
	"github.com/renraku/renraku/internal/vault"
)

// Stage is how far a sign-in has got.
type Stage string

// The stages of a sign-in.
const (
	// StageSecondFactor: the password was right; a TOTP or recovery code is next.
	StageSecondFactor Stage = "second_factor"
	// StageEnrol: the password was right and a second factor is required but not set
	// up; only the enrolment page is open.
	StageEnrol Stage = "enrol"
	// StageDone: signed in.
	StageDone Stage = "done"
)

// SignIn is the result of a successful step.
type SignIn struct {
	StaffID int64
	Epoch   int
	Stage   Stage
}

// Throttle key domains for the blind index. Wrong second-factor codes count under a
// key of their own, which a right password does not clear: otherwise anyone holding
// the password could guess codes without end.
const (
	accountKeyDomain = "signin.throttle.account.v1"
	addressKeyDomain = "signin.throttle.address.v1"
	codeKeyDomain    = "signin.throttle.code.v1"
)

// The positions of the keys throttleKeys returns.
const (
	accountKey = iota
	addressKey
	codeKey
)

var errBadCredentials = apperr.E(apperr.Invalid, "staff.signin.failed", errors.New("wrong login ID or password"))

// errThrottled does not say whether the account or the address is blocked, nor whether
// the account exists.
var errThrottled = apperr.E(apperr.Forbidden, "staff.signin.throttled", errors.New("too many failed sign-ins"))

// throttleKeys are the keys a sign-in step is checked against, at the positions
// accountKey, addressKey and codeKey.
func (s *Service) throttleKeys(login string, c Client) ([][]byte, error) {
	ak, err := s.Key(accountKeyDomain, NormalizeLogin(login))
	if err != nil {
		return nil, err
	}
	ck, err := s.Key(codeKeyDomain, NormalizeLogin(login))
	if err != nil {
		return nil, err
	}
	addr := c.Addr
	if addr.Is6() && !addr.Is4In6() {
		// One IPv6 client usually holds a whole /64.
		if p, err := addr.Prefix(64); err == nil {
			addr = p.Addr()
		}
	}
	ik, err := s.Key(addressKeyDomain, addr.String())
	if err != nil {
		return nil, err
	}
	return [][]byte{ak, ik, ck}, nil
}

// PasswordSignIn checks a login ID and password. Unknown login IDs, wrong passwords
// and disabled accounts fail alike and take as long; failures count towards lockout of
// the account and of the client's address.
func (s *Service) PasswordSignIn(ctx context.Context, login, password string, c Client) (SignIn, error) {
	keys, err := s.throttleKeys(login, c)
	if err != nil {
		return SignIn{}, err
	}
	now := s.now()
	if err := s.checkThrottle(ctx, keys, now); err != nil {
		return SignIn{}, err
	}
	var st Staff
	var cr Credentials
	err = s.tx(ctx, func(ctx context.Context) error {
		var err error
		st, cr, err = s.Store.FindStaffByLogin(ctx, NormalizeLogin(login))
		return err
	})
	switch {
	case apperr.KindOf(err) == apperr.NotFound:
		credential.DummyVerify(password)
		return SignIn{}, s.fail(ctx, keys, accountKey, now, c, audit.Actor{Kind: audit.Anonymous}, Staff{}, "unknown_login")
	case err != nil:
		return SignIn{}, err
	case cr.PasswordHash == "":
		credential.DummyVerify(password)
		return SignIn{}, s.fail(ctx, keys, accountKey, now, c, audit.Actor{Kind: audit.Staff, ID: st.ID}, st, "no_password")
	}
	ok, err := credential.VerifyPassword(password, cr.PasswordHash)
	if err != nil {
		return SignIn{}, err
	}
	if !ok {
		return SignIn{}, s.fail(ctx, keys, accountKey, now, c, audit.Actor{Kind: audit.Staff, ID: st.ID}, st, "wrong_password")
	}
	if st.Disabled {
		return SignIn{}, s.fail(ctx, keys, accountKey, now, c, audit.Actor{Kind: audit.Staff, ID: st.ID}, st, "disabled")
	}
	var res SignIn
	err = s.tx(ctx, func(ctx context.Context) error {
		if credential.NeedsRehash(cr.PasswordHash) {
			if h, err := credential.HashPassword(password); err == nil {
				if err := s.Store.SetPassword(ctx, st.ID, h); err != nil {
					return err
				}
			}
		}
		// Only the password's failures are forgiven: wrong codes stay counted until a
		// right code.
		if err := s.Store.ClearFailures(ctx, keys[accountKey]); err != nil {
			return err
		}
		required, err := s.Store.SecondFactorRequired(ctx, st.ID)
		if err != nil {
			return err
		}
		res = SignIn{StaffID: st.ID, Epoch: st.SessionEpoch, Stage: StageDone}
		switch {
		case st.TOTPEnabled:
			res.Stage = StageSecondFactor
		case required:
			res.Stage = StageEnrol
		}
		action := "staff.sign_in"
		if res.Stage != StageDone {
			action = "staff.sign_in_password"
		}
		return s.Audit.Record(ctx, audit.Event{Actor: audit.Actor{Kind: audit.Staff, ID: st.ID}, Action: action,
			ObjectKind: "staff", ObjectID: staffRef(st.ID), BoardID: st.BoardID, SchoolID: st.SchoolID, RemoteAddr: c.Addr,
			Detail: map[string]any{"stage": string(res.Stage)}})
	})
	return res, err
}

func (s *Service) checkThrottle(ctx context.Context, keys [][]byte, now time.Time) error {
	return s.tx(ctx, func(ctx context.Context) error {
		for _, k := range keys {
			until, err := s.Store.Throttle(ctx, k, now)
			if err != nil {
				return err
			}
			if until.After(now) {
				return errThrottled
			}
		}
		return nil
	})
}

// fail counts a failed attempt against the account (under keys[account]: the
// password's key or the second factor's) and the address, audits it and returns the
// error to show.
func (s *Service) fail(ctx context.Context, keys [][]byte, account int, now time.Time, c Client, actor audit.Actor, st Staff, reason string) error {
	result := errBadCredentials
	err := s.tx(ctx, func(ctx context.Context) error {
		for _, i := range []int{account, addressKey} {
			rule := AccountRule
			if i == addressKey {
				rule = AddressRule
			}
			until, err := s.Store.RecordFailure(ctx, keys[i], now, rule)
			if err != nil {
				return err
			}
			if until.After(now) {
				result = errThrottled
			}
		}
		e := audit.Event{Actor: actor, Action: "staff.sign_in_failed", RemoteAddr: c.Addr, Detail: map[string]any{"reason": reason}}
		if st.ID != 0 {
			e.ObjectKind, e.ObjectID, e.BoardID, e.SchoolID = "staff", staffRef(st.ID), st.BoardID, st.SchoolID
		}
		return s.Audit.Record(ctx, e)
	})
	if err != nil {
		return err
	}
	return result
}

// SecondFactor checks a TOTP code or a recovery code for a sign-in at
// StageSecondFactor. A code is accepted once (replays within its window fail) and a
// recovery code is spent.
func (s *Service) SecondFactor(ctx context.Context, staffID int64, code string, c Client) (SignIn, error) {
	var st Staff
	err := s.tx(ctx, func(ctx context.Context) error {
		var err error
		st, err = s.Store.FindStaffByID(ctx, staffID)
		return err
	})
	if err != nil {
		return SignIn{}, err
	}
	keys, err := s.throttleKeys(st.Login.Reveal(), c)
	if err != nil {
		return SignIn{}, err
	}
	now := s.now()
	if err := s.checkThrottle(ctx, keys, now); err != nil {
		return SignIn{}, err
	}
	var ok bool
	var via string
	err = s.tx(ctx, func(ctx context.Context) error {
		cr, err := s.Store.FindCredentials(ctx, staffID)
		if err != nil {
			return err
		}
		if cr.TOTPSecret.IsZero() || st.Disabled {
			return nil
		}
		if step, good := credential.CheckTOTP(cr.TOTPSecret.Reveal(), code, now, cr.TOTPLastStep); good {
			ok, via = true, "totp"
			return s.Store.UpdateSecondFactorUse(ctx, staffID, step, cr.RecoveryHashes)
		}
		if i, good := credential.MatchRecoveryCode(code, cr.RecoveryHashes); good {
			ok, via = true, "recovery_code"
			left := append(append([]string{}, cr.RecoveryHashes[:i]...), cr.RecoveryHashes[i+1:]...)
			return s.Store.UpdateSecondFactorUse(ctx, staffID, cr.TOTPLastStep, left)
		}
		return nil
	})
	if err != nil {
		return SignIn{}, err
	}
	if !ok {
		err := s.fail(ctx, keys, codeKey, now, c, audit.Actor{Kind: audit.Staff, ID: st.ID}, st, "wrong_code")
		if err == errBadCredentials {
			err = apperr.Fields{"code": "staff.totp.wrong"}.Err()
		}
		return SignIn{}, err
	}
	err = s.tx(ctx, func(ctx context.Context) error {
		for _, k := range [][]byte{keys[accountKey], keys[codeKey]} {
			if err := s.Store.ClearFailures(ctx, k); err != nil {
				return err
			}
		}
		return s.Audit.Record(ctx, audit.Event{Actor: audit.Actor{Kind: audit.Staff, ID: st.ID}, Action: "staff.sign_in",
			ObjectKind: "staff", ObjectID: staffRef(st.ID), BoardID: st.BoardID, SchoolID: st.SchoolID, RemoteAddr: c.Addr,
			Detail: map[string]any{"second_factor": via}})
	})
	return SignIn{StaffID: st.ID, Epoch: st.SessionEpoch, Stage: StageDone}, err
}

// BeginEnrolment makes a new TOTP secret for the person signing in (StageEnrol) or
// signed in, and keeps it (encrypted) until ConfirmEnrolment; it returns the QR code
// and the secret to show.
func (s *Service) BeginEnrolment(ctx context.Context, staffID int64) (credential.Enrolment, error) {
	var enr credential.Enrolment
	err := s.tx(ctx, func(ctx context.Context) error {
		st, err := s.Store.FindStaffByID(ctx, staffID)
		if err != nil {
			return err
		}
		issuer := s.Issuer
		if issuer == "" {
			issuer = "renraku"
		}
		if enr, err = credential.NewTOTP(issuer, st.Login.Reveal()); err != nil {
			return err
		}
		return s.Store.SetPendingTOTP(ctx, st.ID, vault.Personal(enr.Secret))
	})
	return enr, err
}

// ConfirmEnrolment makes the pending TOTP secret the account's second factor once the
// person has shown a code from it, and returns fresh recovery codes to show once. When
// signingIn, enrolment is the last step of a sign-in, which is audited as such;
// otherwise (a signed-in person replacing their app) the current password is asked
// again, so that an unattended session cannot move the second factor.
func (s *Service) ConfirmEnrolment(ctx context.Context, staffID int64, code, password string, signingIn bool, c Client) (Enrolled, error) {
	var codes []string
	var epoch int
	err := s.tx(ctx, func(ctx context.Context) error {
		st, err := s.Store.FindStaffByID(ctx, staffID)
		if err != nil {
			return err
		}
		cr, err := s.Store.FindCredentials(ctx, staffID)
		if err != nil {
			return err
		}
		if cr.TOTPPending.IsZero() {
			return apperr.E(apperr.Conflict, "staff.totp.expired", errors.New("no pending enrolment"))
		}
		if !signingIn {
			if ok, err := credential.VerifyPassword(password, cr.PasswordHash); err != nil || !ok {
				return apperr.Fields{"current": "staff.password.wrong"}.Err()
			}
		}
		step, ok := credential.CheckTOTP(cr.TOTPPending.Reveal(), code, s.now(), 0)
		if !ok {
			return apperr.Fields{"code": "staff.totp.wrong"}.Err()
		}
		var hashes []string
		if codes, hashes, err = credential.NewRecoveryCodes(credential.RecoveryCodeCount); err != nil {
			return err
		}
		if err := s.Store.SetTOTP(ctx, staffID, cr.TOTPPending, step, hashes); err != nil {
			return err
		}
		if err := s.Audit.Record(ctx, audit.Event{Actor: audit.Actor{Kind: audit.Staff, ID: st.ID}, Action: "staff.totp_enrol",
			ObjectKind: "staff", ObjectID: staffRef(st.ID), BoardID: st.BoardID, SchoolID: st.SchoolID, RemoteAddr: c.Addr}); err != nil {
			return err
		}
		if !signingIn {
			return nil
		}
		epoch = st.SessionEpoch
		return s.Audit.Record(ctx, audit.Event{Actor: audit.Actor{Kind: audit.Staff, ID: st.ID}, Action: "staff.sign_in",
			ObjectKind: "staff", ObjectID: staffRef(st.ID), BoardID: st.BoardID, SchoolID: st.SchoolID, RemoteAddr: c.Addr,
			Detail: map[string]any{"second_factor": "enrolment"}})
	})
	if err != nil {
		if !apperr.Fixable(err) {
			return Enrolled{}, err
		}
		// A new secret is shown with the form: the old one was never confirmed.
		retry, rerr := s.BeginEnrolment(ctx, staffID)
		if rerr != nil {
			return Enrolled{}, rerr
		}
		return Enrolled{Retry: retry}, err
	}
	done := Enrolled{Codes: codes}
	if signingIn {
		done.SignIn = &SignIn{StaffID: staffID, Epoch: epoch, Stage: StageDone}
		if done.Actor, err = s.Actor(ctx, staffID, epoch); err != nil {
			return Enrolled{}, err
		}
	}
	return done, nil
}

// Enrolled is what confirming a second factor came to: the recovery codes to show
// once and, for a person signing in, the session to begin and who they now are. When
// the confirmation was refused for a reason the person can fix (a wrong code or
// password, an enrolment that expired), Retry is a new enrolment to show with the form.
type Enrolled struct {
	Codes  []string
	SignIn *SignIn
	Actor  *authz.Actor
	Retry  credential.Enrolment
}

// SignedOut records a sign-out.
func (s *Service) SignedOut(ctx context.Context, a *authz.Actor, c Client) error {
	if a == nil {
		return nil
	}
	return s.Tx.InTx(ctx, func(ctx context.Context) error {
		return s.Audit.Record(ctx, audit.Event{Actor: audit.Actor{Kind: audit.Staff, ID: a.StaffID}, Action: "staff.sign_out",
			ObjectKind: "staff", ObjectID: staffRef(a.StaffID), BoardID: a.BoardID, SchoolID: a.SchoolID, RemoteAddr: c.Addr})
	})
}
