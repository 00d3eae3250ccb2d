package survey_test

import (
	"context"
	"strings"
	"testing"

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
