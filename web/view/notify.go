package view

// NotifySettings is the account page's notification section.
type NotifySettings struct {
	// Kinds are the kinds of notification with whether each is on.
	Kinds []NotifyKind
	// Own is true when the person set their own hours (Start, End, Days); Office names
	// the school's office hours, the default.
	Own        bool
	Start, End string
	Days       []NotifyDay
	Office     string
	// PushKey is the VAPID public key browsers subscribe with; "" when Web Push is off.
	PushKey string
	// Devices counts the browsers that receive the person's notifications.
	Devices int
	// Form holds the refused form's values and messages.
	Form Form
}

// NotifyKind is one kind of notification on the account page.
type NotifyKind struct {
	Value, Label string
	On           bool
}

// NotifyDay is one weekday of the notification hours.
type NotifyDay struct {
	Value, Label string
	On           bool
}
