package registration

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestCheck(t *testing.T) {
	t.Parallel()
	choices := Choices{Schools: []SchoolChoice{
		{ID: 1, Name: "さくら小", Classes: []Option{{ID: 11, Label: "1年1組"}}, Clubs: []Option{{ID: 101, Label: "科学クラブ"}}},
		{ID: 2, Name: "ひかり中", Classes: []Option{{ID: 21, Label: "1年A組"}}},
	}}
	good := func() Form {
		return Form{Consent: true, Name: "山田　花子", Relationship: "mother", Children: []ChildForm{{Name: "山田 一郎", SchoolID: 1, ClassID: 11, ClubIDs: []int64{101}}}}
	}
	tests := []struct {
		name   string
		change func(*Form)
		want   map[string]string
	}{
		{"good", func(*Form) {}, map[string]string{}},
		{"no consent", func(f *Form) { f.Consent = false }, map[string]string{"consent": "reg.consent.required"}},
		{"empty name", func(f *Form) { f.Name = "  " }, map[string]string{"name": "reg.name.required"}},
		{"name too long", func(f *Form) { f.Name = strings.Repeat("あ", 51); f.Nickname = "あ" }, map[string]string{"name": "reg.name.invalid"}},
		{"empty child name", func(f *Form) { f.Children[0].Name = "" }, map[string]string{"child.0.name": "reg.child.name.required"}},
		{"unknown relationship", func(f *Form) { f.Relationship = "uncle" }, map[string]string{"relationship": "reg.relationship.invalid"}},
		{"nickname too long", func(f *Form) { f.Nickname = "あいうえおかきくけこさしすせそたちつてとな" }, map[string]string{"nickname": "reg.nickname.invalid"}},
		{"no children", func(f *Form) { f.Children = nil }, map[string]string{"children": "reg.children.required"}},
		{"no class", func(f *Form) { f.Children[0].ClassID = 0 }, map[string]string{"child.0.class": "reg.child.class.required"}},
		{"class of another school", func(f *Form) { f.Children[0].ClassID = 21 }, map[string]string{"child.0.class": "reg.child.class.invalid"}},
		{"unknown school", func(f *Form) { f.Children[0].SchoolID = 9 }, map[string]string{"child.0.school": "reg.child.school.invalid"}},
		{"club of another school", func(f *Form) { f.Children[0].ClubIDs = []int64{999} }, map[string]string{"child.0.clubs": "reg.child.club.invalid"}},
		{"short code", func(f *Form) { f.Children[0].Code = "ABC" }, map[string]string{"child.0.code": "reg.child.code.invalid"}},
		{"same child twice", func(f *Form) {
			f.Children = append(f.Children, ChildForm{Name: "山田一郎", SchoolID: 1, ClassID: 11})
		},
			map[string]string{"child.1.name": "reg.child.duplicate"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := good()
			tt.change(&f)
			got := map[string]string(Check(&f, choices))
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
		})
	}
	// Normalisation: full-width space, empty nickname → the name.
	f := good()
	if problems := Check(&f, choices); len(problems) != 0 {
		t.Fatalf("the good form has problems: %v", problems)
	}
	if f.Name != "山田 花子" || f.Nickname != "山田 花子" {
		t.Errorf("normalised name %q, nickname %q", f.Name, f.Nickname)
	}
}

func TestCodes(t *testing.T) {
	t.Parallel()
	for i := 0; i < 100; i++ {
		c := newCode()
		if len(c) != codeLength || normalizeCode(FormatCode(c)) != c {
			t.Fatalf("code %q does not survive formatting", c)
		}
	}
	if got := normalizeCode("ｋ７ｍ２－ｐ９ｑｘ"); got != "K7M2P9QX" {
		t.Errorf("full-width code read as %q", got)
	}
}

func TestAwaitsSchool(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		child  Child
		awaits bool
	}{
		// SPEC C1: a child's first registration may report absences before the school
		// has verified it.
		{"first, pending", Child{Status: Pending}, false},
		{"further, pending", Child{Status: Pending, OthersVerified: true}, true},
		{"further, approved", Child{Status: Verified, OthersVerified: true}, false},
		{"further, rejected", Child{Status: Rejected, OthersVerified: true}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := tt.child.AwaitsSchool(); got != tt.awaits {
				t.Errorf("AwaitsSchool() = %v, want %v", got, tt.awaits)
			}
		})
	}
}
