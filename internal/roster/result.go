package roster

import (
	"encoding/csv"
	"strings"

	"github.com/renraku/renraku/internal/csvexport"
)

// Outcome is what an import does with one line of a file.
type Outcome string

// The outcomes of a line: a new item, a change to an existing one (staff files, whose
// accounts are matched by login ID, and classes files with the 在籍者数 column), or a
// line that matches what is stored already.
const (
	OutcomeNew    Outcome = "new"
	OutcomeUpdate Outcome = "update"
	OutcomeSame   Outcome = "same"
)

// MessageID is the catalogue ID of o's label.
func (o Outcome) MessageID() string {
	switch o {
	case OutcomeUpdate:
		return "roster.outcome.update"
	case OutcomeSame:
		return "roster.outcome.same"
	}
	return "roster.outcome.new"
}

// Change is one value a line changes: Column is the file's Japanese header, From the
// stored value and To the file's.
type Change struct {
	Column, From, To string
}

// LineResult is one data line of a file and what the import does with it. Cells are
// the line's values as the file's columns (ImportResult.Columns) read them.
type LineResult struct {
	Line    int
	Cells   []string
	Outcome Outcome
	Changes []Change
}

// cellsOf returns the header and the cells of the one row write writes for r, so a
// line is shown exactly as an export would write it, whatever columns the kind has.
func cellsOf[R any](write func([]R) string, r R) (header, cells []string) {
	recs, err := csv.NewReader(strings.NewReader(write([]R{r}))).ReadAll()
	if err != nil || len(recs) != 2 {
		return nil, nil
	}
	for i := range recs[1] {
		recs[1][i] = csvexport.Unneutralise(recs[1][i])
	}
	return recs[0], recs[1]
}

// newLines describes every row of a file of kind as a new item: classes, clubs and
// assignments are only ever added by an import, so once their rows have passed the
// checks each of them is new.
func newLines(kind Kind, text string) (columns []string, lines []LineResult) {
	add := func(line int, header, cells []string) {
		columns = header
		lines = append(lines, LineResult{Line: line, Cells: cells, Outcome: OutcomeNew})
	}
	switch kind {
	case KindClasses:
		rows, _ := ParseClasses(text)
		for _, r := range rows {
			h, c := cellsOf(WriteClasses, r)
			add(r.Line, h, c)
		}
	case KindClubs:
		rows, _ := ParseClubs(text)
		for _, r := range rows {
			h, c := cellsOf(WriteClubs, r)
			add(r.Line, h, c)
		}
	case KindAssignments:
		rows, _ := ParseAssignments(text)
		for _, r := range rows {
			h, c := cellsOf(WriteAssignments, r)
			add(r.Line, h, c)
		}
	}
	return columns, lines
}
