package registration

import (
	"crypto/rand"
	"strings"

	"golang.org/x/text/width"
)

// Class codes are 8 characters from an alphabet without look-alikes (no 0/O, 1/I/L),
// printed as XXXX-XXXX. 31^8 ≈ 8.5·10^11 codes, and five tries an hour per parent.
const (
	codeAlphabet = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
	codeLength   = 8
)

// newCode makes a class code.
func newCode() string {
	b := make([]byte, codeLength)
	_, _ = rand.Read(b)
	out := make([]byte, codeLength)
	for i, x := range b {
		out[i] = codeAlphabet[int(x)%len(codeAlphabet)]
	}
	return string(out)
}

// normalizeCode reads a typed code: full-width to half-width, upper case, without
// spaces or dashes (any kind an IME produces).
func normalizeCode(s string) string {
	s = strings.ToUpper(width.Narrow.String(s))
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune(codeAlphabet, r) || r == '0' || r == '1' || r == 'O' || r == 'I' || r == 'L' {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// FormatCode prints a code as XXXX-XXXX.
func FormatCode(code string) string {
	if len(code) != codeLength {
		return code
	}
	return code[:4] + "-" + code[4:]
}
