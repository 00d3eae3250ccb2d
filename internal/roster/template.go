package roster

// The example the templates hold: one obviously made-up teacher, responsible for the
// first class of the first grade, and one club. The assignments template refers to
// the account, class and club of the other three, so a school can import the four
// templates in the console's order as they are and see every kind work.
const (
	sampleLogin = "yamada.taro"
	sampleName  = "山田 太郎"
	sampleClass = "1組"
	sampleClub  = "サッカー部"
	// sampleEnrolment fills the optional 在籍者数 column, so the template shows it.
	sampleEnrolment = 30
)

// Template returns the CSV text of a template for kind: its header and one example
// row, for the school year year. It is "" for an unknown kind.
func Template(kind Kind, year int) string {
	switch kind {
	case KindStaff:
		return WriteStaff([]StaffRow{{Login: sampleLogin, Name: sampleName, Role: "teacher"}})
	case KindClasses:
		n := sampleEnrolment
		return WriteClasses([]ClassRow{{Year: year, Grade: 1, Name: sampleClass, Enrolment: &n, HasEnrolment: true}})
	case KindClubs:
		return WriteClubs([]ClubRow{{Year: year, Name: sampleClub}})
	case KindAssignments:
		return WriteAssignments([]AssignmentRow{{Year: year, Login: sampleLogin, Duty: "homeroom", Grade: 1, Class: sampleClass}})
	}
	return ""
}
