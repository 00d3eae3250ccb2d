package absence

import (
	"context"
	"slices"
	"strconv"
	"time"

	"github.com/renraku/renraku/internal/apperr"
	"github.com/renraku/renraku/internal/audit"
	"github.com/renraku/renraku/internal/authz"
	"github.com/renraku/renraku/internal/school"
)

// TrendDays is how many days the trend charts show.
const TrendDays = 14

// Counts are a day's reports of a group of children: counts only (P8).
type Counts struct {
	Absent, Late, Early int
	// Fever and Suspension count absences with fever or 出席停止: the figures a
	// 学級閉鎖 decision is made on.
	Fever, Suspension int
	Symptoms          map[string]int
}

func (c *Counts) add(r Report) {
	switch r.Kind {
	case "absent":
		c.Absent++
		if slices.Contains(r.Detail.Symptoms, "fever") {
			c.Fever++
		}
		if r.Detail.Reason == "suspension" {
			c.Suspension++
		}
	case "late":
		c.Late++
	case "early":
		c.Early++
	}
	if c.Symptoms == nil {
		c.Symptoms = map[string]int{}
	}
	for _, s := range r.Detail.Symptoms {
		c.Symptoms[s]++
	}
}

// ClassDay is one class's figures for the day, and its absences over TrendDays days.
type ClassDay struct {
	ClassInfo
	Counts
	// Closure is the number of the class's pupils absent with fever or 出席停止 (each
	// pupil once, whichever applies): the figure a 学級閉鎖 decision is made on.
	Closure int
	// Percent is Closure's share of the class's enrolment, rounded down; it means
	// something only when HasPercent (the enrolment is set, and not 0).
	Percent    int
	HasPercent bool
	Alert      bool
	Trend      []int
}

// Stats is a school's absence figures for a day.
type Stats struct {
	SchoolID     int64
	Day          time.Time
	AlertPercent int
	AlertMin     int
	// SchoolDay is false on a weekend or national holiday: no class raises an alert
	// then, whatever its figures.
	SchoolDay bool
	Classes   []ClassDay
	Grades    map[int]*Counts
	Total     Counts
	Days      []time.Time
}

// ClosureAlert reports what a class's closure figures mean under a school's settings:
// the share of the enrolment (when it is set and not 0) and whether it raises the
// alert. The alert needs a school day, a set enrolment, at least set.AlertMin pupils
// and at least set.AlertPercent of the enrolment: the children registered in renraku
// are not the class, and one feverish child is never a 学級閉鎖 question.
func ClosureAlert(set Settings, schoolDay bool, enrolment *int, closure int) (percent int, hasPercent, alert bool) {
	if enrolment == nil || *enrolment <= 0 {
		return 0, false, false
	}
	percent = closure * 100 / *enrolment
	alert = schoolDay && closure > 0 && closure >= set.AlertMin && closure*100 >= set.AlertPercent**enrolment
	return percent, true, alert
}

// closes reports whether a report counts towards a 学級閉鎖 decision: an absence
// with fever or for 出席停止.
func closes(r Report) bool {
	return r.Kind == "absent" && (slices.Contains(r.Detail.Symptoms, "fever") || r.Detail.Reason == "suspension")
}

// covers reports whether a report covers a calendar day. Dates are compared as
// calendar dates, each in its own zone (PostgreSQL's dates arrive at UTC midnight, the
// school's days are Tokyo midnights).
func covers(r Report, day time.Time) bool {
	d := dayNum(day)
	return dayNum(r.From) <= d && d <= dayNum(r.To)
}

func dayNum(t time.Time) int {
	y, m, d := t.Date()
	return y*10000 + int(m)*100 + d
}

// StatsPage is the statistics page: a school's figures for a day, the schools the
// actor may choose from and, for a board administrator, each of the board's schools'
// figures for the same day.
type StatsPage struct {
	Stats
	Schools []school.School
	// School is the school shown (its name: empty when the actor may not list it).
	School school.School
	Board  []SchoolStats
}

// SchoolStats are one school's figures, on a board administrator's statistics page.
type SchoolStats struct {
	School school.School
	Stats  Stats
}

// OpenStats returns the statistics page of a school (0: the actor's own, or the first
// of the board's) for a day (zero: today). Each school's figures are read and audited
// as Stats does, one at a time.
func (s *Service) OpenStats(ctx context.Context, schoolID int64, day time.Time) (StatsPage, error) {
	a := authz.ActorFrom(ctx)
	schools, err := s.Schools.Schools(ctx)
	if err != nil {
		return StatsPage{}, err
	}
	if schoolID == 0 {
		if a.SchoolID != 0 {
			schoolID = a.SchoolID
		} else if len(schools) > 0 {
			schoolID = schools[0].ID
		}
	}
	if day.IsZero() {
		day = s.Today()
	}
	st, err := s.Stats(ctx, schoolID, day)
	if err != nil {
		return StatsPage{}, err
	}
	p := StatsPage{Stats: st, Schools: schools}
	for _, sc := range schools {
		if sc.ID == schoolID {
			p.School = sc
		}
	}
	// The board's figures, school by school: for those who may see every school's.
	if authz.Check(a, authz.ViewSchoolData, authz.Target{BoardID: a.BoardIDOrZero()}) != nil {
		return p, nil
	}
	for _, sc := range schools {
		bs, err := s.Stats(ctx, sc.ID, day)
		if err != nil {
			return StatsPage{}, err
		}
		p.Board = append(p.Board, SchoolStats{School: sc, Stats: bs})
	}
	return p, nil
}

// Stats returns a school's figures for a day with the 14-day trend per class, for the
// school's administrators and the board's. The figures are counts; the view is audited.
func (s *Service) Stats(ctx context.Context, schoolID int64, day time.Time) (Stats, error) {
	a := authz.ActorFrom(ctx)
	if err := authz.SignedIn(a); err != nil {
		return Stats{}, err
	}
	st := Stats{SchoolID: schoolID, Day: day, Grades: map[int]*Counts{}}
	err := s.Tx.InTx(ctx, func(ctx context.Context) error {
		set, err := s.Store.FindSettings(ctx, schoolID)
		if err != nil {
			return err
		}
		t := authz.Target{BoardID: set.BoardID, SchoolID: schoolID}
		if err := authz.Check(a, authz.ViewSchoolData, t); err != nil {
			if authz.Check(a, authz.ViewSchool, t) != nil {
				return apperr.E(apperr.NotFound, "error.not_found.title", err)
			}
			return err
		}
		st, err = s.stats(ctx, set, day, st)
		if err != nil {
			return err
		}
		return s.Audit.Record(ctx, audit.Event{Actor: audit.Actor{Kind: audit.Staff, ID: a.StaffID}, Action: "absence.stats_view",
			ObjectKind: "school", ObjectID: strconv.FormatInt(schoolID, 10), BoardID: set.BoardID, SchoolID: schoolID,
			Detail: map[string]any{"day": day.Format("2006-01-02")}})
	})
	return st, err
}

func (s *Service) stats(ctx context.Context, set Settings, day time.Time, st Stats) (Stats, error) {
	var year int
	if day.Month() < time.April {
		year = day.Year() - 1
	} else {
		year = day.Year()
	}
	classes, err := s.Store.FindClassInfo(ctx, set.SchoolID, year)
	if err != nil {
		return st, err
	}
	first := day.AddDate(0, 0, -(TrendDays - 1))
	reports, err := s.Store.FindSchoolReports(ctx, set.SchoolID, first, day)
	if err != nil {
		return st, err
	}
	for d := first; !d.After(day); d = d.AddDate(0, 0, 1) {
		st.Days = append(st.Days, d)
	}
	st.AlertPercent, st.AlertMin, st.SchoolDay = set.AlertPercent, set.AlertMin, school.IsSchoolDay(day)
	if st.SchoolDay {
		// A day the school marked closed (休校日) raises no closure alert either.
		closed, err := s.Store.FindClosedDays(ctx, set.SchoolID, day, day)
		if err != nil {
			return st, err
		}
		st.SchoolDay = len(closed) == 0
	}
	for _, c := range classes {
		cd := ClassDay{ClassInfo: c, Trend: make([]int, len(st.Days))}
		closing := map[int64]bool{}
		for _, r := range reports {
			if r.ClassID != c.ID {
				continue
			}
			for i, d := range st.Days {
				if r.Kind == "absent" && covers(r, d) {
					cd.Trend[i]++
				}
			}
			if covers(r, day) {
				if closes(r) {
					closing[r.ChildID] = true
				}
				cd.add(r)
				st.Total.add(r)
				if st.Grades[c.Grade] == nil {
					st.Grades[c.Grade] = &Counts{}
				}
				st.Grades[c.Grade].add(r)
			}
		}
		cd.Closure = len(closing)
		cd.Percent, cd.HasPercent, cd.Alert = ClosureAlert(set, st.SchoolDay, c.Enrolment, cd.Closure)
		st.Classes = append(st.Classes, cd)
	}
	return st, nil
}

// Alerts is the 学級閉鎖 picture of the school day for the administrators' start page.
type Alerts struct {
	// Over are the classes that raise the alert.
	Over []ClassDay
	// NoEnrolment are the classes with pupils absent with fever or 出席停止 whose
	// enrolment is not set: their count is shown, without a share and never as an
	// alert.
	NoEnrolment []ClassDay
	// Near are the classes that come near the alert without raising it (NearClosure).
	Near []ClassDay
	// SchoolID is the actor's school; CanSetEnrolment says whether the actor may set
	// enrolments (on the school's structure page).
	SchoolID        int64
	CanSetEnrolment bool
}

// Alerts returns today's 学級閉鎖 picture at the actor's school, for its
// administrators' start page (nothing for anyone else, and nothing on a day that is
// not a school day).
func (s *Service) Alerts(ctx context.Context) (Alerts, error) {
	a := authz.ActorFrom(ctx)
	if a == nil || a.SchoolID == 0 || authz.Check(a, authz.ViewSchoolData, authz.Target{BoardID: a.BoardID, SchoolID: a.SchoolID}) != nil {
		return Alerts{}, nil
	}
	out := Alerts{SchoolID: a.SchoolID}
	err := s.Tx.InTx(ctx, func(ctx context.Context) error {
		set, err := s.Store.FindSettings(ctx, a.SchoolID)
		if err != nil {
			return err
		}
		out.CanSetEnrolment = authz.Check(a, authz.ManageStructure, authz.Target{BoardID: set.BoardID, SchoolID: a.SchoolID}) == nil
		st, err := s.stats(ctx, set, s.Today(), Stats{SchoolID: a.SchoolID, Grades: map[int]*Counts{}})
		if err != nil || !st.SchoolDay {
			return err
		}
		for _, c := range st.Classes {
			switch {
			case c.Alert:
				out.Over = append(out.Over, c)
			case c.Enrolment == nil && c.Closure > 0:
				out.NoEnrolment = append(out.NoEnrolment, c)
			case NearClosure(set, st.SchoolDay, c.Enrolment, c.Closure):
				out.Near = append(out.Near, c)
			}
		}
		return nil
	})
	return out, err
}

// Today is the service's school day (Asia/Tokyo, midnight): the day its figures show
// when no other is asked for.
func (s *Service) Today() time.Time { return Today(s.now()) }

// Club returns the reports covering a day of a club's members, for its advisors (and
// the school's administrators). Reasons, symptoms and notes are left out unless the
// school lets advisors see them. The view is audited.
func (s *Service) Club(ctx context.Context, clubID int64, day time.Time) ([]Report, error) {
	a := authz.ActorFrom(ctx)
	if err := authz.SignedIn(a); err != nil {
		return nil, err
	}
	var out []Report
	err := s.Tx.InTx(ctx, func(ctx context.Context) error {
		schoolID, year, err := s.Store.FindClubScope(ctx, clubID)
		if err != nil {
			return err
		}
		set, err := s.Store.FindSettings(ctx, schoolID)
		if err != nil {
			return err
		}
		t := authz.Target{BoardID: set.BoardID, SchoolID: schoolID, Year: year, ClubID: clubID}
		if err := authz.Check(a, authz.ViewClubData, t); err != nil {
			if authz.Check(a, authz.ViewSchoolData, t) != nil {
				if authz.Check(a, authz.ViewSchool, t) != nil {
					return apperr.E(apperr.NotFound, "error.not_found.title", err)
				}
				return err
			}
		}
		if out, err = s.Store.FindClubReports(ctx, clubID, day); err != nil {
			return err
		}
		if !set.ClubReasons {
			for i := range out {
				out[i].Detail = Detail{Time: out[i].Detail.Time}
			}
		}
		return s.Audit.Record(ctx, audit.Event{Actor: audit.Actor{Kind: audit.Staff, ID: a.StaffID}, Action: "absence.club_view",
			ObjectKind: "club", ObjectID: strconv.FormatInt(clubID, 10), BoardID: set.BoardID, SchoolID: schoolID,
			Detail: map[string]any{"day": day.Format("2006-01-02"), "rows": len(out)}})
	})
	return out, err
}
