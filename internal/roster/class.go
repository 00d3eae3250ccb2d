package roster

import (
	"strconv"

	"github.com/renraku/renraku/internal/school"
)

// ClassRow is one line of a classes file: Grade 1–6 and Name such as "1組" or "A組".
// HasEnrolment says the file has the optional 在籍者数 column; Enrolment is its
// value (nil: blank, not set).
type ClassRow struct {
	Line, Year, Grade int
	Name              string
	HasEnrolment      bool
	Enrolment         *int
}

const colEnrolment = "在籍者数"

var classColumns = []column{
	{ja: "年度", en: "year"},
	{ja: "学年", en: "grade"},
	{ja: "組", en: "class"},
	{ja: colEnrolment, en: "enrolment", optional: true},
}

type classKey struct {
	year, grade int
	name        string
}

// checkYear, checkGrade and checkClass validate one cell each, adding any error.
func checkYear(es *errs, line int, s string) (int, bool) {
	y, ok := parseYear(s)
	if !ok {
		if s == "" {
			es.add(line, "年度", "roster.cell.required", map[string]any{"Column": "年度"})
		} else {
			es.add(line, "年度", "roster.year.invalid", nil)
		}
	}
	return y, ok
}

func checkGrade(es *errs, line int, s string) (int, bool) {
	g, ok := parseGrade(s)
	if !ok {
		es.add(line, "学年", "roster.grade.invalid", nil)
	}
	return g, ok
}

func checkClass(es *errs, line int, col, s string) (string, bool) {
	name := normalizeClass(s)
	return name, checkText(es, line, col, name, 10)
}

// ParseClasses reads a classes file (年度, 学年, 組, and 在籍者数 if the file has it)
// and returns its valid rows and every problem found. A bare number in 組 becomes
// "N組"; a blank 在籍者数 is not set.
func ParseClasses(text string) ([]ClassRow, []RowError) {
	recs, es := readTable(text, classColumns)
	var rows []ClassRow
	first := map[classKey]int{}
	for _, rec := range recs {
		year, okYear := checkYear(&es, rec.line, rec.cells["年度"])
		grade, okGrade := checkGrade(&es, rec.line, rec.cells["学年"])
		name, okName := checkClass(&es, rec.line, "組", rec.cells["組"])
		cell, hasEnrolment := rec.cells[colEnrolment]
		enrolment, okEnrolment := school.ParseEnrolment(cell)
		if !okEnrolment {
			es.add(rec.line, colEnrolment, "roster.enrolment.invalid", nil)
		}
		if !okYear || !okGrade || !okName || !okEnrolment {
			continue
		}
		k := classKey{year, grade, name}
		if l, dup := first[k]; dup {
			es.add(rec.line, "", "roster.class.duplicate", map[string]any{"Year": year, "Grade": grade, "Class": name, "FirstLine": l})
			continue
		}
		first[k] = rec.line
		rows = append(rows, ClassRow{Line: rec.line, Year: year, Grade: grade, Name: name, HasEnrolment: hasEnrolment, Enrolment: enrolment})
	}
	return rows, es.sorted()
}

// WriteClasses writes rows as a classes file with every column (在籍者数 blank when
// not set), CRLF-terminated, for Encode.
func WriteClasses(rows []ClassRow) string {
	out := make([][]string, len(rows))
	for i, r := range rows {
		out[i] = []string{strconv.Itoa(r.Year), strconv.Itoa(r.Grade), r.Name, school.EnrolmentText(r.Enrolment)}
	}
	return writeTable(classColumns, out)
}
