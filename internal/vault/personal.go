package vault

import (
	"fmt"
	"io"
	"log/slog"
)

// Redacted is what a Personal value prints, logs and marshals as.
const Redacted = "[redacted]"

// Personal is a plaintext personal value: a name, a relationship, a message, a LINE
// user ID. Every printed or encoded form of it is "[redacted]" — fmt with any verb
// (also inside structs, slices and maps), slog's text and JSON handlers, encoding/json,
// encoding.TextMarshaler and gob — so a value logged, wrapped into an error or put in an API
// response by mistake leaks nothing. Only Reveal gives the value, for the few places
// that must use it (a page for an authorised reader, a call to LINE), which makes
// every use of plaintext easy to find in review.
//
// The redacted JSON form also means a Personal cannot be stored by marshalling it
// (into a job's arguments, say): that is deliberate; personal data is stored only
// through EncryptPersonal, and jobs carry row IDs. Unmarshal is not redacted, so a
// Personal can be read from a request body.
//
// One hole the type system leaves: encoding/json writes map keys of any string type
// as they are, ignoring MarshalText, so never use Personal as a map key in data that
// is marshalled.
type Personal string

// Reveal returns the plaintext. Each call site is a place where personal data leaves
// the type's protection; keep them few and obvious.
func (p Personal) Reveal() string { return string(p) }

// IsZero reports whether the value is empty, without revealing it.
func (p Personal) IsZero() bool { return p == "" }

// String implements fmt.Stringer.
func (p Personal) String() string { return Redacted }

// GoString implements fmt.GoStringer (%#v).
func (p Personal) GoString() string { return `vault.Personal("` + Redacted + `")` }

// Format implements fmt.Formatter, so every verb (%s %v %+v %q %x %X %d …) prints
// "[redacted]", and %#v the GoString form; widths and flags are ignored so that not
// even the value's length shows.
func (p Personal) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		_, _ = io.WriteString(f, p.GoString())
		return
	}
	_, _ = io.WriteString(f, Redacted)
}

// LogValue implements slog.LogValuer.
func (p Personal) LogValue() slog.Value { return slog.StringValue(Redacted) }

// MarshalJSON implements json.Marshaler.
func (p Personal) MarshalJSON() ([]byte, error) { return []byte(`"` + Redacted + `"`), nil }

// MarshalText implements encoding.TextMarshaler (used by encoding/xml among others).
func (p Personal) MarshalText() ([]byte, error) { return []byte(Redacted), nil }

// GobEncode implements gob.GobEncoder; there is deliberately no GobDecode, so a
// redacted value cannot be mistaken for a real one on the way back.
func (p Personal) GobEncode() ([]byte, error) { return []byte(Redacted), nil }
