// Package absence is the most used function of a school–parent service (SPEC C2):
// parents report 欠席・遅刻・早退 from LINE at any hour, and the homeroom teacher sees a
// clean list before morning homeroom, acknowledges it, and can print or export it.
package absence

import (
	"context"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/text/width"

	"github.com/renraku/renraku/internal/apperr"
	"github.com/renraku/renraku/internal/school"
	"github.com/renraku/renraku/internal/vault"
)

// Kinds of report.
var Kinds = []string{"absent", "late", "early"}

// Reasons, symptoms and diseases (出席停止) a school may offer; the school switches
// reasons and symptoms on or off.
var (
	Reasons  = school.AbsenceReasons
	Symptoms = school.AbsenceSymptoms
	Diseases = []string{"influenza", "covid", "other"}
)

// Limits of a report.
const (
	MaxDaysAhead = 30
	MaxNote      = 200
)

// Statuses of a report.
const (
	Sent         = "sent"
	Acknowledged = "acknowledged"
	Cancelled    = "cancelled"
)

// Detail is the part of a report that is health or family information: stored
// encrypted as one document.
type Detail struct {
	Reason      string   `json:"reason"`
	Disease     string   `json:"disease,omitempty"`
	Symptoms    []string `json:"symptoms,omitempty"`
	Temperature string   `json:"temperature,omitempty"`
	Note        string   `json:"note,omitempty"`
	// Time is the expected arrival (遅刻) or the leaving time (早退), "HH:MM".
	Time string `json:"time,omitempty"`
}

// Report is one report.
type Report struct {
	ID         int64
	ChildID    int64
	GuardianID int64
	SchoolID   int64
	ClassID    int64
	Kind       string
	From, To   time.Time
	Detail     Detail
	Status     string
	Revision   int
	CreatedAt  time.Time
	// Filled when read for lists.
	ChildName  vault.Personal
	ClassLabel string
	Nickname   vault.Personal
	Verified   bool
}

// Settings are how a school takes reports.
type Settings struct {
	SchoolID int64
	BoardID  int64
	Cutoff   string // "HH:MM"
	Reasons  []string
	Symptoms []string
	Notify   bool
	Phone    string
	// AlertPercent is the share of a class's enrolment absent with fever or 出席停止
	// on a school day that raises an alert, once at least AlertMin pupils are;
	// ClubReasons lets club advisors see reasons.
	AlertPercent int
	AlertMin     int
	ClubReasons  bool
	// Closed are the days the school marked closed (besides weekends) that a report
	// could be for; read for the parent's form only.
	Closed []time.Time
}

// Form is what a parent submits.
type Form struct {
	// Children are the children the report is for: several when siblings are absent
	// on the same day, each getting a report of their own. ChildID is the one a
	// report is checked for.
	Children    []int64
	ChildID     int64
	Kind        string
	From, To    string // YYYY-MM-DD
	Reason      string
	Disease     string
	Symptoms    []string
	Temperature string
	Note        string
	Time        string
	// Key is the form's one-time key: the same key twice stores one report.
	Key string
}

var (
	hhmm = regexp.MustCompile(`^([01][0-9]|2[0-3]):[0-5][0-9]$`)
	temp = regexp.MustCompile(`^(3[4-9]|4[0-2])(\.[0-9])?$`)
)

// Check validates a form for a child of the school with settings s, on the school day
// today (a date in Asia/Tokyo), and returns the report it describes or the problems by
// field.
func Check(f Form, s Settings, today time.Time) (Report, apperr.Fields) {
	e := apperr.Fields{}
	r := Report{ChildID: f.ChildID, Kind: f.Kind, SchoolID: s.SchoolID}
	if !slices.Contains(Kinds, f.Kind) {
		e.Add("kind", "absence.kind.invalid")
	}
	from, err := time.ParseInLocation("2006-01-02", strings.TrimSpace(f.From), today.Location())
	switch {
	case err != nil:
		e.Add("from", "absence.date.invalid")
	case from.Before(today):
		e.Add("from", "absence.date.past")
	case from.After(today.AddDate(0, 0, MaxDaysAhead)):
		e.Add("from", "absence.date.too_far")
	}
	to := from
	if f.Kind == "absent" && strings.TrimSpace(f.To) != "" {
		if to, err = time.ParseInLocation("2006-01-02", strings.TrimSpace(f.To), today.Location()); err != nil {
			e.Add("to", "absence.date.invalid")
		} else if to.Before(from) || to.Sub(from) > MaxDaysAhead*24*time.Hour {
			e.Add("to", "absence.date.range")
		} else if to.After(today.AddDate(0, 0, MaxDaysAhead)) {
			e.Add("to", "absence.date.too_far")
		}
	}
	r.From, r.To = from, to
	d := Detail{Reason: f.Reason}
	if !slices.Contains(s.Reasons, f.Reason) {
		e.Add("reason", "absence.reason.invalid")
	}
	if f.Reason == "suspension" {
		if d.Disease = f.Disease; !slices.Contains(Diseases, f.Disease) {
			e.Add("disease", "absence.disease.invalid")
		}
	}
	if f.Reason == "illness" {
		for _, sy := range f.Symptoms {
			if !slices.Contains(s.Symptoms, sy) {
				e.Add("symptoms", "absence.symptoms.invalid")
			} else if !slices.Contains(d.Symptoms, sy) {
				d.Symptoms = append(d.Symptoms, sy)
			}
		}
		d.Temperature = width.Narrow.String(strings.TrimSpace(f.Temperature))
		if d.Temperature != "" && !temp.MatchString(d.Temperature) {
			e.Add("temperature", "absence.temperature.invalid")
		}
	}
	d.Note = strings.TrimSpace(f.Note)
	if utf8.RuneCountInString(d.Note) > MaxNote {
		e.Add("note", "absence.note.too_long")
	}
	if f.Kind == "late" || f.Kind == "early" {
		d.Time = width.Narrow.String(strings.TrimSpace(f.Time))
		if !hhmm.MatchString(d.Time) {
			e.Add("time", "absence.time.required")
		}
	}
	r.Detail = d
	return r, e
}

// AfterCutoff reports whether now (in the school's zone) is past the school's cut-off
// for a report of today.
func AfterCutoff(s Settings, now time.Time, day time.Time) bool {
	if !sameDay(now, day) || !hhmm.MatchString(s.Cutoff) {
		return false
	}
	h, _ := strconv.Atoi(s.Cutoff[:2])
	m, _ := strconv.Atoi(s.Cutoff[3:])
	return now.Hour()*60+now.Minute() >= h*60+m
}

// FirstDay is the date the parent's form suggests for a school with settings s at now
// (in the school's zone): today, or tomorrow once the cut-off has passed, moved on past
// Saturdays, Sundays, national holidays and the days the school marked closed. Should every day a report may
// be for be closed, it is today.
func FirstDay(s Settings, now time.Time) time.Time {
	today := Today(now)
	day := today
	if AfterCutoff(s, now, day) {
		day = day.AddDate(0, 0, 1)
	}
	for ; !day.After(today.AddDate(0, 0, MaxDaysAhead)); day = day.AddDate(0, 0, 1) {
		if school.IsSchoolDay(day) && !slices.ContainsFunc(s.Closed, func(c time.Time) bool { return sameDay(c, day) }) {
			return day
		}
	}
	return today
}

func sameDay(a, b time.Time) bool {
	ay, am, ad := a.Date()
	by, bm, bd := b.Date()
	return ay == by && am == bm && ad == bd
}

// Store is the persistence of reports.
type Store interface {
	FindSettings(ctx context.Context, schoolID int64) (Settings, error)
	// FindFormSettings is FindSettings with the school's closed days from..to in
	// Closed: what the parents' form needs, in one query.
	FindFormSettings(ctx context.Context, schoolID int64, from, to time.Time) (Settings, error)
	// SaveReport stores a report under its submit key. A key seen before returns the
	// stored report (a double tap); a report for the same child and first day that is
	// not cancelled is corrected (its revision raised) instead of duplicated.
	SaveReport(ctx context.Context, r *Report, key []byte) (created bool, err error)
	FindReport(ctx context.Context, id int64) (Report, error)
	FindGuardianReports(ctx context.Context, guardianID int64, since time.Time) ([]Report, error)
	CancelReport(ctx context.Context, id int64) error
	FindClassReports(ctx context.Context, classID int64, day time.Time) ([]Report, error)
	AcknowledgeReports(ctx context.Context, ids []int64, staffID int64) ([]Report, error)
	// FindClassScope returns a class's school and year.
	FindClassScope(ctx context.Context, classID int64) (schoolID int64, year int, err error)
	// FindClubReports lists the reports covering a day of the children in a club.
	FindClubReports(ctx context.Context, clubID int64, day time.Time) ([]Report, error)
	// FindClubScope returns a club's school and year.
	FindClubScope(ctx context.Context, clubID int64) (schoolID int64, year int, err error)
	// FindClubs lists a school year's clubs by name.
	FindClubs(ctx context.Context, schoolID int64, year int) ([]ClubChoice, error)
	// FindSchoolReports lists a school's reports covering the days from..to (not cancelled).
	FindSchoolReports(ctx context.Context, schoolID int64, from, to time.Time) ([]Report, error)
	// FindClassInfo lists a school year's classes with their enrolment and their
	// registered (verified) children.
	FindClassInfo(ctx context.Context, schoolID int64, year int) ([]ClassInfo, error)
	// FindClosedDays lists the days from..to a school marked closed.
	FindClosedDays(ctx context.Context, schoolID int64, from, to time.Time) ([]time.Time, error)
	// CountUnacknowledged counts a school's reports covering day that are not yet
	// acknowledged, per class (of the given classes, or all), oldest first.
	CountUnacknowledged(ctx context.Context, schoolID int64, day time.Time, classIDs []int64) ([]ClassPending, error)
	// CountDay counts a school's reports covering day by kind (not cancelled).
	CountDay(ctx context.Context, schoolID int64, day time.Time) (Counts, error)
	// FindGuardianFriend returns a guardian's LINE friend and language.
	FindGuardianFriend(ctx context.Context, guardianID int64) (friendID int64, lang string, err error)
}

// ClassInfo is a class with how many of its children are registered and verified,
// and its enrolment (在籍者数, nil until the school sets it).
type ClassInfo struct {
	ID         int64
	Grade      int
	Label      string
	Registered int
	Enrolment  *int
}
