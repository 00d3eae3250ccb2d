package vault

import (
	"fmt"
	"io"
	"log/slog"
)

// Redacted is what a Personal value prints as.
const Redacted = "[redacted]"

// Personal is a plaintext personal value (a name, a message, a LINE user ID). Every
// printed or encoded form of it is "[redacted]"; Reveal returns the value for the few
// places that must use it (rendering for an authorised reader, calling LINE).
type Personal string

// Reveal returns the plaintext.
func (p Personal) Reveal() string { return string(p) }

// IsZero reports whether the value is empty.
func (p Personal) IsZero() bool { return p == "" }

// String implements fmt.Stringer.
func (p Personal) String() string { return Redacted }

// GoString implements fmt.GoStringer (%#v).
func (p Personal) GoString() string { return `vault.Personal("` + Redacted + `")` }

// Format implements fmt.Formatter, so every verb (%s %v %q %x %d …) is redacted.
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

// MarshalText implements encoding.TextMarshaler.
func (p Personal) MarshalText() ([]byte, error) { return []byte(Redacted), nil }
