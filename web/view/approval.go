package view

// Approval is one registration waiting for the school: what the teacher needs to
// decide, never a LINE identity.
type Approval struct {
	ID string
	// Guardian is the parent's registered name and Relationship its translated 続柄.
	Guardian     string
	Relationship string
	// Nickname is set only when it differs from the registered name.
	Nickname string
	Child    string
	Class    string
	// At is when the parent registered, as people write it.
	At string
	// HasGuardian: the child already has a verified guardian.
	HasGuardian bool
	// Disputed: a verified guardian of the child said it was not them.
	Disputed bool
}

// Member is a class member on the class page.
type Member struct {
	ChildID   string
	Child     string
	Guardians []MemberGuardian
}

// MemberGuardian is one guardian of a member: nickname and state.
type MemberGuardian struct {
	Nickname string
	Status   string
	Verified bool
	Active   bool
}

// CodeRow is a class and its registration code.
type CodeRow struct {
	ClassID string
	Label   string
	Code    string
}

// CodesPage is the registration codes page: the classes with their codes, and why a
// code sheet could not be printed, when it could not.
type CodesPage struct {
	Head  SchoolHead
	Rows  []CodeRow
	Error string
}

// SheetsHref is the address of the code sheets PDF: every class's, or with classID
// one class's.
func (c CodesPage) SheetsHref(classID string) string {
	href := schoolPath(c.Head.ID, "/codes/sheets")
	if classID != "" {
		href += "?class=" + classID
	}
	return href
}
