package roster

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding/japanese"
	"golang.org/x/text/transform"
)

// Encoding is a character encoding a roster file can be read or written in.
type Encoding string

// The encodings Excel on Japanese Windows reads and writes.
const (
	UTF8     Encoding = "utf-8"
	UTF8BOM  Encoding = "utf-8-bom"
	ShiftJIS Encoding = "shift_jis"
)

// Encodings lists the encodings a download can be offered in, Excel's favourite first.
var Encodings = []Encoding{UTF8BOM, ShiftJIS, UTF8}

// Valid reports whether e is one of the known encodings, for checking a form value.
func (e Encoding) Valid() bool {
	return e == UTF8 || e == UTF8BOM || e == ShiftJIS
}

// MessageID is the catalogue ID of e's label ("roster.encoding.utf-8-bom").
func (e Encoding) MessageID() string { return "roster.encoding." + string(e) }

var bom = []byte{0xEF, 0xBB, 0xBF}

// Decode detects b's encoding and returns its text as UTF-8: a UTF-8 BOM means UTF8BOM
// (the BOM is dropped), valid UTF-8 means UTF8, and anything else is read as Shift_JIS
// (CP932). Input that is none of these cleanly, or that is UTF-16 (Excel's "Unicode
// text"), is refused with a *RowError naming the first bad line.
func Decode(b []byte) (string, Encoding, error) {
	if rest, ok := bytes.CutPrefix(b, bom); ok {
		if !utf8.Valid(rest) {
			return "", "", &RowError{Line: badUTF8Line(rest), MessageID: "roster.decode.invalid"}
		}
		return string(rest), UTF8BOM, nil
	}
	if bytes.HasPrefix(b, []byte{0xFF, 0xFE}) || bytes.HasPrefix(b, []byte{0xFE, 0xFF}) {
		return "", "", &RowError{MessageID: "roster.decode.utf16"}
	}
	if utf8.Valid(b) {
		return string(b), UTF8, nil
	}
	// x/text replaces undecodable bytes with U+FFFD instead of failing, and Shift_JIS
	// cannot encode U+FFFD itself, so its presence means the input was not Shift_JIS.
	out, _, err := transform.Bytes(japanese.ShiftJIS.NewDecoder(), b)
	if err != nil {
		return "", "", fmt.Errorf("roster: decode shift_jis: %w", err)
	}
	s := string(out)
	if i := strings.IndexRune(s, utf8.RuneError); i >= 0 {
		return "", "", &RowError{Line: strings.Count(s[:i], "\n") + 1, MessageID: "roster.decode.invalid"}
	}
	return s, ShiftJIS, nil
}

func badUTF8Line(b []byte) int {
	line := 1
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b)
		if r == utf8.RuneError && n <= 1 {
			return line
		}
		if r == '\n' {
			line++
		}
		b = b[n:]
	}
	return line
}

// cp932Equivalents maps characters that Mac and Unicode-minded software produce to
// the look-alikes CP932 has, so that a name typed with a WAVE DASH (〜) still saves as
// Shift_JIS. Excel shows both forms identically.
var cp932Equivalents = strings.NewReplacer(
	"\u301C", "\uFF5E", // 〜 → ～
	"\u2212", "\uFF0D", // − → －
	"\u2016", "\u2225", // ‖ → ∥
	"\u2014", "\u2015", // — → ―
	"\u00A2", "\uFFE0", // ¢ → ￠
	"\u00A3", "\uFFE1", // £ → ￡
	"\u00AC", "\uFFE2", // ¬ → ￢
)

// Encode writes text, which is UTF-8, to w in enc; UTF8BOM starts with EF BB BF. A
// character Shift_JIS cannot represent (many emoji, some rare kanji) is a *RowError
// naming its line and the character, so the clerk can choose UTF-8 instead.
func Encode(w io.Writer, text string, enc Encoding) error {
	var out []byte
	switch enc {
	case UTF8:
		out = []byte(text)
	case UTF8BOM:
		out = append(append([]byte{}, bom...), text...)
	case ShiftJIS:
		text = cp932Equivalents.Replace(text)
		b, _, err := transform.Bytes(japanese.ShiftJIS.NewEncoder(), []byte(text))
		if err != nil {
			if re := unrepresentable(text); re != nil {
				return re
			}
			return fmt.Errorf("roster: encode shift_jis: %w", err)
		}
		out = b
	default:
		return fmt.Errorf("roster: unknown encoding %q", enc)
	}
	if _, err := w.Write(out); err != nil {
		return fmt.Errorf("roster: write: %w", err)
	}
	return nil
}

// unrepresentable finds the first character of text that Shift_JIS lacks.
func unrepresentable(text string) *RowError {
	enc := japanese.ShiftJIS.NewEncoder()
	line := 1
	for _, r := range text {
		if r == '\n' {
			line++
			continue
		}
		if _, err := enc.String(string(r)); err != nil {
			return &RowError{
				Line:      line,
				MessageID: "roster.encode.unrepresentable",
				Args:      map[string]any{"Char": string(r)},
			}
		}
	}
	return nil
}
