package survey

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"

	"github.com/riverqueue/river"

	"github.com/renraku/renraku/internal/jobs"
	"github.com/renraku/renraku/internal/line"
	"github.com/renraku/renraku/internal/lineapi"
	"github.com/renraku/renraku/internal/school"
)

// StartArgs is the job that starts a survey at its time: it resolves the audience as it
// is then and queues the messages. ScheduledAt is the time the job was queued for (a
// job for a time since moved does nothing).
type StartArgs struct {
	SurveyID    int64      `json:"survey_id"`
	ScheduledAt *time.Time `json:"scheduled_at,omitempty"`
}

// Kind names the job.
func (StartArgs) Kind() string { return "survey.start" }

// SendArgs is the job that queues a started survey's messages in the outbox, a chunk
// of recipients per transaction, until none is left.
type SendArgs struct {
	SurveyID int64 `json:"survey_id"`
}

// Kind names the job.
func (SendArgs) Kind() string { return "survey.send" }

// Workers registers the surveys' jobs.
func (s *Service) Workers(w *river.Workers) {
	river.AddWorker(w, &startWorker{s: s})
	river.AddWorker(w, &sendWorker{s: s})
}

func (s *Service) enqueueStart(ctx context.Context, sv Survey, at time.Time) error {
	opts := &river.InsertOpts{Queue: jobs.QueueDelivery, MaxAttempts: 12}
	if at.After(s.now()) {
		opts.ScheduledAt = at
	}
	sched := sv.ScheduledAt
	if _, err := s.Jobs.Insert(ctx, StartArgs{SurveyID: sv.ID, ScheduledAt: &sched}, opts); err != nil {
		return fmt.Errorf("survey: enqueue start: %w", err)
	}
	return nil
}

type startWorker struct {
	river.WorkerDefaults[StartArgs]
	s *Service
}

func (w *startWorker) Work(ctx context.Context, job *river.Job[StartArgs]) error {
	return w.s.start(ctx, job.Args.SurveyID, job.Args.ScheduledAt)
}

// start resolves the audience as it is now (units and recipients) and queues the job
// that sends, once: a repeated job finds the survey no longer scheduled.
func (s *Service) start(ctx context.Context, id int64, at *time.Time) error {
	return s.Tx.InTx(ctx, func(ctx context.Context) error {
		state, err := s.Store.LockState(ctx, id)
		if err != nil || state != Scheduled {
			return err
		}
		sv, err := s.Store.FindSurvey(ctx, id)
		if err != nil {
			return err
		}
		if at != nil && !at.Equal(sv.ScheduledAt) {
			return nil
		}
		if _, err := s.Store.Resolve(ctx, sv); err != nil {
			return err
		}
		if err := s.Store.SetState(ctx, id, Sending, sv.ScheduledAt); err != nil {
			return err
		}
		if _, err := s.Jobs.Insert(ctx, SendArgs{SurveyID: id}, &river.InsertOpts{Queue: jobs.QueueDelivery, MaxAttempts: 12}); err != nil {
			return fmt.Errorf("survey: enqueue send: %w", err)
		}
		return nil
	})
}

type sendWorker struct {
	river.WorkerDefaults[SendArgs]
	s *Service
}

func (w *sendWorker) Work(ctx context.Context, job *river.Job[SendArgs]) error {
	return w.s.send(ctx, job.Args.SurveyID)
}

// send queues the messages of a started survey, a chunk of recipients per transaction;
// each recipient's outbox row is recorded with it, so a job resumed after a crash
// queues only those not yet queued (and the outbox's retry key covers the push).
func (s *Service) send(ctx context.Context, id int64) error {
	for {
		done := false
		err := s.Tx.InTx(ctx, func(ctx context.Context) error {
			state, err := s.Store.LockState(ctx, id)
			if err != nil || state != Sending {
				done = true
				return err
			}
			sv, err := s.Store.FindSurvey(ctx, id)
			if err != nil {
				return err
			}
			rs, err := s.Store.PendingRecipients(ctx, id, s.sendChunk())
			if err != nil {
				return err
			}
			for _, r := range rs {
				ob, err := s.Outbox.Queue(ctx, line.Send{Friend: line.Friend{ID: r.FriendID, ChannelID: r.ChannelID, Language: r.Language, Following: true},
					Purpose: "survey", Messages: s.Messages(sv, r)})
				if err != nil {
					return err
				}
				if err := s.Store.SetRecipientOutbound(ctx, id, r.GuardianID, ob); err != nil {
					return err
				}
			}
			if len(rs) < s.sendChunk() {
				done = true
				return s.Store.Finish(ctx, id, s.now())
			}
			return nil
		})
		if err != nil || done {
			return err
		}
	}
}

// Deadline formats a deadline for parents: 12月10日（木）17:00.
func (s *Service) Deadline(lang string, t time.Time) string {
	t = t.In(school.Tokyo)
	return s.T(lang, "survey.deadline_format", map[string]any{"Month": int(t.Month()), "Day": t.Day(),
		"Weekday": s.T(lang, "weekday."+strconv.Itoa(int(t.Weekday())), nil), "Time": t.Format("15:04")})
}

// Messages are what one recipient receives: the survey's text with its deadline, then
// either one buttons message per child (per family: one) whose buttons answer with a
// tap, or a button that asks renraku for the parent's own form link (free: a reply).
// A survey with handouts adds a button for them. LINE takes five messages per request;
// a family with more children than fit answers on the form.
func (s *Service) Messages(sv Survey, r Recipient) []line.Message {
	lang := r.Language
	head := s.T(lang, "survey.line.heading_"+sv.Kind, nil)
	text := head + sv.Title.Reveal()
	if b := sv.Body.Reveal(); b != "" {
		text += "\n\n" + b
	}
	text += "\n\n" + s.T(lang, "survey.line.deadline", map[string]any{"Deadline": s.Deadline(lang, sv.Deadline)})
	ms := []line.Message{{Text: truncate(text, lineapi.MaxTextLength)}}
	slots := lineapi.MaxMessagesPerSend - 1
	if len(sv.Handouts) > 0 {
		slots--
	}
	if sv.Tappable() && len(r.Units) <= slots && len(r.Units) > 0 {
		q := sv.Questions[0]
		for _, u := range r.Units {
			prompt := q.Text
			display := ""
			if !u.ChildName.IsZero() {
				who := s.T(lang, "survey.line.child", map[string]any{"Child": u.ChildName.Reveal()})
				prompt = who + "\n" + q.Text
				display = who + "："
			}
			m := line.Message{Text: truncate(prompt, lineapi.MaxButtonsTextLength), AltText: truncate(head+sv.Title.Reveal(), 400)}
			for _, c := range q.Choices {
				m.Buttons = append(m.Buttons, line.Action{Kind: "postback", Label: truncate(c.Label, lineapi.MaxLabelLength),
					DisplayText: truncate(display+c.Label, 300), Data: AnswerData(sv.ID, u.UnitID, c.Key)})
			}
			ms = append(ms, m)
		}
	} else {
		t := s.T(lang, "survey.line.form", nil)
		ms = append(ms, line.Message{Text: t, AltText: t, Buttons: []line.Action{{Kind: "postback",
			Label: s.T(lang, "survey.line.answer", nil), Data: line.PostbackData("survey.open", strconv.FormatInt(sv.ID, 10))}}})
	}
	if len(sv.Handouts) > 0 {
		t := s.T(lang, "announce.line.handouts", map[string]any{"Count": len(sv.Handouts)})
		ms = append(ms, line.Message{Text: t, AltText: t, Buttons: []line.Action{{Kind: "postback",
			Label: s.T(lang, "announce.line.open", nil), Data: line.PostbackData("survey.open", strconv.FormatInt(sv.ID, 10))}}})
	}
	return ms
}

// AnswerData is the postback data of a tap that answers a survey's unit with a choice.
func AnswerData(surveyID, unitID int64, choice string) string {
	return line.PostbackData("survey.answer", fmt.Sprintf("%d.%d.%s", surveyID, unitID, choice))
}

// ParseAnswerData reads AnswerData's arguments; ok is false for anything else.
func ParseAnswerData(args string) (surveyID, unitID int64, choice string, ok bool) {
	parts := strings.SplitN(args, ".", 3)
	if len(parts) != 3 || parts[2] == "" || len(parts[2]) > 4 {
		return 0, 0, "", false
	}
	var err1, err2 error
	surveyID, err1 = strconv.ParseInt(parts[0], 10, 64)
	unitID, err2 = strconv.ParseInt(parts[1], 10, 64)
	if err1 != nil || err2 != nil || surveyID <= 0 || unitID <= 0 {
		return 0, 0, "", false
	}
	return surveyID, unitID, parts[2], true
}

// truncate cuts s to at most n UTF-16 code units (LINE's measure), with an ellipsis.
func truncate(s string, n int) string {
	if lineapi.UTF16Len(s) <= n {
		return s
	}
	var b strings.Builder
	used := 0
	for _, r := range s {
		w := len(utf16.Encode([]rune{r}))
		if used+w > n-1 {
			break
		}
		b.WriteRune(r)
		used += w
	}
	return b.String() + "…"
}
