package view

// AbsenceStats is a school's day of absences with the 14-day trend per class.
type AbsenceStats struct {
	School       string
	Date         string
	AlertPercent int
	Rows         []StatsRow
	Grades       []StatsRow
	Total        StatsRow
	Symptoms     []Option // label and count
	Schools      []Option
	SchoolID     string
	Days         string // first and last day of the trend
	// Board is every school's totals for the day (board administrators).
	Board []StatsRow
}

// StatsRow is one class's (or grade's) figures.
type StatsRow struct {
	Label      string
	Registered int
	Absent     int
	Late       int
	Early      int
	Fever      int
	Suspension int
	Percent    int
	Alert      bool
	// Points is the trend as an SVG polyline's points, 0–140 × 0–30.
	Points string
	Max    int
}

// ClubAbsences is a club advisor's list of the day.
type ClubAbsences struct {
	Clubs []Option
	Club  string
	Date  string
	Items []AbsenceItem
}
