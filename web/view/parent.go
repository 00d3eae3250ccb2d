package view

// Registration is the parent's registration (or update) page.
type Registration struct {
	Action   string // the form's URL
	Update   bool
	Schools  []SchoolOptions
	Children []ChildForm
	// Relationship choices (value, label).
	Relationships []Option
	Reconsent     bool
	WithdrawURL   string
}

// SchoolOptions are one school's classes and clubs.
type SchoolOptions struct {
	ID      string
	Name    string
	Classes []Option
	Clubs   []Option
}

// ChildForm is one child's fields as typed, with their problems.
type ChildForm struct {
	// Index numbers the form fields from 0; No is how the parent counts (1, 2, …).
	Index  string
	No     string
	Name   string
	School string
	Class  string
	Clubs  map[string]bool
	Code   string
	Status string // translated status of a stored child, "" for new
	Errors map[string]string
}

// E returns the problem with a child's field.
func (c ChildForm) E(name string) string { return c.Errors[name] }

// RegistrationDone is the page after submitting.
type RegistrationDone struct {
	Verified int
	Pending  int
	// Contested counts children who already had a verified guardian: they wait for
	// the teacher even with a class code.
	Contested int
	Children  []DoneChild
	// Changed is a change to a registration (the parent had registered before).
	Changed bool
}

// DoneChild is one child on the done page.
type DoneChild struct {
	Name   string
	Class  string
	Status string
}
