package view

// ReportPage is the monthly operations report.
type ReportPage struct {
	Month    string // 2026-11
	Heading  string
	Note     string
	Tables   []ReportTable
	Chart    []ReportBar
	ChartMax int
	Legend   string
	CSV, PDF string
	// Prev and Next are the neighbouring months' pages (Next empty for this month).
	Prev, Next string
}

// ReportTable is one table of the report, as the CSV and the PDF have it.
type ReportTable struct {
	ID     string
	Title  string
	Header []string
	// Right marks the columns of figures (right-aligned).
	Right []bool
	Rows  [][]string
	// Total is set when the last row is the total.
	Total bool
	Note  string
}

// RightAt reports whether column i holds figures.
func (t ReportTable) RightAt(i int) bool { return i < len(t.Right) && t.Right[i] }

// ReportBar is one day of the chart, scaled to 0–100.
type ReportBar struct {
	Day                string
	Absences, Messages int
	AbsH, MsgH         int
}

// reportRowID is a row's test hook: report-total for the total, else
// report-<table>-row.
func reportRowID(t ReportTable, n int) string {
	if t.Total && n == len(t.Rows)-1 {
		return "report-total"
	}
	return "report-" + t.ID + "-row"
}
