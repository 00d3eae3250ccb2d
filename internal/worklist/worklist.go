// Package worklist is what waits for a member of staff (SPEC C8): the work queue at the
// top of every staff home page. It owns no data and no store: it asks each feature, through
// the ports it declares, for the counts that feature authorises by its own rules
// (registrations to approve, reports not yet acknowledged, conversations waiting,
// deliveries that failed, the LINE quota, classes near closure) and composes them per
// role — a teacher's duties this year, a school administrator's school, a board
// administrator's schools. It names nobody: counts, class labels and times only, so
// reading it is not audited; the pages its lines open are.
package worklist

import (
	"time"

	"github.com/renraku/renraku/internal/absence"
	"github.com/renraku/renraku/internal/lineapi"
	"github.com/renraku/renraku/internal/registration"
	"github.com/renraku/renraku/internal/school"
)

// Roles of a queue.
const (
	Teacher     = "teacher"
	SchoolAdmin = "school_admin"
	Board       = "board"
)

// Kinds of line.
const (
	// Registrations of a class waiting for approval.
	KindRegistrations = "registration"
	// Reports of a class for today not yet acknowledged.
	KindAbsences = "absence"
	// Conversations of a class, club or the office: 未対応 (State open), or 対応中 with
	// unread messages (State in_progress).
	KindConversations = "conversation"
	// Conversations of a class, club or the office whose parent's message waits longer
	// than the school's response window.
	KindOverdue = "overdue"
	// An announcement with failed deliveries.
	KindDeliveries = "delivery"
	// The school's LINE quota this month.
	KindQuota = "quota"
	// A class over or near the 学級閉鎖 alert.
	KindClosure = "closure"
)

// Line is one line of a queue. Which fields mean something depends on Kind.
type Line struct {
	Kind string
	// The class, club or office the line is about, and its label (1年1組; for
	// conversations 1年1組 担任).
	SchoolID        int64
	ClassID, ClubID int64
	Office          bool
	Label           string
	// State is a conversation line's state (open or in_progress).
	State string
	Count int
	// Since is when the oldest item of the line began to wait.
	Since time.Time
	// Late: an absence line after the school's cut-off (the list should be read by now);
	// a closure line over the alert (not merely near it).
	Late bool
	// Day is an absence line's day.
	Day time.Time
	// AnnouncementID, AnnouncementKind, Audience and Since describe a delivery line.
	AnnouncementID   int64
	AnnouncementKind string
	Audience         string
	// Quota is a quota line's figure.
	Quota lineapi.Quota
	// Closure, Enrolment and Percent are a closure line's figures.
	Closure, Enrolment, Percent int
}

// SchoolRow is one school of a board administrator's queue.
type SchoolRow struct {
	School   school.School
	Coverage registration.Coverage
	Absences absence.Counts
	// Overdue counts the conversations waiting longer than the school's window.
	Overdue    int
	Quota      lineapi.Quota
	QuotaKnown bool
	// Failed counts failed deliveries (recipients) of the school's recent announcements.
	Failed int
}

// Queue is what waits for the signed-in person.
type Queue struct {
	Role string
	// SchoolID is the person's school (0 for a board administrator).
	SchoolID int64
	Lines    []Line
	Schools  []SchoolRow
	// Cutoff is the school's absence cut-off ("HH:MM"); Window its response window in
	// school days (administrators).
	Cutoff string
	Window int
	Now    time.Time
	// Total is the number of items waiting: the tab's title shows it.
	Total int
}

// Total counts what waits for the person: registrations, unacknowledged reports,
// conversations and announcements with failed deliveries (overdue conversations are
// among the conversations; the quota and closure lines are figures, not items to
// resolve). A board administrator's items are the conversations past their school's
// window and the announcements with failed deliveries.
func Total(q Queue) int {
	n := 0
	for _, l := range q.Lines {
		switch l.Kind {
		case KindRegistrations, KindAbsences, KindConversations:
			n += l.Count
		case KindDeliveries:
			n++
		}
	}
	for _, s := range q.Schools {
		n += s.Overdue
		if s.Failed > 0 {
			n++
		}
	}
	return n
}

// Age is how long ago since was at now, in the largest unit that fits: "now" (under a
// minute), "minutes", "hours" (from 1 hour) or "days" (from 24 hours), and how many.
func Age(since, now time.Time) (n int, unit string) {
	d := now.Sub(since)
	switch {
	case d < time.Minute:
		return 0, "now"
	case d < time.Hour:
		return int(d / time.Minute), "minutes"
	case d < 24*time.Hour:
		return int(d / time.Hour), "hours"
	}
	return int(d / (24 * time.Hour)), "days"
}

// PastCutoff reports whether today's absence lists should have been read by now: the
// school's cut-off ("HH:MM", Asia/Tokyo) has passed today.
func PastCutoff(cutoff string, now time.Time) bool {
	now = now.In(school.Tokyo)
	return absence.AfterCutoff(absence.Settings{Cutoff: cutoff}, now, absence.Today(now))
}
