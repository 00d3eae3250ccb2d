package survey_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/renraku/renraku/internal/announce"
	"github.com/renraku/renraku/internal/apptest"
	"github.com/renraku/renraku/internal/demo"
	"github.com/renraku/renraku/internal/line"
	"github.com/renraku/renraku/internal/survey"
)

// formSurvey is a per-family survey with every kind of question and a handout.
func formSurvey(schoolID, classID int64) survey.Compose {
	lo, hi := int64(1), int64(5)
	return survey.Compose{Kind: survey.KindSurvey, Audience: survey.Audience{SchoolID: schoolID, Classes: []int64{classID}},
		Title: "修学旅行の確認", Body: "持ち物と体調について教えてください。", Deadline: time.Now().Add(72 * time.Hour),
		Files: []announce.Upload{{Name: "しおり.pdf", Data: apptest.SamplePDF("しおり")}},
		Questions: []survey.Question{
			{Kind: survey.Single, Text: "集合場所", Required: true, Choices: []survey.Choice{{Label: "学校"}, {Label: "駅"}}},
			{Kind: survey.Multi, Text: "持っていくもの", Choices: []survey.Choice{{Label: "雨具"}, {Label: "水筒"}, {Label: "酔い止め"}}},
			{Kind: survey.Short, Text: "緊急連絡先"},
			{Kind: survey.Long, Text: "体調で気になること"},
			{Kind: survey.Number, Text: "お小遣いの回数", Unit: "回", Min: &lo, Max: &hi, Required: true},
			{Kind: survey.Date, Text: "出発前の健康観察日"},
			{Kind: survey.Consent, Text: "参加の同意", ConsentText: "修学旅行への参加に同意します。"},
		}}
}

// TestFormKeepsTypedAnswersAndSavesDrafts: a survey with every kind of question on the
// parent's form. A missing required answer, an out-of-range number and an over-long
// text keep everything typed and name the questions; nothing is stored. A draft is kept
// and shown again; the answers sent round-trip; the handout is served to recipients
// only; after the deadline the answers are shown read-only.
func TestFormKeepsTypedAnswersAndSavesDrafts(t *testing.T) {
	t.Parallel()
	w := apptest.StartLineWorld(t)
	s := w.App.Services()
	ctx := context.Background()
	if _, err := demo.SeedStaff(ctx, s); err != nil {
		t.Fatal(err)
	}
	sakuraID, class11, _ := apptest.SchoolAndClass(t, w, demo.Schools[0].Name, "1年1組")
	_, class12, _ := apptest.SchoolAndClass(t, w, demo.Schools[0].Name, "1年2組")
	code := apptest.ClassCodes(t, w, sakuraID)
	tanaka, _ := apptest.RegisteredParent(t, w, "田中 直子", "田中 大輝", code[class11])
	other := parentIn(t, w, sakuraID, class12, code[class12], "山本 健", "山本 りく")

	tannin := apptest.SignedInAs(t, w, "sakura.tannin11")
	id, err := s.Surveys.Create(tannin, formSurvey(sakuraID, class11), "1年1組")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Surveys.Send(tannin, id, false); err != nil {
		t.Fatal(err)
	}
	items := apptest.WaitBotText(t, w, tanaka.ID, "下のボタンから回答してください", 1)
	var open *line.Action
	for _, it := range items {
		for _, a := range it.Actions {
			if a.Label == "回答する" {
				open = &line.Action{Kind: a.Type, Label: a.Label, Data: a.Data}
			}
		}
	}
	if open == nil {
		t.Fatalf("no 回答する button: %+v", items)
	}
	postback(t, w, tanaka, open.Data)
	link := apptest.LinkIn(t, w, tanaka.ID, "回答ページを開いてください", 1)
	b := apptest.NewParentBrowser(t)
	r := b.Get(link)
	if r.Status != http.StatusOK {
		t.Fatalf("form: %d %s", r.Status, apptest.Text(r))
	}
	unit := int64(apptest.Count(t, w, `SELECT id FROM survey_unit WHERE survey_id = $1`, id))
	f := func(q string) string { return survey.UnitField(unit, q) }
	for _, want := range []string{`type="radio" name="` + f("q1"), `type="checkbox" name="` + f("q2"), `name="` + f("q3") + `" type="text"`,
		`<textarea id="f-` + f("q4"), `inputmode="numeric"`, `type="date"`, `type="checkbox" name="` + f("q7") + `" value="yes"`,
		"修学旅行への参加に同意します。", "1〜5回", "同意する", "しおり.pdf"} {
		if !strings.Contains(r.Body, want) {
			t.Errorf("the form lacks %q", want)
		}
	}

	// Refused: q1 missing, q5 out of range, q3 too long. Everything typed is kept.
	long := strings.Repeat("あ", survey.MaxShortAnswer+1)
	typed := url.Values{"op": {"send"}, f("q2"): {"c1", "c3"}, f("q3"): {long}, f("q4"): {"朝は\r\n酔いやすい"}, f("q5"): {"9"},
		f("q6"): {"2026-12-20"}, f("q7"): {"yes"}}
	r = b.Post(link, typed)
	text := apptest.Text(r)
	if r.Status != http.StatusUnprocessableEntity {
		t.Fatalf("refused form: %d %s", r.Status, text)
	}
	for _, want := range []string{"回答を確認してください：問1、問3、問5", "この質問は回答が必要です。", "100文字以内で入力してください。", "範囲内の数を入力してください。"} {
		if !strings.Contains(text, want) {
			t.Errorf("refusal lacks %q: %s", want, text)
		}
	}
	if !checked(r.Body, f("q2"), "c1") || !checked(r.Body, f("q2"), "c3") || checked(r.Body, f("q2"), "c2") || !checked(r.Body, f("q7"), "yes") ||
		!strings.Contains(r.Body, long) || !strings.Contains(r.Body, "朝は\n酔いやすい") || !strings.Contains(r.Body, `value="9"`) || !strings.Contains(r.Body, `value="2026-12-20"`) {
		t.Errorf("typed values not kept: %s", r.Body)
	}
	if n := apptest.Count(t, w, `SELECT count(*) FROM survey_unit WHERE id = $1 AND (answers_enc IS NOT NULL OR draft_enc IS NOT NULL)`, unit); n != 0 {
		t.Error("a refused form stored something")
	}
	// Not a number at all.
	r = b.Post(link, url.Values{"op": {"draft"}, f("q5"): {"三"}})
	if r.Status != http.StatusUnprocessableEntity || !strings.Contains(apptest.Text(r), "数字で入力してください。") {
		t.Errorf("a word for a number: %d %s", r.Status, apptest.Text(r))
	}

	// A draft (with a required answer still missing) is kept and shown again.
	r = b.Post(link, url.Values{"op": {"draft"}, f("q4"): {"朝は酔いやすい"}, f("q5"): {"３"}})
	if r.Status != http.StatusOK || !strings.Contains(apptest.Text(r), "下書きを保存しました") {
		t.Fatalf("draft: %d %s", r.Status, apptest.Text(r))
	}
	r = b.Get(link)
	if !strings.Contains(r.Body, "朝は酔いやすい") || !strings.Contains(r.Body, `value="3"`) || !strings.Contains(apptest.Text(r), "下書き（まだ送信されていません）") {
		t.Errorf("the draft is not shown again: %s", apptest.Text(r))
	}
	if n := apptest.Count(t, w, `SELECT count(*) FROM survey_unit WHERE id = $1 AND draft_enc IS NOT NULL AND answers_enc IS NULL`, unit); n != 1 {
		t.Error("the draft is not stored as a draft")
	}
	if n := apptest.Count(t, w, `SELECT count(*) FROM survey WHERE id = $1 AND first_answer_at IS NULL`, id); n != 1 {
		t.Error("a draft counted as the first answer")
	}

	// Sent: every kind round-trips; the draft is gone.
	r = b.Post(link, url.Values{"op": {"send"}, f("q1"): {"c2"}, f("q2"): {"c1", "c3"}, f("q3"): {"090-0000-0000"}, f("q4"): {"朝は酔いやすい"},
		f("q5"): {"3"}, f("q6"): {"2026-12-20"}, f("q7"): {"yes"}})
	if r.Status != http.StatusOK || !strings.Contains(apptest.Text(r), "回答を送信しました") {
		t.Fatalf("send: %d %s", r.Status, apptest.Text(r))
	}
	r = b.Get(link)
	if !checked(r.Body, f("q1"), "c2") || !checked(r.Body, f("q2"), "c1") || !checked(r.Body, f("q2"), "c3") || !checked(r.Body, f("q7"), "yes") ||
		!strings.Contains(r.Body, `value="090-0000-0000"`) || !strings.Contains(r.Body, `value="3"`) || !strings.Contains(r.Body, `value="2026-12-20"`) ||
		strings.Contains(apptest.Text(r), "下書き（") {
		t.Errorf("the answers do not round-trip: %s", r.Body)
	}
	if n := apptest.Count(t, w, `SELECT count(*) FROM survey_unit WHERE id = $1 AND answers_enc IS NOT NULL AND draft_enc IS NULL AND answered_by IS NOT NULL`, unit); n != 1 {
		t.Error("the answers are not stored")
	}
	if n := apptest.Count(t, w, `SELECT count(*) FROM survey WHERE id = $1 AND first_answer_at IS NOT NULL`, id); n != 1 {
		t.Error("the first answer is not recorded")
	}

	// The handout: to the recipient, not to another class's parent.
	hid := apptest.Count(t, w, `SELECT id FROM survey_handout WHERE survey_id = $1`, id)
	pdf := link + "/files/" + apptest.Itoa(int64(hid))
	if r := b.Get(pdf); r.Status != http.StatusOK || r.Header.Get("Content-Type") != "application/pdf" {
		t.Errorf("handout: %d %s", r.Status, r.Header.Get("Content-Type"))
	}
	postback(t, w, other, line.PostbackData("survey.list", ""))
	otherList := apptest.LinkIn(t, w, other.ID, "一覧です", 1)
	ob := apptest.NewParentBrowser(t)
	if r := ob.Get(otherList + "/s/" + apptest.Itoa(id) + "/files/" + apptest.Itoa(int64(hid))); r.Status != http.StatusNotFound {
		t.Errorf("another class's parent got the handout: %d", r.Status)
	}
	// The link is bound to the parent's browser.
	if r := apptest.NewParentBrowser(t).Get(link); r.Status == http.StatusOK {
		t.Error("the link opened in another browser")
	}

	// After the deadline: read-only, with the answers as text.
	if _, err := w.App.Pool().Exec(ctx, `UPDATE survey SET deadline = now() - interval '1 minute' WHERE id = $1`, id); err != nil {
		t.Fatal(err)
	}
	r = b.Get(link)
	text = apptest.Text(r)
	for _, want := range []string{"このアンケートは締め切りました。", "駅", "雨具、酔い止め", "090-0000-0000", "3回", "2026-12-20", "同意する"} {
		if !strings.Contains(text, want) {
			t.Errorf("closed page lacks %q: %s", want, text)
		}
	}
	if strings.Contains(r.Body, "<form") && strings.Contains(r.Body, `name="op"`) {
		t.Error("the closed page still has the form")
	}
	// The list shows it under 締め切ったもの.
	postback(t, w, tanaka, line.PostbackData("survey.list", ""))
	r = b.Get(apptest.LinkIn(t, w, tanaka.ID, "一覧です", 1))
	if text := apptest.Text(r); r.Status != http.StatusOK || !strings.Contains(text, "回答受付中のアンケートはありません。") ||
		!strings.Contains(text, "締め切ったもの") || !strings.Contains(text, "修学旅行の確認") {
		t.Errorf("list after the deadline: %d %s", r.Status, text)
	}
}
