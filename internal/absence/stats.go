package absence

import (
	"context"
	"slices"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/renraku/renraku/internal/apperr"
	"github.com/renraku/renraku/internal/audit"
	"github.com/renraku/renraku/internal/authz"
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
	// Percent is the share of registered children absent with fever or 出席停止.
	Percent int
	Alert   bool
	Trend   []int
}

// Stats is a school's absence figures for a day.
type Stats struct {
	SchoolID     int64
	Day          time.Time
	AlertPercent int
	Classes      []ClassDay
	Grades       map[int]*Counts
	Total        Counts
	Days         []time.Time
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

// Stats returns a school's figures for a day with the 14-day trend per class, for the
// school's administrators and the board's. The figures are counts; the view is audited.
func (s *Service) Stats(ctx context.Context, schoolID int64, day time.Time) (Stats, error) {
	a := authz.ActorFrom(ctx)
	if err := authz.SignedIn(a); err != nil {
		return Stats{}, err
	}
	st := Stats{SchoolID: schoolID, Day: day, Grades: map[int]*Counts{}}
	err := pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error {
		set, err := s.Store.FindSettings(ctx, tx, schoolID)
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
		st.AlertPercent = set.AlertPercent
		st, err = s.stats(ctx, tx, set, day, st)
		if err != nil {
			return err
		}
		return s.Audit.Record(ctx, tx, audit.Event{Actor: audit.Actor{Kind: audit.Staff, ID: a.StaffID}, Action: "absence.stats_view",
			ObjectKind: "school", ObjectID: strconv.FormatInt(schoolID, 10), BoardID: set.BoardID, SchoolID: schoolID,
			Detail: map[string]any{"day": day.Format("2006-01-02")}})
	})
	return st, err
}

func (s *Service) stats(ctx context.Context, tx pgx.Tx, set Settings, day time.Time, st Stats) (Stats, error) {
	var year int
	if day.Month() < time.April {
		year = day.Year() - 1
	} else {
		year = day.Year()
	}
	classes, err := s.Store.FindClassInfo(ctx, tx, set.SchoolID, year)
	if err != nil {
		return st, err
	}
	first := day.AddDate(0, 0, -(TrendDays - 1))
	reports, err := s.Store.FindSchoolReports(ctx, tx, set.SchoolID, first, day)
	if err != nil {
		return st, err
	}
	for d := first; !d.After(day); d = d.AddDate(0, 0, 1) {
		st.Days = append(st.Days, d)
	}
	for _, c := range classes {
		cd := ClassDay{ClassInfo: c, Trend: make([]int, len(st.Days))}
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
				cd.add(r)
				st.Total.add(r)
				if st.Grades[c.Grade] == nil {
					st.Grades[c.Grade] = &Counts{}
				}
				st.Grades[c.Grade].add(r)
			}
		}
		if c.Registered > 0 {
			cd.Percent = (cd.Fever + cd.Suspension) * 100 / c.Registered
			cd.Alert = (cd.Fever+cd.Suspension)*100 >= set.AlertPercent*c.Registered && cd.Fever+cd.Suspension > 0
		}
		st.Classes = append(st.Classes, cd)
	}
	return st, nil
}

// Alerts returns today's classes over the threshold at the actor's school, for the
// administrators' start page ("" when the actor is not a school's administrator).
func (s *Service) Alerts(ctx context.Context) ([]ClassDay, error) {
	a := authz.ActorFrom(ctx)
	if a == nil || a.SchoolID == 0 || authz.Check(a, authz.ViewSchoolData, authz.Target{BoardID: a.BoardID, SchoolID: a.SchoolID}) != nil {
		return nil, nil
	}
	var out []ClassDay
	err := pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error {
		set, err := s.Store.FindSettings(ctx, tx, a.SchoolID)
		if err != nil {
			return err
		}
		st, err := s.stats(ctx, tx, set, Today(s.now()), Stats{SchoolID: a.SchoolID, Grades: map[int]*Counts{}})
		for _, c := range st.Classes {
			if c.Alert {
				out = append(out, c)
			}
		}
		return err
	})
	return out, err
}

// Club returns the reports covering a day of a club's members, for its advisors (and
// the school's administrators). Reasons, symptoms and notes are left out unless the
// school lets advisors see them. The view is audited.
func (s *Service) Club(ctx context.Context, clubID int64, day time.Time) ([]Report, error) {
	a := authz.ActorFrom(ctx)
	if err := authz.SignedIn(a); err != nil {
		return nil, err
	}
	var out []Report
	err := pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error {
		schoolID, year, err := s.Store.FindClubScope(ctx, tx, clubID)
		if err != nil {
			return err
		}
		set, err := s.Store.FindSettings(ctx, tx, schoolID)
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
		if out, err = s.Store.FindClubReports(ctx, tx, clubID, day); err != nil {
			return err
		}
		if !set.ClubReasons {
			for i := range out {
				out[i].Detail = Detail{Time: out[i].Detail.Time}
			}
		}
		return s.Audit.Record(ctx, tx, audit.Event{Actor: audit.Actor{Kind: audit.Staff, ID: a.StaffID}, Action: "absence.club_view",
			ObjectKind: "club", ObjectID: strconv.FormatInt(clubID, 10), BoardID: set.BoardID, SchoolID: schoolID,
			Detail: map[string]any{"day": day.Format("2006-01-02"), "rows": len(out)}})
	})
	return out, err
}
