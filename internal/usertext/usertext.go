// Package usertext cleans text that people type before it is stored: names,
// nicknames, messages, notes and every other free text the app keeps.
//
// Unicode's format characters (general category Cf) are invisible, yet they change how
// text reads: U+202E RIGHT-TO-LEFT OVERRIDE turns "山田(hcrae)" into what looks like
// another name, U+200B ZERO WIDTH SPACE makes two identical-looking names differ, and
// the isolates U+2066–2069 reorder what follows them. No name or school message needs
// them, so Clean removes them all, with two exceptions that emoji need: a ZERO WIDTH
// JOINER between two pictographic characters (👨‍👩‍👧 is three people joined into one
// family) and the TAG characters that follow a flag (🏴󠁧󠁢󠁳󠁣󠁴󠁿, Scotland). Variation
// selectors, skin-tone modifiers and regional-indicator flags are not format characters
// and are kept as they are.
package usertext

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

const (
	zwj          = '\u200D'
	blackFlag    = '\U0001F3F4'
	tagFirst     = '\U000E0020'
	tagLast      = '\U000E007F'
	selectorText = '\uFE0E'
	selectorPict = '\uFE0F'
)

// Clean returns s without its format characters (Unicode category Cf), except a zero
// width joiner that joins two pictographic characters and the tag characters of a
// flag's tag sequence. Text without format characters is returned unchanged.
func Clean(s string) string {
	if !strings.ContainsFunc(s, isFormat) {
		return s
	}
	runes := []rune(s)
	var b strings.Builder
	b.Grow(len(s))
	for i, r := range runes {
		if isFormat(r) && !keep(runes, i) {
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// Has reports whether s holds a format character that Clean would remove.
func Has(s string) bool { return Clean(s) != s }

func isFormat(r rune) bool { return r != utf8.RuneError && unicode.Is(unicode.Cf, r) }

// keep decides whether the format character runes[i] belongs to an emoji sequence.
func keep(runes []rune, i int) bool {
	r := runes[i]
	switch {
	case r == zwj:
		return pictographic(base(runes, i)) && pictographic(next(runes, i))
	case r >= tagFirst && r <= tagLast:
		// A tag sequence is a black flag followed by tags; walk back over the tags.
		j := i - 1
		for j >= 0 && runes[j] >= tagFirst && runes[j] <= tagLast {
			j--
		}
		return j >= 0 && runes[j] == blackFlag
	}
	return false
}

// base finds the character a joiner at i attaches to, skipping the variation
// selectors and skin-tone modifiers that may sit between them (👩🏽‍💻, 🏳️‍🌈) and the
// format characters that are removed anyway.
func base(runes []rune, i int) rune {
	for j := i - 1; j >= 0; j-- {
		r := runes[j]
		if r == selectorText || r == selectorPict || skinTone(r) || isFormat(r) {
			continue
		}
		return r
	}
	return 0
}

// next finds the character after the joiner at i, skipping format characters.
func next(runes []rune, i int) rune {
	for _, r := range runes[i+1:] {
		if !isFormat(r) {
			return r
		}
	}
	return 0
}

func skinTone(r rune) bool { return r >= '\U0001F3FB' && r <= '\U0001F3FF' }

// pictographic reports whether r can take part in an emoji ZWJ sequence: emoji are
// symbols (So) — faces, people, hearts, objects, ♀ and ♂ — and the skin-tone modifiers
// (Sk) may end a person before the joiner.
func pictographic(r rune) bool {
	return unicode.Is(unicode.So, r) || skinTone(r)
}
