// Package inbox is 「連絡する」 (SPEC C3): a parent chooses who to write to — the
// homeroom teacher of a child's class, the advisor of a child's club, or the school
// office — and their LINE messages land in that conversation; staff whose duties give
// them the conversation read it in the browser and answer, and the answer reaches the
// parent in LINE under the role (【1年1組 担任】), never a staff member's own account.
package inbox

import (
	"context"
	"time"

	"github.com/renraku/renraku/internal/vault"
)

// Targets of a conversation.
const (
	Homeroom = "homeroom"
	Advisor  = "advisor"
	Office   = "office"
)

// States of a conversation: 未対応, 対応中, 完了.
const (
	Open       = "open"
	InProgress = "in_progress"
	Done       = "done"
)

// MaxReply is the longest reply, in LINE's count, leaving room for the role prefix.
const MaxReply = 4900

// Conversation is a conversation as staff see it.
type Conversation struct {
	ID            int64
	SchoolID      int64
	BoardID       int64
	GuardianID    int64
	FriendID      int64
	ChildID       int64
	Target        string
	ClassID       int64
	ClubID        int64
	Year          int
	State         string
	Unread        int
	LastMessageAt time.Time
	// AssigneeID is who handles it after a hand-over (0: nobody in particular).
	AssigneeID   int64
	AssigneeName vault.Personal
	// For display.
	Nickname   vault.Personal
	ChildName  vault.Personal
	Label      string // 1年1組 担任, サッカー部 顧問, 学校（事務・管理職）
	ClassLabel string
	// SchoolName is the conversation's school, and SharedChannel says that its LINE
	// channel serves other schools too, so replies name the school.
	SchoolName    string
	SharedChannel bool
}

// ReplyLabel is who a reply comes from as the parent reads it in LINE (【1年1組 担任】).
// Through a channel that serves several schools it names the school
// (【さくら小学校 1年1組 担任】, 【さくら小学校（事務・管理職）】).
func (c Conversation) ReplyLabel() string {
	switch {
	case !c.SharedChannel || c.SchoolName == "":
		return c.Label
	case c.Target == Office:
		return c.SchoolName + officeSuffix
	default:
		return c.SchoolName + " " + c.Label
	}
}

// officeSuffix follows the school's name where the office signs for one school of
// several.
const officeSuffix = "（事務・管理職）"

// Message is one message of a conversation.
type Message struct {
	ID        int64
	Direction string // in, out
	Kind      string // text, image, sticker
	Body      vault.Personal
	// LineMessageID is the parent's LINE message (to fetch an image's content).
	LineMessageID string
	// ContentState of an image: pending, stored, unavailable.
	ContentState string
	StaffID      int64
	StaffName    vault.Personal
	// Delivery is the outbox state of a reply: queued, sent, failed, undeliverable.
	Delivery  string
	CreatedAt time.Time
}

// Choice is a conversation a parent may start.
type Choice struct {
	Target   string
	ChildID  int64
	ClassID  int64
	ClubID   int64
	SchoolID int64
	Label    string
}

// Filter selects conversations for a staff member.
type Filter struct {
	SchoolID int64
	// All is every conversation of the school (administrators); otherwise those of the
	// classes, clubs and (with Office) the office.
	All      bool
	ClassIDs []int64
	ClubIDs  []int64
	Office   bool
	State    string
	// ClassID, ClubID and OfficeOnly narrow the list to one class, club or the office.
	ClassID    int64
	ClubID     int64
	OfficeOnly bool
	// Limit and Offset page the list (newest first).
	Limit, Offset int
}

// Query is what a staff member asks of their inbox: a state, a scope ("class:ID",
// "club:ID", "office" or all), a search of names, and a page (from 1).
type Query struct {
	State string
	Scope string
	Q     string
	Page  int
}

// PageSize is how many conversations one page of the inbox lists.
const PageSize = 50

// ThreadPage is how many messages one page of a thread shows (the newest first; older
// ones behind a link).
const ThreadPage = 200

// Listing is one page of a staff member's inbox.
type Listing struct {
	Conversations []Conversation
	// Scopes are the classes, clubs and office of the person's conversations, for the
	// filter.
	Scopes []Scope
	More   bool
}

// Scope is a class, club or the office as a filter choice.
type Scope struct {
	Value string // class:ID, club:ID, office
	Label string
}

// Store is the persistence of conversations.
type Store interface {
	FindChoices(ctx context.Context, guardianID int64) ([]Choice, error)
	// OpenConversation finds or creates the conversation for a choice.
	OpenConversation(ctx context.Context, guardianID int64, c Choice) (int64, error)
	SetCurrent(ctx context.Context, guardianID, conversationID int64, at time.Time) error
	// FindCurrent returns the guardian's current conversation and when it was chosen
	// (0 when none).
	FindCurrent(ctx context.Context, guardianID int64) (int64, time.Time, error)
	AddMessage(ctx context.Context, conversationID int64, m *Message, outboundID int64) error
	FindConversation(ctx context.Context, id int64) (Conversation, error)
	// FindConversationIDs lists the IDs of a filter's conversations, newest first
	// (Limit 0: all of them).
	FindConversationIDs(ctx context.Context, f Filter) ([]int64, error)
	// FindConversationsByID reads conversations, in the order of ids.
	FindConversationsByID(ctx context.Context, ids []int64) ([]Conversation, error)
	// FindConversationNames reads only what a search matches (nickname, child's name,
	// class and label) of conversations, with their school, guardian and child, in the
	// order of ids.
	FindConversationNames(ctx context.Context, ids []int64) ([]Conversation, error)
	// FindScopes lists the classes, clubs and office of the conversations a filter's
	// duties give (its narrowing, state and paging ignored).
	FindScopes(ctx context.Context, f Filter) ([]Scope, error)
	// FindMessages lists up to limit of a conversation's messages before the message
	// before (0: the newest), oldest first.
	FindMessages(ctx context.Context, conversationID, before int64, limit int) ([]Message, error)
	// FindMessagesAfter lists up to limit of a conversation's messages after the
	// message after, oldest first.
	FindMessagesAfter(ctx context.Context, conversationID, after int64, limit int) ([]Message, error)
	// MarkReadThrough leaves unread only the parent's messages after messageID (the
	// count never grows); it reports whether it fell.
	MarkReadThrough(ctx context.Context, id, messageID int64) (bool, error)
	// FindStaffName returns a member of staff's name, board and school (0: the
	// board's).
	FindStaffName(ctx context.Context, id int64) (name vault.Personal, boardID, schoolID int64, err error)
	SetState(ctx context.Context, id int64, state string) error
	// FirstAutoReply records today's out-of-hours auto-reply; false when it was sent.
	FirstAutoReply(ctx context.Context, conversationID int64, day time.Time) (bool, error)
	// SaveContent stores an image's bytes (encrypted) or marks it unavailable (nil).
	SaveContent(ctx context.Context, messageID int64, data []byte, contentType string) error
	// FindContent returns a stored image and its conversation.
	FindContent(ctx context.Context, messageID int64) (conversationID int64, data []byte, contentType string, err error)
	// FindPendingContent returns what fetching an image needs.
	FindPendingContent(ctx context.Context, messageID int64) (friendID int64, lineMessageID string, err error)
	FindCanned(ctx context.Context, schoolID, staffID int64) ([]Canned, error)
	CreateCanned(ctx context.Context, c *Canned) error
	DeleteCanned(ctx context.Context, id int64) error
	FindCannedByID(ctx context.Context, id int64) (Canned, error)
	SetAssignee(ctx context.Context, conversationID, staffID int64) error
	// FindMessageOutbound returns a reply's conversation and outbox row.
	FindMessageOutbound(ctx context.Context, messageID int64) (conversationID, outboundID int64, err error)
	// FindCandidates lists the staff a conversation can be handed to: those whose duty
	// covers it, and the school's administrators.
	FindCandidates(ctx context.Context, c Conversation) ([]Candidate, error)
	// FindWaiting lists a filter's conversations that are not done and are 未対応, have
	// unread messages or an unanswered message of the parent, oldest waiting first
	// (the filter's state, narrowing and paging ignored).
	FindWaiting(ctx context.Context, f Filter) ([]Waiting, error)
	// FindSchoolBoard returns a school's board.
	FindSchoolBoard(ctx context.Context, schoolID int64) (int64, error)
	// FindOffice returns a school's office hours and auto-reply text.
	FindOffice(ctx context.Context, schoolID int64) (Hours, error)
}

// Hours are when a school answers, what it says outside them, and how long a parent's
// choice of conversation lasts (after it, their next message asks again whom it is for).
type Hours struct {
	Open, Close string // HH:MM
	Days        string // weekday digits, 0 = Sunday
	AutoReply   string
	Inactivity  time.Duration
}

// Closed reports whether t (in Asia/Tokyo) is outside office hours.
func (o Hours) Closed(t time.Time) bool {
	wd := string(rune('0' + int(t.Weekday())))
	found := false
	for _, d := range o.Days {
		found = found || string(d) == wd
	}
	hm := t.Format("15:04")
	return !found || hm < o.Open || hm >= o.Close
}

// Canned is a 定型文: a school's (StaffID 0) or one staff member's reply template. A
// template may name a child, so its title and text are personal and stored encrypted.
type Canned struct {
	ID       int64
	SchoolID int64
	StaffID  int64
	Title    vault.Personal
	Body     vault.Personal
}

// Candidate is a staff member a conversation can be handed to.
type Candidate struct {
	ID   int64
	Name vault.Personal
	// Duty is what gives them the conversation ("" for an administrator: their Role).
	Duty string
	Role string
}
