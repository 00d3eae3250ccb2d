package roster

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/renraku/renraku/internal/csvexport"
	"github.com/renraku/renraku/internal/usertext"
)

// MaxDataLines is the most data lines (header and blank lines aside) a file may have;
// a whole school's roster is far smaller, so a bigger file is the wrong file.
const MaxDataLines = 5000

// Kind is one of the four kinds of roster file.
type Kind string

// The four kinds of roster file.
const (
	KindStaff       Kind = "staff"
	KindClasses     Kind = "classes"
	KindClubs       Kind = "clubs"
	KindAssignments Kind = "assignments"
)

// Kinds lists the kinds in the order the console offers them: staff and classes come
// before the assignments that refer to them.
var Kinds = []Kind{KindStaff, KindClasses, KindClubs, KindAssignments}

// MessageID is the catalogue ID of k's label ("roster.kind.staff").
func (k Kind) MessageID() string { return "roster.kind." + string(k) }

// RowError is one problem with one line: Line is the 1-based line number in the file
// (the header is line 1; 0 means the file as a whole), Column the header name in
// Japanese or "", MessageID a catalogue ID and Args its template data.
type RowError struct {
	Line      int
	Column    string
	MessageID string
	Args      map[string]any
}

// Error describes e for logs; people see the translated MessageID instead.
func (e *RowError) Error() string {
	var b strings.Builder
	b.WriteString("roster: ")
	if e.Line > 0 {
		fmt.Fprintf(&b, "line %d: ", e.Line)
	}
	if e.Column != "" {
		fmt.Fprintf(&b, "%s: ", e.Column)
	}
	b.WriteString(e.MessageID)
	if len(e.Args) > 0 {
		fmt.Fprintf(&b, " %v", e.Args)
	}
	return b.String()
}

// column is one header cell: its Japanese name, which errors use, and its English one.
// An optional column may be left out of a file's header.
type column struct {
	ja, en   string
	optional bool
}

// record is one data line, its cells keyed by the Japanese column name.
type record struct {
	line  int
	cells map[string]string
}

// errs collects RowErrors for a file.
type errs []RowError

func (es *errs) add(line int, col, id string, args map[string]any) {
	*es = append(*es, RowError{Line: line, Column: col, MessageID: id, Args: args})
}

// sorted returns the errors in line order, keeping the column order within a line.
func (es errs) sorted() []RowError {
	slices.SortStableFunc(es, func(a, b RowError) int { return a.Line - b.Line })
	return es
}

// readTable splits text into trimmed records under a header of cols. When the header
// or the file as a whole is wrong it returns no records, since the lines cannot be read
// as cols; otherwise it returns every line whose cell count fits the header. A record
// has no cell for an optional column the header leaves out.
func readTable(text string, cols []column) ([]record, errs) {
	r := csv.NewReader(strings.NewReader(text))
	r.LazyQuotes = false
	r.FieldsPerRecord = -1
	var (
		es     errs
		header []string
		data   []record
		raw    [][]string // data cells, parallel to data
	)
	for {
		cells, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			es.add(pe.StartLine, "", "roster.csv.quote", nil)
			continue
		}
		if err != nil {
			es.add(0, "", "roster.file.unreadable", nil)
			return nil, es
		}
		line, _ := r.FieldPos(0)
		blank := true
		for i := range cells {
			cells[i] = csvexport.Unneutralise(strings.TrimSpace(usertext.Clean(cells[i])))
			if cells[i] != "" {
				blank = false
			}
		}
		if blank {
			continue // Excel writes ",," for a row it thinks is in use
		}
		if header == nil {
			header = cells
			if !checkHeader(line, cells, cols, &es) {
				return nil, es
			}
			continue
		}
		data = append(data, record{line: line})
		raw = append(raw, cells)
	}
	if header == nil {
		if len(es) == 0 {
			es.add(0, "", "roster.file.empty", nil)
		}
		return nil, es
	}
	if len(data) > MaxDataLines {
		return nil, errs{{MessageID: "roster.file.too_many", Args: map[string]any{"Max": MaxDataLines}}}
	}
	order := headerOrder(header, cols)
	var out []record
	for i, rec := range data {
		cells := raw[i]
		if len(cells) != len(header) {
			es.add(rec.line, "", "roster.row.cells", map[string]any{"Want": len(header), "Got": len(cells)})
			continue
		}
		rec.cells = make(map[string]string, len(header))
		for j, c := range cells {
			rec.cells[order[j]] = c
		}
		out = append(out, rec)
	}
	return out, es
}

// matchColumn returns the column cell names, in Japanese or English, or "".
func matchColumn(cell string, cols []column) string {
	cell = foldWidth(cell)
	for _, c := range cols {
		if cell == c.ja || strings.EqualFold(cell, c.en) {
			return c.ja
		}
	}
	return ""
}

func columnList(cols []column) string {
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = c.ja
		if c.optional {
			names[i] += "（任意）"
		}
	}
	return strings.Join(names, "、")
}

// checkHeader reports what is wrong with a header line and whether it can be used.
func checkHeader(line int, cells []string, cols []column, es *errs) bool {
	seen := map[string]bool{}
	known := 0
	var problems errs
	for _, c := range cells {
		name := matchColumn(c, cols)
		switch {
		case name == "":
			problems.add(line, "", "roster.header.unknown", map[string]any{"Column": c})
		case seen[name]:
			problems.add(line, name, "roster.header.duplicate", map[string]any{"Column": name})
		default:
			seen[name] = true
			known++
		}
	}
	if known == 0 {
		// Most likely the header row was deleted or this is another kind of file: one
		// message saying what the first line should be helps more than one per column.
		es.add(line, "", "roster.header.none", map[string]any{"Columns": columnList(cols)})
		return false
	}
	for _, c := range cols {
		if !seen[c.ja] && !c.optional {
			problems.add(line, c.ja, "roster.header.missing", map[string]any{"Column": c.ja})
		}
	}
	*es = append(*es, problems...)
	return len(problems) == 0
}

// headerOrder returns the Japanese column name of each position of a valid header.
func headerOrder(header []string, cols []column) []string {
	out := make([]string, len(header))
	for i, c := range header {
		out[i] = matchColumn(c, cols)
	}
	return out
}

// foldWidth turns full-width ASCII (ＡＢＣ１２３, as typed with the IME on) and the
// ideographic space into their half-width forms.
func foldWidth(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= '！' && r <= '～':
			return r - '！' + '!'
		case r == '\u3000':
			return ' '
		}
		return r
	}, s)
}

// atoi reads a plain decimal number, full-width digits allowed.
func atoi(s string) (int, bool) {
	s = foldWidth(s)
	if s == "" || len(s) > 9 {
		return 0, false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return 0, false
		}
	}
	n, err := strconv.Atoi(s)
	return n, err == nil
}

// parseYear reads a school year: 2026, ２０２６, 令和8, R8, 令和元年度 ….
func parseYear(s string) (int, bool) {
	s = strings.TrimSpace(foldWidth(s))
	s = strings.TrimSuffix(s, "年度")
	s = strings.TrimSuffix(s, "年")
	era := false
	for _, p := range []string{"令和", "R", "r"} {
		if rest, ok := strings.CutPrefix(s, p); ok {
			s, era = strings.TrimSpace(rest), true
			break
		}
	}
	if era {
		if s == "元" {
			return 2019, true
		}
		n, ok := atoi(s)
		if !ok || n < 1 || n > 81 {
			return 0, false
		}
		return 2018 + n, true
	}
	n, ok := atoi(s)
	if !ok || n < 2000 || n > 2099 {
		return 0, false
	}
	return n, true
}

// parseGrade reads a grade from 1 to 6, "1年" allowed.
func parseGrade(s string) (int, bool) {
	n, ok := atoi(strings.TrimSuffix(foldWidth(s), "年"))
	return n, ok && n >= 1 && n <= 6
}

// hasControl reports whether s holds a line break, tab or other control character,
// which a quoted cell can smuggle in and which no name should contain.
func hasControl(s string) bool {
	return strings.IndexFunc(s, unicode.IsControl) >= 0
}

// checkText validates a free-text cell (a name) of at most max characters.
func checkText(es *errs, line int, col, s string, max int) bool {
	switch {
	case s == "":
		es.add(line, col, "roster.cell.required", map[string]any{"Column": col})
	case hasControl(s):
		es.add(line, col, "roster.text.control", map[string]any{"Column": col})
	case utf8.RuneCountInString(s) > max:
		es.add(line, col, "roster.text.too_long", map[string]any{"Column": col, "Max": max})
	default:
		return true
	}
	return false
}

// normalizeClass turns a class cell into its stored name: half-width letters and
// digits, and "1" becomes "1組".
func normalizeClass(s string) string {
	s = strings.TrimSpace(foldWidth(s))
	if _, ok := atoi(s); ok {
		s += "組"
	}
	return s
}

// writeTable writes a header and rows as CSV with CRLF line endings; csvexport
// neutralises would-be formulas.
func writeTable(cols []column, rows [][]string) string {
	header := make([]string, len(cols))
	for i, c := range cols {
		header[i] = c.ja
	}
	t := csvexport.NewTable(header...)
	for _, r := range rows {
		t.TextRow(r...)
	}
	return t.String()
}
