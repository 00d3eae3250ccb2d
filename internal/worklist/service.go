package worklist

import (
	"context"
	"time"

	"github.com/renraku/renraku/internal/authz"
	"github.com/renraku/renraku/internal/clock"
	"github.com/renraku/renraku/internal/inbox"
	"github.com/renraku/renraku/internal/school"
)

// Service composes the work queue from the features' own counts.
type Service struct {
	// Clock is the service's time (its zero value reads the system time).
	Clock         clock.Clock
	Schools       Schools
	Registrations Registrations
	Absences      Absences
	Conversations Conversations
	Deliveries    Deliveries
	Quotas        Quotas
}

// Queue returns what waits for the signed-in person. Each part is authorised by the
// feature that owns it; the queue only adds them up.
func (s *Service) Queue(ctx context.Context) (Queue, error) {
	a := authz.ActorFrom(ctx)
	if err := authz.SignedIn(a); err != nil {
		return Queue{}, err
	}
	q := Queue{Now: s.Clock.Now(), SchoolID: a.SchoolID}
	var err error
	switch {
	case a.SchoolID == 0:
		q.Role = Board
		err = s.board(ctx, &q)
	case a.IsAdmin():
		q.Role = SchoolAdmin
		err = s.school(ctx, &q, true)
	default:
		q.Role = Teacher
		err = s.school(ctx, &q, false)
	}
	if err != nil {
		return Queue{}, err
	}
	q.Total = Total(q)
	return q, nil
}

// school fills a teacher's queue (their duties) or a school administrator's (the
// school, with the overdue, quota and closure lines).
func (s *Service) school(ctx context.Context, q *Queue, admin bool) error {
	regs, err := s.Registrations.Waiting(ctx)
	if err != nil {
		return err
	}
	for _, c := range regs {
		q.Lines = append(q.Lines, Line{Kind: KindRegistrations, SchoolID: c.SchoolID, ClassID: c.ClassID, Label: c.Label, Count: c.Count, Since: c.Since})
	}
	pend, err := s.Absences.Unacknowledged(ctx)
	if err != nil {
		return err
	}
	q.Cutoff = pend.Cutoff
	for _, c := range pend.Classes {
		q.Lines = append(q.Lines, Line{Kind: KindAbsences, SchoolID: c.SchoolID, ClassID: c.ClassID, Label: c.Label, Count: c.Count, Since: c.Since,
			Day: pend.Day, Late: pend.AfterCutoff})
	}
	waiting, err := s.Conversations.Waiting(ctx, q.SchoolID)
	if err != nil {
		return err
	}
	var needs []inbox.Waiting
	for _, w := range waiting {
		if w.Needs() {
			needs = append(needs, w)
		}
	}
	q.Lines = append(q.Lines, group(KindConversations, needs)...)
	failed, err := s.Deliveries.FailedDeliveries(ctx, q.SchoolID)
	if err != nil {
		return err
	}
	for _, f := range failed {
		q.Lines = append(q.Lines, Line{Kind: KindDeliveries, SchoolID: f.SchoolID, AnnouncementID: f.ID, AnnouncementKind: f.Kind,
			Audience: f.AudienceLabel, Count: f.Failed, Since: f.StartedAt})
	}
	if !admin {
		return nil
	}
	sc, overdue, err := s.overdue(ctx, q.SchoolID, waiting, q)
	if err != nil {
		return err
	}
	q.Window = sc.ResponseWindowDays
	q.Lines = append(q.Lines, group(KindOverdue, overdue)...)
	quota, ok, err := s.Quotas.QuotaUsed(ctx, q.SchoolID)
	if err != nil {
		return err
	}
	if ok {
		q.Lines = append(q.Lines, Line{Kind: KindQuota, SchoolID: q.SchoolID, Quota: quota})
	}
	alerts, err := s.Absences.Alerts(ctx)
	if err != nil {
		return err
	}
	for _, c := range alerts.Over {
		q.Lines = append(q.Lines, Line{Kind: KindClosure, SchoolID: q.SchoolID, ClassID: c.ID, Label: c.Label, Late: true,
			Closure: c.Closure, Enrolment: *c.Enrolment, Percent: c.Percent})
	}
	for _, c := range alerts.Near {
		q.Lines = append(q.Lines, Line{Kind: KindClosure, SchoolID: q.SchoolID, ClassID: c.ID, Label: c.Label,
			Closure: c.Closure, Enrolment: *c.Enrolment, Percent: c.Percent})
	}
	return nil
}

// overdue returns the school and its conversations whose parent's message has waited
// longer than the school's response window, counted in its school days.
func (s *Service) overdue(ctx context.Context, schoolID int64, waiting []inbox.Waiting, q *Queue) (school.School, []inbox.Waiting, error) {
	sc, closed, err := s.Schools.ClosedDays(ctx, schoolID)
	if err != nil {
		return sc, nil, err
	}
	shut := map[string]bool{}
	for _, d := range closed {
		shut[d.Day.Format("2006-01-02")] = true
	}
	var out []inbox.Waiting
	for _, w := range waiting {
		if !w.Unanswered.IsZero() && school.Overdue(w.Unanswered, q.Now, sc.ResponseWindowDays, func(day time.Time) bool { return shut[day.Format("2006-01-02")] }) {
			out = append(out, w)
		}
	}
	return sc, out, nil
}

// board fills a board administrator's queue: one row per school of the board.
func (s *Service) board(ctx context.Context, q *Queue) error {
	schools, err := s.Schools.Schools(ctx)
	if err != nil {
		return err
	}
	for _, sc := range schools {
		row := SchoolRow{School: sc}
		if row.Coverage, err = s.Registrations.Coverage(ctx, sc.ID); err != nil {
			return err
		}
		if row.Absences, err = s.Absences.DayCounts(ctx, sc.ID); err != nil {
			return err
		}
		waiting, err := s.Conversations.Waiting(ctx, sc.ID)
		if err != nil {
			return err
		}
		_, overdue, err := s.overdue(ctx, sc.ID, waiting, q)
		if err != nil {
			return err
		}
		row.Overdue = len(overdue)
		if row.Quota, row.QuotaKnown, err = s.Quotas.QuotaUsed(ctx, sc.ID); err != nil {
			return err
		}
		failed, err := s.Deliveries.FailedDeliveries(ctx, sc.ID)
		if err != nil {
			return err
		}
		for _, f := range failed {
			row.Failed += f.Failed
		}
		q.Schools = append(q.Schools, row)
	}
	return nil
}

// group makes one line per class, club or office and state of waiting conversations, in
// the order of their oldest (the conversations come oldest first), counting them.
func group(kind string, ws []inbox.Waiting) []Line {
	var out []Line
	at := map[[4]any]int{}
	for _, w := range ws {
		state := w.State
		if kind == KindOverdue {
			state = ""
		}
		key := [4]any{w.Target, w.ClassID, w.ClubID, state}
		if i, ok := at[key]; ok {
			out[i].Count++
			continue
		}
		at[key] = len(out)
		out = append(out, Line{Kind: kind, SchoolID: w.SchoolID, ClassID: w.ClassID, ClubID: w.ClubID, Office: w.Target == inbox.Office,
			Label: w.Label, State: state, Count: 1, Since: w.Since()})
	}
	return out
}
