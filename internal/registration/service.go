package registration

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/renraku/renraku/internal/apperr"
	"github.com/renraku/renraku/internal/audit"
	"github.com/renraku/renraku/internal/clock"
	"github.com/renraku/renraku/internal/jobs"
	"github.com/renraku/renraku/internal/line"
	"github.com/renraku/renraku/internal/lineapi"
	"github.com/renraku/renraku/internal/live"
	"github.com/renraku/renraku/internal/parentlink"
	"github.com/renraku/renraku/internal/txn"
	"github.com/renraku/renraku/internal/vault"
)

// Service is registration's use cases.
type Service struct {
	Tx    txn.Transactor
	Store Store
	// Links issues and opens the parents' personal links.
	Links Links
	// Friends finds LINE friends and channels; Outbox sends them messages; IDTokens
	// verifies LIFF's proof of a LINE user.
	Friends  Friends
	Outbox   Outbox
	IDTokens IDTokens
	// Classes opens the classes the class page and the console's codes are about.
	Classes Classes
	// Jobs queues the rich-menu changes a registration brings.
	Jobs  *jobs.Queue
	Audit *audit.Log
	// Live tells open staff pages (and notifications) of registrations that wait for
	// approval and of decisions, in the transaction that makes them.
	Live live.Publisher
	// Key is a keyed PRF (the vault's blind index): it keys the registration-code
	// throttle.
	Key func(domain, value string) ([]byte, error)
	// T translates a message into a language (the LINE messages).
	T func(lang, id string, data map[string]any) string
	// Clock is the service's time (its zero value reads the system time; tests
	// set it on a running app while workers read it).
	Clock clock.Clock
	// Throttle counts class-code guesses per parent.
	Throttle CodeThrottle
	// FontPath is the Japanese TrueType font the code sheets are printed with ("":
	// the first of Debian's, see pdffont).
	FontPath string
}

// CodeThrottle limits class-code guesses: five an hour per parent.
type CodeThrottle interface {
	// TakeCodeGuesses counts n guesses when the parent's count of the window stays
	// within max, atomically, and says whether it did.
	TakeCodeGuesses(ctx context.Context, key []byte, n, max int, at time.Time) (ok bool, err error)
}

// MaxCodeFailures is how many class codes a parent may try in CodeWindow (every code
// tried counts, right or wrong).
const (
	MaxCodeFailures = 5
	CodeWindow      = time.Hour
)

// IssueLink stores a new link of purpose for a friend and returns its URL.
func (s *Service) IssueLink(ctx context.Context, friendID int64, purpose string) (string, error) {
	return s.Links.Issue(ctx, friendID, purpose)
}

func (s *Service) now() time.Time {
	return s.Clock.Now()
}

// Page is what the registration page shows.
type Page struct {
	Visit    parentlink.Visit
	Language string
	// LIFFID is the channel's LIFF app: the page then proves the parent's LINE user with
	// an ID token before anything is saved.
	LIFFID  string
	Choices Choices
	// Guardian is the stored registration (nil before the first).
	Guardian *Guardian
	// Reconsent is true when the stored consent is for an older notice.
	Reconsent bool
}

// Open opens a registration or update link in a browser and returns the page's data.
func (s *Service) Open(ctx context.Context, purpose, token, browser string) (Page, error) {
	var p Page
	err := s.Tx.InTx(ctx, func(ctx context.Context) error {
		v, err := s.Links.Open(ctx, purpose, token, browser)
		if err != nil {
			return err
		}
		f, err := s.Friends.FindFriend(ctx, v.FriendID)
		if err != nil {
			return err
		}
		ch, err := s.Friends.FindChannel(ctx, f.ChannelID)
		if err != nil {
			return err
		}
		p = Page{Visit: v, Language: f.Language, LIFFID: ch.LIFFID}
		if p.Choices, err = s.Store.FindChoices(ctx, f.ChannelID); err != nil {
			return err
		}
		g, err := s.Store.FindGuardianByFriend(ctx, v.FriendID)
		switch {
		case err == nil:
			p.Guardian = &g
			p.Reconsent = g.ConsentVersion < NoticeVersion
			return s.Audit.Record(ctx, audit.Event{Actor: audit.Actor{Kind: audit.Guardian, ID: g.ID}, Action: "registration.view",
				ObjectKind: "guardian", ObjectID: strconv.FormatInt(g.ID, 10), BoardID: ch.BoardID})
		case apperr.KindOf(err) == apperr.NotFound:
			return nil
		}
		return err
	})
	return p, err
}

// Result is what a submitted registration came to.
type Result struct {
	Guardian Guardian
	Verified int
	Pending  int
	First    bool
	// Contested counts the new requests for children who already have a verified
	// guardian: they wait for the school even with a right class code.
	Contested int
}

// Submit stores a registration or its update. A child with a right class code is
// verified at once when no other guardian of the child is verified; the others wait
// for the homeroom teacher, and a child's verified guardians are told in LINE of a
// new registration for the child. A child the guardian dropped from the form is
// unlinked (and deleted when no guardian is left); a child whose class or name changed
// is a new registration and is verified again.
func (s *Service) Submit(ctx context.Context, purpose, token, browser string, f Form) (Result, error) {
	var res Result
	var fields apperr.Fields
	err := s.Tx.InTx(ctx, func(ctx context.Context) error {
		v, err := s.Links.Open(ctx, purpose, token, browser)
		if err != nil {
			return err
		}
		friend, err := s.Friends.FindFriend(ctx, v.FriendID)
		if err != nil {
			return err
		}
		if err := s.requireLIFF(ctx, friend, v); err != nil {
			return err
		}
		choices, err := s.Store.FindChoices(ctx, friend.ChannelID)
		if err != nil {
			return err
		}
		if fields = Check(&f, choices); len(fields) > 0 {
			return fields.Err()
		}
		verified, err := s.checkCodes(ctx, friend.ID, f, fields)
		if err != nil {
			return err
		}
		if len(fields) > 0 {
			return fields.Err()
		}
		res, err = s.save(ctx, friend, f, verified)
		return err
	})
	return res, err
}

// checkCodes compares each child's code with its class's; it fills fields with wrong
// codes and returns which children are verified by their code. Every code of the
// submission is a guess, right or wrong, and all are counted (in a transaction of
// their own, so a refused form still counts them) before any is compared: when they
// would take the parent past the limit, none is compared, none is counted and the
// whole submission is refused. The same code for two children of one class (twins) is
// one guess.
func (s *Service) checkCodes(ctx context.Context, friendID int64, f Form, fields apperr.Fields) (map[int]bool, error) {
	verified := map[int]bool{}
	guesses := map[[2]any]bool{}
	for _, c := range f.Children {
		if c.Code != "" {
			guesses[[2]any{c.ClassID, c.Code}] = true
		}
	}
	if len(guesses) == 0 {
		return verified, nil
	}
	key, err := s.Key("registration.code.v1", strconv.FormatInt(friendID, 10))
	if err != nil {
		return nil, err
	}
	var ok bool
	// Counted in a transaction of its own: the guesses stay counted when the
	// submission is refused.
	err = s.Tx.InNewTx(ctx, func(ctx context.Context) error {
		ok, err = s.Throttle.TakeCodeGuesses(ctx, key, len(guesses), MaxCodeFailures, s.now())
		return err
	})
	if err != nil {
		return nil, err
	}
	if !ok {
		for i, c := range f.Children {
			if c.Code != "" {
				fields.Add("child."+itoa(i)+".code", "reg.child.code.throttled")
			}
		}
		return verified, nil
	}
	for i, c := range f.Children {
		if c.Code == "" {
			continue
		}
		classID, err := s.Store.FindClassByCode(ctx, c.Code)
		if err != nil && apperr.KindOf(err) != apperr.NotFound {
			return nil, err
		}
		if classID != c.ClassID {
			fields.Add("child."+itoa(i)+".code", "reg.child.code.wrong")
			continue
		}
		verified[i] = true
	}
	return verified, nil
}

func (s *Service) save(ctx context.Context, friend line.Friend, f Form, verified map[int]bool) (Result, error) {
	g, err := s.Store.FindGuardianByFriend(ctx, friend.ID)
	first := apperr.KindOf(err) == apperr.NotFound
	if err != nil && !first {
		return Result{}, err
	}
	old := g.Children
	g.FriendID = friend.ID
	g.Name, g.Relationship, g.Nickname = vault.Personal(f.Name), vault.Personal(f.Relationship), vault.Personal(f.Nickname)
	g.Language = friend.Language
	if f.Language != "" {
		g.Language = f.Language
	}
	g.ConsentVersion, g.ConsentedAt = NoticeVersion, s.now()
	if err := s.Store.SaveGuardian(ctx, &g); err != nil {
		return Result{}, err
	}
	res := Result{First: first}
	keep := map[int64]bool{}
	before := map[int64]string{}
	for _, c := range old {
		before[c.GuardianshipID] = c.Status
	}
	for i, c := range f.Children {
		childID, err := s.Store.FindOrCreateChild(ctx, c.SchoolID, c.ClassID, vault.Personal(c.Name))
		if err != nil {
			return Result{}, err
		}
		if err := s.Store.SetChildClubs(ctx, childID, c.ClubIDs); err != nil {
			return Result{}, err
		}
		others, err := s.Store.FindOtherGuardians(ctx, childID, g.ID)
		if err != nil {
			return Result{}, err
		}
		var told []OtherGuardian
		for _, o := range others {
			if o.Status == Verified {
				told = append(told, o)
			}
		}
		// The class code proves only that the parent has the class's letter, not whose
		// parent they are: it verifies a child's first guardian only. A further one
		// waits for the homeroom teacher.
		status, method := Pending, ""
		if verified[i] && len(told) == 0 {
			status, method = Verified, "code"
		}
		gid, err := s.Store.LinkChild(ctx, g.ID, childID, status, method)
		if err != nil {
			return Result{}, err
		}
		keep[gid] = true
		if prev, existed := before[gid]; len(told) > 0 && (!existed || prev == Rejected) {
			// A new request for a child who has a verified guardian: each of them is
			// told, and can say it was not them.
			res.Contested++
			if err := s.tellGuardians(ctx, told, gid, f.Relationship); err != nil {
				return Result{}, err
			}
		}
	}
	var dropped []int64
	for _, c := range old {
		if !keep[c.GuardianshipID] {
			if err := s.Store.UnlinkChild(ctx, c.GuardianshipID); err != nil {
				return Result{}, err
			}
			dropped = append(dropped, c.ID)
		}
	}
	if n, err := s.Store.DeleteOrphans(ctx, dropped); err != nil {
		return Result{}, err
	} else if n > 0 {
		ch, err := s.Friends.FindChannel(ctx, friend.ChannelID)
		if err != nil {
			return Result{}, err
		}
		if err := s.Store.RecordDeletion(ctx, Deletion{BoardID: ch.BoardID, Category: "child", Count: n, Reason: "guardian_update"}); err != nil {
			return Result{}, err
		}
	}
	if g, err = s.Store.FindGuardianByFriend(ctx, friend.ID); err != nil {
		return Result{}, err
	}
	res.Guardian = g
	for _, c := range g.Children {
		switch c.Status {
		case Verified:
			res.Verified++
		case Pending:
			res.Pending++
		}
	}
	action := "registration.update"
	if first {
		action = "registration.create"
	}
	ch, err := s.Friends.FindChannel(ctx, friend.ChannelID)
	if err != nil {
		return Result{}, err
	}
	// A request that now waits for the school (new, or no longer decided): one event
	// per class.
	waiting := map[int64]bool{}
	for _, c := range g.Children {
		if c.Status == Pending && before[c.GuardianshipID] != Pending && !waiting[c.ClassID] {
			waiting[c.ClassID] = true
			if err := s.Live.Publish(ctx, live.Event{Kind: live.Registration, Board: ch.BoardID, School: c.SchoolID, Class: c.ClassID}); err != nil {
				return Result{}, err
			}
		}
	}
	lang := g.Language
	// A parent changing their nickname or a child's club is told of a change, not of a
	// registration.
	done := "reg.line.done_update"
	if first {
		done = "reg.line.done"
	}
	msg := s.T(lang, done, map[string]any{"Verified": res.Verified, "Pending": res.Pending})
	if res.Contested > 0 {
		msg += "\n" + s.T(lang, "reg.line.done_contested", nil)
	}
	if _, err := s.Outbox.Queue(ctx, line.Send{Friend: friend, Purpose: "registration", Messages: []line.Message{{Text: msg}}}); err != nil {
		return Result{}, err
	}
	if first {
		if _, err := s.Jobs.Insert(ctx, line.LinkRichMenuArgs{FriendID: friend.ID, Menu: line.MenuMember}, nil); err != nil {
			return Result{}, fmt.Errorf("registration: link menu: %w", err)
		}
	}
	// Audited last, in the transaction of the work it records.
	if err := s.Audit.Record(ctx, audit.Event{Actor: audit.Actor{Kind: audit.Guardian, ID: g.ID}, Action: action, ObjectKind: "guardian",
		ObjectID: strconv.FormatInt(g.ID, 10), BoardID: ch.BoardID, Detail: map[string]any{"children": len(g.Children), "verified": res.Verified, "pending": res.Pending,
			"contested": res.Contested}}); err != nil {
		return Result{}, err
	}
	return res, nil
}

// Withdraw deletes the guardian and their children's registrations (children no other
// guardian registered are deleted too), writes the deletion records, tells the parent
// in LINE and gives back the guest menu. The LINE friendship stays.
func (s *Service) Withdraw(ctx context.Context, token, browser string) error {
	return s.Tx.InTx(ctx, func(ctx context.Context) error {
		v, err := s.Links.Open(ctx, parentlink.PurposeUpdate, token, browser)
		if err != nil {
			return err
		}
		friend, err := s.Friends.FindFriend(ctx, v.FriendID)
		if err != nil {
			return err
		}
		if err := s.requireLIFF(ctx, friend, v); err != nil {
			return err
		}
		g, err := s.Store.FindGuardianByFriend(ctx, v.FriendID)
		if err != nil {
			return err
		}
		var children []int64
		for _, c := range g.Children {
			children = append(children, c.ID)
		}
		convs, err := s.Store.CountConversations(ctx, g.ID)
		if err != nil {
			return err
		}
		// Survey answers they gave for a child another guardian keeps registered would
		// outlive them (the unit is the child's): they are wiped first. Their family
		// units and their recipients go with them by cascade.
		answers, err := s.Store.WipeSurveyAnswers(ctx, g.ID)
		if err != nil {
			return err
		}
		if err := s.Store.DeleteGuardian(ctx, g.ID); err != nil {
			return err
		}
		n, err := s.Store.DeleteOrphans(ctx, children)
		if err != nil {
			return err
		}
		ch, err := s.Friends.FindChannel(ctx, friend.ChannelID)
		if err != nil {
			return err
		}
		copies, err := s.Outbox.WipeOutbound(ctx, friend.ID)
		if err != nil {
			return err
		}
		// Records go under the school when the parent's children were all in one (a
		// channel may serve several schools).
		var schoolID int64
		for i, c := range g.Children {
			if i == 0 {
				schoolID = c.SchoolID
			} else if c.SchoolID != schoolID {
				schoolID = 0
				break
			}
		}
		for _, d := range []Deletion{{BoardID: ch.BoardID, Category: "guardian", Count: 1, Reason: "withdrawal"},
			{BoardID: ch.BoardID, Category: "child", Count: n, Reason: "withdrawal"},
			{BoardID: ch.BoardID, Category: "guardianship", Count: len(children), Reason: "withdrawal"},
			{BoardID: ch.BoardID, Category: "line_copy", Count: copies, Reason: "withdrawal"},
			{BoardID: ch.BoardID, Category: "conversation", Count: convs, Reason: "withdrawal"},
			{BoardID: ch.BoardID, Category: "survey_answer", Count: answers, Reason: "withdrawal"}} {
			if d.Category == "survey_answer" && d.Count == 0 {
				continue // only a parent who answered a survey has this record
			}
			d.SchoolID = schoolID
			if err := s.Store.RecordDeletion(ctx, d); err != nil {
				return err
			}
		}
		if _, err := s.Outbox.Queue(ctx, line.Send{Friend: friend, Purpose: "registration", Messages: []line.Message{{Text: s.T(g.Language, "reg.line.withdrawn", nil)}}}); err != nil {
			return err
		}
		if _, err := s.Jobs.Insert(ctx, line.LinkRichMenuArgs{FriendID: friend.ID, Menu: line.MenuGuest}, nil); err != nil {
			return err
		}
		// Audited last, in the transaction of the work it records.
		return s.Audit.Record(ctx, audit.Event{Actor: audit.Actor{Kind: audit.Guardian, ID: g.ID}, Action: "registration.withdraw",
			ObjectKind: "guardian", ObjectID: strconv.FormatInt(g.ID, 10), BoardID: ch.BoardID, Detail: map[string]any{"children_deleted": n}})
	})
}

var errLIFFRequired = apperr.E(apperr.Forbidden, "reg.liff.required", errors.New("LIFF verification required"))

// RequireLIFF refuses a change through a parent link of a channel with a LIFF app
// until LIFF has proved the browser's LINE user (features with their own pages use it).
func (s *Service) RequireLIFF(ctx context.Context, f line.Friend, v parentlink.Visit) error {
	return s.requireLIFF(ctx, f, v)
}

func (s *Service) requireLIFF(ctx context.Context, f line.Friend, v parentlink.Visit) error {
	ch, err := s.Friends.FindChannel(ctx, f.ChannelID)
	if err != nil {
		return err
	}
	if ch.LIFFID != "" && !v.LIFFVerified {
		return errLIFFRequired
	}
	return nil
}

// VerifyLIFF checks a LIFF ID token at LINE: when it names the link's LINE user, the
// link is bound to this browser (even if another one opened it first) and marked as
// proved; a token of anyone else is refused.
func (s *Service) VerifyLIFF(ctx context.Context, purpose, token, idToken string) (parentlink.Visit, error) {
	var v parentlink.Visit
	var ch line.Channel
	var friend line.Friend
	err := s.Tx.InTx(ctx, func(ctx context.Context) error {
		// No browser check here: LIFF is the stronger proof.
		l, err := s.Links.Find(ctx, purpose, token)
		if err != nil {
			return err
		}
		if friend, err = s.Friends.FindFriend(ctx, l.FriendID); err != nil {
			return err
		}
		ch, err = s.Friends.FindChannel(ctx, friend.ChannelID)
		v = parentlink.Visit{FriendID: l.FriendID, Purpose: purpose}
		return err
	})
	if err != nil {
		return parentlink.Visit{}, err
	}
	sub, err := s.verifyIDToken(ctx, ch, idToken)
	if err != nil {
		return parentlink.Visit{}, err
	}
	if sub != friend.UserID.Reveal() {
		return parentlink.Visit{}, apperr.E(apperr.Forbidden, "reg.liff.refused", errors.New("ID token of another LINE user"))
	}
	v.NewBrowser, v.LIFFVerified = true, true
	v.Browser, err = s.Links.Prove(ctx, purpose, token)
	return v, err
}

// verifyIDToken checks a LIFF ID token at LINE for a channel's LINE Login channel and
// returns the LINE user it names.
func (s *Service) verifyIDToken(ctx context.Context, ch line.Channel, idToken string) (string, error) {
	if ch.LoginChannelID == "" {
		return "", apperr.E(apperr.Invalid, "reg.liff.not_configured", errors.New("channel has no LINE Login channel"))
	}
	sub, err := s.IDTokens.VerifyIDToken(ctx, ch.LoginChannelID, idToken)
	if err != nil {
		var ae *lineapi.APIError
		if errors.As(err, &ae) && ae.Status == 400 || errors.Is(err, lineapi.ErrIDTokenNotProved) {
			return "", apperr.E(apperr.Forbidden, "reg.liff.refused", err)
		}
		// LINE failed (down, throttling, an answer that is not its JSON): not the
		// parent's fault, and worth another try.
		return "", apperr.E(apperr.Unavailable, "reg.liff.unavailable", err)
	}
	return sub, nil
}

// LIFFFor returns the LIFF app of a valid link's channel ("" when it has none), so a
// browser refused as foreign can still prove its LINE user.
func (s *Service) LIFFFor(ctx context.Context, purpose, token string) (string, error) {
	var id string
	err := s.Tx.InTx(ctx, func(ctx context.Context) error {
		l, err := s.Links.Find(ctx, purpose, token)
		if err != nil {
			return err
		}
		f, err := s.Friends.FindFriend(ctx, l.FriendID)
		if err != nil {
			return err
		}
		ch, err := s.Friends.FindChannel(ctx, f.ChannelID)
		id = ch.LIFFID
		return err
	})
	return id, err
}
