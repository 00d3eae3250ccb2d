package survey_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/renraku/renraku/internal/apptest"
	"github.com/renraku/renraku/internal/browsertest"
	"github.com/renraku/renraku/internal/demo"
	"github.com/renraku/renraku/internal/line"
	"github.com/renraku/renraku/internal/survey"
)

// TestSurveyFormInChromium: a parent answers a survey with every kind of question on a
// phone: a missing required answer and an out-of-range number are named and what was
// typed stays; then the answers are sent and the list shows the survey answered.
func TestSurveyFormInChromium(t *testing.T) {
	t.Parallel()
	browsertest.RequireJapaneseFont(t)
	w := apptest.StartLineWorld(t)
	s := w.App.Services()
	ctx := context.Background()
	if _, err := demo.SeedStaff(ctx, s); err != nil {
		t.Fatal(err)
	}
	sakuraID, class11, _ := apptest.SchoolAndClass(t, w, demo.Schools[0].Name, "1年1組")
	tanaka, _ := apptest.RegisteredParent(t, w, "田中 直子", "田中 大輝", apptest.ClassCodes(t, w, sakuraID)[class11])
	tannin := apptest.SignedInAs(t, w, "sakura.tannin11")
	id, err := s.Surveys.Create(tannin, formSurvey(sakuraID, class11), "1年1組")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Surveys.Send(tannin, id, false); err != nil {
		t.Fatal(err)
	}
	apptest.WaitBotText(t, w, tanaka.ID, "下のボタンから回答してください", 1)
	postback(t, w, tanaka, line.PostbackData("survey.open", apptest.Itoa(id)))
	link := apptest.LinkIn(t, w, tanaka.ID, "回答ページを開いてください", 1)
	unit := int64(apptest.Count(t, w, `SELECT id FROM survey_unit WHERE survey_id = $1`, id))
	field := func(q string) string { return `[name="` + survey.UnitField(unit, q) + `"]` }
	choice := func(q, v string) string { return `input` + field(q) + `[value="` + v + `"]` }

	phone := browsertest.New(t, 360, 740)
	err = chromedp.Do(phone,
		chromedp.Navigate(link),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="survey-form"]`)),
	)
	if err != nil {
		t.Fatal(err)
	}
	browsertest.Screenshot(t, phone, "survey-form")
	err = chromedp.Do(phone,
		chromedp.Click(chromedp.CSS(choice("q2", "c1"))),
		chromedp.Click(chromedp.CSS(choice("q2", "c2"))),
		chromedp.SendKeys(chromedp.CSS(field("q3")), "090-1234-5678"),
		chromedp.SendKeys(chromedp.CSS(field("q4")), "バスに酔いやすいので前の席を希望します。"),
		chromedp.SendKeys(chromedp.CSS(field("q5")), "9"),
		chromedp.SetValue(chromedp.CSS(field("q6")), "2026-12-18"),
		chromedp.Click(chromedp.CSS(choice("q7", "yes"))),
		chromedp.Click(chromedp.CSS(`[data-testid="survey-send"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="form-message"]`)),
	)
	if err != nil {
		t.Fatal(err)
	}
	msg, err := chromedp.Run(phone, chromedp.Text(chromedp.CSS(`[data-testid="form-message"]`)))
	if err != nil || !strings.Contains(msg, "問1、問5") {
		t.Errorf("message %q (%v) does not name the questions", msg, err)
	}
	kept, err := chromedp.Run(phone, chromedp.Value(chromedp.CSS(field("q4"))))
	if err != nil || kept != "バスに酔いやすいので前の席を希望します。" {
		t.Errorf("typed text not kept: %q (%v)", kept, err)
	}
	browsertest.Screenshot(t, phone, "survey-form-error")

	err = chromedp.Do(phone,
		chromedp.Click(chromedp.CSS(choice("q1", "c1"))),
		chromedp.SetValue(chromedp.CSS(field("q5")), "2"),
		chromedp.Click(chromedp.CSS(`[data-testid="survey-send"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="survey-done"]`)),
	)
	if err != nil {
		body, _ := chromedp.Run(phone, chromedp.Text(chromedp.CSS(`main`)))
		t.Fatalf("send: %v: %s", err, body)
	}
	browsertest.Screenshot(t, phone, "survey-form-done")
	if n := apptest.Count(t, w, `SELECT count(*) FROM survey_unit WHERE id = $1 AND answered_at IS NOT NULL`, unit); n != 1 {
		t.Error("the answers are not stored")
	}

	err = chromedp.Do(phone,
		chromedp.Click(chromedp.CSS(`.breadcrumb a`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="survey-open"]`)),
	)
	if err != nil {
		t.Fatal(err)
	}
	state, err := chromedp.Run(phone, chromedp.Text(chromedp.CSS(`[data-testid="survey-state"]`)))
	if err != nil || !strings.Contains(state, "回答済み") {
		t.Errorf("list state %q (%v)", state, err)
	}
	browsertest.Screenshot(t, phone, "survey-list")
}

// TestPerChildFormInChromium: twins' attendance check on a phone: one child answered by
// a tap in the chat shows as answered on the form, the other is answered there; a draft
// that only repeats the tapped answer leaves it answered. The list shows each child.
func TestPerChildFormInChromium(t *testing.T) {
	t.Parallel()
	browsertest.RequireJapaneseFont(t)
	w := apptest.StartLineWorld(t)
	s := w.App.Services()
	ctx := context.Background()
	if _, err := demo.SeedStaff(ctx, s); err != nil {
		t.Fatal(err)
	}
	sakuraID, class11, _ := apptest.SchoolAndClass(t, w, demo.Schools[0].Name, "1年1組")
	kimura := twins(t, w, sakuraID, class11, apptest.ClassCodes(t, w, sakuraID)[class11])
	tannin := apptest.SignedInAs(t, w, "sakura.tannin11")
	att := survey.Compose{Kind: survey.KindAttendance, Audience: survey.Audience{SchoolID: sakuraID, Classes: []int64{class11}},
		Title: "授業参観", Body: "12月15日（火）2時間目に授業参観を行います。", PerChild: true, Deadline: time.Now().Add(72 * time.Hour),
		Questions: survey.AttendanceQuestions(func(id string) string { return s.Registration.T("ja", id, nil) }, false, false)}
	id, err := s.Surveys.Create(tannin, att, "1年1組")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Surveys.Send(tannin, id, false); err != nil {
		t.Fatal(err)
	}
	items := apptest.WaitBotText(t, w, kimura.ID, "木村 そらさん", 1)
	aoi, sora := buttonsFor(t, items, "木村 あおい"), buttonsFor(t, items, "木村 そら")
	tapLabel(t, w, kimura, aoi, "参加")
	apptest.WaitBotText(t, w, kimura.ID, "木村 あおいさん：『参加』で受け付けました。", 1)
	postback(t, w, kimura, line.PostbackData("survey.open", apptest.Itoa(id)))
	link := apptest.LinkIn(t, w, kimura.ID, "回答ページを開いてください", 1)
	soraNo := `input[name="` + survey.UnitField(unitOf(t, sora[0]), "q1") + `"][value="c2"]`

	phone := browsertest.New(t, 360, 740)
	err = chromedp.Do(phone,
		chromedp.Navigate(link),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="survey-form"]`)),
		chromedp.Click(chromedp.CSS(`[data-testid="survey-draft"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="survey-done"]`)),
	)
	if err != nil {
		t.Fatal(err)
	}
	states, err := chromedp.Run(phone, chromedp.Text(chromedp.CSS(`form`)))
	if err != nil || !strings.Contains(states, "回答済み") || strings.Contains(states, "下書き（") {
		t.Errorf("after a draft repeating the tap: %q (%v)", states, err)
	}
	browsertest.Screenshot(t, phone, "survey-per-child")
	// The draft's notice is still on the page: take it away first, so that waiting for
	// the notice waits for the page that answers the send, not the one already shown.
	err = chromedp.Do(phone,
		chromedp.Evaluate[chromedp.Void](`document.querySelector('[data-testid="survey-done"]').remove()`),
		chromedp.Click(chromedp.CSS(soraNo)),
		chromedp.Click(chromedp.CSS(`[data-testid="survey-send"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="survey-done"]`)),
		chromedp.Click(chromedp.CSS(`.breadcrumb a`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="survey-open"]`)),
	)
	if err != nil {
		t.Fatal(err)
	}
	row, err := chromedp.Run(phone, chromedp.Text(chromedp.CSS(`[data-testid="survey-open"]`)))
	if err != nil || strings.Count(row, "回答済み") != 2 {
		t.Errorf("list row %q (%v)", row, err)
	}
	browsertest.Screenshot(t, phone, "survey-per-child-list")
	if n := apptest.Count(t, w, `SELECT count(*) FROM survey_unit WHERE survey_id = $1 AND answered_at IS NOT NULL AND draft_enc IS NULL`, id); n != 2 {
		t.Errorf("answered units: %d, want 2", n)
	}
}
