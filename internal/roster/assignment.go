package roster

import (
	"strconv"
	"strings"
)

// AssignmentRow is one line of an assignments file. Duty is "homeroom",
// "sub-homeroom", "advisor" or "office"; Grade and Class are set for the first two,
// Club for "advisor", and none of them for "office" (the school's own inbox).
type AssignmentRow struct {
	Line, Year  int
	Login, Duty string
	Grade       int
	Class, Club string
}

var assignmentColumns = []column{
	{ja: "年度", en: "year"},
	{ja: "ログインID", en: "login"},
	{ja: "職務", en: "duty"},
	{ja: "対象", en: "target"},
}

var duties = []label{
	{ja: "担任", en: "homeroom"},
	{ja: "副担任", en: "sub-homeroom"},
	{ja: "顧問", en: "advisor"},
	{ja: "学校宛て連絡", en: "office"},
}

// parseTarget reads a class target such as "1年1組" (or "１年Ａ組", "1年1").
func parseTarget(s string) (int, string, bool) {
	before, after, ok := strings.Cut(foldWidth(s), "年")
	if !ok {
		return 0, "", false
	}
	g, ok := parseGrade(before)
	if !ok {
		return 0, "", false
	}
	name := normalizeClass(after)
	return g, name, name != ""
}

// ParseAssignments reads an assignments file (年度, ログインID, 職務, 対象) and returns
// its valid rows and every problem found.
func ParseAssignments(text string) ([]AssignmentRow, []RowError) {
	recs, es := readTable(text, assignmentColumns)
	var rows []AssignmentRow
	first := map[AssignmentRow]int{}
	for _, rec := range recs {
		year, okYear := checkYear(&es, rec.line, rec.cells["年度"])
		login, okLogin := parseLogin(&es, rec.line, rec.cells["ログインID"])
		a := AssignmentRow{Year: year, Login: login}
		okTarget := false
		duty, okDuty := parseLabel(rec.cells["職務"], duties)
		target := rec.cells["対象"]
		if !okDuty {
			es.add(rec.line, "職務", "roster.duty.invalid", nil)
		} else {
			a.Duty = duty
			okTarget = checkTarget(&es, rec.line, &a, target)
		}
		if !okYear || !okLogin || !okDuty || !okTarget {
			continue
		}
		if l, dup := first[a]; dup {
			es.add(rec.line, "", "roster.assignment.duplicate", map[string]any{"FirstLine": l})
			continue
		}
		first[a] = rec.line
		a.Line = rec.line
		rows = append(rows, a)
	}
	return rows, es.sorted()
}

// checkTarget validates the 対象 cell for a.Duty and fills in a's target fields.
func checkTarget(es *errs, line int, a *AssignmentRow, s string) bool {
	const col = "対象"
	switch a.Duty {
	case "homeroom", "sub-homeroom":
		g, name, ok := parseTarget(s)
		if !ok {
			es.add(line, col, "roster.target.class", nil)
			return false
		}
		if !checkText(es, line, col, name, 10) {
			return false
		}
		a.Grade, a.Class = g, name
	case "advisor":
		if s == "" {
			es.add(line, col, "roster.target.club", nil)
			return false
		}
		if !checkText(es, line, col, s, 30) {
			return false
		}
		a.Club = s
	case "office":
		if s != "" {
			es.add(line, col, "roster.target.office", nil)
			return false
		}
	}
	return true
}

func targetOf(a AssignmentRow) string {
	switch a.Duty {
	case "homeroom", "sub-homeroom":
		return strconv.Itoa(a.Grade) + "年" + a.Class
	case "advisor":
		return a.Club
	}
	return ""
}

// WriteAssignments writes rows as an assignments file, CRLF-terminated, for Encode.
func WriteAssignments(rows []AssignmentRow) string {
	out := make([][]string, len(rows))
	for i, r := range rows {
		out[i] = []string{strconv.Itoa(r.Year), r.Login, labelOf(r.Duty, duties), targetOf(r)}
	}
	return writeTable(assignmentColumns, out)
}
