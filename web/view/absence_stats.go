package view

// AbsenceStats is a school's day of absences with the 14-day trend per class.
type AbsenceStats struct {
	School       string
	Date         string
	AlertPercent int
	AlertMin     int
	// SchoolDay is false on a weekend or holiday: no alerts that day.
	SchoolDay bool
	// EnrolmentUnset says some class has no enrolment; StructureHref is where it is set.
	EnrolmentUnset bool
	StructureHref  string
	Rows           []StatsRow
	Grades         []StatsRow
	Total          StatsRow
	Symptoms       []Option // label and count
	Schools        []Option
	SchoolID       string
	Days           string // first and last day of the trend
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
	// Enrolment is the class's 在籍者数 (nil: not set); Percent is the share of it
	// absent with fever or 出席停止, shown only when HasPercent.
	Enrolment  *int
	Percent    int
	HasPercent bool
	Alert      bool
	AlertText  string
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
