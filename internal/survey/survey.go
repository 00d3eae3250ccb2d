// Package survey is the questions schools send home (issue 19): surveys (アンケート)
// and attendance checks (出欠確認), addressed as announcements are, answered per child
// (each sibling separately) or per family (each registered guardian once). A survey
// whose only question is a single choice is answered in the LINE chat with one tap
// (postback buttons); anything else opens the parent's personal form page. Answers are
// personal data: encrypted, seen by role and duty as absence reports are, every view
// and export audited.
//
// Delivery is one push per guardian through the LINE outbox (each guardian once,
// however many children): a per-child survey names the children, so its messages
// differ per family and cannot be multicast. The outbox's retry keys make a resumed
// send reach nobody twice.
package survey

import (
	"context"
	"time"

	"github.com/renraku/renraku/internal/announce"
	"github.com/renraku/renraku/internal/vault"
)

// Kinds of survey.
const (
	KindSurvey     = "survey"     // アンケート
	KindAttendance = "attendance" // 出欠確認: 参加／不参加, optionally a reason or a number
)

// States of a survey (as announcements').
const (
	Draft     = "draft"
	Scheduled = "scheduled"
	Sending   = "sending"
	Sent      = "sent"
	Cancelled = "cancelled"
)

// Question kinds.
const (
	Single  = "single"  // one of the choices
	Multi   = "multi"   // any of the choices
	Short   = "short"   // a line of text
	Long    = "long"    // a paragraph
	Number  = "number"  // a whole number, with a unit and a range
	Date    = "date"    // a day (YYYY-MM-DD)
	Consent = "consent" // 同意する, with the text agreed to
)

// Limits.
const (
	MaxQuestions    = 20
	MaxChoices      = 10
	MaxTitle        = 60   // characters
	MaxBody         = 2000 // characters: the explanation
	MaxQuestionText = 200
	MaxChoiceLabel  = 40
	MaxUnit         = 10
	MaxConsentText  = 2000
	MaxShortAnswer  = 100
	MaxLongAnswer   = 2000
	MaxHandouts     = 5
	// MaxSchedule is how far ahead a send may be scheduled, and a deadline set.
	MaxSchedule = 180 * 24 * time.Hour
	// MaxTapChoicesPerChild is the most choices a per-child survey can be answered
	// with in the chat: a LINE buttons message has 4 buttons, one per choice.
	MaxTapChoicesPerChild = 4
	// MaxTapChildren is the most children one message can ask about: LINE takes 5
	// messages per request, one of which introduces the survey.
	MaxTapChildren = 4
)

// Audience is who a survey is for, as an announcement's (a school, its grades, classes
// or clubs; or the board's schools and districts).
type Audience = announce.Audience

// Choice is one answer of a single- or multiple-choice question. Key is stable
// ("c1", "c2", …): a tap carries it.
type Choice struct {
	Key   string `json:"key"`
	Label string `json:"label"`
}

// Question is one question of a survey. Key is stable ("q1", "q2", …).
type Question struct {
	Key      string   `json:"key"`
	Kind     string   `json:"kind"`
	Text     string   `json:"text"`
	Required bool     `json:"required,omitempty"`
	Choices  []Choice `json:"choices,omitempty"`
	// Number: the unit shown after the field (人, 回) and the range allowed.
	Unit string `json:"unit,omitempty"`
	Min  *int64 `json:"min,omitempty"`
	Max  *int64 `json:"max,omitempty"`
	// ConsentText is what a consent question asks the parent to agree to.
	ConsentText string `json:"consentText,omitempty"`
}

// Value is the answer to one question: Choices (choice keys) for single and multiple
// choice, Text for short and long text, Number, Date (YYYY-MM-DD) or Agreed.
type Value struct {
	Choices []string `json:"choices,omitempty"`
	Text    string   `json:"text,omitempty"`
	Number  *int64   `json:"number,omitempty"`
	Date    string   `json:"date,omitempty"`
	Agreed  bool     `json:"agreed,omitempty"`
}

// Answers are a unit's answers by question key.
type Answers map[string]Value

// Handout is a PDF of a survey.
type Handout = announce.Handout

// Survey is a stored survey.
type Survey struct {
	ID            int64
	BoardID       int64
	SchoolID      int64 // 0 for the board's
	Kind          string
	Audience      Audience
	AudienceLabel string
	Title         vault.Personal
	Body          vault.Personal
	Questions     []Question
	PerChild      bool
	// Sensitive: a consent question's answers may carry health details, so only the
	// children's homeroom teachers and administrators see answers.
	Sensitive  bool
	Deadline   time.Time
	AutoRemind bool
	State      string
	// CancelReason is "" (cancelled by a person) or "rollover".
	CancelReason  string
	ScheduledAt   time.Time
	StartedAt     time.Time
	FinishedAt    time.Time
	FirstAnswerAt time.Time
	RemindedAt    time.Time
	CreatedBy     int64
	CreatedAt     time.Time
	Handouts      []Handout
	Counts        Counts
}

// Counts are a survey's figures: units (children or families) and how many answered,
// guardians sent to and those skipped (they had blocked the account).
type Counts struct {
	Units, Answered, Recipients, Skipped int
}

// Tappable reports whether the survey is answered in the chat with one tap: its only
// question is a single choice, with few enough choices for LINE's buttons.
func (s Survey) Tappable() bool {
	if len(s.Questions) != 1 || s.Questions[0].Kind != Single {
		return false
	}
	return len(s.Questions[0].Choices) <= MaxTapChoicesPerChild
}

// Open reports whether answers are taken at t (sent or sending, before the deadline).
func (s Survey) Open(t time.Time) bool {
	return (s.State == Sending || s.State == Sent) && t.Before(s.Deadline)
}

// Editable reports whether the wording may still change: before it is sent, or after
// that until the first answer.
func (s Survey) Editable() bool {
	switch s.State {
	case Draft, Scheduled:
		return true
	case Sending, Sent:
		return s.FirstAnswerAt.IsZero()
	}
	return false
}

// Question returns the question with key k.
func (s Survey) Question(k string) (Question, bool) {
	for _, q := range s.Questions {
		if q.Key == k {
			return q, true
		}
	}
	return Question{}, false
}

// Unit is what is answered: a child (per child) or a guardian's family (per family),
// with the class it is counted under.
type Unit struct {
	ID         int64
	SurveyID   int64
	ChildID    int64 // per child
	GuardianID int64 // per family
	SchoolID   int64
	ClassID    int64
	Answers    Answers // nil until answered
	AnsweredAt time.Time
	AnsweredBy int64
	Draft      Answers
}

// Recipient is a guardian a survey is to be sent to, with what the message needs.
type Recipient struct {
	GuardianID int64
	FriendID   int64
	ChannelID  int64
	Language   string
	// Units are the children the guardian answers for (per child), or their one
	// family unit.
	Units []RecipientUnit
}

// RecipientUnit is one child of a recipient's message.
type RecipientUnit struct {
	UnitID    int64
	ChildName vault.Personal // empty for a family unit
}

// Store is the persistence of surveys.
type Store interface {
	CreateSurvey(ctx context.Context, s *Survey) error
	CreateHandout(ctx context.Context, surveyID int64, h *Handout, sha []byte) error
	// UpdateSurvey stores an edited survey's audience, label, title, body, questions,
	// per-child choice, deadline, reminder choice and scheduled time.
	UpdateSurvey(ctx context.Context, s Survey) error
	DeleteHandout(ctx context.Context, surveyID, handoutID int64) error
	// FindSurvey reads a survey with its handouts and figures.
	FindSurvey(ctx context.Context, id int64) (Survey, error)
	// FindSurveys lists a board's surveys, or a school's (schoolID: its own, and the
	// board's that reached it), newest first.
	FindSurveys(ctx context.Context, boardID, schoolID int64, limit int) ([]Survey, error)
	// LockState locks a survey's row and returns its state.
	LockState(ctx context.Context, id int64) (string, error)
	SetState(ctx context.Context, id int64, state string, scheduledAt time.Time) error
	DeleteSurvey(ctx context.Context, id int64) error
	// CountReach counts the guardians an audience reaches now, per channel, as
	// announce.Store does.
	CountReach(ctx context.Context, boardID int64, a Audience) ([]announce.Reach, error)
	// Resolve stores the units (verified children of the audience, or their guardians
	// for a per-family survey) and the recipients (each verified guardian once; those
	// who blocked the account skipped). It returns the number of recipients queued.
	Resolve(ctx context.Context, s Survey) (int, error)
	// PendingRecipients returns up to limit queued recipients whose message is not yet
	// in the outbox, with their units (children's names decrypted).
	PendingRecipients(ctx context.Context, surveyID int64, limit int) ([]Recipient, error)
	// SetRecipientOutbound records the outbox row that carries a recipient's message.
	SetRecipientOutbound(ctx context.Context, surveyID, guardianID, outboundID int64) error
	// Finish marks a sending survey sent.
	Finish(ctx context.Context, id int64, at time.Time) error
	// ReachesSchool reports whether a survey has units (children or families) in a
	// school.
	ReachesSchool(ctx context.Context, surveyID, schoolID int64) (bool, error)

	// The parents' side: answers and drafts (internal/postgres/survey_answer.go).

	// FindSurveyBrief reads a survey without its handouts and figures (zero Counts):
	// what an answer is checked against.
	FindSurveyBrief(ctx context.Context, id int64) (Survey, error)
	// GuardianUnits returns the units of a survey a guardian answers, in order (their
	// verified children by grade, class and ID; per family their own unit), with the
	// children's names; answers and drafts are decrypted only when withAnswers.
	GuardianUnits(ctx context.Context, surveyID, guardianID int64, withAnswers bool) ([]ParentUnit, error)
	// FindTap reads in one round trip what a parent's tap or button on a survey needs:
	// the guardian behind a LINE friend, the survey's brief and the guardian's units of
	// it (as GuardianUnits without answers).
	FindTap(ctx context.Context, friendID, surveyID int64) (Tap, error)
	// FindTaps does FindTap for several taps in one round trip (aligned with keys).
	FindTaps(ctx context.Context, keys []TapKey) ([]Tap, error)
	// GuardianSurveys lists the sent (or sending) surveys a guardian answers whose
	// deadline is after since, soonest deadline first, with their units (no answers).
	GuardianSurveys(ctx context.Context, guardianID int64, since time.Time, limit int) ([]ParentSurvey, error)
	// CountOpenSurveys counts the sent (or sending) surveys a guardian answers whose
	// deadline is after now.
	CountOpenSurveys(ctx context.Context, guardianID int64, now time.Time) (int, error)
	// SaveAnswers stores a unit's answers (encrypted) and who gave them, and clears its
	// draft.
	SaveAnswers(ctx context.Context, unitID int64, a Answers, by int64, at time.Time) error
	// SaveAnswersAtCommit is SaveAnswers sent with the transaction's COMMIT, in its
	// round trip (an error fails the commit), for a caller that reads nothing of the
	// unit after it in the transaction.
	SaveAnswersAtCommit(ctx context.Context, unitID int64, a Answers, by int64, at time.Time) error
	// SaveDraft stores a unit's draft (encrypted); nil clears it.
	SaveDraft(ctx context.Context, unitID int64, a Answers) error
	// MarkFirstAnswer records a survey's first answer (kept when already set).
	MarkFirstAnswer(ctx context.Context, surveyID int64, at time.Time) error

	// Results, reminders, export and print.
	ResultsStore
}

// ParentUnit is a unit as the guardian who answers it sees it: with the child's name
// (empty for a family unit).
type ParentUnit struct {
	Unit
	ChildName vault.Personal
}

// TapKey is a tap FindTaps reads for: who tapped, on which survey.
type TapKey struct{ FriendID, SurveyID int64 }

// Tap is what FindTap read: GuardianID is 0 when the friend has not registered,
// Found false when there is no such survey (Survey and Units are then empty).
type Tap struct {
	GuardianID int64
	Found      bool
	Survey     Survey
	Units      []ParentUnit
}

// ParentSurvey is a survey in a parent's list, with the units they answer.
type ParentSurvey struct {
	Survey Survey
	Units  []ParentUnit
}

// ResultUnit is a unit as the results page, the export and the print show it: its class,
// the child (per child) or the guardian's children (per family), the guardians'
// nicknames (never their LINE identity), the clubs the children belong to (for the
// advisors' rule) and the answers.
type ResultUnit struct {
	Unit
	Year       int
	Grade      int
	ClassLabel string
	// Children are the unit's child (per child) or the guardian's verified children of
	// the school (per family).
	Children []vault.Personal
	// GuardianIDs and Nicknames are the child's verified guardians (per child) or the
	// one guardian (per family), in the same order.
	GuardianIDs []int64
	Nicknames   []vault.Personal
	Clubs       []int64
	RemindedAt  time.Time
}

// ResultsStore is what the results, reminders, export and print need of the store
// (part of Store).
type ResultsStore interface {
	// FindResultUnits reads the units of a survey (of one school, unless schoolID is
	// 0) with their class, children, nicknames, clubs and answers (decrypted), in one
	// query, ordered by class.
	FindResultUnits(ctx context.Context, surveyID, schoolID int64) ([]ResultUnit, error)
	// RemindRecipients returns the recipients who follow the account now and answer for
	// a unit not yet answered, each with only those units (children's names decrypted).
	RemindRecipients(ctx context.Context, surveyID int64) ([]Recipient, error)
	// MarkReminded stamps the recipients and units reminded.
	MarkReminded(ctx context.Context, surveyID int64, guardianIDs, unitIDs []int64, at time.Time) error
	// DueAutoReminders lists surveys due their automatic reminder at now: chosen, not
	// yet reminded, sent at least a day before a deadline now less than a day away.
	DueAutoReminders(ctx context.Context, now time.Time, limit int) ([]int64, error)
	// ClaimAutoReminder stamps survey.reminded_at when it is unset and reports whether
	// it did (the automatic reminder goes out once).
	ClaimAutoReminder(ctx context.Context, id int64, at time.Time) (bool, error)
}
