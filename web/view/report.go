package view

// ReportPage is the monthly operations report.
type ReportPage struct {
	Month        string // 2026-11
	Heading      string
	Columns      []string
	Rows         []ReportRow
	Total        ReportRow
	Channels     []string
	Availability string
	Withdrawals  string
	Chart        []ReportBar
	ChartMax     int
	CSV, PDF     string
	Prev, Next   string
}

// ReportRow is a school's (or the total's) figures.
type ReportRow struct {
	Name   string
	Values []int
}

// ReportBar is one day of the chart, scaled to 0–100.
type ReportBar struct {
	Day                string
	Absences, Messages int
	AbsH, MsgH         int
}
