// Package apperr defines the few kinds of error renraku's services return. The web
// layer turns a kind into an HTTP status and a translated message in one place; storage
// maps pgx.ErrNoRows and unique violations onto these kinds.
package apperr

import (
	"errors"
	"fmt"
)

// Kind classifies an error by what the caller can do about it.
type Kind int

// The kinds. Internal is the zero value so an unclassified error is never shown as
// the user's fault.
const (
	Internal        Kind = iota // a fault of ours; details go to the log, not the user
	NotFound                    // no such thing, or not one the actor may know of
	Invalid                     // the input is wrong; the message says how
	Conflict                    // the input clashes with what is stored
	Forbidden                   // the actor may not do this
	Unauthenticated             // the actor must sign in first
	Unavailable                 // something the request needs (the database, LINE) cannot be reached now; later it may work
)

func (k Kind) String() string {
	switch k {
	case NotFound:
		return "not_found"
	case Invalid:
		return "invalid"
	case Conflict:
		return "conflict"
	case Forbidden:
		return "forbidden"
	case Unauthenticated:
		return "unauthenticated"
	case Unavailable:
		return "unavailable"
	}
	return "internal"
}

// Error is a classified error. MessageID names a catalogue message shown to the user;
// Err (optional) is the cause, for logs. Neither may hold personal data.
type Error struct {
	Kind      Kind
	MessageID string
	Err       error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s (%s): %v", e.Kind, e.MessageID, e.Err)
	}
	return fmt.Sprintf("%s (%s)", e.Kind, e.MessageID)
}

func (e *Error) Unwrap() error { return e.Err }

// E builds a classified error.
func E(kind Kind, messageID string, cause error) error {
	return &Error{Kind: kind, MessageID: messageID, Err: cause}
}

// KindOf returns the kind of the first classified error in err's chain, or Internal.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return Internal
}

// MessageIDOf returns the user-facing message ID of err, or "" when it has none.
func MessageIDOf(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.MessageID
	}
	return ""
}

// Fixable reports whether err is for the person to fix on the form they sent: field
// problems, or a refusal (Invalid, Conflict) with a message to show beside the form.
func Fixable(err error) bool {
	if FieldsOf(err) != nil {
		return true
	}
	k := KindOf(err)
	return (k == Invalid || k == Conflict) && MessageIDOf(err) != ""
}
