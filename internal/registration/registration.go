// Package registration is a parent's first minute with renraku (SPEC C1): the welcome
// with a personal link, consent to the notice, the guardian and their children,
// verification by class code or by the homeroom teacher's approval, updates, and
// withdrawal with a deletion record. Only the items the councils approved are kept (seed
// 003): guardian name, relationship, nickname, language and consent; each child's name,
// school, class and clubs.
package registration

import (
	"context"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/renraku/renraku/internal/apperr"
	"github.com/renraku/renraku/internal/vault"
)

// NoticeVersion is the version of the notice of purpose a parent consents to. Raising
// it asks every parent again at their next visit.
const NoticeVersion = 1

// Relationships (続柄) a guardian may choose.
var Relationships = []string{"father", "mother", "grandfather", "grandmother", "other"}

// MaxChildren bounds one guardian's children in one form.
const MaxChildren = 8

// Guardian is a registered parent.
type Guardian struct {
	ID             int64
	FriendID       int64
	Name           vault.Personal
	Relationship   vault.Personal
	Nickname       vault.Personal
	Language       string
	ConsentVersion int
	ConsentedAt    time.Time
	Children       []Child
}

// Child is a child as one guardian sees it: with that guardian's verification status.
type Child struct {
	ID             int64
	GuardianshipID int64
	SchoolID       int64
	ClassID        int64
	Name           vault.Personal
	ClubIDs        []int64
	Status         string // pending, verified, rejected
	// OthersVerified is true when another guardian of the child is verified.
	OthersVerified bool
	// ClassLabel and SchoolName are filled when read for display.
	ClassLabel string
	SchoolName string
}

// AwaitsSchool reports whether the guardian may not act for the child yet: the
// registration waits for the school while another guardian of the child is verified.
// SPEC C1 lets a child's unverified first registration report absences (marked
// 未確認登録); a further registration of a child who already has a verified guardian
// could be anyone's, so it may neither report absences nor write to staff about the
// child until the school approves it.
func (c Child) AwaitsSchool() bool { return c.Status == Pending && c.OthersVerified }

// Statuses of a guardianship.
const (
	Pending  = "pending"
	Verified = "verified"
	Rejected = "rejected"
)

// Form is what a parent submits.
type Form struct {
	Consent      bool
	Name         string
	Relationship string
	Nickname     string
	Language     string
	Children     []ChildForm
}

// ChildForm is one child in the form.
type ChildForm struct {
	Name     string
	SchoolID int64
	ClassID  int64
	ClubIDs  []int64
	// Code is the class registration code from the school's letter, or empty to wait
	// for the homeroom teacher's approval.
	Code string
}

// Choices are the schools a channel serves with their current classes and clubs.
type Choices struct {
	Schools []SchoolChoice
}

// SchoolChoice is one school's lists.
type SchoolChoice struct {
	ID      int64
	Name    string
	Classes []Option
	Clubs   []Option
}

// SchoolSite is a school's public web addresses, as administrators set them in the
// console ("" when not set).
type SchoolSite struct {
	ID       int64
	Name     string
	Website  string
	ClubSite string
}

// Option is a class or club to choose.
type Option struct {
	ID    int64
	Label string
}

func (c Choices) school(id int64) (SchoolChoice, bool) {
	for _, s := range c.Schools {
		if s.ID == id {
			return s, true
		}
	}
	return SchoolChoice{}, false
}

func has(opts []Option, id int64) bool {
	for _, o := range opts {
		if o.ID == id {
			return true
		}
	}
	return false
}

func runes(s string) int { return utf8.RuneCountInString(s) }

// cleanName normalises a typed name: NFKC (full-width letters and digits become
// half-width, half-width kana full-width) and single spaces.
func cleanName(s string) string {
	return strings.Join(strings.Fields(norm.NFKC.String(s)), " ")
}

// NameKey is the normalised name used to find the same child registered twice: without
// spaces, so 「山田 花子」 and 「山田花子」 match.
func NameKey(s string) string { return strings.ReplaceAll(cleanName(s), " ", "") }

// Check validates f against the school lists, normalising it, and returns every
// problem by field. Field names: consent, name, relationship, nickname, children, and
// child.N.name / .school / .class / .clubs / .code.
func Check(f *Form, c Choices) apperr.Fields {
	e := apperr.Fields{}
	if !f.Consent {
		e.Add("consent", "reg.consent.required")
	}
	f.Name = cleanName(f.Name)
	switch n := runes(f.Name); {
	case n == 0:
		e.Add("name", "reg.name.required")
	case n > 50:
		e.Add("name", "reg.name.invalid")
	}
	ok := false
	for _, r := range Relationships {
		ok = ok || f.Relationship == r
	}
	if !ok {
		e.Add("relationship", "reg.relationship.invalid")
	}
	f.Nickname = cleanName(f.Nickname)
	switch {
	case f.Nickname != "":
		if n := runes(f.Nickname); n > 20 {
			e.Add("nickname", "reg.nickname.invalid")
		}
	case runes(f.Name) > 20:
		// What teachers see defaults to the name, which is too long for it.
		e.Add("nickname", "reg.nickname.invalid")
	default:
		f.Nickname = f.Name
	}
	if len(f.Children) == 0 {
		e.Add("children", "reg.children.required")
	}
	if len(f.Children) > MaxChildren {
		e.Add("children", "reg.children.too_many")
	}
	seen := map[[2]any]bool{}
	for i := range f.Children {
		ch := &f.Children[i]
		p := "child." + itoa(i) + "."
		ch.Name = cleanName(ch.Name)
		ch.Code = normalizeCode(ch.Code)
		switch n := runes(ch.Name); {
		case n == 0:
			e.Add(p+"name", "reg.child.name.required")
		case n > 50:
			e.Add(p+"name", "reg.child.name.invalid")
		}
		sc, found := c.school(ch.SchoolID)
		if !found {
			e.Add(p+"school", "reg.child.school.invalid")
			continue
		}
		if ch.ClassID == 0 {
			e.Add(p+"class", "reg.child.class.required")
		} else if !has(sc.Classes, ch.ClassID) {
			e.Add(p+"class", "reg.child.class.invalid")
		}
		for _, id := range ch.ClubIDs {
			if !has(sc.Clubs, id) {
				e.Add(p+"clubs", "reg.child.club.invalid")
			}
		}
		if ch.Code != "" && len(ch.Code) != codeLength {
			e.Add(p+"code", "reg.child.code.invalid")
		}
		k := [2]any{ch.ClassID, NameKey(ch.Name)}
		if seen[k] && ch.Name != "" {
			e.Add(p+"name", "reg.child.duplicate")
		}
		seen[k] = true
	}
	return e
}

func itoa(n int) string {
	if n < 10 {
		return string(rune('0' + n))
	}
	return itoa(n/10) + string(rune('0'+n%10))
}

// Store is the persistence registration needs.
type Store interface {
	FindChoices(ctx context.Context, channelID int64) (Choices, error)
	// FindSchoolSites lists the schools a channel serves with their web addresses.
	FindSchoolSites(ctx context.Context, channelID int64) ([]SchoolSite, error)
	FindGuardianByFriend(ctx context.Context, friendID int64) (Guardian, error)
	SaveGuardian(ctx context.Context, g *Guardian) error
	DeleteGuardian(ctx context.Context, id int64) error
	// WipeSurveyAnswers removes the answers a guardian gave from the survey units they
	// last answered (a unit of a child who stays registered stays, unanswered) and
	// returns how many.
	WipeSurveyAnswers(ctx context.Context, guardianID int64) (int, error)
	// FindOrCreateChild returns the child of that name in the class, creating it.
	FindOrCreateChild(ctx context.Context, schoolID, classID int64, name vault.Personal) (int64, error)
	SetChildClubs(ctx context.Context, childID int64, clubIDs []int64) error
	// FindOtherGuardians locks the child and lists its guardians other than guardianID,
	// so two registrations of one child are decided one after the other.
	FindOtherGuardians(ctx context.Context, childID, guardianID int64) ([]OtherGuardian, error)
	// DisputeGuardianship records that a verified guardian of the same child does not
	// know this registration, puts a verified one back to pending, and returns the
	// status it had.
	DisputeGuardianship(ctx context.Context, id, byGuardianID int64) (previous string, err error)
	// LinkChild creates or keeps the guardianship; a rejected one becomes pending again.
	LinkChild(ctx context.Context, guardianID, childID int64, status, method string) (id int64, err error)
	UnlinkChild(ctx context.Context, guardianshipID int64) error
	// DeleteOrphans removes children with no guardian left and returns how many.
	DeleteOrphans(ctx context.Context, childIDs []int64) (int, error)
	FindGuardianship(ctx context.Context, id int64) (Request, error)
	DecideGuardianship(ctx context.Context, id int64, status string, staffID int64) error
	FindPending(ctx context.Context, schoolID int64, classIDs []int64) ([]Request, error)
	// CountPending counts a school's waiting registrations per class (of the given
	// classes, or all), with the oldest one's time.
	CountPending(ctx context.Context, schoolID int64, classIDs []int64) ([]ClassWaiting, error)
	// CountCoverage counts a school's registered families and children of its current
	// year, and its classes' enrolment.
	CountCoverage(ctx context.Context, schoolID int64) (Coverage, error)
	// FindSchoolBoard returns a school's board.
	FindSchoolBoard(ctx context.Context, schoolID int64) (int64, error)
	FindClassMembers(ctx context.Context, classID int64) ([]Member, error)

	FindClassByCode(ctx context.Context, code string) (int64, error)
	FindClassCodes(ctx context.Context, schoolID int64, year int) ([]ClassCode, error)
	SetClassCode(ctx context.Context, classID int64, code string) error

	RecordDeletion(ctx context.Context, d Deletion) error
	// FindChildScope returns a child's school (and board).
	FindChildScope(ctx context.Context, childID int64) (ChildScope, error)
	// MoveChild puts a child in another class with the clubs of that class's year
	// (ErrNameClash when the class has a child of that name).
	MoveChild(ctx context.Context, childID, classID int64, clubIDs []int64) error
	// CurrentClass says whether a class is of the school's current year.
	CurrentClass(ctx context.Context, schoolID, classID int64) (bool, error)
	// ChildClubs lists a child's clubs.
	ChildClubs(ctx context.Context, childID int64) ([]int64, error)
	// CountConversations counts a guardian's conversations.
	CountConversations(ctx context.Context, guardianID int64) (int, error)
	// DeleteOnLeave reads whether the board deletes a leaving child's data.
	DeleteOnLeave(ctx context.Context, boardID int64) (bool, error)
	// DeleteChild ends a child's registrations and, unless keepData, deletes the child
	// with everything about them; it says what went.
	DeleteChild(ctx context.Context, childID int64, keepData bool) (Left, error)
}

// Request is a registration waiting for (or decided by) the school, as staff see it.
type Request struct {
	GuardianshipID int64
	GuardianID     int64
	FriendID       int64
	ChildID        int64
	SchoolID       int64
	BoardID        int64
	ClassID        int64
	Year           int
	ClassLabel     string
	Nickname       vault.Personal
	// GuardianName and Relationship (a code of Relationships) are what the parent
	// registered, for the teacher who decides.
	GuardianName vault.Personal
	Relationship vault.Personal
	ChildName    vault.Personal
	Status       string
	CreatedAt    time.Time
	// HasGuardian is true when another guardian of the child is verified: the class
	// code did not verify this one, and the teacher should check before approving.
	HasGuardian bool
	// Disputed is true when a verified guardian of the child answered in LINE that
	// they do not know this registration (「心当たりがない」).
	Disputed bool
}

// OtherGuardian is another guardian of a child, for deciding whether a class code may
// verify a registration and for telling the child's guardians about it.
type OtherGuardian struct {
	GuardianID int64
	FriendID   int64
	Status     string
	Language   string
}

// ChildScope is where a child belongs.
type ChildScope struct {
	BoardID, SchoolID, ClassID int64
}

// Left is what deleting a child removed: each guardian's link (and how many children
// the guardian still has), the absence reports and the conversations.
type Left struct {
	ClassID        int64
	Guardians      []LeftGuardian
	AbsenceReports int
	Conversations  int
}

// LeftGuardian is a guardian of a deleted child.
type LeftGuardian struct {
	GuardianID, FriendID int64
	Remaining            int
}

// Member is a child of a class with their guardians, for the class page.
type Member struct {
	ChildID   int64
	ChildName vault.Personal
	Guardians []MemberGuardian
}

// MemberGuardian is one guardian of a class member: nickname only.
type MemberGuardian struct {
	Nickname vault.Personal
	Status   string
	Active   bool
}

// ClassCode is a class's registration code, for the letter.
type ClassCode struct {
	ClassID int64
	Label   string
	Code    vault.Personal // empty when none was made yet
}

// Deletion is one deletion record: no personal data.
type Deletion struct {
	BoardID  int64
	SchoolID int64
	Category string
	Count    int
	Reason   string
	Policy   string
}
