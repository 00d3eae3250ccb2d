package school

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/text/width"

	"github.com/renraku/renraku/internal/apperr"
	"github.com/renraku/renraku/internal/audit"
	"github.com/renraku/renraku/internal/authz"
)

// Settings are what a school administrator edits about their school.
type Settings struct {
	WebsiteURL  string
	ClubSiteURL string
	Phone       string
	// OfficeOpen and OfficeClose are "HH:MM" in the school's time zone (Asia/Tokyo).
	OfficeOpen  string
	OfficeClose string
	// OfficeDays are weekday digits, 0 = Sunday … 6 = Saturday ("12345" = Mon–Fri).
	OfficeDays string
	// AutoReply is sent to a parent who writes outside office hours.
	AutoReply string
	// TeacherTOTP requires teachers to use a second factor (administrators always must).
	TeacherTOTP bool
	// AbsenceCutoff is the time ("HH:MM") after which a report for today may not reach
	// the teacher before homeroom; AbsenceReasons and AbsenceSymptoms are the choices the
	// school offers; AbsenceNotify tells parents in LINE when a report is seen.
	AbsenceCutoff   string
	AbsenceReasons  []string
	AbsenceSymptoms []string
	AbsenceNotify   bool
	// AbsenceAlertPercent is the share of a class's enrolment absent with fever or
	// 出席停止 on a school day that alerts the administrators, once at least
	// AbsenceAlertMin pupils are; AbsenceClubReasons lets club advisors see reasons.
	AbsenceAlertPercent int
	AbsenceAlertMin     int
	AbsenceClubReasons  bool
	// InboxInactivityHours is how long a parent's choice of whom to write to lasts: after
	// it, their next message asks again (1–720 hours).
	InboxInactivityHours int
	// ResponseWindowDays is how many school days a parent's message may wait for an
	// answer before the administrators' work queue shows it as overdue (1–10).
	ResponseWindowDays int
}

// The reasons and symptoms an absence report may offer; each school switches them on
// or off.
var (
	AbsenceReasons  = []string{"illness", "hospital", "family", "bereavement", "suspension", "other"}
	AbsenceSymptoms = []string{"fever", "headache", "stomachache", "cough", "vomiting", "other"}
)

// Class is a class (学級) of one school year.
type Class struct {
	ID       int64
	SchoolID int64
	Year     int
	Grade    int
	Name     string // 1組, A組 …
	// Enrolment is the class's 在籍者数 as the school entered it, nil until it is set:
	// the 学級閉鎖 figures are counted against it, never against the children
	// registered in renraku.
	Enrolment *int
}

// ClassUpdate is what may change about a class once it exists.
type ClassUpdate struct {
	Enrolment *int
}

// MaxEnrolment is the largest enrolment a class may have.
const MaxEnrolment = 999

// ParseEnrolment reads an enrolment as a person types it: blank is not set (nil),
// otherwise a whole number from 0 to MaxEnrolment, full-width digits and a trailing
// 人 allowed. ok is false for anything else.
func ParseEnrolment(s string) (n *int, ok bool) {
	s = strings.TrimSpace(width.Narrow.String(s))
	s = strings.TrimSpace(strings.TrimSuffix(s, "人"))
	if s == "" {
		return nil, true
	}
	if len(s) > 3 || strings.Trim(s, "0123456789") != "" {
		return nil, false
	}
	v, err := strconv.Atoi(s)
	if err != nil || v < 0 || v > MaxEnrolment {
		return nil, false
	}
	return &v, true
}

// EnrolmentText is how an enrolment is written in a form or a file: "" when not set.
func EnrolmentText(n *int) string {
	if n == nil {
		return ""
	}
	return strconv.Itoa(*n)
}

// Label is how the class is shown: 1年1組.
func (c Class) Label() string { return strconv.Itoa(c.Grade) + "年" + c.Name }

// Club is a club (部活動) of one school year.
type Club struct {
	ID       int64
	SchoolID int64
	Year     int
	Name     string
}

// Tokyo is the schools' time zone.
var Tokyo = func() *time.Location {
	l, err := time.LoadLocation("Asia/Tokyo")
	if err != nil {
		return time.FixedZone("JST", 9*3600)
	}
	return l
}()

// Day is the day of t in Asia/Tokyo, at midnight.
func Day(t time.Time) time.Time {
	y, m, d := t.In(Tokyo).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, Tokyo)
}

// YearStart is April 1st of a school year (Asia/Tokyo, midnight).
func YearStart(year int) time.Time { return time.Date(year, time.April, 1, 0, 0, 0, 0, Tokyo) }

// YearOf is the school year (年度, April–March) that t falls in, named by the calendar
// year it starts in.
func YearOf(t time.Time) int {
	t = t.In(Tokyo)
	if t.Month() < time.April {
		return t.Year() - 1
	}
	return t.Year()
}

func actorOf(a *authz.Actor) audit.Actor { return audit.Actor{Kind: audit.Staff, ID: a.StaffID} }

func id(n int64) string { return strconv.FormatInt(n, 10) }

// Schools lists the schools the actor may see: every school of the board for a
// board administrator, otherwise the actor's own.
func (s *Service) Schools(ctx context.Context) ([]School, error) {
	a := authz.ActorFrom(ctx)
	if err := authz.Check(a, authz.ListSchools, authz.Target{BoardID: a.BoardIDOrZero()}); err != nil {
		return nil, err
	}
	var out []School
	err := s.Tx.InTx(ctx, func(ctx context.Context) error {
		all, err := s.Store.FindSchools(ctx, a.BoardID)
		for _, sc := range all {
			if a.Role == authz.BoardAdmin || sc.ID == a.SchoolID {
				out = append(out, sc)
			}
		}
		return err
	})
	return out, err
}

// Console is the console's first page. A school's administrator has the console of
// their own school (Own); anyone else sees the schools they may list, and a board
// administrator also the board's settings (Board, HandoutMB).
type Console struct {
	Own     int64
	Schools []School
	Board   bool
	// HandoutMB is the board's handout size limit, for a board administrator.
	HandoutMB int
}

// OpenConsole returns the console's first page.
func (s *Service) OpenConsole(ctx context.Context) (Console, error) {
	a := authz.ActorFrom(ctx)
	if err := authz.Check(a, authz.ListSchools, authz.Target{BoardID: a.BoardIDOrZero()}); err != nil {
		return Console{}, err
	}
	if a.Role == authz.SchoolAdmin {
		return Console{Own: a.SchoolID}, nil
	}
	var c Console
	err := s.Tx.InTx(ctx, func(ctx context.Context) error {
		var err error
		if c.Schools, err = s.Schools(ctx); err != nil {
			return err
		}
		if authz.Check(a, authz.ManageBoard, authz.Target{BoardID: a.BoardID}) != nil {
			return nil
		}
		c.Board = true
		c.HandoutMB, err = s.Handouts.MaxHandoutMB(ctx)
		return err
	})
	return c, err
}

// Create adds a school to the board administrator's board.
func (s *Service) Create(ctx context.Context, sc School) (School, error) {
	a := authz.ActorFrom(ctx)
	if err := authz.Check(a, authz.CreateSchool, authz.Target{BoardID: a.BoardIDOrZero()}); err != nil {
		return School{}, err
	}
	f := apperr.Fields{}
	if checkName("school", sc.Name) != nil {
		f.Add("name", "school.name.invalid")
	}
	t, err := ParseType(sc.Type)
	if err != nil {
		f.Add("type", "school.type.invalid")
	}
	if utf8.RuneCountInString(strings.TrimSpace(sc.District)) > 100 {
		f.Add("district", "school.district.invalid")
	}
	if err := f.Err(); err != nil {
		return School{}, err
	}
	sc = School{BoardID: a.BoardID, Name: strings.TrimSpace(sc.Name), Type: t, District: strings.TrimSpace(sc.District)}
	err = s.Tx.InTx(ctx, func(ctx context.Context) error {
		created, err := s.Store.CreateSchool(ctx, &sc)
		if err != nil {
			return err
		}
		if !created {
			return apperr.Fields{"name": "school.name.taken"}.Err()
		}
		return s.Audit.Record(ctx, audit.Event{Actor: actorOf(a), Action: "school.create", ObjectKind: "school",
			ObjectID: id(sc.ID), BoardID: sc.BoardID, SchoolID: sc.ID})
	})
	return sc, err
}

// Get returns a school the actor may view. A school of another board, or another
// school for school staff, is not found.
func (s *Service) Get(ctx context.Context, schoolID int64) (School, error) {
	var sc School
	err := s.Tx.InTx(ctx, func(ctx context.Context) error {
		var err error
		sc, err = s.school(ctx, schoolID, authz.ViewSchool)
		return err
	})
	return sc, err
}

// Settings returns a school for its settings form: administrators of the school only.
func (s *Service) Settings(ctx context.Context, schoolID int64) (School, error) {
	var sc School
	err := s.Tx.InTx(ctx, func(ctx context.Context) error {
		var err error
		sc, err = s.school(ctx, schoolID, authz.ManageSchool)
		return err
	})
	return sc, err
}

// school loads a school and checks act on it, hiding schools outside the actor's reach.
func (s *Service) school(ctx context.Context, schoolID int64, act authz.Action) (School, error) {
	a := authz.ActorFrom(ctx)
	if err := authz.SignedIn(a); err != nil {
		return School{}, err
	}
	sc, err := s.Store.FindSchoolByID(ctx, schoolID)
	if err != nil {
		return School{}, err
	}
	if err := authz.Check(a, act, authz.Target{BoardID: sc.BoardID, SchoolID: sc.ID}); err != nil {
		if authz.Check(a, authz.ViewSchool, authz.Target{BoardID: sc.BoardID, SchoolID: sc.ID}) != nil {
			return School{}, apperr.E(apperr.NotFound, "error.not_found.title", err)
		}
		return School{}, err
	}
	return sc, nil
}

var (
	hhmm  = regexp.MustCompile(`^([01][0-9]|2[0-3]):[0-5][0-9]$`)
	phone = regexp.MustCompile(`^[0-9+][0-9-]{5,19}$`)
)

func validURL(s string) bool {
	if s == "" {
		return true
	}
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != "" && len(s) <= 300
}

// UpdateSettings changes a school's settings. Switching teachers' second factor off is
// recorded as its own audit action, as the spec asks.
func (s *Service) UpdateSettings(ctx context.Context, schoolID int64, upd Settings) error {
	return s.Tx.InTx(ctx, func(ctx context.Context) error {
		sc, err := s.school(ctx, schoolID, authz.ManageSchool)
		if err != nil {
			return err
		}
		if err := checkSettings(&upd); err != nil {
			return err
		}
		if err := s.Store.UpdateSchool(ctx, sc.ID, upd); err != nil {
			return err
		}
		a := authz.ActorFrom(ctx)
		if err := s.Audit.Record(ctx, audit.Event{Actor: actorOf(a), Action: "school.update", ObjectKind: "school",
			ObjectID: id(sc.ID), BoardID: sc.BoardID, SchoolID: sc.ID}); err != nil {
			return err
		}
		if sc.TeacherTOTP != upd.TeacherTOTP {
			return s.Audit.Record(ctx, audit.Event{Actor: actorOf(a), Action: "school.teacher_second_factor", ObjectKind: "school",
				ObjectID: id(sc.ID), BoardID: sc.BoardID, SchoolID: sc.ID, Detail: map[string]any{"required": upd.TeacherTOTP}})
		}
		return nil
	})
}

var officeDays = regexp.MustCompile(`^[0-6]{0,7}$`)

// checkSettings normalises and validates settings, returning per-field problems.
func checkSettings(upd *Settings) error {
	upd.WebsiteURL, upd.ClubSiteURL, upd.Phone = strings.TrimSpace(upd.WebsiteURL), strings.TrimSpace(upd.ClubSiteURL), strings.TrimSpace(upd.Phone)
	upd.AutoReply = strings.TrimSpace(upd.AutoReply)
	f := apperr.Fields{}
	if !validURL(upd.WebsiteURL) {
		f.Add("website_url", "school.url.invalid")
	}
	if !validURL(upd.ClubSiteURL) {
		f.Add("club_site_url", "school.url.invalid")
	}
	if upd.Phone != "" && !phone.MatchString(upd.Phone) {
		f.Add("phone", "school.phone.invalid")
	}
	if !hhmm.MatchString(upd.OfficeOpen) {
		f.Add("office_open", "school.time.invalid")
	}
	if !hhmm.MatchString(upd.OfficeClose) {
		f.Add("office_close", "school.time.invalid")
	}
	if f["office_open"] == "" && f["office_close"] == "" && upd.OfficeOpen >= upd.OfficeClose {
		f.Add("office_close", "school.time.order")
	}
	days := []rune(upd.OfficeDays)
	slices.Sort(days)
	upd.OfficeDays = string(slices.Compact(days))
	if !officeDays.MatchString(upd.OfficeDays) {
		f.Add("office_days", "school.days.invalid")
	}
	if utf8.RuneCountInString(upd.AutoReply) > 500 {
		f.Add("auto_reply", "school.auto_reply.too_long")
	}
	if !hhmm.MatchString(upd.AbsenceCutoff) {
		f.Add("absence_cutoff", "school.time.invalid")
	}
	upd.AbsenceReasons = keepKnown(upd.AbsenceReasons, AbsenceReasons)
	upd.AbsenceSymptoms = keepKnown(upd.AbsenceSymptoms, AbsenceSymptoms)
	if len(upd.AbsenceReasons) == 0 {
		f.Add("absence_reasons", "school.absence_reasons.required")
	}
	if upd.AbsenceAlertPercent < 1 || upd.AbsenceAlertPercent > 100 {
		f.Add("absence_alert_percent", "school.absence_alert.invalid")
	}
	if upd.AbsenceAlertMin < 1 || upd.AbsenceAlertMin > 100 {
		f.Add("absence_alert_min", "school.absence_alert_min.invalid")
	}
	if upd.InboxInactivityHours < 1 || upd.InboxInactivityHours > 720 {
		f.Add("inbox_inactivity_hours", "school.inbox_inactivity.invalid")
	}
	if upd.ResponseWindowDays < MinResponseWindow || upd.ResponseWindowDays > MaxResponseWindow {
		f.Add("response_window_days", "school.response_window.invalid")
	}
	return f.Err()
}

// keepKnown returns the values of in that are in known, in known's order.
func keepKnown(in, known []string) []string {
	out := []string{}
	for _, k := range known {
		if slices.Contains(in, k) {
			out = append(out, k)
		}
	}
	return out
}

// Structure is a school's classes and clubs of one year.
type Structure struct {
	School  School
	Year    int
	Years   []int
	Classes []Class
	Clubs   []Club
}

// Structure returns the classes and clubs of a year (0 = the current year) for the
// console.
func (s *Service) Structure(ctx context.Context, schoolID int64, year int) (Structure, error) {
	var st Structure
	err := s.Tx.InTx(ctx, func(ctx context.Context) error {
		sc, err := s.school(ctx, schoolID, authz.ManageStructure)
		if err != nil {
			return err
		}
		if year == 0 {
			year = sc.CurrentYear
		}
		st = Structure{School: sc, Year: year}
		if st.Years, err = s.Store.FindYears(ctx, sc.ID); err != nil {
			return err
		}
		if !slices.Contains(st.Years, sc.CurrentYear+1) {
			st.Years = append(st.Years, sc.CurrentYear+1)
		}
		slices.Sort(st.Years)
		if st.Classes, err = s.Store.FindClasses(ctx, sc.ID, year); err != nil {
			return err
		}
		st.Clubs, err = s.Store.FindClubs(ctx, sc.ID, year)
		return err
	})
	return st, err
}

func validYear(y, current int) bool { return y >= current-1 && y <= current+1 }

// CheckClass validates a class's fields, returning per-field problems.
func CheckClass(c *Class, maxGrade int) apperr.Fields {
	f := apperr.Fields{}
	c.Name = strings.TrimSpace(c.Name)
	if c.Name != "" && strings.Trim(c.Name, "0123456789０１２３４５６７８９") == "" {
		c.Name += "組"
	}
	if c.Grade < 1 || c.Grade > maxGrade {
		f.Add("grade", "school.class.grade_invalid")
	}
	if n := utf8.RuneCountInString(c.Name); n < 1 || n > 10 {
		f.Add("name", "school.class.name_invalid")
	}
	if c.Enrolment != nil && (*c.Enrolment < 0 || *c.Enrolment > MaxEnrolment) {
		f.Add("enrolment", "school.class.enrolment_invalid")
	}
	return f
}

// MaxGrade is the highest grade of a school type: 6 for 小学校, 3 for 中学校.
func MaxGrade(schoolType string) int {
	if schoolType == JuniorHigh {
		return 3
	}
	return 6
}

// CreateClass adds a class to a school year.
func (s *Service) CreateClass(ctx context.Context, schoolID int64, c Class) (Class, error) {
	err := s.Tx.InTx(ctx, func(ctx context.Context) error {
		sc, err := s.school(ctx, schoolID, authz.ManageStructure)
		if err != nil {
			return err
		}
		f := CheckClass(&c, MaxGrade(sc.Type))
		if !validYear(c.Year, sc.CurrentYear) {
			f.Add("year", "school.year.invalid")
		}
		if err := f.Err(); err != nil {
			return err
		}
		c.SchoolID = sc.ID
		if err := s.Store.CreateClass(ctx, &c); err != nil {
			if apperr.KindOf(err) == apperr.Conflict {
				return apperr.Fields{"name": "school.class.taken"}.Err()
			}
			return err
		}
		detail := map[string]any{"year": c.Year, "grade": c.Grade}
		if c.Enrolment != nil {
			detail["enrolment"] = *c.Enrolment
		}
		return s.Audit.Record(ctx, audit.Event{Actor: actorOf(authz.ActorFrom(ctx)), Action: "class.create", ObjectKind: "class",
			ObjectID: id(c.ID), BoardID: sc.BoardID, SchoolID: sc.ID, Detail: detail})
	})
	return c, err
}

// AuditEnrolment is the audit action of a change to a class's enrolment; its detail
// holds the new figure (nil when it was cleared), a count and never personal data.
const AuditEnrolment = "class.enrolment"

// SaveEnrolment sets a class's enrolment as a person typed it (ParseEnrolment;
// SetEnrolment). A value that does not read is refused with the class, looked up
// first so that another school's class is still not found.
func (s *Service) SaveEnrolment(ctx context.Context, classID int64, text string) (Class, error) {
	if n, ok := ParseEnrolment(text); ok {
		return s.SetEnrolment(ctx, classID, n)
	}
	c, _, err := s.ClassForConsole(ctx, classID)
	if err != nil {
		return c, err
	}
	return c, apperr.Fields{"enrolment": "school.class.enrolment_invalid"}.Err()
}

// SetEnrolment sets a class's enrolment (nil clears it), for the school's
// administrators. An unchanged enrolment is not stored or audited again.
func (s *Service) SetEnrolment(ctx context.Context, classID int64, n *int) (Class, error) {
	var c Class
	err := s.Tx.InTx(ctx, func(ctx context.Context) error {
		var err error
		if c, err = s.Store.FindClassByID(ctx, classID); err != nil {
			return err
		}
		sc, err := s.school(ctx, c.SchoolID, authz.ManageStructure)
		if err != nil {
			return err
		}
		if n != nil && (*n < 0 || *n > MaxEnrolment) {
			return apperr.Fields{"enrolment": "school.class.enrolment_invalid"}.Err()
		}
		if EnrolmentText(c.Enrolment) == EnrolmentText(n) {
			return nil
		}
		if err := s.Store.UpdateClass(ctx, c.ID, ClassUpdate{Enrolment: n}); err != nil {
			return err
		}
		c.Enrolment = n
		var v any
		if n != nil {
			v = *n
		}
		return s.Audit.Record(ctx, audit.Event{Actor: actorOf(authz.ActorFrom(ctx)), Action: AuditEnrolment, ObjectKind: "class",
			ObjectID: id(c.ID), BoardID: sc.BoardID, SchoolID: sc.ID, Detail: map[string]any{"year": c.Year, "grade": c.Grade, "enrolment": v}})
	})
	return c, err
}

// DeleteClass removes a class that nothing refers to any more.
func (s *Service) DeleteClass(ctx context.Context, classID int64) (Class, error) {
	var c Class
	err := s.Tx.InTx(ctx, func(ctx context.Context) error {
		var err error
		c, err = s.Store.FindClassByID(ctx, classID)
		if err != nil {
			return err
		}
		sc, err := s.school(ctx, c.SchoolID, authz.ManageStructure)
		if err != nil {
			return err
		}
		if err := s.Store.DeleteClass(ctx, c.ID); err != nil {
			return err
		}
		return s.Audit.Record(ctx, audit.Event{Actor: actorOf(authz.ActorFrom(ctx)), Action: "class.delete", ObjectKind: "class",
			ObjectID: id(c.ID), BoardID: sc.BoardID, SchoolID: sc.ID})
	})
	return c, err
}

// ClassForConsole returns a class and its school for an administrator of the school
// (a class of another school is not found).
func (s *Service) ClassForConsole(ctx context.Context, classID int64) (Class, School, error) {
	var c Class
	var sc School
	err := s.Tx.InTx(ctx, func(ctx context.Context) error {
		var err error
		if c, err = s.Store.FindClassByID(ctx, classID); err != nil {
			return err
		}
		sc, err = s.school(ctx, c.SchoolID, authz.ManageStructure)
		return err
	})
	return c, sc, err
}

// CheckClub validates a club's fields.
func CheckClub(c *Club) apperr.Fields {
	f := apperr.Fields{}
	c.Name = strings.TrimSpace(c.Name)
	if n := utf8.RuneCountInString(c.Name); n < 1 || n > 30 {
		f.Add("name", "school.club.name_invalid")
	}
	return f
}

// CreateClub adds a club to a school year.
func (s *Service) CreateClub(ctx context.Context, schoolID int64, c Club) (Club, error) {
	err := s.Tx.InTx(ctx, func(ctx context.Context) error {
		sc, err := s.school(ctx, schoolID, authz.ManageStructure)
		if err != nil {
			return err
		}
		f := CheckClub(&c)
		if !validYear(c.Year, sc.CurrentYear) {
			f.Add("year", "school.year.invalid")
		}
		if err := f.Err(); err != nil {
			return err
		}
		c.SchoolID = sc.ID
		if err := s.Store.CreateClub(ctx, &c); err != nil {
			if apperr.KindOf(err) == apperr.Conflict {
				return apperr.Fields{"name": "school.club.taken"}.Err()
			}
			return err
		}
		return s.Audit.Record(ctx, audit.Event{Actor: actorOf(authz.ActorFrom(ctx)), Action: "club.create", ObjectKind: "club",
			ObjectID: id(c.ID), BoardID: sc.BoardID, SchoolID: sc.ID, Detail: map[string]any{"year": c.Year}})
	})
	return c, err
}

// DeleteClub removes a club.
func (s *Service) DeleteClub(ctx context.Context, clubID int64) (Club, error) {
	var c Club
	err := s.Tx.InTx(ctx, func(ctx context.Context) error {
		var err error
		c, err = s.Store.FindClubByID(ctx, clubID)
		if err != nil {
			return err
		}
		sc, err := s.school(ctx, c.SchoolID, authz.ManageStructure)
		if err != nil {
			return err
		}
		if err := s.Store.DeleteClub(ctx, c.ID); err != nil {
			return err
		}
		return s.Audit.Record(ctx, audit.Event{Actor: actorOf(authz.ActorFrom(ctx)), Action: "club.delete", ObjectKind: "club",
			ObjectID: id(c.ID), BoardID: sc.BoardID, SchoolID: sc.ID})
	})
	return c, err
}

// ClassView is what a class page shows a teacher: the class and the school.
type ClassView struct {
	School School
	Class  Class
	// CanMove is true for those who may manage the school's structure: they may move a
	// child to another class or record the child's transfer out. MoveTo are then the
	// school's other classes of its current year.
	CanMove bool
	MoveTo  []Class
}

// OpenClass returns a class for the actor whose duties give it (homeroom or
// sub-homeroom this year, or an administrator of the school). Opening a class is
// audited: the page holds the class's personal data.
func (s *Service) OpenClass(ctx context.Context, classID int64) (ClassView, error) {
	a := authz.ActorFrom(ctx)
	var v ClassView
	err := s.Tx.InTx(ctx, func(ctx context.Context) error {
		if err := authz.SignedIn(a); err != nil {
			return err
		}
		c, err := s.Store.FindClassByID(ctx, classID)
		if err != nil {
			return err
		}
		sc, err := s.Store.FindSchoolByID(ctx, c.SchoolID)
		if err != nil {
			return err
		}
		t := authz.Target{BoardID: sc.BoardID, SchoolID: sc.ID, Year: c.Year, ClassID: c.ID}
		if err := authz.Check(a, authz.ViewClassData, t); err != nil {
			if authz.Check(a, authz.ViewSchoolData, t) != nil {
				return apperr.E(apperr.NotFound, "error.not_found.title", err)
			}
		}
		v = ClassView{School: sc, Class: c}
		if authz.Check(a, authz.ManageStructure, authz.Target{BoardID: sc.BoardID, SchoolID: sc.ID}) == nil {
			v.CanMove = true
			classes, err := s.Store.FindClasses(ctx, sc.ID, sc.CurrentYear)
			if err != nil {
				return err
			}
			for _, x := range classes {
				if x.ID != c.ID {
					v.MoveTo = append(v.MoveTo, x)
				}
			}
		}
		return s.Audit.Record(ctx, audit.Event{Actor: actorOf(a), Action: "class.view", ObjectKind: "class",
			ObjectID: id(c.ID), BoardID: sc.BoardID, SchoolID: sc.ID})
	})
	return v, err
}

// errNoYear is returned for a year outside last, this and next school year.
var errNoYear = errors.New("year out of range")

// ParseYear reads a year from a form value, "" meaning 0 (the current year).
func ParseYear(s string) (int, error) {
	if s == "" {
		return 0, nil
	}
	y, err := strconv.Atoi(s)
	if err != nil || y < 2000 || y > 2200 {
		return 0, apperr.E(apperr.Invalid, "school.year.invalid", fmt.Errorf("%w: %q", errNoYear, s))
	}
	return y, nil
}

// Authorize reads a school inside tx for an action of the signed-in person: a school
// out of their reach is not found, one they see but may not act on is forbidden.
func (s *Service) Authorize(ctx context.Context, schoolID int64, act authz.Action) (School, error) {
	return s.school(ctx, schoolID, act)
}
