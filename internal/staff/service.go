package staff

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/renraku/renraku/internal/absence"
	"github.com/renraku/renraku/internal/apperr"
	"github.com/renraku/renraku/internal/audit"
	"github.com/renraku/renraku/internal/authz"
	"github.com/renraku/renraku/internal/clock"
	"github.com/renraku/renraku/internal/credential"
	"github.com/renraku/renraku/internal/school"
	"github.com/renraku/renraku/internal/txn"
	"github.com/renraku/renraku/internal/vault"
	"github.com/renraku/renraku/internal/worklist"
)

// Service is the staff accounts' use cases.
type Service struct {
	Tx    txn.Transactor
	Store Store
	Audit *audit.Log
	// Key derives throttle keys (a blind index), so addresses and login IDs are not
	// stored readable.
	Key func(domain, value string) ([]byte, error)
	// Clock is the service's time (its zero value reads the system time; tests
	// set it on a running app while workers read it).
	Clock clock.Clock
	// LinkTTL is how long a one-time sign-in link works.
	LinkTTL time.Duration
	// Issuer names renraku in authenticator apps.
	Issuer string
	// Schools and Absences are what the home page shows of the person's schools.
	Schools  Schools
	Absences Absences
	// Work is the work queue the home page opens with.
	Work Work
	// Devices ends an account's notification subscriptions when it is disabled or
	// signed out everywhere (nil: none to end).
	Devices Devices
}

// DefaultLinkTTL is how long one-time sign-in links work unless configured.
const DefaultLinkTTL = 72 * time.Hour

func (s *Service) now() time.Time {
	return s.Clock.Now()
}

func (s *Service) tx(ctx context.Context, fn func(ctx context.Context) error) error {
	return s.Tx.InTx(ctx, fn)
}

func staffRef(id int64) string { return strconv.FormatInt(id, 10) }

// Invite is a created account's one-time sign-in link token and its expiry.
type Invite struct {
	Staff   Staff
	Token   string
	Expires time.Time
}

// WelcomePath is the path of the password-setting page a one-time token opens.
func WelcomePath(token string) string { return "/staff/welcome/" + token }

// Create makes an account for the signed-in administrator and returns its one-time
// sign-in link token.
func (s *Service) Create(ctx context.Context, in NewStaff) (Invite, error) {
	a := authz.ActorFrom(ctx)
	if err := authz.Check(a, authz.ManageStaff, authz.Target{BoardID: in.BoardID, SchoolID: in.SchoolID}); err != nil {
		return Invite{}, err
	}
	if a.Role != authz.BoardAdmin && in.Role == authz.BoardAdmin {
		return Invite{}, authz.Check(a, authz.CreateSchool, authz.Target{BoardID: in.BoardID})
	}
	return s.create(ctx, audit.Actor{Kind: audit.Staff, ID: a.StaffID}, in)
}

// Bootstrap makes an account from the server's command line (renraku admin
// create-staff), where whoever runs it already holds the server.
func (s *Service) Bootstrap(ctx context.Context, in NewStaff) (Invite, error) {
	return s.create(ctx, audit.OperatorActor, in)
}

// BootstrapLink issues a new one-time link from the server's command line for an
// account that has never set its password (one whose first link was lost, or whose
// creation was interrupted before the link was used). An account with a password is
// left alone: resetting one is the administrators' ResetLink.
func (s *Service) BootstrapLink(ctx context.Context, staffID int64) (Invite, error) {
	var inv Invite
	err := s.tx(ctx, func(ctx context.Context) error {
		st, err := s.Store.FindStaffByID(ctx, staffID)
		if err != nil {
			return err
		}
		if st.PasswordSet {
			return apperr.E(apperr.Conflict, "staff.link.password_set", errors.New("the account has a password"))
		}
		if inv, err = s.issueLink(ctx, st); err != nil {
			return err
		}
		return s.Audit.Record(ctx, audit.Event{Actor: audit.OperatorActor, Action: "staff.link_issue",
			ObjectKind: "staff", ObjectID: staffRef(st.ID), BoardID: st.BoardID, SchoolID: st.SchoolID})
	})
	return inv, err
}

func (s *Service) create(ctx context.Context, actor audit.Actor, in NewStaff) (Invite, error) {
	var inv Invite
	err := s.tx(ctx, func(ctx context.Context) error {
		var err error
		inv, err = s.CreateTx(ctx, actor, in)
		return err
	})
	return inv, err
}

// CreateTx checks and creates an account inside the caller's transaction (a CSV import
// creates many at once, all or none) and issues its one-time link. The caller has
// authorised actor for in's school.
func (s *Service) CreateTx(ctx context.Context, actor audit.Actor, in NewStaff) (Invite, error) {
	login := NormalizeLogin(in.Login)
	f := apperr.Fields{}
	if !validLogin(login) {
		f.Add("login", "staff.login.invalid")
	}
	if !validName(in.Name) {
		f.Add("name", "staff.name.invalid")
	}
	switch in.Role {
	case authz.BoardAdmin:
		if in.SchoolID != 0 {
			f.Add("role", "staff.role.invalid")
		}
	case authz.SchoolAdmin, authz.Teacher:
		if in.SchoolID == 0 {
			f.Add("role", "staff.role.invalid")
		}
	default:
		f.Add("role", "staff.role.invalid")
	}
	if err := f.Err(); err != nil {
		return Invite{}, err
	}
	st := Staff{BoardID: in.BoardID, SchoolID: in.SchoolID, Role: in.Role, Login: vault.Personal(login), Name: vault.Personal(trim(in.Name))}
	if err := s.Store.CreateStaff(ctx, &st); err != nil {
		if apperr.KindOf(err) == apperr.Conflict {
			return Invite{}, apperr.Fields{"login": "staff.login.taken"}.Err()
		}
		return Invite{}, err
	}
	inv, err := s.issueLink(ctx, st)
	if err != nil {
		return Invite{}, err
	}
	return inv, s.Audit.Record(ctx, audit.Event{Actor: actor, Action: "staff.create", ObjectKind: "staff", ObjectID: staffRef(st.ID),
		BoardID: st.BoardID, SchoolID: st.SchoolID, Detail: map[string]any{"role": string(st.Role)}})
}

// UpdateTx changes an account's name and role inside the caller's transaction (a CSV
// import updates many at once, all or none) and records what changed; the login ID,
// password, second factor and sessions are left alone (a role takes effect on the
// account's next request, which reads it again). The caller has authorised actor for
// the account's school; a board administrator's account is not changed here.
func (s *Service) UpdateTx(ctx context.Context, actor audit.Actor, st Staff, upd Update) error {
	f := apperr.Fields{}
	if upd.Name != nil {
		name := trim(*upd.Name)
		upd.Name = &name
		if !validName(name) {
			f.Add("name", "staff.name.invalid")
		}
	}
	if st.Role == authz.BoardAdmin || (upd.Role != nil && *upd.Role != authz.SchoolAdmin && *upd.Role != authz.Teacher) {
		f.Add("role", "staff.role.invalid")
	}
	if err := f.Err(); err != nil {
		return err
	}
	if upd.Name == nil && upd.Role == nil {
		return nil
	}
	if err := s.Store.UpdateStaff(ctx, st.ID, upd); err != nil {
		return err
	}
	// The detail says what changed, never the name itself.
	detail := map[string]any{"name": upd.Name != nil}
	if upd.Role != nil {
		detail["role_from"], detail["role"] = string(st.Role), string(*upd.Role)
	}
	return s.Audit.Record(ctx, audit.Event{Actor: actor, Action: "staff.update", ObjectKind: "staff", ObjectID: staffRef(st.ID),
		BoardID: st.BoardID, SchoolID: st.SchoolID, Detail: detail})
}

func (s *Service) issueLink(ctx context.Context, st Staff) (Invite, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return Invite{}, err
	}
	token := base64.RawURLEncoding.EncodeToString(b)
	ttl := s.LinkTTL
	if ttl == 0 {
		ttl = DefaultLinkTTL
	}
	exp := s.now().Add(ttl)
	if err := s.Store.CreateSigninToken(ctx, st.ID, tokenHash(token), exp); err != nil {
		return Invite{}, err
	}
	return Invite{Staff: st, Token: token, Expires: exp}, nil
}

func tokenHash(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// ResetLink issues a new one-time link for setting a new password, for someone who
// lost theirs or whose account may be in someone else's hands. It takes effect at
// once: every session of the account ends, the current password and any earlier
// unused link stop working, and only the new link lets its holder in (the second
// factor, if set up, is still asked for afterwards).
func (s *Service) ResetLink(ctx context.Context, staffID int64) (Invite, error) {
	var inv Invite
	err := s.tx(ctx, func(ctx context.Context) error {
		st, a, err := s.manageable(ctx, staffID)
		if err != nil {
			return err
		}
		if err := s.Store.RevokeSignin(ctx, st.ID); err != nil {
			return err
		}
		if _, err := s.Store.BumpSessionEpoch(ctx, st.ID); err != nil {
			return err
		}
		if inv, err = s.issueLink(ctx, st); err != nil {
			return err
		}
		return s.Audit.Record(ctx, audit.Event{Actor: audit.Actor{Kind: audit.Staff, ID: a.StaffID}, Action: "staff.link_issue",
			ObjectKind: "staff", ObjectID: staffRef(st.ID), BoardID: st.BoardID, SchoolID: st.SchoolID,
			Detail: map[string]any{"sessions_ended": true, "password_cleared": true}})
	})
	return inv, err
}

// manageable loads an account the actor may manage.
func (s *Service) manageable(ctx context.Context, staffID int64) (Staff, *authz.Actor, error) {
	a := authz.ActorFrom(ctx)
	if err := authz.SignedIn(a); err != nil {
		return Staff{}, nil, err
	}
	st, err := s.Store.FindStaffByID(ctx, staffID)
	if err != nil {
		return Staff{}, nil, err
	}
	if err := authz.Check(a, authz.ManageStaff, authz.Target{BoardID: st.BoardID, SchoolID: st.SchoolID}); err != nil {
		return Staff{}, nil, notFoundIfOutside(a, st, err)
	}
	if st.Role == authz.BoardAdmin && a.Role != authz.BoardAdmin {
		return Staff{}, nil, apperr.E(apperr.Forbidden, "authz.forbidden", errors.New("board admin managed by school admin"))
	}
	return st, a, nil
}

// notFoundIfOutside hides the existence of records in other boards and schools.
func notFoundIfOutside(a *authz.Actor, st Staff, err error) error {
	if a.BoardID != st.BoardID || (a.Role != authz.BoardAdmin && a.SchoolID != st.SchoolID) {
		return apperr.E(apperr.NotFound, "error.not_found.title", err)
	}
	return err
}

// WelcomeValid reports whether a one-time link token is unused and unexpired, without
// using it.
func (s *Service) WelcomeValid(ctx context.Context, token string) error {
	return s.tx(ctx, func(ctx context.Context) error {
		_, err := s.Store.FindSigninToken(ctx, tokenHash(token), s.now())
		if apperr.KindOf(err) == apperr.NotFound {
			return apperr.E(apperr.NotFound, "staff.link.invalid", err)
		}
		return err
	})
}

// SetPasswordFromLink uses a one-time link: it checks the password, stores its hash,
// ends every session of the account and spends the link. It returns the login ID so
// the sign-in form can be pre-filled.
func (s *Service) SetPasswordFromLink(ctx context.Context, token, password, confirm string, c Client) (string, error) {
	var login string
	err := s.tx(ctx, func(ctx context.Context) error {
		id, err := s.Store.FindSigninToken(ctx, tokenHash(token), s.now())
		if err != nil {
			if apperr.KindOf(err) == apperr.NotFound {
				return apperr.E(apperr.NotFound, "staff.link.invalid", err)
			}
			return err
		}
		st, err := s.Store.FindStaffByID(ctx, id)
		if err != nil {
			return err
		}
		if err := checkNewPassword(st.Login.Reveal(), password, confirm); err != nil {
			return err
		}
		if _, err := s.Store.UseSigninToken(ctx, tokenHash(token), s.now()); err != nil {
			return apperr.E(apperr.NotFound, "staff.link.invalid", err)
		}
		if err := s.setPassword(ctx, st.ID, password); err != nil {
			return err
		}
		login = st.Login.Reveal()
		return s.Audit.Record(ctx, audit.Event{Actor: audit.Actor{Kind: audit.Staff, ID: st.ID}, Action: "staff.password_set",
			ObjectKind: "staff", ObjectID: staffRef(st.ID), BoardID: st.BoardID, SchoolID: st.SchoolID, RemoteAddr: c.Addr,
			Detail: map[string]any{"via": "link"}})
	})
	return login, err
}

func checkNewPassword(login, password, confirm string) error {
	if password != confirm {
		return apperr.Fields{"confirm": "staff.password.mismatch"}.Err()
	}
	if err := credential.CheckPassword(login, password); err != nil {
		return apperr.Fields{"password": messageID(err, "staff.password.invalid")}.Err()
	}
	return nil
}

func messageID(err error, fallback string) string {
	if id := apperr.MessageIDOf(err); id != "" {
		return id
	}
	return fallback
}

func (s *Service) setPassword(ctx context.Context, id int64, password string) error {
	hash, err := credential.HashPassword(password)
	if err != nil {
		return err
	}
	if err := s.Store.SetPassword(ctx, id, hash); err != nil {
		return err
	}
	_, err = s.Store.BumpSessionEpoch(ctx, id)
	return err
}

// ChangePassword replaces the signed-in person's password after checking the current
// one; other sessions end.
func (s *Service) ChangePassword(ctx context.Context, current, password, confirm string, c Client) error {
	a := authz.ActorFrom(ctx)
	if err := authz.Check(a, authz.ManageOwnAccount, authz.Target{StaffID: a.StaffIDOrZero()}); err != nil {
		return err
	}
	return s.tx(ctx, func(ctx context.Context) error {
		st, err := s.Store.FindStaffByID(ctx, a.StaffID)
		if err != nil {
			return err
		}
		cr, err := s.Store.FindCredentials(ctx, a.StaffID)
		if err != nil {
			return err
		}
		if ok, err := credential.VerifyPassword(current, cr.PasswordHash); err != nil || !ok {
			return apperr.Fields{"current": "staff.password.wrong"}.Err()
		}
		if err := checkNewPassword(st.Login.Reveal(), password, confirm); err != nil {
			return err
		}
		if err := s.setPassword(ctx, st.ID, password); err != nil {
			return err
		}
		return s.Audit.Record(ctx, audit.Event{Actor: audit.Actor{Kind: audit.Staff, ID: st.ID}, Action: "staff.password_set",
			ObjectKind: "staff", ObjectID: staffRef(st.ID), BoardID: st.BoardID, SchoolID: st.SchoolID, RemoteAddr: c.Addr,
			Detail: map[string]any{"via": "change"}})
	})
}

// SetDisabled disables or re-enables an account. Disabling ends its sessions at once:
// every request re-reads the account.
func (s *Service) SetDisabled(ctx context.Context, staffID int64, disabled bool) error {
	return s.tx(ctx, func(ctx context.Context) error {
		st, a, err := s.manageable(ctx, staffID)
		if err != nil {
			return err
		}
		if st.ID == a.StaffID {
			return apperr.E(apperr.Invalid, "staff.disable.self", errors.New("cannot disable oneself"))
		}
		if err := s.Store.SetDisabled(ctx, st.ID, disabled); err != nil {
			return err
		}
		if _, err := s.Store.BumpSessionEpoch(ctx, st.ID); err != nil {
			return err
		}
		action := "staff.enable"
		if disabled {
			action = "staff.disable"
			if err := s.endDevices(ctx, st.ID); err != nil {
				return err
			}
		}
		return s.Audit.Record(ctx, audit.Event{Actor: audit.Actor{Kind: audit.Staff, ID: a.StaffID}, Action: action,
			ObjectKind: "staff", ObjectID: staffRef(st.ID), BoardID: st.BoardID, SchoolID: st.SchoolID})
	})
}

// SignOutEverywhere ends every session of the signed-in person, this one included.
func (s *Service) SignOutEverywhere(ctx context.Context, c Client) error {
	a := authz.ActorFrom(ctx)
	if err := authz.Check(a, authz.ManageOwnAccount, authz.Target{StaffID: a.StaffIDOrZero()}); err != nil {
		return err
	}
	return s.tx(ctx, func(ctx context.Context) error {
		if _, err := s.Store.BumpSessionEpoch(ctx, a.StaffID); err != nil {
			return err
		}
		if err := s.endDevices(ctx, a.StaffID); err != nil {
			return err
		}
		return s.Audit.Record(ctx, audit.Event{Actor: audit.Actor{Kind: audit.Staff, ID: a.StaffID}, Action: "staff.sign_out_all",
			ObjectKind: "staff", ObjectID: staffRef(a.StaffID), BoardID: a.BoardID, SchoolID: a.SchoolID, RemoteAddr: c.Addr})
	})
}

// endDevices ends the account's notification subscriptions in the caller's transaction:
// a browser signed out everywhere must not go on receiving the account's notifications.
func (s *Service) endDevices(ctx context.Context, staffID int64) error {
	if s.Devices == nil {
		return nil
	}
	return s.Devices.EndSubscriptions(ctx, staffID)
}

// Actor loads the signed-in person for a request. A disabled account, or a session
// from before the account's last epoch change, is Unauthenticated.
func (s *Service) Actor(ctx context.Context, staffID int64, epoch int) (*authz.Actor, error) {
	var a authz.Actor
	err := s.tx(ctx, func(ctx context.Context) error {
		var cur int
		var err error
		a, cur, err = s.Store.LoadActor(ctx, staffID)
		if err != nil {
			if apperr.KindOf(err) == apperr.NotFound {
				return apperr.E(apperr.Unauthenticated, "authz.sign_in", err)
			}
			return err
		}
		if cur != epoch || a.Disabled {
			return apperr.E(apperr.Unauthenticated, "authz.sign_in", errors.New("session ended"))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &a, nil
}

// Me returns the signed-in person's own account.
func (s *Service) Me(ctx context.Context) (Staff, error) {
	a := authz.ActorFrom(ctx)
	if err := authz.SignedIn(a); err != nil {
		return Staff{}, err
	}
	var st Staff
	err := s.tx(ctx, func(ctx context.Context) error {
		var err error
		if st, err = s.Store.FindStaffByID(ctx, a.StaffID); err != nil {
			return err
		}
		st.Assignments, err = s.Store.FindAssignments(ctx, a.StaffID)
		return err
	})
	return st, err
}

// Home is what the signed-in person's home page shows of them: their account, this
// year's duties, and which of the pages they may open it links to.
type Home struct {
	Staff Staff
	// Year is the current school year of the person's school.
	Year int
	// Duties are this school year's duties.
	Duties []Assignment
	// Admin: the console; Board: a board administrator's home, about the board's schools.
	Admin, Board bool
	// ClubAbsences and ClassLists: the club absence page and the class pages (an
	// administrator of a school, or an advisor or a class's teacher this year).
	ClubAbsences, ClassLists bool
	// School is the person's school; a board administrator has Schools instead, the
	// board's.
	School  school.School
	Schools []school.School
	// Alerts are today's 学級閉鎖 alerts of the person's school, for those who may see
	// its figures.
	Alerts absence.Alerts
	// Work is what waits for the person.
	Work worklist.Queue
}

// Home returns the signed-in person's home page.
func (s *Service) Home(ctx context.Context) (Home, error) {
	me, err := s.Me(ctx)
	if err != nil {
		return Home{}, err
	}
	a := authz.ActorFrom(ctx)
	h := Home{Staff: me, Year: a.Year, Admin: a.IsAdmin(), Board: a.SchoolID == 0,
		ClubAbsences: a.Role == authz.SchoolAdmin, ClassLists: a.Role == authz.SchoolAdmin}
	for _, x := range me.Assignments {
		if x.Year != a.Year {
			continue
		}
		h.ClubAbsences = h.ClubAbsences || x.Duty == authz.Advisor
		h.ClassLists = h.ClassLists || x.ClassID != 0
		h.Duties = append(h.Duties, x)
	}
	if !h.Board {
		if h.School, err = s.Schools.Get(ctx, me.SchoolID); err != nil {
			return Home{}, err
		}
	} else if h.Schools, err = s.Schools.Schools(ctx); err != nil {
		return Home{}, err
	}
	if h.Alerts, err = s.Absences.Alerts(ctx); err != nil {
		return Home{}, err
	}
	if h.Work, err = s.Work.Queue(ctx); err != nil {
		return Home{}, err
	}
	return h, nil
}

func trim(s string) string { return strings.TrimSpace(s) }

// FindByID reads an account without authorisation, for the web layer's session
// handling and tests; it returns nothing a page shows.
func (s *Service) FindByID(ctx context.Context, id int64) (Staff, error) {
	var st Staff
	err := s.tx(ctx, func(ctx context.Context) error {
		var err error
		st, err = s.Store.FindStaffByID(ctx, id)
		return err
	})
	return st, err
}

// FindByLogin reads an account by login ID without authorisation, for the command
// line and the dev mode's demo data.
func (s *Service) FindByLogin(ctx context.Context, login string) (Staff, error) {
	var st Staff
	err := s.tx(ctx, func(ctx context.Context) error {
		var err error
		st, _, err = s.Store.FindStaffByLogin(ctx, NormalizeLogin(login))
		return err
	})
	return st, err
}

// DevTOTPSecret returns an account's TOTP secret. Only the dev mode's demo data uses
// it, to show demo administrators their codes; nothing in serve calls it.
func (s *Service) DevTOTPSecret(ctx context.Context, id int64) (string, error) {
	var secret string
	err := s.tx(ctx, func(ctx context.Context) error {
		cr, err := s.Store.FindCredentials(ctx, id)
		secret = cr.TOTPSecret.Reveal()
		return err
	})
	return secret, err
}
