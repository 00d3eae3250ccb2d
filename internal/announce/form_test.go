package announce

import (
	"reflect"
	"strconv"
	"testing"
)

func TestSettle(t *testing.T) {
	grade := func(g int) string { return strconv.Itoa(g) + "年" }
	school := Options{SchoolID: 7, SchoolName: "さくら小学校", CanSchool: true, Grades: []int{1, 2},
		Classes: []Choice{{ID: 11, Label: "1年1組"}}, Clubs: []Choice{{ID: 21, Label: "サッカー部"}}}
	board := Options{Board: true, Schools: []Choice{{ID: 7, Label: "さくら小学校"}}, Districts: []string{"ひかり学区"}}
	cases := []struct {
		name   string
		o      Options
		kind   string
		chosen Audience
		want   Audience
		label  string
	}{
		{"classes and clubs", school, Notice, Audience{Classes: []int64{11}, Clubs: []int64{21}, Schools: []int64{7}},
			Audience{SchoolID: 7, Classes: []int64{11}, Clubs: []int64{21}}, "1年1組、サッカー部"},
		{"whole school first", school, Notice, Audience{Whole: true, Grades: []int{2}},
			Audience{SchoolID: 7, Whole: true, Grades: []int{2}}, "さくら小学校、2年"},
		{"a safety alert with no grade goes to the whole school", school, Safety, Audience{},
			Audience{SchoolID: 7, Whole: true}, "さくら小学校"},
		{"a safety alert to a grade", school, Safety, Audience{Grades: []int{1}},
			Audience{SchoolID: 7, Grades: []int{1}}, "1年"},
		{"a class not offered keeps its ID, for the service to refuse", school, Notice, Audience{Classes: []int64{99}},
			Audience{SchoolID: 7, Classes: []int64{99}}, "99"},
		{"a board chooses schools and districts only", board, Safety, Audience{Schools: []int64{7}, Districts: []string{"ひかり学区"}, Whole: true, Classes: []int64{11}},
			Audience{Schools: []int64{7}, Districts: []string{"ひかり学区"}}, "さくら小学校、ひかり学区"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, label := c.o.Settle(c.kind, c.chosen, grade)
			if !reflect.DeepEqual(got, c.want) || label != c.label {
				t.Errorf("Settle = %+v %q, want %+v %q", got, label, c.want, c.label)
			}
		})
	}
}
