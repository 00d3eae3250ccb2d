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
	ID       string
	Label    string
	Who      string
	State    string
	Messages []ThreadMessage
}

// ThreadMessage is one message in a thread.
type ThreadMessage struct {
	In   bool
	Body string
	// Image is the URL of an image the parent sent; ImageState says why there is none.
	Image      string
	ImageState string
	Staff      string
	Delivery   string
	At         string
}
