package announce

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/sync/errgroup"

	"github.com/renraku/renraku/internal/apperr"
	"github.com/renraku/renraku/internal/audit"
	"github.com/renraku/renraku/internal/authz"
	"github.com/renraku/renraku/internal/clock"
	"github.com/renraku/renraku/internal/files"
	"github.com/renraku/renraku/internal/jobs"
	"github.com/renraku/renraku/internal/lineapi"
	"github.com/renraku/renraku/internal/live"
	"github.com/renraku/renraku/internal/school"
	"github.com/renraku/renraku/internal/txn"
	"github.com/renraku/renraku/internal/vault"
)

// Service is announcements' use cases.
type Service struct {
	Tx          txn.Transactor
	Store       Store
	Scopes      ScopeStore
	Files       files.Store
	Guardians   Guardians
	Links       Links
	Channels    Channels
	Outbox      Outbox
	Broadcaster Broadcaster
	// Surveys counts a parent's open surveys for 配布プリント's reply (nil: none offered).
	Surveys OpenSurveys
	// Jobs queues the deliveries' jobs.
	Jobs *jobs.Queue
	// Live tells open staff pages (and notifications) that a delivery finished, in
	// the transaction that finishes it.
	Live  live.Publisher
	Audit *audit.Log
	// T translates a LINE message into a language.
	T func(lang, id string, data map[string]any) string
	// Clock is the service's time (its zero value reads the system time; tests
	// set it on a running app while workers read it).
	Clock clock.Clock
	// BatchSize is the recipients per multicast (LINE's limit, 500, unless a test
	// lowers it).
	BatchSize int
}

func (s *Service) now() time.Time {
	return s.Clock.Now().In(school.Tokyo)
}

func (s *Service) batchSize() int {
	if s.BatchSize > 0 && s.BatchSize <= lineapi.MaxMulticastRecipients {
		return s.BatchSize
	}
	return lineapi.MaxMulticastRecipients
}

// ScopeStore reads what authorisation of an audience needs from stored records.
type ScopeStore interface {
	// FindSchoolScope returns a school's board and current year.
	FindSchoolScope(ctx context.Context, schoolID int64) (boardID int64, year int, err error)
	// FindClassScopes and FindClubScopes return the school and year of each class or
	// club (missing ones are left out).
	FindClassScopes(ctx context.Context, ids []int64) ([]Scope, error)
	FindClubScopes(ctx context.Context, ids []int64) ([]Scope, error)
	// CountBoardSchools counts which of ids are schools of the board.
	CountBoardSchools(ctx context.Context, boardID int64, ids []int64) (int, error)
	FindOptions(ctx context.Context, boardID, schoolID int64) (Options, error)
}

// Scope is where a class or club belongs.
type Scope struct {
	ID       int64
	SchoolID int64
	Year     int
}

// Options are the audiences a person may choose from.
type Options struct {
	Board      bool
	Schools    []Choice
	Districts  []string
	SchoolID   int64
	SchoolName string
	// CanSchool: the whole school, its grades and safety alerts.
	CanSchool bool
	Grades    []int
	Classes   []Choice
	Clubs     []Choice
	MaxBytes  int
}

// Choice is a school, class or club to choose.
type Choice struct {
	ID    int64
	Label string
	Year  int
}

// ComposeOptions returns the audiences the signed-in person may address with an
// announcement of kind (anything but a safety alert is a notice). A safety alert is
// refused to those who may send none: they need the whole school or the board.
func (s *Service) ComposeOptions(ctx context.Context, kind string) (Options, error) {
	o, err := s.Options(ctx)
	if err != nil {
		return o, err
	}
	if kind == Safety && !o.Board && !o.CanSchool {
		return o, apperr.E(apperr.Forbidden, "authz.forbidden", errors.New("safety alerts need an administrator"))
	}
	return o, nil
}

// Compose is ComposeOptions for the page that starts a new announcement, which is
// refused to a person with no audience to address at all.
func (s *Service) Compose(ctx context.Context, kind string) (Options, error) {
	o, err := s.ComposeOptions(ctx, kind)
	if err == nil && kind != Safety && !o.Board && !o.CanSchool && len(o.Classes) == 0 && len(o.Clubs) == 0 {
		err = apperr.E(apperr.Forbidden, "authz.forbidden", errors.New("no audience to address"))
	}
	return o, err
}

// Options returns the audiences the signed-in person may address.
func (s *Service) Options(ctx context.Context) (Options, error) {
	a := authz.ActorFrom(ctx)
	if err := authz.SignedIn(a); err != nil {
		return Options{}, err
	}
	var o Options
	err := s.Tx.InTx(ctx, func(ctx context.Context) error {
		all, err := s.Scopes.FindOptions(ctx, a.BoardID, a.SchoolID)
		if err != nil {
			return err
		}
		o = Options{SchoolID: all.SchoolID, SchoolName: all.SchoolName, MaxBytes: all.MaxBytes}
		if a.SchoolID == 0 {
			if authz.Check(a, authz.AnnounceBoard, authz.Target{BoardID: a.BoardID}) == nil {
				o.Board, o.Schools, o.Districts = true, all.Schools, all.Districts
			}
			return nil
		}
		t := authz.Target{BoardID: a.BoardID, SchoolID: a.SchoolID, Year: a.Year}
		if authz.Check(a, authz.AnnounceSchool, t) == nil {
			o.CanSchool, o.Grades = true, all.Grades
		}
		for _, c := range all.Classes {
			t.ClassID, t.ClubID, t.Year = c.ID, 0, c.Year
			if authz.Check(a, authz.AnnounceClass, t) == nil {
				o.Classes = append(o.Classes, c)
			}
		}
		for _, c := range all.Clubs {
			t.ClassID, t.ClubID, t.Year = 0, c.ID, c.Year
			if authz.Check(a, authz.AnnounceClub, t) == nil {
				o.Clubs = append(o.Clubs, c)
			}
		}
		return nil
	})
	return o, err
}

// authorize checks that the actor may address every part of an audience (built from
// stored records: the classes' and clubs' own schools and years) and returns its board.
// Reading an announcement (past) allows classes and clubs of a year that has ended: the
// record of what was sent stays readable after the year rollover.
func (s *Service) authorize(ctx context.Context, a *authz.Actor, au Audience, kind string, past bool) (int64, error) {
	if err := authz.SignedIn(a); err != nil {
		return 0, err
	}
	if au.SchoolID == 0 {
		if err := authz.Check(a, authz.AnnounceBoard, authz.Target{BoardID: a.BoardID}); err != nil {
			return 0, err
		}
		if au.Whole || len(au.Grades) > 0 || len(au.Classes) > 0 || len(au.Clubs) > 0 {
			return 0, apperr.Fields{"audience": "announce.audience.invalid"}.Err()
		}
		n, err := s.Scopes.CountBoardSchools(ctx, a.BoardID, au.Schools)
		if err != nil {
			return 0, err
		}
		if n != len(au.Schools) {
			return 0, apperr.E(apperr.NotFound, "error.not_found.title", errors.New("school of another board"))
		}
		return a.BoardID, nil
	}
	if len(au.Schools) > 0 || len(au.Districts) > 0 {
		return 0, apperr.Fields{"audience": "announce.audience.invalid"}.Err()
	}
	boardID, year, err := s.Scopes.FindSchoolScope(ctx, au.SchoolID)
	if err != nil {
		return 0, err
	}
	base := authz.Target{BoardID: boardID, SchoolID: au.SchoolID, Year: year}
	if err := authz.Check(a, authz.ViewSchool, base); err != nil {
		return 0, apperr.E(apperr.NotFound, "error.not_found.title", err)
	}
	if au.Whole || len(au.Grades) > 0 || kind == Safety {
		if err := authz.Check(a, authz.AnnounceSchool, base); err != nil {
			return 0, err
		}
	}
	classes, err := s.Scopes.FindClassScopes(ctx, au.Classes)
	if err != nil {
		return 0, err
	}
	clubs, err := s.Scopes.FindClubScopes(ctx, au.Clubs)
	if err != nil {
		return 0, err
	}
	if len(classes) != len(au.Classes) || len(clubs) != len(au.Clubs) {
		return 0, apperr.E(apperr.NotFound, "error.not_found.title", errors.New("unknown class or club"))
	}
	for _, c := range classes {
		t := base
		t.ClassID = c.ID
		if err := checkScope(a, authz.AnnounceClass, t, c, year, past); err != nil {
			return 0, err
		}
	}
	for _, c := range clubs {
		t := base
		t.ClubID = c.ID
		if err := checkScope(a, authz.AnnounceClub, t, c, year, past); err != nil {
			return 0, err
		}
	}
	return boardID, nil
}

// checkScope checks one class or club of a school's audience: of that school (else not
// found), of its current year (or, reading the past, an earlier one: then only those
// who see the whole school may), and the actor's to address.
func checkScope(a *authz.Actor, act authz.Action, t authz.Target, c Scope, year int, past bool) error {
	if c.SchoolID != t.SchoolID {
		return apperr.E(apperr.NotFound, "error.not_found.title", errors.New("class or club of another school"))
	}
	if c.Year != year {
		if past && c.Year < year {
			return authz.Check(a, authz.AnnounceSchool, t)
		}
		return apperr.Fields{"audience": "announce.audience.invalid"}.Err()
	}
	return authz.Check(a, act, t)
}

// Create checks and stores a new announcement as a draft (nothing is sent yet) with its
// handouts, and returns its ID.
func (s *Service) Create(ctx context.Context, c Compose, label string) (int64, error) {
	a := authz.ActorFrom(ctx)
	var id int64
	var stored []string
	err := s.Tx.InTx(ctx, func(ctx context.Context) error {
		boardID, err := s.authorize(ctx, a, c.Audience, c.Kind, false)
		if err != nil {
			return err
		}
		maxBytes, err := s.Store.MaxHandoutBytes(ctx, boardID)
		if err != nil {
			return err
		}
		title, body, err := s.check(&c, maxBytes, 0)
		if err != nil {
			return err
		}
		names, err := s.Store.FindChildNames(ctx, boardID, c.Audience)
		if err != nil {
			return err
		}
		namesChild := NamesChild(title+"\n"+body, names)
		if namesChild && !c.Consent {
			return apperr.Fields{"consent": "announce.consent.required"}.Err()
		}
		an := Announcement{BoardID: boardID, SchoolID: c.Audience.SchoolID, Kind: c.Kind, Audience: c.Audience, AudienceLabel: label,
			Title: vault.Personal(title), Body: vault.Personal(body), NamesChild: namesChild, Consent: c.Consent && namesChild,
			State: Draft, ScheduledAt: c.ScheduledAt, CreatedBy: a.StaffID}
		if err := s.Store.CreateAnnouncement(ctx, &an); err != nil {
			return err
		}
		id = an.ID
		for i, f := range c.Files {
			h := Handout{Position: i + 1, Name: vault.Personal(f.Name), Size: len(f.Data), Key: files.NewKey("handout")}
			if err := s.Files.Put(ctx, h.Key, f.Data); err != nil {
				return err
			}
			stored = append(stored, h.Key)
			sum := sha256.Sum256(f.Data)
			if err := s.Store.CreateHandout(ctx, id, &h, sum[:]); err != nil {
				return err
			}
		}
		return s.Audit.Record(ctx, audit.Event{Actor: audit.Actor{Kind: audit.Staff, ID: a.StaffID}, Action: "announcement.create",
			ObjectKind: "announcement", ObjectID: strconv.FormatInt(id, 10), BoardID: boardID, SchoolID: c.Audience.SchoolID,
			Detail: map[string]any{"kind": c.Kind, "handouts": len(c.Files), "names_child": namesChild}})
	})
	if err != nil {
		for _, k := range stored {
			_ = s.Files.Delete(context.WithoutCancel(ctx), k)
		}
	}
	return id, err
}

// check normalises and validates what the sender wrote and returns the title and body
// as they will be sent. kept is how many stored handouts stay beside the new files.
func (s *Service) check(c *Compose, maxBytes, kept int) (string, string, error) {
	f := apperr.Fields{}
	if c.Kind != Notice && c.Kind != Safety {
		f.Add("kind", "announce.kind.invalid")
	}
	title := strings.TrimSpace(c.Title)
	switch {
	case title == "":
		f.Add("title", "announce.title.required")
	case utf8.RuneCountInString(title) > MaxTitle:
		f.Add("title", "announce.title.too_long")
	}
	body := strings.TrimSpace(c.Body)
	if c.Kind == Safety {
		sf := &c.Safety
		for name, v := range map[string]*string{"occurred_at": &sf.OccurredAt, "place": &sf.Place, "details": &sf.Details, "response": &sf.Response} {
			*v = strings.TrimSpace(*v)
			switch {
			case *v == "":
				f.Add(name, "announce.safety.required")
			case utf8.RuneCountInString(*v) > MaxSafetyField:
				f.Add(name, "announce.safety.too_long")
			}
		}
		body = SafetyBody(s.T, *sf)
		if c.Body = strings.TrimSpace(c.Body); c.Body != "" {
			body += "\n\n" + c.Body
		}
	}
	switch {
	case body == "":
		f.Add("body", "announce.body.required")
	case lineapi.UTF16Len(body) > MaxBody:
		f.Add("body", "announce.body.too_long")
	}
	if c.Audience.Empty() {
		f.Add("audience", "announce.audience.empty")
	}
	if !c.ScheduledAt.IsZero() {
		now := s.now()
		switch {
		case !c.ScheduledAt.After(now):
			f.Add("scheduled_at", "announce.schedule.past")
		case c.ScheduledAt.After(now.Add(MaxSchedule)):
			f.Add("scheduled_at", "announce.schedule.too_far")
		}
	}
	if kept+len(c.Files) > MaxHandouts {
		f.Add("files", "announce.files.too_many")
	}
	for i := range c.Files {
		u := &c.Files[i]
		u.Name = cleanName(u.Name)
		switch {
		case len(u.Data) > maxBytes:
			f.Add("files", "announce.file.too_large")
		case !IsPDF(u.Data):
			f.Add("files", "announce.file.not_pdf")
		}
	}
	return title, body, f.Err()
}

// SafetyBody lays out a safety alert's template (発生日時・場所・内容・対応) in Japanese, the
// language every school's alert is written in.
func SafetyBody(t func(lang, id string, data map[string]any) string, f SafetyFields) string {
	return t("ja", "announce.safety.occurred_at", nil) + "：" + f.OccurredAt + "\n" +
		t("ja", "announce.safety.place", nil) + "：" + f.Place + "\n" +
		t("ja", "announce.safety.details", nil) + "：" + f.Details + "\n" +
		t("ja", "announce.safety.response", nil) + "：" + f.Response
}

// cleanName keeps a file name's last element, at most 80 characters, with .pdf.
func cleanName(n string) string {
	n = path.Base(strings.ReplaceAll(strings.TrimSpace(n), `\`, "/"))
	n = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || r == '"' {
			return -1
		}
		return r
	}, n)
	if n == "." || n == "/" || n == "" {
		n = "handout.pdf"
	}
	if r := []rune(n); len(r) > 80 {
		n = string(r[:76]) + ".pdf"
	}
	if !strings.HasSuffix(strings.ToLower(n), ".pdf") {
		n += ".pdf"
	}
	return n
}

// IsPDF reports whether data is a PDF file: the "%PDF-" header within the first 1,024
// bytes and the "%%EOF" marker within the last 1,024, as PDF readers require. A file
// renamed to .pdf is refused by its contents, not its name.
func IsPDF(data []byte) bool {
	head := data[:min(len(data), 1024)]
	i := bytes.Index(head, []byte("%PDF-1."))
	if i < 0 {
		i = bytes.Index(head, []byte("%PDF-2."))
	}
	if i < 0 {
		return false
	}
	tail := data[max(0, len(data)-1024):]
	return bytes.Contains(tail, []byte("%%EOF"))
}

// NamesChild reports whether text contains the full name of one of the children (spaces
// ignored): such a text may only be sent with consent (seed 001).
func NamesChild(text string, names []vault.Personal) bool {
	norm := func(s string) string {
		return strings.Map(func(r rune) rune {
			if r == ' ' || r == '　' || r == '\t' || r == '\n' || r == '\r' {
				return -1
			}
			return r
		}, s)
	}
	t := norm(text)
	for _, n := range names {
		if v := norm(n.Reveal()); utf8.RuneCountInString(v) >= 2 && strings.Contains(t, v) {
			return true
		}
	}
	return false
}

// visible loads an announcement the actor may see (the same check as sending it; read,
// one addressed in an earlier school year too); one of another board or school is not
// found.
func (s *Service) visible(ctx context.Context, id int64, read bool) (*authz.Actor, Announcement, error) {
	a := authz.ActorFrom(ctx)
	if err := authz.SignedIn(a); err != nil {
		return nil, Announcement{}, err
	}
	an, err := s.Store.FindAnnouncement(ctx, id)
	if err != nil {
		return nil, an, err
	}
	if an.BoardID != a.BoardID || (a.SchoolID != 0 && an.SchoolID != a.SchoolID) {
		return nil, an, apperr.E(apperr.NotFound, "error.not_found.title", errors.New("announcement of another school"))
	}
	if _, err := s.authorize(ctx, a, an.Audience, an.Kind, read); err != nil {
		if apperr.KindOf(err) == apperr.Invalid {
			return nil, an, apperr.E(apperr.Forbidden, "authz.forbidden", err)
		}
		return nil, an, err
	}
	return a, an, nil
}

// Get returns an announcement the actor may see, with its figures.
func (s *Service) Get(ctx context.Context, id int64) (Announcement, error) {
	var an Announcement
	err := s.Tx.InTx(ctx, func(ctx context.Context) error {
		var err error
		_, an, err = s.visible(ctx, id, true)
		return err
	})
	return an, err
}

// View returns an announcement for its page and audits the view (its text may name a
// child, and its figures are about families).
func (s *Service) View(ctx context.Context, id int64) (Announcement, error) {
	var an Announcement
	err := s.Tx.InTx(ctx, func(ctx context.Context) error {
		a, got, err := s.visible(ctx, id, true)
		if err != nil {
			return err
		}
		an = got
		return s.Audit.Record(ctx, audit.Event{Actor: audit.Actor{Kind: audit.Staff, ID: a.StaffID}, Action: "announcement.view",
			ObjectKind: "announcement", ObjectID: strconv.FormatInt(id, 10), BoardID: an.BoardID, SchoolID: an.SchoolID})
	})
	return an, err
}

// List returns the announcements of the actor's school (or board) that they may see,
// newest first.
func (s *Service) List(ctx context.Context) ([]Announcement, error) {
	a := authz.ActorFrom(ctx)
	if err := authz.SignedIn(a); err != nil {
		return nil, err
	}
	var out []Announcement
	err := s.Tx.InTx(ctx, func(ctx context.Context) error {
		all, err := s.Store.FindAnnouncements(ctx, a.BoardID, a.SchoolID, 200)
		if err != nil {
			return err
		}
		for _, an := range all {
			if _, err := s.authorize(ctx, a, an.Audience, an.Kind, true); err == nil {
				out = append(out, an)
			}
		}
		return s.Audit.Record(ctx, audit.Event{Actor: audit.Actor{Kind: audit.Staff, ID: a.StaffID}, Action: "announcement.list_view",
			BoardID: a.BoardID, SchoolID: a.SchoolID, Detail: map[string]any{"rows": len(out)}})
	})
	return out, err
}

// Preview is what the sender sees before sending: the reach per channel and whether a
// channel's monthly quota would run out.
type Preview struct {
	Guardians int
	// OverQuota lists channels whose remaining monthly messages are fewer than the
	// guardians they would send to.
	OverQuota []QuotaShort
}

// QuotaShort is a channel that would run out of monthly messages.
type QuotaShort struct {
	ChannelID       int64
	Needed, Remains int64
}

// Preview counts whom an announcement would reach now and checks the channels' quota.
func (s *Service) Preview(ctx context.Context, id int64) (Preview, error) {
	var p Preview
	var reach []Reach
	err := s.Tx.InTx(ctx, func(ctx context.Context) error {
		_, an, err := s.visible(ctx, id, false)
		if err != nil {
			return err
		}
		reach, err = s.Store.CountReach(ctx, an.BoardID, an.Audience)
		return err
	})
	if err != nil {
		return p, err
	}
	p.Guardians, p.OverQuota, err = Shortfalls(ctx, reach, s.Channels, s.Broadcaster)
	return p, err
}

// QuotaReader reads what a channel may still send this month (lineapi.Client).
type QuotaReader interface {
	Quota(ctx context.Context, ch lineapi.Channel) (lineapi.Quota, error)
}

// quotaReads is how many channels' quotas Shortfalls reads at once: a city-wide send
// covers tens of channels, two calls to LINE each, which one after the other would
// keep the sender waiting for seconds.
const quotaReads = 8

// Shortfalls adds up the guardians a send reaches and lists the channels whose
// remaining monthly messages are fewer than the guardians they would send to, in the
// order of reach. The check is a courtesy (LINE refuses over-quota sends anyway): a
// channel whose quota cannot be read is passed over.
func Shortfalls(ctx context.Context, reach []Reach, channels Channels, quotas QuotaReader) (int, []QuotaShort, error) {
	total := 0
	// The channels are read first, one after the other (the caller's transaction, if
	// any, is one connection); only the calls to LINE run side by side.
	apis := make([]lineapi.Channel, len(reach))
	for i, r := range reach {
		total += r.Guardians
		ch, err := channels.FindChannel(ctx, r.ChannelID)
		if err != nil {
			return total, nil, err
		}
		apis[i] = ch.API()
	}
	shorts := make([]*QuotaShort, len(reach))
	var g errgroup.Group
	g.SetLimit(quotaReads)
	for i, r := range reach {
		g.Go(func() error {
			q, err := quotas.Quota(ctx, apis[i])
			if err != nil {
				return nil
			}
			if q.Limited && q.Limit-q.Used < int64(r.Guardians) {
				shorts[i] = &QuotaShort{ChannelID: r.ChannelID, Needed: int64(r.Guardians), Remains: max(0, q.Limit-q.Used)}
			}
			return nil
		})
	}
	_ = g.Wait() // a quota that cannot be read is passed over
	var short []QuotaShort
	for _, q := range shorts {
		if q != nil {
			short = append(short, *q)
		}
	}
	return total, short, nil
}

// Send confirms a draft: it is sent now, or at its scheduled time, which it returns
// (zero for a send now). When a channel's quota would run out the sender must confirm
// that they know (quotaOK).
func (s *Service) Send(ctx context.Context, id int64, quotaOK bool) (time.Time, error) {
	p, err := s.Preview(ctx, id)
	if err != nil {
		return time.Time{}, err
	}
	if len(p.OverQuota) > 0 && !quotaOK {
		return time.Time{}, apperr.Fields{"quota_ok": "announce.quota.confirm"}.Err()
	}
	var scheduled time.Time
	err = s.Tx.InTx(ctx, func(ctx context.Context) error {
		a, an, err := s.visible(ctx, id, false)
		if err != nil {
			return err
		}
		state, err := s.Store.LockState(ctx, id)
		if err != nil {
			return err
		}
		if state != Draft {
			return apperr.E(apperr.Conflict, "announce.state.not_draft", errors.New("not a draft"))
		}
		at := an.ScheduledAt
		if at.IsZero() {
			at = s.now()
		} else if !at.After(s.now()) {
			return apperr.Fields{"scheduled_at": "announce.schedule.past"}.Err()
		}
		// Only a send the sender scheduled keeps a time; one for now has none.
		scheduled = an.ScheduledAt
		if err := s.Store.SetState(ctx, id, Scheduled, an.ScheduledAt); err != nil {
			return err
		}
		if err := s.enqueueStart(ctx, an, at); err != nil {
			return err
		}
		return s.Audit.Record(ctx, audit.Event{Actor: audit.Actor{Kind: audit.Staff, ID: a.StaffID}, Action: "announcement.send",
			ObjectKind: "announcement", ObjectID: strconv.FormatInt(id, 10), BoardID: an.BoardID, SchoolID: an.SchoolID,
			Detail: map[string]any{"kind": an.Kind, "guardians": p.Guardians, "scheduled": !an.ScheduledAt.IsZero()}})
	})
	if err != nil {
		return time.Time{}, err
	}
	return scheduled, nil
}

// Cancel stops a scheduled announcement before it starts, or deletes a draft.
func (s *Service) Cancel(ctx context.Context, id int64) error {
	var keys []string
	err := s.Tx.InTx(ctx, func(ctx context.Context) error {
		a, an, err := s.visible(ctx, id, false)
		if err != nil {
			return err
		}
		state, err := s.Store.LockState(ctx, id)
		if err != nil {
			return err
		}
		action := "announcement.cancel"
		switch state {
		case Scheduled:
			err = s.Store.SetState(ctx, id, Cancelled, an.ScheduledAt)
		case Draft:
			action = "announcement.delete"
			for _, h := range an.Handouts {
				keys = append(keys, h.Key)
			}
			err = s.Store.DeleteAnnouncement(ctx, id)
		default:
			return apperr.E(apperr.Conflict, "announce.state.started", errors.New("already started"))
		}
		if err != nil {
			return err
		}
		return s.Audit.Record(ctx, audit.Event{Actor: audit.Actor{Kind: audit.Staff, ID: a.StaffID}, Action: action,
			ObjectKind: "announcement", ObjectID: strconv.FormatInt(id, 10), BoardID: an.BoardID, SchoolID: an.SchoolID})
	})
	if err == nil {
		for _, k := range keys {
			_ = s.Files.Delete(ctx, k)
		}
	}
	return err
}

// Retry sends the failed batches of an announcement again, each with its own retry key:
// a recipient LINE had in fact reached is not reached twice.
func (s *Service) Retry(ctx context.Context, id int64) error {
	return s.Tx.InTx(ctx, func(ctx context.Context) error {
		a, an, err := s.visible(ctx, id, false)
		if err != nil {
			return err
		}
		if _, err := s.Store.LockState(ctx, id); err != nil {
			return err
		}
		batches, err := s.Store.RequeueFailed(ctx, id)
		if err != nil {
			return err
		}
		if len(batches) == 0 {
			return apperr.E(apperr.Conflict, "announce.retry.none", errors.New("no failed batch"))
		}
		if err := s.Store.SetState(ctx, id, Sending, an.ScheduledAt); err != nil {
			return err
		}
		if err := s.enqueueBatches(ctx, an, batches); err != nil {
			return err
		}
		return s.Audit.Record(ctx, audit.Event{Actor: audit.Actor{Kind: audit.Staff, ID: a.StaffID}, Action: "announcement.retry",
			ObjectKind: "announcement", ObjectID: strconv.FormatInt(id, 10), BoardID: an.BoardID, SchoolID: an.SchoolID,
			Detail: map[string]any{"batches": len(batches)}})
	})
}

// Recipients lists who has not opened an announcement ("unread") or whose delivery
// failed ("failed"), by nickname and children, to follow up. The view is audited.
func (s *Service) Recipients(ctx context.Context, id int64, which string) ([]Recipient, error) {
	if !slices.Contains([]string{"unread", "failed"}, which) {
		return nil, apperr.E(apperr.NotFound, "error.not_found.title", errors.New("unknown list"))
	}
	var out []Recipient
	err := s.Tx.InTx(ctx, func(ctx context.Context) error {
		a, an, err := s.visible(ctx, id, true)
		if err != nil {
			return err
		}
		if out, err = s.Store.FindRecipients(ctx, id, which); err != nil {
			return err
		}
		return s.Audit.Record(ctx, audit.Event{Actor: audit.Actor{Kind: audit.Staff, ID: a.StaffID}, Action: "announcement.recipients_view",
			ObjectKind: "announcement", ObjectID: strconv.FormatInt(id, 10), BoardID: an.BoardID, SchoolID: an.SchoolID,
			Detail: map[string]any{"list": which, "rows": len(out)}})
	})
	return out, err
}

// Handout returns a handout of an announcement the actor may see.
func (s *Service) Handout(ctx context.Context, id, handoutID int64) (Handout, []byte, error) {
	an, err := s.Get(ctx, id)
	if err != nil {
		return Handout{}, nil, err
	}
	for _, h := range an.Handouts {
		if h.ID == handoutID {
			data, err := s.Files.Get(ctx, h.Key)
			if err != nil {
				return h, nil, err
			}
			a := authz.ActorFrom(ctx)
			return h, data, s.Tx.InTx(ctx, func(ctx context.Context) error {
				return s.Audit.Record(ctx, audit.Event{Actor: audit.Actor{Kind: audit.Staff, ID: a.StaffID}, Action: "handout.view",
					ObjectKind: "handout", ObjectID: strconv.FormatInt(h.ID, 10), BoardID: an.BoardID, SchoolID: an.SchoolID})
			})
		}
	}
	return Handout{}, nil, apperr.E(apperr.NotFound, "error.not_found.title", errors.New("no such handout"))
}

// MaxHandoutMB returns the board's handout size limit in megabytes.
func (s *Service) MaxHandoutMB(ctx context.Context) (int, error) {
	a := authz.ActorFrom(ctx)
	if err := authz.SignedIn(a); err != nil {
		return 0, err
	}
	var n int
	err := s.Tx.InTx(ctx, func(ctx context.Context) error {
		var err error
		n, err = s.Store.MaxHandoutBytes(ctx, a.BoardID)
		return err
	})
	return n >> 20, err
}

// SetMaxHandoutMB sets the board's handout size limit (1–50 MB).
func (s *Service) SetMaxHandoutMB(ctx context.Context, mb int) error {
	a := authz.ActorFrom(ctx)
	if err := authz.Check(a, authz.ManageBoard, authz.Target{BoardID: a.BoardIDOrZero()}); err != nil {
		return err
	}
	if mb < 1 || mb > 50 {
		return apperr.Fields{"handout_mb": "board.handout_mb.invalid"}.Err()
	}
	return s.Tx.InTx(ctx, func(ctx context.Context) error {
		if err := s.Store.SetMaxHandoutBytes(ctx, a.BoardID, mb<<20); err != nil {
			return err
		}
		return s.Audit.Record(ctx, audit.Event{Actor: audit.Actor{Kind: audit.Staff, ID: a.StaffID}, Action: "board.handout_limit",
			BoardID: a.BoardID, Detail: map[string]any{"mb": mb}})
	})
}
