package view_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/PuerkitoBio/goquery"
	"github.com/a-h/templ"

	"github.com/renraku/renraku/web/view"
)

// rtl is a name in Hebrew letters: it reads right to left, and without isolation it
// would pull the text after it (a class, a status) to its left.
const rtl = "שרה"

func render(t *testing.T, c templ.Component) *goquery.Document {
	t.Helper()
	var b bytes.Buffer
	if err := c.Render(context.Background(), &b); err != nil {
		t.Fatal(err)
	}
	doc, err := goquery.NewDocumentFromReader(&b)
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

// TestNamesAreIsolated renders the pages that show what parents and staff typed and
// checks that each name and message sits in its own bidirectional isolate: <bdi>, or an
// element with dir="auto".
func TestNamesAreIsolated(t *testing.T) {
	t.Parallel()
	p := view.Page{Lang: "ja", T: func(id string, _ ...map[string]any) string { return id }}
	isolated := func(doc *goquery.Document, text string) bool {
		found := false
		doc.Find(`bdi, [dir="auto"]`).Each(func(_ int, s *goquery.Selection) {
			if s.Text() == text {
				found = true
			}
		})
		return found
	}
	tests := []struct {
		name string
		c    templ.Component
		want []string
	}{
		{"morning list", view.AbsenceRows(p, view.AbsenceList{Items: []view.AbsenceItem{{Child: rtl + " 子", Guardian: rtl + " 母", Note: rtl + " 熱"}}}),
			[]string{rtl + " 子", rtl + " 母", rtl + " 熱"}},
		{"class members", view.ClassMembers(p, []view.Member{{Child: rtl + " 子", Guardians: []view.MemberGuardian{{Nickname: rtl + " ママ"}}}}, false, nil),
			[]string{rtl + " 子", rtl + " ママ"}},
		{"thread", view.ThreadPage(p, view.Thread{Who: rtl + "（子 1年1組）", Messages: []view.ThreadMessage{
			{In: true, Body: rtl + " よろしく"}, {Body: "承知しました", Staff: rtl + " 先生"}}}, view.Form{}),
			[]string{rtl + "（子 1年1組）", rtl + " よろしく", rtl + " 先生"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			doc := render(t, tt.c)
			for _, w := range tt.want {
				if !isolated(doc, w) {
					t.Errorf("%q is not isolated", w)
				}
			}
		})
	}
}
