// Package announce is how schools reach many parents at once (SPEC C4): announcements
// (お知らせ) with PDF handouts (配布プリント) to a school, grades, classes or clubs, and
// safety alerts (安全情報・不審者情報) from a school or the board to several schools or
// districts. Delivery is LINE multicast in batches of up to 500 through the job queue,
// each batch with its own retry key, so a retried or resumed send never reaches anyone
// twice. LINE gives no read receipts for bot messages: reading is measured by opens of
// the parent's handout page.
package announce

import (
	"context"
	"errors"
	"time"

	"github.com/renraku/renraku/internal/vault"
)

// Kinds of announcement.
const (
	Notice = "notice" // お知らせ
	Safety = "safety" // 安全情報・不審者情報: urgent, ahead of other traffic
)

// States of an announcement.
const (
	Draft     = "draft"
	Scheduled = "scheduled"
	Sending   = "sending"
	Sent      = "sent"
	Cancelled = "cancelled"
)

// Limits.
const (
	MaxHandouts = 5
	MaxTitle    = 60 // characters
	// MaxBody leaves room in LINE's 5,000 (UTF-16) for the heading and title.
	MaxBody = 4500
	// MaxSafetyField is the longest field of a safety alert's template.
	MaxSafetyField = 1000
	// DefaultMaxHandoutBytes is the board's default handout size limit.
	DefaultMaxHandoutBytes = 10 << 20
	// MaxSchedule is how far ahead a send may be scheduled.
	MaxSchedule = 60 * 24 * time.Hour
)

// Audience is who an announcement is for. A school's announcement names the school and
// the whole of it, or grades, classes and clubs of its current year; a board's names
// schools and districts (学区). The parts add up (a guardian in any part receives it,
// once).
type Audience struct {
	SchoolID  int64    `json:"school,omitempty"`
	Whole     bool     `json:"whole,omitempty"`
	Grades    []int    `json:"grades,omitempty"`
	Classes   []int64  `json:"classes,omitempty"`
	Clubs     []int64  `json:"clubs,omitempty"`
	Schools   []int64  `json:"schools,omitempty"`
	Districts []string `json:"districts,omitempty"`
}

// Empty reports whether the audience names nobody.
func (a Audience) Empty() bool {
	return !a.Whole && len(a.Grades) == 0 && len(a.Classes) == 0 && len(a.Clubs) == 0 && len(a.Schools) == 0 && len(a.Districts) == 0
}

// SafetyFields are a safety alert's fixed template.
type SafetyFields struct {
	OccurredAt string // 発生日時
	Place      string // 場所
	Details    string // 内容
	Response   string // 対応
}

// Upload is a handout file as sent by the browser.
type Upload struct {
	Name string
	Data []byte
}

// Compose is an announcement as the sender writes it (new, or edited before it is sent).
type Compose struct {
	Kind     string
	Audience Audience
	Title    string
	Body     string
	Safety   SafetyFields
	// Consent confirms that a child named in the text (or their guardian) agreed.
	Consent bool
	// ScheduledAt is when to send (zero: when the sender confirms).
	ScheduledAt time.Time
	Files       []Upload
}

// Announcement is a stored announcement.
type Announcement struct {
	ID            int64
	BoardID       int64
	SchoolID      int64
	Kind          string
	Audience      Audience
	AudienceLabel string
	Title         vault.Personal
	Body          vault.Personal
	NamesChild    bool
	Consent       bool
	State         string
	// CancelReason is why a cancelled announcement was: "" (its sender) or "rollover"
	// (its school year ended before it was sent).
	CancelReason string
	ScheduledAt  time.Time
	StartedAt    time.Time
	FinishedAt   time.Time
	CreatedBy    int64
	CreatedAt    time.Time
	Handouts     []Handout
	Counts       Counts
	// Sender is the sending school's name (the board's for a board's announcement),
	// named in LINE where a channel serves several schools.
	Sender string
	// SharedChannel: a LINE channel of the sender serves other schools too, so the
	// message names the sender (read for the staff's preview).
	SharedChannel bool
}

// Handout is a PDF of an announcement.
type Handout struct {
	ID       int64
	Position int
	Name     vault.Personal
	Size     int
	Key      string
}

// Counts are an announcement's delivery and reading figures.
type Counts struct {
	Total, Queued, Sent, Failed, Skipped, Opened int
}

// Recipient is a guardian an announcement went to, as staff see them (nickname and
// children, never a LINE identity).
type Recipient struct {
	GuardianID int64
	Nickname   vault.Personal
	Children   []vault.Personal
	State      string
	OpenedAt   time.Time
}

// Batch is one multicast request.
type Batch struct {
	ID             int64
	AnnouncementID int64
	ChannelID      int64
	Language       string
	RetryKey       string
	Recipients     int
	State          string
	Attempts       int
	// SharedChannel: the channel serves several schools, so the message names the
	// sender.
	SharedChannel bool
}

// Member is a verified guardian of an audience as resolved: their LINE friend and its
// channel, whether they follow the account, and their language (ja or en).
type Member struct {
	GuardianID, FriendID, ChannelID int64
	Following                       bool
	Language                        string
}

// NewBatch is a planned multicast: who it goes to, in order.
type NewBatch struct {
	ChannelID int64
	Language  string
	Guardians []int64
	Friends   []int64
	// Round counts the channel's batches before this one: a channel's first batches go
	// ahead of any channel's later ones (River's priority), so a worker rarely holds
	// its slot waiting for a channel's rate limit while another channel could send.
	Round int
}

// ErrSuperseded: another run of the announcement's start job has taken its resolution
// over; this one stops.
var ErrSuperseded = errors.New("announce: resolution taken over by another run")

// Reach is how many guardians of each channel an audience reaches now.
type Reach struct {
	ChannelID int64
	Guardians int
}

// Store is the persistence of announcements.
type Store interface {
	MaxHandoutBytes(ctx context.Context, boardID int64) (int, error)
	SetMaxHandoutBytes(ctx context.Context, boardID int64, n int) error
	// FindChildNames returns the names of the children an audience covers.
	FindChildNames(ctx context.Context, boardID int64, a Audience) ([]vault.Personal, error)
	CreateAnnouncement(ctx context.Context, a *Announcement) error
	CreateHandout(ctx context.Context, announcementID int64, h *Handout, sha []byte) error
	// UpdateAnnouncement stores an edited draft's or scheduled announcement's audience,
	// label, title, body, consent and time.
	UpdateAnnouncement(ctx context.Context, a Announcement) error
	DeleteHandout(ctx context.Context, announcementID, handoutID int64) error
	SetHandoutPosition(ctx context.Context, handoutID int64, position int) error
	FindAnnouncement(ctx context.Context, id int64) (Announcement, error)
	// FindAnnouncementContent reads an announcement and its handouts without figures.
	FindAnnouncementContent(ctx context.Context, id int64) (Announcement, error)
	// FindAnnouncements lists a board's announcements, or a school's (schoolID), newest first.
	FindAnnouncements(ctx context.Context, boardID, schoolID int64, limit int) ([]Announcement, error)
	// LockState locks an announcement's row and returns its state.
	LockState(ctx context.Context, id int64) (string, error)
	SetState(ctx context.Context, id int64, state string, scheduledAt time.Time) error
	DeleteAnnouncement(ctx context.Context, id int64) error
	// CountReach counts the guardians an audience reaches now, per channel.
	CountReach(ctx context.Context, boardID int64, a Audience) ([]Reach, error)
	// Resolving reports whether an announcement's audience is still being resolved
	// (a start job died while resolving it: its next attempt resumes).
	Resolving(ctx context.Context, id int64) (bool, error)
	// StartResolving gives the announcement's resolution a new token; steps under an
	// older one fail with ErrSuperseded from then on.
	StartResolving(ctx context.Context, id int64) (string, error)
	// FindResolved returns the guardians earlier steps placed in a batch or recorded.
	FindResolved(ctx context.Context, id int64) ([]int64, error)
	// StreamAudience calls fn with each verified guardian of the audience as they are
	// read (unsorted; a guardian of several children in it more than once).
	StreamAudience(ctx context.Context, boardID int64, a Audience, fn func(Member) error) error
	// AddBatches stores a step of the resolution under token: batches with their
	// members, and the guardians skipped (they blocked the account). It returns the
	// batches' IDs.
	AddBatches(ctx context.Context, id int64, token string, batches []NewBatch, skipped []Member) ([]int64, error)
	// FinishResolving closes the audience under token and returns whether the
	// announcement is sent already (no batch queued).
	FinishResolving(ctx context.Context, id int64, token string) (bool, error)
	FindBatch(ctx context.Context, id int64) (Batch, error)
	// FindBatchUsers returns the LINE user IDs of a batch's recipients.
	FindBatchUsers(ctx context.Context, batchID int64) ([]string, error)
	// FinishBatch records a batch's outcome; it returns true when it was the
	// announcement's last unfinished batch. Its recipients' rows are written later:
	// until then the store reads them from the batch.
	FinishBatch(ctx context.Context, b Batch, state, requestID, lastError string) (bool, error)
	// RecordRecipients writes the recipients' rows of up to limit finished batches of
	// an announcement not yet recorded; it returns how many it recorded (0: none left,
	// or the rest being recorded by another transaction).
	RecordRecipients(ctx context.Context, announcementID int64, limit int) (int, error)
	// FailBatchAttempt records a temporary failure of a batch.
	FailBatchAttempt(ctx context.Context, batchID int64, lastError string) error
	// RequeueFailed puts an announcement's failed batches back in the queue (same retry
	// keys) and returns them.
	RequeueFailed(ctx context.Context, announcementID int64) ([]int64, error)
	FindRecipients(ctx context.Context, announcementID int64, which string) ([]Recipient, error)
	// FindFailed lists a school's announcements (of one sender, unless 0) started since
	// a time with failed deliveries, oldest first, with their figures.
	FindFailed(ctx context.Context, schoolID, createdBy int64, since time.Time) ([]Announcement, error)
	// FindGuardianAnnouncements lists what a guardian received, newest first.
	FindGuardianAnnouncements(ctx context.Context, guardianID int64, limit int) ([]ParentItem, error)
	// MarkOpened records a guardian's open of an announcement (writing the rows of
	// their batch first if they are not yet); false when they are not one of its
	// recipients.
	MarkOpened(ctx context.Context, announcementID, guardianID int64, at time.Time) (bool, error)
}

// ParentItem is an announcement in a parent's list.
type ParentItem struct {
	ID       int64
	Kind     string
	Title    vault.Personal
	SentAt   time.Time
	Handouts int
	Opened   bool
}
