// Package retention applies each board's retention periods (SPEC C6, P6): a daily job
// deletes conversations' messages, absence reports, announcements (with their handouts)
// and surveys (with their answers and handouts) older than the board keeps them, and writes a deletion record for each
// category — what, how many, when, why, under which policy, run by whom (a role, never a
// name), no personal data. A dry run says what would go without deleting. From the
// records of a period the board prints a certificate of deletion (消去証明書).
package retention

import (
	"context"
	"time"
)

// Policy is how long a board keeps each kind of data, in days.
type Policy struct {
	BoardID          int64
	MessageDays      int
	AbsenceDays      int
	AnnouncementDays int
	// SurveyDays is how long a survey (its answers and handouts) is kept after its
	// deadline.
	SurveyDays int
	// DeleteOnLeave deletes a child's data when they graduate or move away (seed 004);
	// off, their registrations end and the data stays for the periods above.
	DeleteOnLeave bool
	// SingleYear is the single-year registration of seed 001: on the first night of
	// April every registration of the board is deleted.
	SingleYear bool
	// SingleYearDone is the school year whose single-year deletion last ran.
	SingleYearDone int
	UpdatedAt      time.Time
}

// Defaults apply to a board that has set no policy: two years each (a year for
// surveys' answers after their deadline), and a leaving child's data deleted.
var Defaults = Policy{MessageDays: 730, AbsenceDays: 730, AnnouncementDays: 730, SurveyDays: 365, DeleteOnLeave: true}

// Limits of a retention period, in days.
const (
	MinDays = 30
	MaxDays = 3650
)

// Item is one category of a run: how many rows went (or would go), and why.
type Item struct {
	Category string // message, conversation, absence_report, announcement, handout, survey_answer, survey_handout, survey
	Count    int
	Reason   string // retention
	Policy   string // e.g. "message_days=730"
}

// Record is a stored deletion record.
type Record struct {
	ID         int64
	OccurredAt time.Time
	SchoolName string
	Category   string
	Count      int
	Reason     string
	Policy     string
	Actor      string
}

// Store is the persistence of policies, the deletions and their records.
type Store interface {
	FindPolicy(ctx context.Context, boardID int64) (Policy, error)
	SavePolicy(ctx context.Context, p Policy) error
	// Apply counts (dry) or deletes what a board keeps past its policy at now, and
	// returns the handouts' file keys to remove after the transaction.
	Apply(ctx context.Context, p Policy, now time.Time, dry bool) ([]Item, []string, error)
	// YearEnd counts (dry) or deletes every registration of a board (single-year
	// registration) and returns the LINE friends whose registration ended.
	YearEnd(ctx context.Context, boardID int64, dry bool) ([]Item, []int64, error)
	// MarkYearEnd records the school year whose single-year deletion ran.
	MarkYearEnd(ctx context.Context, boardID int64, year int) error
	RecordRun(ctx context.Context, boardID int64, runID, actor string, items []Item) error
	FindRecords(ctx context.Context, boardID int64, from, to time.Time) ([]Record, error)
	BoardIDs(ctx context.Context) ([]int64, error)
	BoardName(ctx context.Context, boardID int64) (string, error)
}
