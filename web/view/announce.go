package view

// AnnounceList is the staff list of announcements.
type AnnounceList struct {
	Items      []AnnounceItem
	CanCompose bool
	CanSafety  bool
}

// AnnounceItem is one announcement in the list.
type AnnounceItem struct {
	ID, Title, Kind, Audience, State, When string
	Urgent                                 bool
	Handouts                               bool
	Sent, Total, Opened                    int
}

// AnnounceCompose is what the compose form offers.
type AnnounceCompose struct {
	Kind       string // notice, safety
	Board      bool
	Schools    []Option
	Districts  []Option
	SchoolName string
	CanSchool  bool
	Grades     []Option
	Classes    []Option
	Clubs      []Option
	MaxMB      int
	// Editing: the form changes a stored draft or scheduled announcement (posted to
	// Action, with Back its page); Handouts are its files (value: handout ID), each
	// kept unless ticked for removal. Scheduled: it is a scheduled send, which keeps a time.
	Editing   bool
	Action    string
	Back      string
	Handouts  []Option
	Scheduled bool
}

// FormAction is where the compose form posts.
func (c AnnounceCompose) FormAction() string {
	if c.Action != "" {
		return c.Action
	}
	return "/staff/announcements"
}

// AnnounceDetail is one announcement: preview before sending, progress while sending,
// and the report after.
type AnnounceDetail struct {
	ID, Base                string
	Title, Body             string
	Kind, KindLabel         string
	Audience                string
	State, StateCode        string
	Scheduled               string
	NamesChild              bool
	Handouts                []Option // value: URL, label: name and size
	LINE                    []string // the texts the parent receives
	LINEButton              string
	Reach                   int
	OverQuota               []string
	Total, Queued, Sent     int
	Failed, Skipped, Opened int
	// Editable: the announcement can still be changed (a draft or a scheduled send).
	Editable bool
}

// Live is true while figures still change.
func (d AnnounceDetail) Live() bool { return d.StateCode == "sending" || d.StateCode == "scheduled" }

// RecipientsPage lists recipients to follow up.
type RecipientsPage struct {
	Back, Title, Heading string
	Rows                 []RecipientRow
}

// RecipientRow is a guardian by nickname and children.
type RecipientRow struct {
	Nickname, Children, State string
}

// ParentHandouts is the parent's 配布プリント list.
type ParentHandouts struct {
	Items []ParentHandoutItem
}

// ParentHandoutItem is one announcement a parent received.
type ParentHandoutItem struct {
	URL, Title, When, Kind string
	Urgent, Opened         bool
	Handouts               int
}

// ParentAnnouncement is one announcement as the parent reads it.
type ParentAnnouncement struct {
	Back, Title, Body, When string
	Urgent                  bool
	Handouts                []Option
}
