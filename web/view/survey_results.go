package view

// SurveyResults is a sent survey's results page (and its live section).
type SurveyResults struct {
	ID, Base                     string
	Title, Kind, Audience        string
	Deadline, State              string
	PerChild                     bool
	CanRemind                    bool
	Units, Answered, Percent     int
	Recipients, Skipped          int
	Questions                    []SurveyQuestionResult
	Classes                      []SurveyClassTable
	Answers                      []SurveyAnswerRow
	Pending                      []SurveyPendingRow
	ExportBOM, ExportSJIS, Print string
	RowsURL                      string
}

// SurveyQuestionResult is one question's summary and chart.
type SurveyQuestionResult struct {
	Key, Text, Kind string
	Answered        int
	// Summary is the line under a number or consent question (合計 12人・平均 2.0人).
	Summary string
	Chart   *SurveyChart
	// Label describes the chart for screen readers.
	Label string
}

// SurveyChart is a question's bars, laid out for an inline SVG.
type SurveyChart struct {
	Width, Height int
	Bars          []SurveyBar
}

// SurveyBar is one bar with its positions.
type SurveyBar struct {
	Key, Label, Short, Value        string
	Count, Percent                  int
	Y, Width, TextY                 int
	LabelX, BarX, CountX, BarHeight int
}

// SurveyClassTable is a choice question's counts by class.
type SurveyClassTable struct {
	Question string
	Choices  []string
	Rows     []SurveyClassRow
}

// SurveyClassRow is one class's counts: answered of units, then one per choice.
type SurveyClassRow struct {
	Class           string
	Answered, Units int
	Counts          []int
}

// SurveyAnswerRow is one unit's answers, under the guardian's nickname and the child.
type SurveyAnswerRow struct {
	Class, Child, Nickname, At string
	Values                     []SurveyAnswerValue
}

// SurveyAnswerValue is one question's answer as staff read it.
type SurveyAnswerValue struct {
	Question, Text string
}

// SurveyPendingRow is a unit not answered yet.
type SurveyPendingRow struct {
	Class, Child, Nickname, Reminded string
}

// SurveyRemind is the confirmation before a reminder.
type SurveyRemind struct {
	Base, Title string
	Guardians   int
	Units       int
	OverQuota   []string
	Messages    []SurveyLineMessage
}

// SurveyLineMessage is one LINE message of a reminder as the parent sees it.
type SurveyLineMessage struct {
	Text    string
	Buttons []string
}
