package view

// InboxItem is a conversation in the inbox list.
type InboxItem struct {
	ID     string
	Label  string
	Who    string // nickname (child, class)
	State  string
	Unread int
	At     string
}

// Thread is one conversation's page.
type Thread struct {
	ID    string
	Label string
	// ReplyLabel is who replies come from in the parent's LINE (【ReplyLabel】).
	ReplyLabel string
	Who        string
	State      string
	Assignee   string
	Messages   []ThreadMessage
	// News is where the open thread fetches what changed (new messages, a
	// colleague's notice) when it hears of a change.
	News string
	// Older is the address of the page of older messages ("" when none).
	Older  string
	Canned []Option // value: the canned reply's ID, label: its title
	// Candidates are whom it can be handed to.
	Candidates []Option
}

// InboxFilter is the inbox list's filter, search and paging.
type InboxFilter struct {
	State string
	Scope string
	Q     string
	// Scopes are the classes, clubs and office to filter by.
	Scopes []Option
	// Self is this list's address (live updates fetch it again); Next and Prev page.
	Self, Next, Prev string
	// TooMany says a search matched more than a page.
	TooMany bool
}

// CannedPage lists 定型文 with the form to add one.
type CannedPage struct {
	Items     []CannedItem
	CanSchool bool
}

// CannedItem is one 定型文.
type CannedItem struct {
	ID     string
	Title  string
	Body   string
	School bool
}

// ThreadNews is what an open thread adds when it hears of a change: the messages after
// the last one it shows, and a notice of what a colleague did ("" when none) with the
// address that shows the thread again.
type ThreadNews struct {
	Messages []ThreadMessage
	Notice   string
	Reload   string
}

// ThreadMessage is one message in a thread.
type ThreadMessage struct {
	ID   string
	In   bool
	Note bool
	Body string
	// Sticker marks a LINE sticker (Body is a message sticker's own words).
	Sticker bool
	// Image is the URL of an image the parent sent; ImageState says why there is none.
	Image      string
	ImageState string
	// RetryURL is set on a reply that failed.
	RetryURL string
	Staff    string
	Delivery string
	At       string
}
