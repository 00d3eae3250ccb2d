package survey_test

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/renraku/renraku/internal/apptest"
	"github.com/renraku/renraku/internal/browsertest"
	"github.com/renraku/renraku/internal/demo"
	"github.com/renraku/renraku/internal/survey"
)

// TestResultsFollowAnswersLive: the homeroom teacher keeps the results page open in
// Chromium; answers arriving change the chart, the counts and the list of those not
// answered without a reload.
func TestResultsFollowAnswersLive(t *testing.T) {
	t.Parallel()
	browsertest.RequireJapaneseFont(t)
	rw := newResultsWorld(t)
	att := rw.attendance
	att.Questions = append(att.Questions, survey.Question{Kind: survey.Number, Text: "参加人数", Unit: "人"})
	id := rw.send(t, rw.tannin, att, "1年1組")
	rw.answer(t, id, "木村 あおい", survey.Answers{"q1": choice("c1"), "q2": {Text: "楽しみにしています"}, "q3": {Number: ptr(int64(2))}})

	b := browsertest.New(t, 1280, 900)
	path := rw.w.App.URL() + "/staff/surveys/" + apptest.Itoa(id)
	err := chromedp.Do(b,
		chromedp.Navigate(rw.w.App.URL()+"/staff/login"),
		chromedp.SendKeys(chromedp.CSS(`#f-login`), "sakura.tannin11"),
		chromedp.SendKeys(chromedp.CSS(`#f-password`), demo.Password),
		chromedp.Click(chromedp.CSS(`[data-testid="signin-submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="staff-home"]`)),
		chromedp.Navigate(path),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="survey-results"]`)),
		chromedp.WaitReady(chromedp.CSS(`body[data-live="open"]`)),
	)
	if err != nil {
		t.Fatal(err)
	}
	browsertest.Screenshot(t, b, "survey-results-before")
	// The reminder's confirmation: the two families not answered, the LINE messages.
	err = chromedp.Do(b,
		chromedp.Click(chromedp.CSS(`[data-testid="remind"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="remind-count"]`)),
	)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := chromedp.Run(b, chromedp.Text(chromedp.CSS(`[data-testid="remind-count"]`))); err != nil || !strings.Contains(got, "保護者 2人") {
		t.Errorf("remind count: %q %v", got, err)
	}
	browsertest.Screenshot(t, b, "survey-remind")
	err = chromedp.Do(b,
		chromedp.Navigate(path),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="survey-results"]`)),
		chromedp.WaitReady(chromedp.CSS(`body[data-live="open"]`)),
	)
	if err != nil {
		t.Fatal(err)
	}
	// A marker on the document: a reload would lose it.
	if err := chromedp.Do(b, chromedp.Evaluate[chromedp.Void](`document.documentElement.setAttribute("data-kept", "yes")`)); err != nil {
		t.Fatal(err)
	}

	rw.answer(t, id, "田中 大輝", survey.Answers{"q1": choice("c2"), "q2": {Text: "仕事のため欠席します"}})
	rw.answer(t, id, "木村 そら", survey.Answers{"q1": choice("c1"), "q3": {Number: ptr(int64(1))}})
	err = chromedp.Do(b,
		chromedp.WaitReady(chromedp.CSS(`[data-question="q1"] g[data-key="c1"][data-count="2"]`)),
		chromedp.WaitReady(chromedp.CSS(`[data-question="q1"] g[data-key="c2"][data-count="1"]`)),
		chromedp.WaitReady(chromedp.CSS(`[data-testid="pending"] p.muted`)),
	)
	if err != nil {
		t.Fatal(err)
	}
	kept, err := chromedp.Run(b, chromedp.Evaluate[string](`document.documentElement.getAttribute("data-kept") || ""`))
	if err != nil || kept != "yes" {
		t.Errorf("the page was reloaded (%q, %v)", kept, err)
	}
	text, err := chromedp.Run(b, chromedp.Text(chromedp.CSS(`[data-testid="survey-results"]`)))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"回答 3 / 3（100%）", "合計 3人・平均 1.5人", "仕事のため欠席します", "田中 直子"} {
		if !strings.Contains(text, want) {
			t.Errorf("the page lacks %q: %s", want, text)
		}
	}
	browsertest.Screenshot(t, b, "survey-results-after")
	// Everyone has answered: nobody to remind (the actions are not live: on the next visit).
	if err := chromedp.Do(b, chromedp.Navigate(path), chromedp.WaitVisible(chromedp.CSS(`[data-testid="survey-results"]`))); err != nil {
		t.Fatal(err)
	}
	if n, err := chromedp.Run(b, chromedp.Evaluate[int](`document.querySelectorAll('[data-testid="remind"]').length`)); err != nil || n != 0 {
		t.Errorf("a remind button with nobody to remind (%d, %v)", n, err)
	}
}
