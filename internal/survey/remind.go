package survey

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/riverqueue/river"

	"github.com/renraku/renraku/internal/announce"
	"github.com/renraku/renraku/internal/apperr"
	"github.com/renraku/renraku/internal/audit"
	"github.com/renraku/renraku/internal/authz"
	"github.com/renraku/renraku/internal/jobs"
	"github.com/renraku/renraku/internal/line"
	"github.com/renraku/renraku/internal/lineapi"
	"github.com/renraku/renraku/internal/vault"
)

// A reminder goes to the guardians of units not yet answered, each once, following the
// account now: one push with the survey's messages headed 【再送】, asking only about
// the children not answered yet (a guardian with one child answered and one not is
// reminded about the other). Staff remind as often as they like, after confirming how
// many it reaches; the automatic reminder (chosen when creating) goes out once, a day
// before the deadline, if the survey was sent at least a day before it.

// sampleLanguage is the language of the reminder shown for confirmation (most parents').
const sampleLanguage = "ja"

// AutoRemindBefore is how long before the deadline the automatic reminder goes out.
const AutoRemindBefore = 24 * time.Hour

// RemindPlan is the confirmation before a reminder: the guardians and children it
// reaches, channels whose quota would run short, and the messages (with a placeholder
// for the child's name).
type RemindPlan struct {
	Survey    Survey
	Guardians int
	Units     int
	OverQuota []announce.QuotaShort
	Sample    []line.Message
}

var errNotOpen = apperr.E(apperr.Conflict, "survey_results.remind.closed", errors.New("survey not open"))

// remindable reads a survey the actor may remind: its creator, or one who may address
// its audience now; it must be taking answers.
func (s *Service) remindable(ctx context.Context, id int64) (*authz.Actor, Survey, error) {
	a, sv, err := s.visible(ctx, id)
	if err != nil {
		return nil, sv, err
	}
	if sv.CreatedBy != a.StaffID {
		if _, err := s.Audiences.AuthorizeAudience(ctx, sv.Audience, false); err != nil {
			return nil, sv, err
		}
	}
	if !sv.Open(s.now()) {
		return nil, sv, errNotOpen
	}
	return a, sv, nil
}

// PlanReminder is what a reminder would do now.
func (s *Service) PlanReminder(ctx context.Context, id int64) (RemindPlan, error) {
	var p RemindPlan
	var rs []Recipient
	err := s.Tx.InTx(ctx, func(ctx context.Context) error {
		_, sv, err := s.remindable(ctx, id)
		if err != nil {
			return err
		}
		p.Survey = sv
		rs, err = s.Store.RemindRecipients(ctx, id)
		return err
	})
	if err != nil {
		return p, err
	}
	perChannel := map[int64]int{}
	var order []int64
	for _, r := range rs {
		p.Guardians++
		p.Units += len(r.Units)
		if perChannel[r.ChannelID] == 0 {
			order = append(order, r.ChannelID)
		}
		perChannel[r.ChannelID]++
	}
	for _, chID := range order {
		ch, err := s.Channels.FindChannel(ctx, chID)
		if err != nil {
			return p, err
		}
		q, err := s.Quotas.Quota(ctx, ch.API())
		if err != nil {
			continue // a courtesy: LINE refuses over-quota sends anyway
		}
		if n := int64(perChannel[chID]); q.Limited && q.Limit-q.Used < n {
			p.OverQuota = append(p.OverQuota, announce.QuotaShort{ChannelID: chID, Needed: n, Remains: max(0, q.Limit-q.Used)})
		}
	}
	sample := Recipient{Language: sampleLanguage, Units: []RecipientUnit{{UnitID: 1}}}
	if p.Survey.PerChild {
		sample.Units[0].ChildName = vault.Personal(s.T(sampleLanguage, "survey_results.remind.sample_child", nil))
	}
	p.Sample = s.ReminderMessages(p.Survey, sample)
	return p, nil
}

// Remind queues the reminder to every guardian of a unit not answered, and returns how
// many. When a channel's quota would run out the sender must confirm that they know
// (quotaOK).
func (s *Service) Remind(ctx context.Context, id int64, quotaOK bool) (int, error) {
	p, err := s.PlanReminder(ctx, id)
	if err != nil {
		return 0, err
	}
	if len(p.OverQuota) > 0 && !quotaOK {
		return 0, apperr.Fields{"quota_ok": "announce.quota.confirm"}.Err()
	}
	var n int
	err = s.Tx.InTx(ctx, func(ctx context.Context) error {
		a, sv, err := s.remindable(ctx, id)
		if err != nil {
			return err
		}
		if _, err := s.Store.LockState(ctx, id); err != nil {
			return err
		}
		if n, err = s.remind(ctx, sv); err != nil {
			return err
		}
		return s.Audit.Record(ctx, audit.Event{Actor: staffActor(a), Action: "survey.remind",
			ObjectKind: "survey", ObjectID: strconv.FormatInt(id, 10), BoardID: sv.BoardID, SchoolID: sv.SchoolID,
			Detail: map[string]any{"guardians": n, "automatic": false}})
	})
	return n, err
}

// remind queues one push per guardian of a unit not answered and stamps them.
func (s *Service) remind(ctx context.Context, sv Survey) (int, error) {
	rs, err := s.Store.RemindRecipients(ctx, sv.ID)
	if err != nil || len(rs) == 0 {
		return 0, err
	}
	var guardians, units []int64
	for _, r := range rs {
		if _, err := s.Outbox.Queue(ctx, line.Send{Friend: line.Friend{ID: r.FriendID, ChannelID: r.ChannelID, Language: r.Language, Following: true},
			Purpose: "survey_remind", Messages: s.ReminderMessages(sv, r)}); err != nil {
			return 0, err
		}
		guardians = append(guardians, r.GuardianID)
		for _, u := range r.Units {
			units = append(units, u.UnitID)
		}
	}
	return len(rs), s.Store.MarkReminded(ctx, sv.ID, guardians, units, s.now())
}

// ReminderMessages are a reminder's messages to one recipient: the survey's, headed
// 【再送】 and 回答期限が近づいています, with the buttons for the units not answered.
func (s *Service) ReminderMessages(sv Survey, r Recipient) []line.Message {
	ms := s.Messages(sv, r)
	ms[0].Text = truncate(s.T(r.Language, "survey_results.line.remind", nil)+"\n"+ms[0].Text, lineapi.MaxTextLength)
	return ms
}

// RemindDueArgs is the periodic job that sends the automatic reminders due.
type RemindDueArgs struct{}

// Kind names the job.
func (RemindDueArgs) Kind() string { return "survey.remind_due" }

// InsertOpts puts the job on the maintenance queue (River's default queue has no
// workers here: a job left there would never run).
func (RemindDueArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: jobs.QueueMaintenance}
}

type remindDueWorker struct {
	river.WorkerDefaults[RemindDueArgs]
	s *Service
}

func (w *remindDueWorker) Work(ctx context.Context, _ *river.Job[RemindDueArgs]) error {
	_, err := w.s.AutoRemind(ctx)
	return err
}

// RemindWorkers registers the automatic reminder's job, run every ten minutes.
func (s *Service) RemindWorkers(w *river.Workers) []*river.PeriodicJob {
	river.AddWorker(w, &remindDueWorker{s: s})
	return []*river.PeriodicJob{river.NewPeriodicJob(river.PeriodicInterval(10*time.Minute),
		func() (river.JobArgs, *river.InsertOpts) { return RemindDueArgs{}, nil }, &river.PeriodicJobOpts{RunOnStart: true})}
}

// AutoRemind sends the automatic reminders due now, each survey's once (survey.reminded_at
// is claimed in the transaction that queues it), and returns how many surveys it
// reminded.
func (s *Service) AutoRemind(ctx context.Context) (int, error) {
	done := 0
	for {
		var ids []int64
		err := s.Tx.InTx(ctx, func(ctx context.Context) (err error) {
			ids, err = s.Store.DueAutoReminders(ctx, s.now(), 50)
			return err
		})
		if err != nil || len(ids) == 0 {
			return done, err
		}
		for _, id := range ids {
			err := s.Tx.InTx(ctx, func(ctx context.Context) error {
				if _, err := s.Store.LockState(ctx, id); err != nil {
					return err
				}
				ok, err := s.Store.ClaimAutoReminder(ctx, id, s.now())
				if err != nil || !ok {
					return err
				}
				sv, err := s.Store.FindSurvey(ctx, id)
				if err != nil {
					return err
				}
				n, err := s.remind(ctx, sv)
				if err != nil {
					return err
				}
				done++
				return s.Audit.Record(ctx, audit.Event{Actor: audit.SystemActor, Action: "survey.remind",
					ObjectKind: "survey", ObjectID: strconv.FormatInt(id, 10), BoardID: sv.BoardID, SchoolID: sv.SchoolID,
					Detail: map[string]any{"guardians": n, "automatic": true}})
			})
			if err != nil {
				return done, fmt.Errorf("survey: automatic reminder: %w", err)
			}
		}
		if len(ids) < 50 {
			return done, nil
		}
	}
}
