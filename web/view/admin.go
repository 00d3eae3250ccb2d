package view

import "time"

// SchoolItem is a school in the console's list.
type SchoolItem struct {
	ID       int64
	Name     string
	Type     string
	District string
}

// Tab names of a school's console pages.
const (
	TabSettings  = "settings"
	TabStructure = "structure"
	TabStaff     = "staff"
	TabCodes     = "codes"
	TabChannel   = "channel"
	TabRoster    = "roster"
	TabAudit     = "audit"
	TabRollover  = "rollover"
)

// SchoolHead is the top of every console page of one school.
type SchoolHead struct {
	ID   int64
	Name string
	Tab  string
}

// ClassItem is a class in the structure page.
type ClassItem struct {
	ID    int64
	Label string
	// Enrolment is the class's 在籍者数 as the form shows it ("" when not set);
	// EnrolmentError is the problem with the value just posted for this class.
	Enrolment      string
	EnrolmentError string
}

// ClubItem is a club in the structure page.
type ClubItem struct {
	ID   int64
	Name string
}

// Structure is the classes-and-clubs page.
type Structure struct {
	Head    SchoolHead
	Year    int
	Current int
	Years   []int
	Grades  []int
	Classes []ClassItem
	Clubs   []ClubItem
}

// StaffItem is an account in the staff list.
type StaffItem struct {
	ID       int64
	Name     string
	Login    string
	Role     string
	Duties   []string
	Disabled bool
	Pending  bool // no password set yet
}

// StaffDetail is one account's console page.
type StaffDetail struct {
	Head    SchoolHead
	Item    StaffItem
	Duties  []DutyItem
	Classes []Option
	Clubs   []Option
	Year    int
	// Years are the school years whose duties can be given (this one and the next).
	Years    []int
	CanDuty  bool
	IsSelf   bool
	BoardAdm bool
}

// DutyItem is one assignment with its removal action.
type DutyItem struct {
	ID    int64
	Label string
	Year  int
}

// Invite is a new account's one-time link, shown once.
type Invite struct {
	Name    string
	Login   string
	URL     string
	Expires time.Time
}

// Channel is the LINE channel page.
type Channel struct {
	Head       SchoolHead
	Configured bool
	ChannelID  string
	TestResult string
	TestOK     bool
	// Usage is this month's messages by purpose and method; Quota the plan's limit.
	Usage []UsageRow
	Quota string
}

// UsageRow is one line of the month's LINE usage.
type UsageRow struct {
	Purpose string
	Method  string
	Count   int
	Free    bool
}

// RosterPage is the CSV import/export page.
type RosterPage struct {
	Head      SchoolHead
	Kinds     []Option
	Encodings []Option
	Year      int
	// Result of an import, when one was just tried.
	Imported   string
	ImportKind string
	RowErrors  []string
	Invites    []Invite
	// Preview is true when the lines below are what an import would do; Content is
	// then the previewed file (base64), posted again by the page's import button.
	Preview bool
	Content string
	// Columns, Lines and Summary show each line of the file and its outcome.
	Columns []string
	Lines   []ImportLine
	Summary string
}

// ImportLine is one line of an imported or previewed file: its cells, its outcome
// (new, update or same, and its label) and the changes an update makes.
type ImportLine struct {
	Line         int
	Cells        []string
	Outcome      string
	OutcomeLabel string
	Changes      []string
}

// AuditPage is the audit log viewer.
type AuditPage struct {
	Head       *SchoolHead
	Entries    []AuditEntry
	Total      int
	Page       int
	Pages      int
	ExportHref string
	PrevHref   string
	NextHref   string
	Schools    []Option
	// Actions are the choices of the action filter, in words.
	Actions []Option
}

// AuditEntry is one row of the audit viewer, in words.
type AuditEntry struct {
	At    string
	Actor string
	// ActorHref filters the log by this staff member ("" for others).
	ActorHref string
	Role      string
	Action    string
	// ActionCode is the recorded code, shown on hover.
	ActionCode string
	Object     string
	Remote     string
	// Detail holds labelled values (Label: Value).
	Detail []Option
}

// The absence reasons and symptoms a school can switch on (same codes as
// internal/school).
var (
	absenceReasons  = []string{"illness", "hospital", "family", "bereavement", "suspension", "other"}
	absenceSymptoms = []string{"fever", "headache", "stomachache", "cough", "vomiting", "other"}
)
