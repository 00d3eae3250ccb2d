package survey

import (
	"context"
	"crypto/sha256"
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/renraku/renraku/internal/announce"
	"github.com/renraku/renraku/internal/apperr"
	"github.com/renraku/renraku/internal/audit"
	"github.com/renraku/renraku/internal/authz"
	"github.com/renraku/renraku/internal/files"
	"github.com/renraku/renraku/internal/usertext"
	"github.com/renraku/renraku/internal/vault"
)

// WordingOnly reports whether only a survey's wording may change: once it is sent (or
// its send-now is queued), its audience, questions and deadline are what parents hold;
// its title, explanation and question, choice and consent texts may still be
// corrected until the first answer (Editable).
func (s Survey) WordingOnly() bool {
	return s.State == Sending || s.State == Sent || (s.State == Scheduled && s.ScheduledAt.IsZero())
}

// editRefusal says why a survey can no longer be edited (nil when it can).
func editRefusal(sv Survey) error {
	switch {
	case sv.Editable():
		return nil
	case sv.State == Sending || sv.State == Sent:
		return apperr.E(apperr.Conflict, "survey_staff.edit.answered", errors.New("survey already answered"))
	}
	return apperr.E(apperr.Conflict, "survey_staff.edit.not_editable", errors.New("survey no longer editable"))
}

// mayEdit checks that the actor may still address the survey's audience: reading a
// survey (its creator, or one of an earlier year) is not enough to change it.
func (s *Service) mayEdit(ctx context.Context, sv Survey) error {
	_, err := s.Audiences.AuthorizeAudience(ctx, sv.Audience, false)
	return err
}

// EditForm is the edit form of a stored survey: the survey, the audiences the person
// may address, and whether only its wording may change.
type EditForm struct {
	Survey      Survey
	Options     announce.Options
	WordingOnly bool
}

// OpenEdit is the page that edits a survey: a draft or a scheduled one entirely, a sent
// one's wording before the first answer. Opening it shows the survey's text, so the
// view is audited.
func (s *Service) OpenEdit(ctx context.Context, id int64) (EditForm, error) {
	var e EditForm
	err := s.Tx.InTx(ctx, func(ctx context.Context) error {
		a, sv, err := s.visible(ctx, id)
		if err != nil {
			return err
		}
		if err := s.mayEdit(ctx, sv); err != nil {
			return err
		}
		if err := editRefusal(sv); err != nil {
			return err
		}
		if e.Options, err = s.Audiences.ComposeOptions(ctx, announce.Notice); err != nil {
			return err
		}
		e.Survey, e.WordingOnly = sv, sv.WordingOnly()
		return s.Audit.Record(ctx, audit.Event{Actor: staffActor(a), Action: "survey.view",
			ObjectKind: "survey", ObjectID: strconv.FormatInt(id, 10), BoardID: sv.BoardID, SchoolID: sv.SchoolID})
	})
	return e, err
}

// UpdateFromForm changes a survey as its edit form sent it: a draft or a scheduled
// survey entirely (its kind stays; the handouts in remove are taken off and the form's
// files added), with every check of a new one; a sent survey only in its wording, and
// only while nobody has answered (checked under the survey's row lock, which the first
// answer also takes). The edit form's data is returned also on failure, for the form
// to be shown again; a failure to read the survey itself leaves it empty.
func (s *Service) UpdateFromForm(ctx context.Context, id int64, f Form, remove []int64) (EditForm, error) {
	var e EditForm
	var ready bool
	var stored, removed []string
	err := s.Tx.InTx(ctx, func(ctx context.Context) error {
		a, sv, err := s.visible(ctx, id)
		if err != nil {
			return err
		}
		if err := s.mayEdit(ctx, sv); err != nil {
			return err
		}
		if e.Options, err = s.Audiences.ComposeOptions(ctx, announce.Notice); err != nil {
			return err
		}
		e.Survey, e.WordingOnly, ready = sv, sv.WordingOnly(), true
		// Read again under the lock: the start job or the first answer may have just
		// come.
		if _, err := s.Store.LockState(ctx, id); err != nil {
			return err
		}
		if sv, err = s.Store.FindSurvey(ctx, id); err != nil {
			return err
		}
		if err := editRefusal(sv); err != nil {
			return err
		}
		e.WordingOnly = sv.WordingOnly()
		if err := f.Problems.Err(); err != nil {
			return err
		}
		if sv.WordingOnly() {
			return s.updateWording(ctx, a, sv, f)
		}
		stored, removed, err = s.update(ctx, a, sv, f, remove, e.Options)
		return err
	})
	if !ready {
		return EditForm{}, err
	}
	if err != nil {
		for _, k := range stored {
			_ = s.Files.Delete(context.WithoutCancel(ctx), k)
		}
		return e, err
	}
	for _, k := range removed {
		_ = s.Files.Delete(ctx, k)
	}
	return e, nil
}

// update changes a draft or a scheduled survey (locked) as f has it, with the checks of
// Create against the new audience. It returns the files it stored and those to delete
// once the change is committed.
func (s *Service) update(ctx context.Context, a *authz.Actor, sv Survey, f Form, remove []int64, o announce.Options) (stored, removed []string, err error) {
	f.Kind = sv.Kind
	s.questions(&f)
	label := s.settle(&f, o)
	c := f.Compose
	if c.Audience.SchoolID != sv.SchoolID {
		return nil, nil, apperr.Fields{"audience": "announce.audience.invalid"}.Err()
	}
	if _, err := s.Audiences.AuthorizeAudience(ctx, c.Audience, false); err != nil {
		return nil, nil, err
	}
	var keep []Handout
	for _, h := range sv.Handouts {
		if slices.Contains(remove, h.ID) {
			removed = append(removed, h.Key)
			continue
		}
		keep = append(keep, h)
	}
	mb, err := s.Audiences.MaxHandoutMB(ctx)
	if err != nil {
		return nil, nil, err
	}
	problems := s.check(&c, mb<<20, len(keep))
	if sv.State == Scheduled && c.ScheduledAt.IsZero() {
		problems.Add("scheduled_at", "survey_staff.edit.schedule_required")
	}
	if err := problems.Err(); err != nil {
		return nil, nil, err
	}
	moved := sv.State == Scheduled && !c.ScheduledAt.Truncate(time.Microsecond).Equal(sv.ScheduledAt.Truncate(time.Microsecond))
	sv.Audience, sv.AudienceLabel, sv.Title, sv.Body = c.Audience, label, vault.Personal(c.Title), vault.Personal(c.Body)
	sv.Questions, sv.PerChild, sv.Sensitive, sv.Deadline = c.Questions, c.PerChild, HasConsent(c.Questions), c.Deadline
	sv.AutoRemind, sv.ScheduledAt = c.AutoRemind, c.ScheduledAt
	if err := s.Store.UpdateSurvey(ctx, sv); err != nil {
		return nil, nil, err
	}
	used := map[int]bool{}
	for _, h := range sv.Handouts {
		if slices.Contains(removed, h.Key) {
			if err := s.Store.DeleteHandout(ctx, sv.ID, h.ID); err != nil {
				return nil, nil, err
			}
			continue
		}
		used[h.Position] = true
	}
	// New handouts take the free positions, after the kept ones' order.
	pos := 0
	for _, u := range c.Files {
		for pos++; used[pos]; pos++ {
		}
		h := Handout{Position: pos, Name: vault.Personal(u.Name), Size: len(u.Data), Key: files.NewKey("survey")}
		if err := s.Files.Put(ctx, h.Key, u.Data); err != nil {
			return stored, nil, err
		}
		stored = append(stored, h.Key)
		sum := sha256.Sum256(u.Data)
		if err := s.Store.CreateHandout(ctx, sv.ID, &h, sum[:]); err != nil {
			return stored, nil, err
		}
	}
	if moved {
		if err := s.enqueueStart(ctx, sv, sv.ScheduledAt); err != nil {
			return stored, nil, err
		}
	}
	err = s.Audit.Record(ctx, audit.Event{Actor: staffActor(a), Action: "survey.update",
		ObjectKind: "survey", ObjectID: strconv.FormatInt(sv.ID, 10), BoardID: sv.BoardID, SchoolID: sv.SchoolID,
		Detail: map[string]any{"kind": sv.Kind, "state": sv.State, "questions": len(sv.Questions), "handouts_added": len(c.Files),
			"handouts_removed": len(removed), "rescheduled": moved}})
	return stored, removed, err
}

// updateWording corrects a sent survey's wording (locked, nobody has answered): its
// title and explanation, and a survey's question, choice and consent texts. The
// questions and choices keep their number, kinds and keys, and everything else
// stays as parents received it.
func (s *Service) updateWording(ctx context.Context, a *authz.Actor, sv Survey, f Form) error {
	problems := apperr.Fields{}
	title := strings.TrimSpace(usertext.Clean(f.Title))
	switch {
	case title == "":
		problems.Add("title", "survey.title.required")
	case utf8.RuneCountInString(title) > MaxTitle:
		problems.Add("title", "survey.title.too_long")
	}
	body := strings.TrimSpace(usertext.Clean(f.Body))
	if utf8.RuneCountInString(body) > MaxBody {
		problems.Add("body", "survey.body.too_long")
	}
	qs := sv.Questions
	// An attendance check's questions are the standard ones: only its title and
	// explanation are worded by the sender.
	if sv.Kind == KindSurvey {
		if len(f.Questions) != len(sv.Questions) {
			problems.Add("questions", "survey_staff.edit.question_count")
		} else {
			qs = make([]Question, len(sv.Questions))
			for i, q := range sv.Questions {
				n := f.Questions[i]
				q.Text = n.Text
				if q.Kind == Consent {
					q.ConsentText = n.ConsentText
				}
				if q.Kind == Single || q.Kind == Multi {
					q.Choices = append([]Choice(nil), n.Choices...)
				}
				qs[i] = q
			}
			qs = CleanQuestions(qs)
			for i, q := range qs {
				if len(q.Choices) != len(sv.Questions[i].Choices) {
					problems.Add(qField(i, "choices"), "survey_staff.edit.choice_count")
				}
			}
			for k, v := range CheckQuestions(qs) {
				problems[k] = v
			}
		}
	}
	if err := problems.Err(); err != nil {
		return err
	}
	sv.Title, sv.Body, sv.Questions = vault.Personal(title), vault.Personal(body), qs
	if err := s.Store.UpdateSurvey(ctx, sv); err != nil {
		return err
	}
	return s.Audit.Record(ctx, audit.Event{Actor: staffActor(a), Action: "survey.update",
		ObjectKind: "survey", ObjectID: strconv.FormatInt(sv.ID, 10), BoardID: sv.BoardID, SchoolID: sv.SchoolID,
		Detail: map[string]any{"kind": sv.Kind, "state": sv.State, "wording_only": true}})
}
