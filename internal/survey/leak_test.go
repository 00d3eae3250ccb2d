package survey_test

import (
	"context"
	"testing"
	"time"

	"github.com/renraku/renraku/internal/announce"
	"github.com/renraku/renraku/internal/apptest"
	"github.com/renraku/renraku/internal/demo"
	"github.com/renraku/renraku/internal/leaktest"
	"github.com/renraku/renraku/internal/survey"
)

// TestSurveyLeavesNoPlaintext is the no-leak check for surveys: a survey whose title,
// explanation, question, choice, consent text and handout name are recognisable
// markers is sent, and a parent's text answer holding another is stored; the survey
// and the answer read back whole through the vault and the parent receives the title
// in LINE, yet none of the markers (nor the family's names) appears in the logs or in
// a pg_dump of the database: they exist only encrypted.
func TestSurveyLeavesNoPlaintext(t *testing.T) {
	t.Parallel()
	w, _ := apptest.StartDemoWorld(t)
	s := w.App.Services()
	ctx := context.Background()
	sakuraID, class11, _ := apptest.SchoolAndClass(t, w, demo.Schools[0].Name, "1年1組")
	code := apptest.ClassCodes(t, w, sakuraID)
	parentName, childName := "漏洩 確子", "漏洩 花子"
	u, _ := apptest.RegisteredParent(t, w, parentName, childName, code[class11])

	title := leaktest.Marker(t, "題名")
	body := leaktest.Marker(t, "説明文")
	question := leaktest.Marker(t, "質問")
	choice := leaktest.Marker(t, "選択肢")
	consent := leaktest.Marker(t, "同意文")
	handout := leaktest.Marker(t, "配布物") + ".pdf"
	answer := leaktest.Marker(t, "回答")
	tannin := apptest.SignedInAs(t, w, "sakura.tannin11")
	id, err := s.Surveys.Create(tannin, survey.Compose{Kind: survey.KindSurvey, Audience: survey.Audience{SchoolID: sakuraID, Classes: []int64{class11}},
		Title: title, Body: body, Deadline: time.Now().Add(72 * time.Hour),
		Files: []announce.Upload{{Name: handout, Data: apptest.SamplePDF("handout")}},
		Questions: []survey.Question{{Kind: survey.Long, Text: question, Required: true},
			{Kind: survey.Single, Text: "参加", Choices: []survey.Choice{{Label: choice}, {Label: "いいえ"}}},
			{Kind: survey.Consent, Text: "同意", ConsentText: consent}}}, "1年1組")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Surveys.Send(tannin, id, false); err != nil {
		t.Fatal(err)
	}
	apptest.WaitSurveySent(t, w, id)
	apptest.WaitBotText(t, w, u.ID, title, 1)
	var guardianID int64
	if err := s.Pool.QueryRow(ctx, `SELECT guardian_id FROM survey_recipient WHERE survey_id = $1`, id).Scan(&guardianID); err != nil {
		t.Fatal(err)
	}
	unit := apptest.SurveyUnit(t, w, id, 0, guardianID)
	apptest.SeedSurveyAnswer(t, w, unit, guardianID, survey.Answers{"q1": {Text: answer}, "q2": {Choices: []string{"c1"}}, "q3": {Agreed: true}})

	// Read back whole, through the service and the vault.
	sv, err := s.Surveys.Get(tannin, id)
	if err != nil {
		t.Fatal(err)
	}
	if sv.Title.Reveal() != title || sv.Body.Reveal() != body || sv.Questions[0].Text != question || sv.Questions[1].Choices[0].Label != choice ||
		sv.Questions[2].ConsentText != consent || len(sv.Handouts) != 1 || sv.Handouts[0].Name.Reveal() != handout || !sv.Sensitive {
		t.Fatalf("the survey read back: %+v", sv)
	}
	if got := apptest.SurveyAnswer(t, w, unit); got["q1"].Text != answer {
		t.Fatalf("the answer read back: %v", got)
	}
	if _, err := s.Surveys.List(tannin); err != nil {
		t.Fatal(err)
	}

	markers := []string{title, body, question, choice, consent, handout, answer, parentName, childName, u.ID}
	leaktest.AssertAbsent(t, "logs", w.Logs.Bytes(), markers...)
	leaktest.AssertAbsent(t, "pg_dump", leaktest.PgDump(t, w.DBURL), markers...)
}
