package credential

import (
	"strings"
	"unicode"

	"golang.org/x/text/width"
)

// normaliseCode turns what a person typed for a one-time or recovery code into the
// canonical form: full-width characters folded to half-width (a Japanese IME often
// types 「１２３」), lowercased, and spaces and dashes (including the full-width and
// katakana ones an IME produces for "-") removed.
func normaliseCode(s string) string {
	s = strings.ToLower(width.Fold.String(s))
	return strings.Map(func(r rune) rune {
		switch {
		case unicode.IsSpace(r), r == '-', r == 'ー', r == '−', r == '‐', r == '‑', r == '–', r == '—':
			return -1
		}
		return r
	}, s)
}
