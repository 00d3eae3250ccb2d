package rollover

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/riverqueue/river"

	"github.com/renraku/renraku/internal/apperr"
	"github.com/renraku/renraku/internal/audit"
	"github.com/renraku/renraku/internal/authz"
	"github.com/renraku/renraku/internal/clock"
	"github.com/renraku/renraku/internal/jobs"
	"github.com/renraku/renraku/internal/line"
	"github.com/renraku/renraku/internal/lineapi"
	"github.com/renraku/renraku/internal/parentlink"
	"github.com/renraku/renraku/internal/registration"
	"github.com/renraku/renraku/internal/school"
	"github.com/renraku/renraku/internal/txn"
)

// Service is the rollover's use cases.
type Service struct {
	Tx        txn.Transactor
	Store     Store
	Schools   Schools
	Guardians Guardians
	Links     Links
	Friends   Friends
	Outbox    Outbox
	Audit     *audit.Log
	T         func(lang, id string, data map[string]any) string
	// Clock is the service's time (its zero value reads the system time; tests
	// set it on a running app while workers read it).
	Clock clock.Clock
}

func (s *Service) now() time.Time {
	return s.Clock.Now()
}

// today is the date in Asia/Tokyo, at midnight.
func (s *Service) today() time.Time { return school.Day(s.now()) }

// AskFrom is the first day parents may be asked: February 1st before the new year.
func AskFrom(year int) time.Time { return time.Date(year, time.February, 1, 0, 0, 0, 0, school.Tokyo) }

// Overview is the rollover page: the plan, next year's structure and the parents'
// confirmations.
type Overview struct {
	School      school.School
	Plan        Plan
	NextClasses []school.Class
	NextClubs   []school.Club
	NextDuties  int
	Progress    Progress
	SingleYear  bool
	// CanSwitch: April of the new year has come and the switch has not run.
	CanSwitch bool
	// NoClass counts the children not confirmed whose next grade has no class yet.
	NoClass int
}

// plan reads the school's plan for next year (the defaults until one is saved) and
// whether its board uses single-year registration.
func (s *Service) plan(ctx context.Context, sc school.School) (Plan, bool, error) {
	year := sc.CurrentYear + 1
	p, ok, err := s.Store.FindPlan(ctx, sc.ID, year)
	if err != nil {
		return p, false, err
	}
	if !ok {
		p = Plan{SchoolID: sc.ID, Year: year, Graduating: []int{school.MaxGrade(sc.Type)}, SwitchOn: DefaultSwitchDay(year)}
	}
	single, err := s.Store.SingleYear(ctx, sc.BoardID)
	if err != nil {
		return p, false, err
	}
	if single {
		// Registrations end with March: the new year starts on April 1st (see Due).
		p.SwitchOn = school.YearStart(year)
	}
	return p, single, nil
}

// Overview shows a school's rollover to its administrators. The list of children not
// yet confirmed is personal data: viewing it is audited.
func (s *Service) Overview(ctx context.Context, schoolID int64) (Overview, error) {
	var o Overview
	err := s.Tx.InTx(ctx, func(ctx context.Context) error {
		sc, err := s.Schools.Authorize(ctx, schoolID, authz.ManageStructure)
		if err != nil {
			return err
		}
		o.School = sc
		if o.Plan, o.SingleYear, err = s.plan(ctx, sc); err != nil {
			return err
		}
		if o.NextClasses, err = s.Schools.FindClasses(ctx, sc.ID, o.Plan.Year); err != nil {
			return err
		}
		if o.NextClubs, err = s.Schools.FindClubs(ctx, sc.ID, o.Plan.Year); err != nil {
			return err
		}
		if o.NextDuties, err = s.Store.CountDuties(ctx, sc.ID, o.Plan.Year); err != nil {
			return err
		}
		if o.Progress, err = s.Store.Progress(ctx, sc.ID, sc.CurrentYear, o.Plan.Graduating); err != nil {
			return err
		}
		for i, w := range o.Progress.Waiting {
			if _, ok := DefaultClass(w.Grade, w.ClassName, o.NextClasses); !ok {
				o.Progress.Waiting[i].NoClass = true
				o.NoClass++
			}
		}
		o.CanSwitch = o.Plan.Saved && o.Plan.SwitchedAt == nil && !s.today().Before(school.YearStart(o.Plan.Year))
		return s.audit(ctx, sc, "rollover.view", map[string]any{"waiting": len(o.Progress.Waiting)})
	})
	return o, err
}

// CopyStructure copies this year's classes, clubs and duties into the next year
// (what is there already stays), for staff to edit.
func (s *Service) CopyStructure(ctx context.Context, schoolID int64) (Copied, error) {
	var c Copied
	err := s.Tx.InTx(ctx, func(ctx context.Context) error {
		sc, err := s.Schools.Authorize(ctx, schoolID, authz.ManageStructure)
		if err != nil {
			return err
		}
		if c, err = s.Store.CopyStructure(ctx, sc.ID, sc.CurrentYear); err != nil {
			return err
		}
		return s.audit(ctx, sc, "rollover.copy", map[string]any{"year": sc.CurrentYear + 1, "classes": c.Classes, "clubs": c.Clubs, "duties": c.Duties})
	})
	return c, err
}

// SavePlan stores the graduating grades and the day the new year starts (a day in
// April of the new year).
func (s *Service) SavePlan(ctx context.Context, schoolID int64, graduating []int, switchOn time.Time) error {
	return s.Tx.InTx(ctx, func(ctx context.Context) error {
		sc, err := s.Schools.Authorize(ctx, schoolID, authz.ManageStructure)
		if err != nil {
			return err
		}
		p, single, err := s.plan(ctx, sc)
		if err != nil {
			return err
		}
		if p.SwitchedAt != nil {
			return apperr.E(apperr.Conflict, "rollover.switched", errors.New("already switched"))
		}
		f := apperr.Fields{}
		maxGrade := school.MaxGrade(sc.Type)
		slices.Sort(graduating)
		graduating = slices.Compact(graduating)
		for _, g := range graduating {
			if g < 1 || g > maxGrade {
				f.Add("graduating", "rollover.graduating.invalid")
			}
		}
		if !slices.Contains(graduating, maxGrade) {
			// The top grade always leaves; a lower one may too (a school closing a grade).
			f.Add("graduating", "rollover.graduating.required")
		}
		y, m, d := switchOn.Date()
		switch {
		case switchOn.IsZero() || y != p.Year || m != time.April:
			f.Add("switch_on", "rollover.switch_on.invalid")
		case single && d != 1:
			// Registrations end on the first night of April; parents then register
			// again, and must find the new year's classes.
			f.Add("switch_on", "rollover.switch_on.single_year")
		}
		if err := f.Err(); err != nil {
			return err
		}
		p.Graduating, p.SwitchOn = graduating, switchOn
		if err := s.Store.SavePlan(ctx, p); err != nil {
			return err
		}
		return s.audit(ctx, sc, "rollover.plan", map[string]any{"year": p.Year, "graduating": gradeCode(graduating), "switch_on": switchOn.Format("20060102")})
	})
}

// Ask sends each parent with a child not yet confirmed (and not graduating) a LINE
// message with a link to confirm next year's class and clubs; asking again reminds
// only those still to confirm. It returns how many parents were asked.
func (s *Service) Ask(ctx context.Context, schoolID int64) (int, error) {
	var n int
	err := s.Tx.InTx(ctx, func(ctx context.Context) error {
		sc, err := s.Schools.Authorize(ctx, schoolID, authz.ManageStructure)
		if err != nil {
			return err
		}
		// One request at a time (a double click asks nobody twice), and not during a
		// switch.
		if _, err := s.Store.LockSchool(ctx, sc.ID); err != nil {
			return err
		}
		p, single, err := s.plan(ctx, sc)
		if err != nil {
			return err
		}
		switch {
		case single:
			return apperr.E(apperr.Conflict, "rollover.single_year", errors.New("single-year registration"))
		case !p.Saved:
			return apperr.E(apperr.Conflict, "rollover.plan.required", errors.New("no plan saved"))
		case s.now().Before(AskFrom(p.Year)):
			return apperr.E(apperr.Conflict, "rollover.ask.too_early", errors.New("before February"))
		case !s.today().Before(p.SwitchOn):
			return apperr.E(apperr.Conflict, "rollover.ask.too_late", errors.New("switch day reached"))
		}
		classes, err := s.Schools.FindClasses(ctx, sc.ID, p.Year)
		if err != nil {
			return err
		}
		if len(classes) == 0 {
			return apperr.E(apperr.Conflict, "rollover.no_classes", errors.New("next year has no classes"))
		}
		friends, err := s.Store.FriendsToAsk(ctx, sc.ID, sc.CurrentYear, p.Graduating)
		if err != nil {
			return err
		}
		// The link lasts until the switch (01:00 on its day); parents are asked to confirm
		// by the day before.
		until := p.SwitchOn
		for _, id := range friends {
			f, err := s.Friends.FindFriend(ctx, id)
			if err != nil {
				return err
			}
			url, err := s.Links.IssueUntil(ctx, id, parentlink.PurposeRollover, until)
			if err != nil {
				return err
			}
			text := s.T(f.Language, "rollover.line.ask", map[string]any{"School": sc.Name, "Year": p.Year,
				"Date": p.SwitchOn.AddDate(0, 0, -1).Format("1/2")})
			if _, err := s.Outbox.Queue(ctx, line.Send{Friend: f, Purpose: "rollover", Messages: []line.Message{{
				Text: lineapi.TrimUTF16(text, lineapi.MaxButtonsTextLength), AltText: text,
				Buttons: []line.Action{{Kind: "uri", Label: s.T(f.Language, "rollover.line.button", nil), URI: url}}}}}); err != nil {
				return err
			}
		}
		n = len(friends)
		if err := s.Store.MarkAsked(ctx, sc.ID, p.Year, s.now()); err != nil {
			return err
		}
		return s.audit(ctx, sc, "rollover.ask", map[string]any{"year": p.Year, "parents": n})
	})
	return n, err
}

// SwitchNow makes the new year current at once (an administrator on the first school
// day, before the nightly job): allowed from April 1st of the new year.
func (s *Service) SwitchNow(ctx context.Context, schoolID int64) (Switched, error) {
	var out Switched
	err := s.Tx.InTx(ctx, func(ctx context.Context) error {
		sc, err := s.Schools.Authorize(ctx, schoolID, authz.ManageStructure)
		if err != nil {
			return err
		}
		year := sc.CurrentYear + 1
		if s.today().Before(school.YearStart(year)) {
			return apperr.E(apperr.Conflict, "rollover.switch.too_early", errors.New("before April"))
		}
		a := authz.ActorFrom(ctx)
		out, err = s.switchSchool(ctx, sc.ID, year, audit.Actor{Kind: audit.Staff, ID: a.StaffID})
		return err
	})
	return out, err
}

var (
	errNotReady = errors.New("rollover not ready")
	errSwitched = errors.New("already switched")
)

// switchSchool makes year current for a school inside tx.
func (s *Service) switchSchool(ctx context.Context, schoolID int64, year int, who audit.Actor) (Switched, error) {
	var out Switched
	current, err := s.Store.LockSchool(ctx, schoolID)
	if err != nil {
		return out, err
	}
	if current != year-1 {
		return out, apperr.E(apperr.Conflict, "rollover.switched", fmt.Errorf("%w: school year is %d", errSwitched, current))
	}
	sc, err := s.Schools.FindSchoolByID(ctx, schoolID)
	if err != nil {
		return out, err
	}
	p, ok, err := s.Store.FindPlan(ctx, schoolID, year)
	if err != nil {
		return out, err
	}
	next, err := s.Schools.FindClasses(ctx, schoolID, year)
	if err != nil {
		return out, err
	}
	pending, err := s.Store.YearEndPending(ctx, sc.BoardID, year)
	if err != nil {
		return out, err
	}
	if !ok && pending {
		// A single-year board's school switches on April 1st without a plan: its
		// registrations end with March anyway.
		p, ok = Plan{SchoolID: schoolID, Year: year, Graduating: []int{school.MaxGrade(sc.Type)}}, true
	}
	if !ok || len(next) == 0 {
		return out, apperr.E(apperr.Conflict, "rollover.plan.required", errNotReady)
	}
	nowClubs, err := s.Schools.FindClubs(ctx, schoolID, current)
	if err != nil {
		return out, err
	}
	nextClubs, err := s.Schools.FindClubs(ctx, schoolID, year)
	if err != nil {
		return out, err
	}
	children, err := s.Store.ChildrenOf(ctx, schoolID, current)
	if err != nil {
		return out, err
	}
	if pending {
		// A single-year board's deletion of every registration is still to come (the
		// first night of April): nobody moves, nobody is told twice. Once it has run,
		// whoever registered again is moved as usual.
		children = nil
	}
	var graduates, waiting []int64
	for _, c := range children {
		switch {
		case slices.Contains(p.Graduating, c.Grade):
			graduates = append(graduates, c.ID)
		case c.Next != nil:
			if err := s.Store.Move(ctx, *c.Next, false); errors.Is(err, ErrNameClash) {
				out.Unplaced++
				continue
			} else if err != nil {
				return out, err
			}
			out.Moved++
		default:
			to, ok := DefaultClass(c.Grade, c.Class, next)
			if !ok {
				out.Unplaced++
				continue
			}
			err := s.Store.Move(ctx, Placement{ChildID: c.ID, ClassID: to.ID, ClubIDs: DefaultClubs(c.ClubIDs, nowClubs, nextClubs)}, true)
			if errors.Is(err, ErrNameClash) {
				out.Unplaced++
				continue
			} else if err != nil {
				return out, err
			}
			waiting = append(waiting, c.ID)
			out.Placed++
		}
	}
	// Parents of children placed by default are told their registration waits for the
	// new homeroom teacher's approval.
	friends, err := s.Store.FriendsOfChildren(ctx, waiting)
	if err != nil {
		return out, err
	}
	for _, id := range friends {
		f, err := s.Friends.FindFriend(ctx, id)
		if err != nil {
			return out, err
		}
		if !f.Following {
			continue
		}
		if _, err := s.Outbox.Queue(ctx, line.Send{Friend: f, Purpose: "rollover", Messages: []line.Message{{
			Text: s.T(f.Language, "rollover.line.placed", map[string]any{"School": sc.Name, "Year": year})}}}); err != nil {
			return out, err
		}
	}
	if len(graduates) > 0 {
		left, err := s.Guardians.LeaveTx(ctx, registration.ChildScope{BoardID: sc.BoardID, SchoolID: sc.ID}, graduates, registration.LeaveGraduation)
		if err != nil {
			return out, err
		}
		out.Graduated, out.GuardiansEnd = left.Children, left.Guardians
	}
	if out.Cancelled, err = s.Store.Finish(ctx, schoolID, year, s.now()); err != nil {
		return out, err
	}
	if out.SurveysCancelled, err = s.Store.CancelSurveys(ctx, schoolID); err != nil {
		return out, err
	}
	return out, s.Audit.Record(ctx, audit.Event{Actor: who, Action: "rollover.switch", ObjectKind: "school",
		ObjectID: strconv.FormatInt(schoolID, 10), BoardID: sc.BoardID, SchoolID: sc.ID,
		Detail: map[string]any{"year": year, "graduated": out.Graduated, "moved": out.Moved, "placed": out.Placed,
			"unplaced": out.Unplaced, "announcements_cancelled": out.Cancelled, "surveys_cancelled": out.SurveysCancelled,
			"guardians_ended": out.GuardiansEnd}})
}

// SwitchDue switches every school whose day has come (the nightly job); one school's
// failure does not stop the others.
func (s *Service) SwitchDue(ctx context.Context) (map[int64]Switched, error) {
	var due map[int64]int
	err := s.Tx.InTx(ctx, func(ctx context.Context) error {
		var err error
		due, err = s.Store.Due(ctx, s.today())
		return err
	})
	if err != nil {
		return nil, err
	}
	out := map[int64]Switched{}
	var failed error
	for schoolID, year := range due {
		err := s.Tx.InTx(ctx, func(ctx context.Context) error {
			r, err := s.switchSchool(ctx, schoolID, year, audit.SystemActor)
			out[schoolID] = r
			return err
		})
		if errors.Is(err, errSwitched) {
			delete(out, schoolID) // switched meanwhile (switch now, another instance)
		} else if err != nil {
			failed = errors.Join(failed, fmt.Errorf("school %d: %w", schoolID, err))
		}
	}
	return out, failed
}

// SwitchArgs is the nightly job that switches the schools whose day has come.
type SwitchArgs struct{}

// Kind names the job.
func (SwitchArgs) Kind() string { return "rollover.switch" }

// InsertOpts puts it on the maintenance queue.
func (SwitchArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: jobs.QueueMaintenance}
}

type switchWorker struct {
	river.WorkerDefaults[SwitchArgs]
	s *Service
}

func (w *switchWorker) Work(ctx context.Context, _ *river.Job[SwitchArgs]) error {
	_, err := w.s.SwitchDue(ctx)
	return err
}

// SwitchHour is the hour (Asia/Tokyo) the switch runs: before the first school day's
// morning, and before retention's night run (02:00), so that on a single-year board
// the parents who register again after the end-of-March deletion find the new year.
const SwitchHour = 1

// Workers registers the nightly switch on one instance.
func (s *Service) Workers(w *river.Workers) []*river.PeriodicJob {
	river.AddWorker(w, &switchWorker{s: s})
	return []*river.PeriodicJob{river.NewPeriodicJob(jobs.Daily(SwitchHour),
		func() (river.JobArgs, *river.InsertOpts) { return SwitchArgs{}, nil }, nil)}
}

// gradeCode writes grades as a short code for the audit log ("56").
func gradeCode(grades []int) string {
	b := make([]byte, 0, len(grades))
	for _, g := range grades {
		b = append(b, byte('0'+g))
	}
	return string(b)
}

// audit records a staff member's action on a school's rollover.
func (s *Service) audit(ctx context.Context, sc school.School, action string, detail map[string]any) error {
	a := authz.ActorFrom(ctx)
	return s.Audit.Record(ctx, audit.Event{Actor: audit.Actor{Kind: audit.Staff, ID: a.StaffID}, Action: action,
		ObjectKind: "school", ObjectID: strconv.FormatInt(sc.ID, 10), BoardID: sc.BoardID, SchoolID: sc.ID, Detail: detail})
}
