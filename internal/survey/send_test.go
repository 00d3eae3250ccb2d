package survey_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/renraku/renraku/internal/apperr"
	"github.com/renraku/renraku/internal/apptest"
	"github.com/renraku/renraku/internal/demo"
	"github.com/renraku/renraku/internal/line"
	"github.com/renraku/renraku/internal/linesim"
	"github.com/renraku/renraku/internal/survey"
)

// TestSendReachesEachGuardianOnceWithButtonsPerChild: a per-child attendance check to
// 1年1組 reaches each verified guardian with one push (however many children), with a
// buttons message per child whose taps carry the child's unit; a survey with more than
// one question offers the form instead. Bad input stores nothing.
func TestSendReachesEachGuardianOnceWithButtonsPerChild(t *testing.T) {
	t.Parallel()
	w := apptest.StartLineWorld(t)
	s := w.App.Services()
	ctx := context.Background()
	if _, err := demo.SeedStaff(ctx, s); err != nil {
		t.Fatal(err)
	}
	sakuraID, class11, _ := apptest.SchoolAndClass(t, w, demo.Schools[0].Name, "1年1組")
	code := apptest.ClassCodes(t, w, sakuraID)
	kimura := twins(t, w, sakuraID, class11, code[class11])
	tanaka, _ := apptest.RegisteredParent(t, w, "田中 直子", "田中 大輝", code[class11])

	tannin := apptest.SignedInAs(t, w, "sakura.tannin11")
	deadline := time.Now().Add(72 * time.Hour)
	att := survey.Compose{Kind: survey.KindAttendance, Audience: survey.Audience{SchoolID: sakuraID, Classes: []int64{class11}},
		Title: "授業参観", Body: "12月15日（火）2時間目に授業参観を行います。", PerChild: true, Deadline: deadline,
		Questions: survey.AttendanceQuestions(func(id string) string { return s.Registration.T("ja", id, nil) }, false, false)}

	for _, tc := range []struct {
		name   string
		change func(*survey.Compose)
		field  string
	}{
		{"no title", func(c *survey.Compose) { c.Title = " " }, "title"},
		{"past deadline", func(c *survey.Compose) { c.Deadline = time.Now().Add(-time.Hour) }, "deadline"},
		{"one choice", func(c *survey.Compose) {
			c.Questions = []survey.Question{{Kind: survey.Single, Text: "?", Choices: []survey.Choice{{Label: "はい"}}}}
		}, "q1.choices"},
		{"too many questions", func(c *survey.Compose) { c.Questions = make([]survey.Question, 21) }, "questions"},
	} {
		c := att
		tc.change(&c)
		_, err := s.Surveys.Create(tannin, c, "1年1組")
		if f := apperr.FieldsOf(err); f[tc.field] == "" {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
	if n := apptest.Count(t, w, `SELECT count(*) FROM survey`); n != 0 {
		t.Fatalf("bad input stored %d surveys", n)
	}

	id, err := s.Surveys.Create(tannin, att, "1年1組")
	if err != nil {
		t.Fatal(err)
	}
	p, err := s.Surveys.Preview(tannin, id)
	if err != nil || p.Guardians != 2 {
		t.Fatalf("preview: %+v %v", p, err)
	}
	if _, err := s.Surveys.Send(tannin, id, false); err != nil {
		t.Fatal(err)
	}
	items := apptest.WaitBotText(t, w, kimura.ID, "木村 そらさん", 1)
	var taps []linesim.Action
	for _, it := range items {
		if strings.Contains(it.Text, "さん\n出欠") {
			taps = append(taps, it.Actions...)
		}
	}
	if len(taps) != 4 {
		t.Fatalf("kimura's buttons: %+v", items)
	}
	for _, a := range taps {
		name, args, ok := line.ParsePostbackData(a.Data)
		sid, unit, choice, ok2 := survey.ParseAnswerData(args)
		if !ok || !ok2 || name != "survey.answer" || sid != id || unit == 0 || (choice != "c1" && choice != "c2") {
			t.Errorf("tap %+v", a)
		}
	}
	apptest.WaitBotText(t, w, tanaka.ID, "田中 大輝さん", 1)
	apptest.WaitRows(t, w, `SELECT count(*) FROM survey WHERE state <> 'sent'`)
	if n := apptest.Count(t, w, `SELECT count(*) FROM survey_unit WHERE survey_id = $1`, id); n != 3 {
		t.Errorf("units: %d, want 3 children", n)
	}
	if n := apptest.Count(t, w, `SELECT count(DISTINCT outbound_id) FROM survey_recipient WHERE survey_id = $1`, id); n != 2 {
		t.Errorf("pushes: %d, want one per guardian", n)
	}

	// A per-family survey of two questions is answered on the form.
	multi := survey.Compose{Kind: survey.KindSurvey, Audience: survey.Audience{SchoolID: sakuraID, Classes: []int64{class11}},
		Title: "給食アンケート", Deadline: deadline, Questions: []survey.Question{
			{Kind: survey.Single, Text: "給食の量はどうですか", Choices: []survey.Choice{{Label: "多い"}, {Label: "ちょうどよい"}, {Label: "少ない"}}},
			{Kind: survey.Long, Text: "ご意見"}}}
	id2, err := s.Surveys.Create(tannin, multi, "1年1組")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Surveys.Send(tannin, id2, false); err != nil {
		t.Fatal(err)
	}
	items = apptest.WaitBotText(t, w, tanaka.ID, "下のボタンから回答してください", 1)
	last := items[len(items)-1]
	if len(last.Actions) != 1 || !strings.Contains(last.Actions[0].Data, "survey.open") {
		t.Errorf("form button: %+v", last)
	}
	if n := apptest.Count(t, w, `SELECT count(*) FROM survey_unit WHERE survey_id = $1`, id2); n != 2 {
		t.Errorf("family units: %d, want 2 guardians", n)
	}
}

// twins registers a parent with two children in one class.
func twins(t *testing.T, w *apptest.LineWorld, schoolID, classID int64, code string) linesim.User {
	t.Helper()
	u := w.NewParent(t, "木村のLINE")
	if _, err := w.Sim.Follow(w.Ch.LineChannelID, u.ID); err != nil {
		t.Fatal(err)
	}
	link := apptest.LinkIn(t, w, u.ID, "友だち追加ありがとうございます", 1)
	b := apptest.NewParentBrowser(t)
	b.Get(link)
	if r := b.Post(link, url.Values{"consent": {"yes"}, "name": {"木村 恵"}, "relationship": {"mother"},
		"child.0.name": {"木村 あおい"}, "child.0.school": {apptest.Itoa(schoolID)}, "child.0.class": {apptest.Itoa(classID)}, "child.0.code": {code},
		"child.1.name": {"木村 そら"}, "child.1.school": {apptest.Itoa(schoolID)}, "child.1.class": {apptest.Itoa(classID)}, "child.1.code": {code},
		"op": {"save"}}); r.Status != http.StatusOK {
		t.Fatalf("register twins: %d %s", r.Status, apptest.Text(r))
	}
	return u
}
