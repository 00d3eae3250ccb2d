package roster

import (
	"bytes"
	"fmt"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding/japanese"
	"golang.org/x/text/transform"

	"github.com/renraku/renraku/internal/csvexport"
)

// Encoding is a character encoding a roster file can be read or written in; the
// export side (and the encoding of every other download) belongs to csvexport.
type Encoding = csvexport.Encoding

// The encodings Excel on Japanese Windows reads and writes.
const (
	UTF8     = csvexport.UTF8
	UTF8BOM  = csvexport.UTF8BOM
	ShiftJIS = csvexport.ShiftJIS
)

// Encodings lists the encodings a download can be offered in, Excel's favourite first.
var Encodings = csvexport.Encodings

// EncodingMessageID is the catalogue ID of e's label ("roster.encoding.utf-8-bom").
func EncodingMessageID(e Encoding) string { return "roster.encoding." + string(e) }

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
