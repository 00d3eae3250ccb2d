package survey

import (
	"context"
	"crypto/sha256"
	"errors"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/renraku/renraku/internal/announce"
	"github.com/renraku/renraku/internal/apperr"
	"github.com/renraku/renraku/internal/audit"
	"github.com/renraku/renraku/internal/authz"
	"github.com/renraku/renraku/internal/clock"
	"github.com/renraku/renraku/internal/files"
	"github.com/renraku/renraku/internal/jobs"
	"github.com/renraku/renraku/internal/live"
	"github.com/renraku/renraku/internal/school"
	"github.com/renraku/renraku/internal/txn"
	"github.com/renraku/renraku/internal/usertext"
	"github.com/renraku/renraku/internal/vault"
)

// Service is surveys' use cases.
type Service struct {
	Tx        txn.Transactor
	Store     Store
	Audiences Audiences
	Files     files.Store
	Guardians Guardians
	Links     Links
	Outbox    Outbox
	Channels  Channels
	Quotas    Quotas
	// Jobs queues the sending and reminder jobs.
	Jobs *jobs.Queue
	// Live tells open staff pages that an answer arrived, in its transaction.
	Live  live.Publisher
	Audit *audit.Log
	// T translates a message into a language.
	T func(lang, id string, data map[string]any) string
	// Clock is the service's time (tests set it on a running app).
	Clock clock.Clock
	// SendChunk is how many recipients' messages one sending job queues (default 500).
	SendChunk int
	// FontPath is the Japanese TrueType font of the printed results ("" finds one).
	FontPath string
}

func (s *Service) now() time.Time { return s.Clock.Now().In(school.Tokyo) }

func (s *Service) sendChunk() int {
	if s.SendChunk > 0 {
		return s.SendChunk
	}
	return 500
}

// Compose is a survey as the sender writes it (new, or edited).
type Compose struct {
	Kind       string
	Audience   Audience
	Title      string
	Body       string
	Questions  []Question
	PerChild   bool
	Deadline   time.Time
	AutoRemind bool
	// ScheduledAt is when to send (zero: when the sender confirms).
	ScheduledAt time.Time
	Files       []announce.Upload
}

func staffActor(a *authz.Actor) audit.Actor { return audit.Actor{Kind: audit.Staff, ID: a.StaffID} }

// check normalises and validates what the sender wrote. kept is how many stored
// handouts stay beside the new files.
func (s *Service) check(c *Compose, maxBytes, kept int) apperr.Fields {
	f := apperr.Fields{}
	if c.Kind != KindSurvey && c.Kind != KindAttendance {
		f.Add("kind", "survey.kind.invalid")
	}
	c.Title = strings.TrimSpace(usertext.Clean(c.Title))
	switch {
	case c.Title == "":
		f.Add("title", "survey.title.required")
	case utf8.RuneCountInString(c.Title) > MaxTitle:
		f.Add("title", "survey.title.too_long")
	}
	c.Body = strings.TrimSpace(usertext.Clean(c.Body))
	if utf8.RuneCountInString(c.Body) > MaxBody {
		f.Add("body", "survey.body.too_long")
	}
	if c.Audience.Empty() {
		f.Add("audience", "survey.audience.empty")
	}
	c.Questions = CleanQuestions(c.Questions)
	for k, v := range CheckQuestions(c.Questions) {
		f[k] = v
	}
	if c.Kind == KindAttendance && (len(c.Questions) == 0 || c.Questions[0].Kind != Single) {
		f.Add("questions", "survey.attendance.first_question")
	}
	now := s.now()
	send := now
	if !c.ScheduledAt.IsZero() {
		send = c.ScheduledAt
		switch {
		case !c.ScheduledAt.After(now):
			f.Add("scheduled_at", "survey.schedule.past")
		case c.ScheduledAt.After(now.Add(MaxSchedule)):
			f.Add("scheduled_at", "survey.schedule.too_far")
		}
	}
	switch {
	case c.Deadline.IsZero():
		f.Add("deadline", "survey.deadline.required")
	case !c.Deadline.After(send.Add(time.Hour)):
		f.Add("deadline", "survey.deadline.too_soon")
	case c.Deadline.After(now.Add(MaxSchedule)):
		f.Add("deadline", "survey.deadline.too_far")
	}
	if kept+len(c.Files) > MaxHandouts {
		f.Add("files", "announce.files.too_many")
	}
	for i := range c.Files {
		u := &c.Files[i]
		u.Name = strings.TrimSpace(usertext.Clean(u.Name))
		switch {
		case len(u.Data) > maxBytes:
			f.Add("files", "announce.file.too_large")
		case !announce.IsPDF(u.Data):
			f.Add("files", "announce.file.not_pdf")
		}
	}
	return f
}

// Create checks and stores a new survey as a draft (nothing is sent yet) with its
// handouts, and returns its ID. label describes the audience for lists.
func (s *Service) Create(ctx context.Context, c Compose, label string) (int64, error) {
	a := authz.ActorFrom(ctx)
	var id int64
	var stored []string
	err := s.Tx.InTx(ctx, func(ctx context.Context) error {
		boardID, err := s.Audiences.AuthorizeAudience(ctx, c.Audience, false)
		if err != nil {
			return err
		}
		mb, err := s.Audiences.MaxHandoutMB(ctx)
		if err != nil {
			return err
		}
		if err := s.check(&c, mb<<20, 0).Err(); err != nil {
			return err
		}
		sv := Survey{BoardID: boardID, SchoolID: c.Audience.SchoolID, Kind: c.Kind, Audience: c.Audience, AudienceLabel: label,
			Title: vault.Personal(c.Title), Body: vault.Personal(c.Body), Questions: c.Questions, PerChild: c.PerChild,
			Sensitive: HasConsent(c.Questions), Deadline: c.Deadline, AutoRemind: c.AutoRemind, State: Draft,
			ScheduledAt: c.ScheduledAt, CreatedBy: a.StaffID}
		if err := s.Store.CreateSurvey(ctx, &sv); err != nil {
			return err
		}
		id = sv.ID
		keys, err := s.storeHandouts(ctx, id, c.Files, 0)
		stored = keys
		if err != nil {
			return err
		}
		return s.Audit.Record(ctx, audit.Event{Actor: staffActor(a), Action: "survey.create",
			ObjectKind: "survey", ObjectID: strconv.FormatInt(id, 10), BoardID: boardID, SchoolID: c.Audience.SchoolID,
			Detail: map[string]any{"kind": c.Kind, "questions": len(c.Questions), "per_child": c.PerChild, "handouts": len(c.Files)}})
	})
	if err != nil {
		for _, k := range stored {
			_ = s.Files.Delete(context.WithoutCancel(ctx), k)
		}
	}
	return id, err
}

// storeHandouts stores uploaded PDFs after the first positions taken.
func (s *Service) storeHandouts(ctx context.Context, id int64, fs []announce.Upload, taken int) ([]string, error) {
	var stored []string
	for i, f := range fs {
		h := Handout{Position: taken + i + 1, Name: vault.Personal(f.Name), Size: len(f.Data), Key: files.NewKey("survey")}
		if err := s.Files.Put(ctx, h.Key, f.Data); err != nil {
			return stored, err
		}
		stored = append(stored, h.Key)
		sum := sha256.Sum256(f.Data)
		if err := s.Store.CreateHandout(ctx, id, &h, sum[:]); err != nil {
			return stored, err
		}
	}
	return stored, nil
}

var errNotFound = apperr.E(apperr.NotFound, "error.not_found.title", errors.New("survey not visible"))

// visible reads a survey the actor may see: one they created, one whose audience they
// may address (or, for one of an earlier year, read), or a board's survey that reached
// their school (mayView).
func (s *Service) visible(ctx context.Context, id int64) (*authz.Actor, Survey, error) {
	a := authz.ActorFrom(ctx)
	if err := authz.SignedIn(a); err != nil {
		return nil, Survey{}, err
	}
	sv, err := s.Store.FindSurvey(ctx, id)
	if err != nil {
		return nil, Survey{}, err
	}
	if sv.BoardID != a.BoardID {
		return nil, Survey{}, errNotFound
	}
	ok, err := s.mayView(ctx, a, sv)
	if err != nil {
		return nil, Survey{}, err
	}
	if !ok {
		return nil, Survey{}, errNotFound
	}
	return a, sv, nil
}

// mayView reports whether the actor may see a survey: its creator; one who may address
// its audience (past: also of an earlier year); or, for a board's survey that has reached
// their school, the school's staff, who then see the answers of their own school as
// their duties allow (mayRead) — a board-wide 出欠確認 is followed up by each school.
// Seeing is not changing: sending, editing and reminding check the audience again.
func (s *Service) mayView(ctx context.Context, a *authz.Actor, sv Survey) (bool, error) {
	if sv.CreatedBy == a.StaffID {
		return true, nil
	}
	_, err := s.Audiences.AuthorizeAudience(ctx, sv.Audience, true)
	switch k := apperr.KindOf(err); {
	case err == nil:
		return true, nil
	case k != apperr.Forbidden && k != apperr.NotFound:
		return false, err
	}
	if sv.SchoolID != 0 || a.SchoolID == 0 || authz.Check(a, authz.ViewSchool, authz.Target{BoardID: sv.BoardID, SchoolID: a.SchoolID}) != nil {
		return false, nil
	}
	return s.Store.ReachesSchool(ctx, sv.ID, a.SchoolID)
}

// Get returns a survey the actor may see, with its figures (no answers).
func (s *Service) Get(ctx context.Context, id int64) (Survey, error) {
	var sv Survey
	err := s.Tx.InTx(ctx, func(ctx context.Context) (err error) {
		_, sv, err = s.visible(ctx, id)
		return err
	})
	return sv, err
}

// List returns the surveys of the actor's school (or board) that they may see, newest
// first.
func (s *Service) List(ctx context.Context) ([]Survey, error) {
	a := authz.ActorFrom(ctx)
	if err := authz.SignedIn(a); err != nil {
		return nil, err
	}
	var out []Survey
	err := s.Tx.InTx(ctx, func(ctx context.Context) error {
		all, err := s.Store.FindSurveys(ctx, a.BoardID, a.SchoolID, 200)
		if err != nil {
			return err
		}
		for _, sv := range all {
			ok, err := s.mayView(ctx, a, sv)
			if err != nil {
				return err
			}
			if ok {
				out = append(out, sv)
			}
		}
		return nil
	})
	return out, err
}

// Preview is what the sender sees before sending: the families reached and the LINE
// messages it uses (each guardian once, however many children), and channels whose
// monthly quota would run out.
type Preview struct {
	Survey    Survey
	Guardians int
	OverQuota []announce.QuotaShort
}

// Preview counts whom a survey would reach now and checks the channels' quota.
func (s *Service) Preview(ctx context.Context, id int64) (Preview, error) {
	var p Preview
	var reach []announce.Reach
	err := s.Tx.InTx(ctx, func(ctx context.Context) error {
		_, sv, err := s.visible(ctx, id)
		if err != nil {
			return err
		}
		p.Survey = sv
		reach, err = s.Store.CountReach(ctx, sv.BoardID, sv.Audience)
		return err
	})
	if err != nil {
		return p, err
	}
	p.Guardians, p.OverQuota, err = announce.Shortfalls(ctx, reach, s.Channels, s.Quotas)
	return p, err
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
		a, sv, err := s.visible(ctx, id)
		if err != nil {
			return err
		}
		state, err := s.Store.LockState(ctx, id)
		if err != nil {
			return err
		}
		if state != Draft {
			return apperr.E(apperr.Conflict, "survey.state.not_draft", errors.New("not a draft"))
		}
		// The sender's own right to address the audience is checked again: a creator
		// who has since lost the duty may not send.
		if _, err := s.Audiences.AuthorizeAudience(ctx, sv.Audience, false); err != nil {
			return err
		}
		at := sv.ScheduledAt
		if at.IsZero() {
			at = s.now()
		} else if !at.After(s.now()) {
			return apperr.Fields{"scheduled_at": "survey.schedule.past"}.Err()
		}
		if !sv.Deadline.After(at) {
			return apperr.Fields{"deadline": "survey.deadline.too_soon"}.Err()
		}
		scheduled = sv.ScheduledAt
		if err := s.Store.SetState(ctx, id, Scheduled, sv.ScheduledAt); err != nil {
			return err
		}
		if err := s.enqueueStart(ctx, sv, at); err != nil {
			return err
		}
		return s.Audit.Record(ctx, audit.Event{Actor: staffActor(a), Action: "survey.send",
			ObjectKind: "survey", ObjectID: strconv.FormatInt(id, 10), BoardID: sv.BoardID, SchoolID: sv.SchoolID,
			Detail: map[string]any{"kind": sv.Kind, "guardians": p.Guardians, "scheduled": !sv.ScheduledAt.IsZero()}})
	})
	if err != nil {
		return time.Time{}, err
	}
	return scheduled, nil
}

// Cancel stops a scheduled survey before it starts, or deletes a draft.
func (s *Service) Cancel(ctx context.Context, id int64) error {
	var keys []string
	err := s.Tx.InTx(ctx, func(ctx context.Context) error {
		a, sv, err := s.visible(ctx, id)
		if err != nil {
			return err
		}
		state, err := s.Store.LockState(ctx, id)
		if err != nil {
			return err
		}
		action := "survey.cancel"
		switch state {
		case Scheduled:
			err = s.Store.SetState(ctx, id, Cancelled, sv.ScheduledAt)
		case Draft:
			action = "survey.delete"
			for _, h := range sv.Handouts {
				keys = append(keys, h.Key)
			}
			err = s.Store.DeleteSurvey(ctx, id)
		default:
			return apperr.E(apperr.Conflict, "survey.state.started", errors.New("already started"))
		}
		if err != nil {
			return err
		}
		return s.Audit.Record(ctx, audit.Event{Actor: staffActor(a), Action: action,
			ObjectKind: "survey", ObjectID: strconv.FormatInt(id, 10), BoardID: sv.BoardID, SchoolID: sv.SchoolID})
	})
	if err == nil {
		for _, k := range keys {
			_ = s.Files.Delete(ctx, k)
		}
	}
	return err
}
