package view

// AbsenceForm is the parent's absence form.
type AbsenceForm struct {
	Action   string
	Key      string
	Children []Option
	// Waiting says, per child waiting for the school, why they cannot be chosen.
	Waiting     []string
	Reasons     []Option
	Symptoms    []Option
	Diseases    []Option
	Today       string
	Max         string
	AfterCutoff bool
	Phone       string
	Recent      []AbsenceItem
	Done        string // the confirmation after a submit
	// FirstDay says the date suggested is the next school day, not today ("" when it
	// is today).
	FirstDay string
}

// AbsenceItem is one report in a list.
type AbsenceItem struct {
	ID          string
	Child       string
	Kind        string
	Dates       string
	Reason      string
	Symptoms    string
	Temperature string
	Time        string
	Note        string
	At          string
	Guardian    string
	Verified    bool
	Status      string
	StatusCode  string
	Revised     bool
	CancelURL   string
}

// AbsenceList is the teachers' morning list.
type AbsenceList struct {
	Classes []Option
	Class   string
	Date    string
	Label   string
	Items   []AbsenceItem
	Pending int
	RowsURL string
	// Refresh is the htmx trigger that fetches new rows, such as "every 30s".
	Refresh    string
	ExportBOM  string
	ExportSJIS string
}
