// Package csvexport writes every CSV file the app lets people download: absence
// lists, the audit log, the monthly report and the roster files.
//
// Two things go wrong with CSV handed to Excel, and this package is the one place
// that deals with both:
//
//   - Formula injection. Excel (and LibreOffice, Google Sheets) run a cell that begins
//     with = + - or @ as a formula, and some read a leading tab or carriage return the
//     same way; a parent who names themselves =HYPERLINK("http://x","y") gets a link in
//     the teacher's spreadsheet. Every text cell that begins with one of these, or with
//     its full-width form (＝ ＋ － ＠, which Japanese IMEs produce and Excel's formula
//     bar accepts as well), is written with a leading apostrophe, as OWASP recommends;
//     Excel shows the cell as text. Numbers the code itself writes are typed cells
//     (Int, Float) and are written as they are, so a count of -1 stays a number;
//     anything that came from a person is Text and always neutralised, even when it
//     looks like a number ("-" in a note, "-1" typed as a temperature).
//   - Encodings. Excel on Japanese Windows opens UTF-8 only with a byte order mark, and
//     many schools' 校務支援 systems read only Shift_JIS. A character Shift_JIS lacks
//     (an emoji, some rare kanji) is replaced by 〓 (GETA MARK, the printer's sign for
//     a missing character) and counted, so one such character never makes a whole
//     export fail and the person downloading is told how many were replaced.
package csvexport

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"strconv"
	"strings"
	"unicode"

	"golang.org/x/text/encoding/japanese"
	"golang.org/x/text/unicode/norm"
)

// Encoding is a character encoding a download can be offered in.
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

// Charset is e's name for a Content-Type header.
func (e Encoding) Charset() string {
	if e == ShiftJIS {
		return "shift_jis"
	}
	return "utf-8"
}

// Cell is one field of a row: text, which is neutralised, or a number the code wrote.
type Cell struct {
	value  string
	number bool
}

// Text is a cell of text; a leading formula character is neutralised.
func Text(s string) Cell { return Cell{value: s} }

// Int is a cell holding a number the code computed; it is written as it is.
func Int[N ~int | ~int32 | ~int64](n N) Cell {
	return Cell{value: strconv.FormatInt(int64(n), 10), number: true}
}

// Float is a cell holding a computed number, written with prec decimals.
func Float(f float64, prec int) Cell {
	return Cell{value: strconv.FormatFloat(f, 'f', prec, 64), number: true}
}

// dangerous holds the first characters that make a spreadsheet read a cell as a
// formula, in ASCII and in full width. A line feed is included because it is the
// other half of a CR LF that some importers split on.
const dangerous = "=+-@\t\r\n＝＋－＠"

// Neutralise returns s as a spreadsheet shows it as text: with an apostrophe before
// it if it begins with a formula character.
func Neutralise(s string) string {
	if s != "" && strings.ContainsRune(dangerous, firstRune(s)) {
		return "'" + s
	}
	return s
}

// Dangerous reports whether a cell as written would be read as a formula.
func Dangerous(cell string) bool {
	return cell != "" && strings.ContainsRune(dangerous, firstRune(cell))
}

// Unneutralise removes the apostrophe Neutralise added, for reading back a file this
// package wrote (the roster import). Other text is returned as it is.
func Unneutralise(s string) string {
	if rest, ok := strings.CutPrefix(s, "'"); ok && Dangerous(rest) {
		return rest
	}
	return s
}

func firstRune(s string) rune {
	for _, r := range s {
		return r
	}
	return 0
}

// Table collects the rows of one CSV file, CRLF-terminated as Excel writes them.
type Table struct {
	buf bytes.Buffer
	w   *csv.Writer
}

// NewTable starts a file whose first row is header (text cells).
func NewTable(header ...string) *Table {
	t := &Table{}
	t.w = csv.NewWriter(&t.buf)
	t.w.UseCRLF = true
	t.TextRow(header...)
	return t
}

// Row appends a row.
func (t *Table) Row(cells ...Cell) {
	rec := make([]string, len(cells))
	for i, c := range cells {
		if c.number {
			rec[i] = c.value
		} else {
			rec[i] = Neutralise(c.value)
		}
	}
	_ = t.w.Write(rec) // a bytes.Buffer does not fail
}

// TextRow appends a row of text cells.
func (t *Table) TextRow(cells ...string) {
	row := make([]Cell, len(cells))
	for i, c := range cells {
		row[i] = Text(c)
	}
	t.Row(row...)
}

// String returns the file so far as UTF-8 text.
func (t *Table) String() string {
	t.w.Flush()
	return t.buf.String()
}

// File is an encoded export.
type File struct {
	Data     []byte
	Encoding Encoding
	// Substituted counts the characters that Shift_JIS could not hold and that were
	// written as Replacement.
	Substituted int
}

// Encode encodes the table.
func (t *Table) Encode(enc Encoding) (File, error) { return Encode(t.String(), enc) }

// Replacement stands in for a character Shift_JIS cannot hold. 〓 (GETA MARK) is the
// Japanese typesetter's sign for a missing character: every clerk knows it, it never
// appears in a name or a note by itself, and unlike ？ it cannot be taken for part of
// what the parent wrote.
const Replacement = '〓'

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

// Encode writes text, which is UTF-8, in enc; UTF8BOM starts with EF BB BF. In
// Shift_JIS every character the encoding lacks is written as Replacement and counted
// (see shiftJIS).
func Encode(text string, enc Encoding) (File, error) {
	f := File{Encoding: enc}
	switch enc {
	case UTF8:
		f.Data = []byte(text)
	case UTF8BOM:
		f.Data = append([]byte("\uFEFF"), text...)
	case ShiftJIS:
		f.Data, f.Substituted = shiftJIS(text)
	default:
		return File{}, fmt.Errorf("csvexport: unknown encoding %q", enc)
	}
	return f, nil
}

// shiftJIS encodes text as Shift_JIS (CP932), writing Replacement for what it lacks.
// A character as a reader sees it counts once: the joiners, variation selectors,
// skin tones and second flag letter that make up one emoji are absorbed into the 〓
// of its first character (👨‍👩‍👧 is one 〓, not five), and a variation selector after a
// character Shift_JIS has (an ideographic variant of 葛) is dropped, as the encoding
// has no way to say it. Any other missing character is one 〓.
func shiftJIS(text string) ([]byte, int) {
	e := japanese.ShiftJIS.NewEncoder()
	geta, _ := e.String(string(Replacement))
	var out bytes.Buffer
	out.Grow(len(text))
	n := 0
	inEmoji, joined, flagOpen := false, false, false
	// NFC first: a name typed on a Mac may spell が as か plus a combining mark, which
	// Shift_JIS has only composed.
	for _, r := range cp932Equivalents.Replace(norm.NFC.String(text)) {
		if r < 0x80 {
			out.WriteByte(byte(r))
			inEmoji, joined, flagOpen = false, false, false
			continue
		}
		b, err := e.Bytes([]byte(string(r)))
		if err == nil {
			out.Write(b)
			inEmoji, joined, flagOpen = false, false, false
			continue
		}
		switch {
		case inEmoji && extends(r):
			joined = joined || r == '\u200D' // part of the emoji already replaced
		case variationSelector(r):
			// After a character that was written: the glyph variant has no code.
		case inEmoji && (joined || (flagOpen && regional(r))):
			joined, flagOpen = false, false
		default:
			out.WriteString(geta)
			n++
			inEmoji, joined, flagOpen = true, false, regional(r)
		}
	}
	return out.Bytes(), n
}

// extends reports whether r modifies the character before it rather than standing
// alone: joiners and other format characters, combining marks (variation selectors,
// the keycap) and skin tones.
func extends(r rune) bool {
	return unicode.In(r, unicode.Cf, unicode.Mn, unicode.Me) || (r >= '\U0001F3FB' && r <= '\U0001F3FF')
}

func variationSelector(r rune) bool {
	return (r >= '\uFE00' && r <= '\uFE0F') || (r >= '\U000E0100' && r <= '\U000E01EF')
}

func regional(r rune) bool { return r >= '\U0001F1E6' && r <= '\U0001F1FF' }
