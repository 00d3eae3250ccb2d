package roster

import "strconv"

// ClubRow is one line of a clubs file.
type ClubRow struct {
	Line, Year int
	Name       string
}

var clubColumns = []column{
	{ja: "年度", en: "year"},
	{ja: "部活動名", en: "club"},
}

type clubKey struct {
	year int
	name string
}

// ParseClubs reads a clubs file (年度, 部活動名) and returns its valid rows and every
// problem found.
func ParseClubs(text string) ([]ClubRow, []RowError) {
	recs, es := readTable(text, clubColumns)
	var rows []ClubRow
	first := map[clubKey]int{}
	for _, rec := range recs {
		year, okYear := checkYear(&es, rec.line, rec.cells["年度"])
		name := rec.cells["部活動名"]
		okName := checkText(&es, rec.line, "部活動名", name, 30)
		if !okYear || !okName {
			continue
		}
		k := clubKey{year, name}
		if l, dup := first[k]; dup {
			es.add(rec.line, "部活動名", "roster.club.duplicate", map[string]any{"Year": year, "Club": name, "FirstLine": l})
			continue
		}
		first[k] = rec.line
		rows = append(rows, ClubRow{Line: rec.line, Year: year, Name: name})
	}
	return rows, es.sorted()
}

// WriteClubs writes rows as a clubs file, CRLF-terminated, for Encode.
func WriteClubs(rows []ClubRow) string {
	out := make([][]string, len(rows))
	for i, r := range rows {
		out[i] = []string{strconv.Itoa(r.Year), r.Name}
	}
	return writeTable(clubColumns, out)
}
