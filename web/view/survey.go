package view

import "strconv"

// SurveyList is the staff list of surveys.
type SurveyList struct {
	Items     []SurveyItem
	CanCreate bool
}

// SurveyItem is one survey in the list.
type SurveyItem struct {
	URL, Title, Kind, Audience, State, Deadline string
	Answered, Units                             int
	Started                                     bool
}

// SurveyCompose is what the create or edit form of a survey offers: the audiences (as
// an announcement's), the number of question blocks to show, and, when editing, the
// survey's handouts and whether only its wording may change.
type SurveyCompose struct {
	Audience AnnounceCompose
	// Blocks is how many question blocks the form shows (blank ones are ignored).
	Blocks int
	// Editing: the form changes a stored survey (posted to Action, Back its preview);
	// Kind is then fixed. WordingOnly: it is sent, and only its texts may change.
	Editing     bool
	WordingOnly bool
	Action      string
	Back        string
	Kind        string
	Handouts    []Option
	Scheduled   bool
	// QuestionKinds are the kinds a question may have (value: code).
	QuestionKinds []Option
}

// FormAction is where the form posts.
func (c SurveyCompose) FormAction() string {
	if c.Action != "" {
		return c.Action
	}
	return "/staff/surveys"
}

// BlockNumbers are the question blocks' numbers, from 1.
func (c SurveyCompose) BlockNumbers() []string {
	out := make([]string, c.Blocks)
	for i := range out {
		out[i] = strconv.Itoa(i + 1)
	}
	return out
}

// SurveyPreview is a survey before it is sent: what the parent receives in LINE and
// sees on the form page, whom it reaches, and sending.
type SurveyPreview struct {
	Base                      string
	Title, Body               string
	KindLabel, Audience       string
	State, StateCode          string
	Deadline, Unit, Scheduled string
	AutoRemind                bool
	// Handouts link each handout (Value: its address) under its name and size.
	Handouts  []Option
	LINE      []LINEBubble
	Questions []PreviewQuestion
	Reach     int
	OverQuota []string
	Editable  bool
}

// LINEBubble is one LINE message as the parent sees it: its text and its buttons.
type LINEBubble struct {
	Text    string
	Buttons []string
}

// PreviewQuestion is one question as the parent's form shows it.
type PreviewQuestion struct {
	Key, Kind, Text string
	Required        bool
	Choices         []string
	Unit, Range     string
	ConsentText     string
}

// qHasError reports whether question n has a problem.
func qHasError(f Form, n string) bool {
	for _, part := range []string{"kind", "text", "choices", "unit", "range", "consent"} {
		if f.E("q"+n+"."+part) != "" {
			return true
		}
	}
	return false
}

// kindLabel is the label of a question kind among the options.
func kindLabel(kinds []Option, v string) string {
	for _, o := range kinds {
		if o.Value == v {
			return o.Label
		}
	}
	return v
}
