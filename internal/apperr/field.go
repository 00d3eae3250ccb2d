package apperr

import (
	"errors"
	"sort"
	"strings"
)

// Fields is an Invalid error about named form fields: field name → catalogue message
// ID. Forms re-render with the user's input and these messages beside the fields.
type Fields map[string]string

func (f Fields) Error() string {
	names := make([]string, 0, len(f))
	for k, v := range f {
		names = append(names, k+": "+v)
	}
	sort.Strings(names)
	return "invalid " + strings.Join(names, ", ")
}

// Add records a problem with field unless one is already recorded.
func (f Fields) Add(field, messageID string) {
	if _, ok := f[field]; !ok {
		f[field] = messageID
	}
}

// Err returns f as an Invalid error, or nil when f is empty.
func (f Fields) Err() error {
	if len(f) == 0 {
		return nil
	}
	return &Error{Kind: Invalid, MessageID: "form.invalid", Err: f}
}

// FieldsOf returns the field problems of err, or nil.
func FieldsOf(err error) Fields {
	var f Fields
	if errors.As(err, &f) {
		return f
	}
	return nil
}
