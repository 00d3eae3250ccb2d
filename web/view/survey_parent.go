package view

// SurveyParentList is the parent's list of surveys (アンケート・出欠確認).
type SurveyParentList struct {
	Open   []SurveyParentItem
	Closed []SurveyParentItem
}

// SurveyParentItem is a survey in the parent's list, with each child's state (one
// line for a family survey).
type SurveyParentItem struct {
	URL      string
	Kind     string
	Title    string
	Deadline string
	Units    []SurveyParentStatus
}

// SurveyParentStatus is whether a child (or the family) has answered.
type SurveyParentStatus struct {
	Name     string // "" for the family
	Answered bool
}

// SurveyParentForm is one survey as the parent answers it: its questions once per child
// (or once for the family), filled with what was saved or typed.
type SurveyParentForm struct {
	Back     string
	Action   string
	Kind     string
	Title    string
	Body     string
	Deadline string
	Handouts []Option
	// Closed: after the deadline the answers are shown, read-only.
	Closed bool
	// Done is the notice after the answers or the draft were saved.
	Done    string
	Message string
	Units   []SurveyParentUnit
}

// SurveyParentUnit is a child's (or the family's) part of the form.
type SurveyParentUnit struct {
	Name string // the child's name; "" for the family
	// State says whether it is answered (and when), or a draft.
	State     string
	Answered  bool
	Questions []SurveyParentQuestion
}

// SurveyParentQuestion is one question of a unit: its field, the values kept, the
// problem and, read-only, the answer as text.
type SurveyParentQuestion struct {
	No          string
	Field       string
	Kind        string
	Text        string
	Required    bool
	Choices     []Option
	Unit        string
	Min, Max    string
	Range       string
	ConsentText string
	Values      []string
	Error       string
	Answer      string
}

// Has reports whether v is among the question's values (a checked choice).
func (q SurveyParentQuestion) Has(v string) bool {
	for _, x := range q.Values {
		if x == v {
			return true
		}
	}
	return false
}

// Value is the question's first value (a text, number or date).
func (q SurveyParentQuestion) Value() string {
	if len(q.Values) == 0 {
		return ""
	}
	return q.Values[0]
}
