package view

// RolloverPage is a school's 年度更新 page.
type RolloverPage struct {
	Head       SchoolHead
	Year       int // the next school year
	Current    int
	Grades     []Check
	AskedAt    string
	SwitchedAt string
	Classes    []string
	Clubs      []string
	Duties     int
	// StructureURL edits next year's classes and clubs; StaffURL their duties.
	StructureURL string
	StaffURL     string
	RosterURL    string
	Confirmed    int
	Unconfirmed  int
	Graduates    int
	Waiting      []WaitingRow
	SingleYear   bool
	Saved        bool
	CanSwitch    bool
	SwitchOn     string
	// NoClass counts the children not confirmed whose next grade has no class yet.
	NoClass int
}

// Check is a labelled checkbox's value and state.
type Check struct {
	Value   string
	Label   string
	Checked bool
}

// WaitingRow is a child whose next class is not yet confirmed.
type WaitingRow struct {
	Child   string
	Class   string
	NoClass bool
}

// RolloverParent is the parent's confirmation page.
type RolloverParent struct {
	Action   string
	Children []RolloverChild
	Done     bool
}

// RolloverChild is one child on the parent's page.
type RolloverChild struct {
	ID         string
	Name       string
	School     string
	Class      string
	Year       int
	Graduating bool
	Confirmed  bool
	Classes    []Option
	ClassValue string
	Clubs      []Check
}
