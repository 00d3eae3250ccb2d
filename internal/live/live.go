// Package live is the vocabulary of the changes staff wait for: a parent's new message,
// a colleague's reply, a new absence report, a registration to approve, a delivery that
// finished. Features publish an Event in the transaction that makes the change; it
// reaches every app instance when that transaction commits (open pages update
// themselves) and the notifications of the staff it concerns. An Event carries IDs only,
// never personal data, so it may travel through PostgreSQL's NOTIFY, a job's arguments
// and a browser's event stream.
package live

import "context"

// Kind is what changed.
type Kind string

// The kinds of change.
const (
	// A parent wrote in a conversation (Conversation, Class or Club).
	Message Kind = "message"
	// A member of staff replied in a conversation, took it over, handed it on or
	// changed its state (Conversation, Staff).
	Reply Kind = "reply"
	// A conversation was read, taken over or closed (Conversation, Staff, Change).
	ConversationState Kind = "conversation_state"
	// A parent reported an absence or lateness (Class).
	Absence Kind = "absence"
	// A report was acknowledged (Class, Staff).
	AbsenceAck Kind = "absence_ack"
	// A parent cancelled a report not yet acknowledged (Class).
	AbsenceCancel Kind = "absence_cancel"
	// A registration waits for approval (Class).
	Registration Kind = "registration"
	// A registration was approved or refused (Class, Staff).
	RegistrationDecided Kind = "registration_decided"
	// An announcement's delivery finished, with or without failures (Announcement,
	// Staff: who created it).
	Delivery Kind = "delivery"
	// A parent answered (or changed an answer to) a survey (Survey, Class).
	SurveyAnswer Kind = "survey_answer"
)

// Event is one change, named by IDs only. Zero fields do not apply.
type Event struct {
	Kind         Kind   `json:"kind"`
	Board        int64  `json:"board"`
	School       int64  `json:"school,omitempty"`
	Year         int    `json:"year,omitempty"`
	Target       string `json:"target,omitempty"` // a conversation's target: homeroom, advisor or office
	Class        int64  `json:"class,omitempty"`
	Club         int64  `json:"club,omitempty"`
	Conversation int64  `json:"conversation,omitempty"`
	Announcement int64  `json:"announcement,omitempty"`
	Survey       int64  `json:"survey,omitempty"`
	// Staff is the member of staff who made the change (0: a parent or the system).
	Staff int64 `json:"staff,omitempty"`
	// Change says what a ConversationState event changed (ChangeRead, ChangeState,
	// ChangeHandOver); "" for the other kinds.
	Change string `json:"change,omitempty"`
}

// What a ConversationState event changed.
const (
	// ChangeRead: a parent's messages were shown to a member of staff.
	ChangeRead = "read"
	// ChangeState: the conversation was marked 未対応, 対応中 or 完了.
	ChangeState = "state"
	// ChangeHandOver: the conversation was handed to another member of staff.
	ChangeHandOver = "handover"
)

// Publisher publishes events in the caller's transaction: they are delivered when it
// commits, and never when it rolls back.
type Publisher interface {
	Publish(ctx context.Context, e Event) error
}
