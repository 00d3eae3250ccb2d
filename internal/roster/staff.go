package roster

import (
	"regexp"
	"strings"
)

// StaffRow is one line of a staff file. Role is "school-admin" or "teacher".
type StaffRow struct {
	Line              int
	Login, Name, Role string
}

var staffColumns = []column{
	{ja: "ログインID", en: "login"},
	{ja: "氏名", en: "name"},
	{ja: "役割", en: "role"},
}

// Role labels as the file spells them, and the values StaffRow.Role holds.
var staffRoles = []label{
	{ja: "学校管理者", en: "school-admin"},
	{ja: "教職員", en: "teacher"},
}

// label pairs a Japanese word in a file with the English value the code uses.
type label struct{ ja, en string }

func parseLabel(s string, labels []label) (string, bool) {
	s = foldWidth(s)
	for _, l := range labels {
		if s == l.ja || strings.EqualFold(s, l.en) {
			return l.en, true
		}
	}
	return "", false
}

func labelOf(v string, labels []label) string {
	for _, l := range labels {
		if v == l.en {
			return l.ja
		}
	}
	return v
}

var loginPattern = regexp.MustCompile(`^[a-z0-9._-]{3,64}$`)

// parseLogin checks a login cell and returns it lowercased.
func parseLogin(es *errs, line int, s string) (string, bool) {
	const col = "ログインID"
	s = strings.ToLower(foldWidth(s))
	switch {
	case s == "":
		es.add(line, col, "roster.cell.required", map[string]any{"Column": col})
	case !loginPattern.MatchString(s):
		es.add(line, col, "roster.login.invalid", map[string]any{"Min": 3, "Max": 64})
	default:
		return s, true
	}
	return "", false
}

// ParseStaff reads a staff file (ログインID, 氏名, 役割) and returns its valid rows and
// every problem found. Import only when the errors are empty.
func ParseStaff(text string) ([]StaffRow, []RowError) {
	recs, es := readTable(text, staffColumns)
	var rows []StaffRow
	first := map[string]int{}
	for _, rec := range recs {
		ok := true
		login, okLogin := parseLogin(&es, rec.line, rec.cells["ログインID"])
		if okLogin {
			if l, dup := first[login]; dup {
				es.add(rec.line, "ログインID", "roster.staff.duplicate", map[string]any{"Login": login, "FirstLine": l})
				ok = false
			} else {
				first[login] = rec.line
			}
		}
		name := rec.cells["氏名"]
		okName := checkText(&es, rec.line, "氏名", name, 50)
		role, okRole := parseLabel(rec.cells["役割"], staffRoles)
		if !okRole {
			es.add(rec.line, "役割", "roster.role.invalid", nil)
		}
		if ok && okLogin && okName && okRole {
			rows = append(rows, StaffRow{Line: rec.line, Login: login, Name: name, Role: role})
		}
	}
	return rows, es.sorted()
}

// WriteStaff writes rows as a staff file, CRLF-terminated, for Encode.
func WriteStaff(rows []StaffRow) string {
	out := make([][]string, len(rows))
	for i, r := range rows {
		out[i] = []string{r.Login, r.Name, labelOf(r.Role, staffRoles)}
	}
	return writeTable(staffColumns, out)
}
