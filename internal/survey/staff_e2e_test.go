package survey_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/renraku/renraku/internal/apptest"
	"github.com/renraku/renraku/internal/demo"
	"github.com/renraku/renraku/internal/school"
)

// TestStaffCreatePreviewSendAndEdit: a homeroom teacher creates a per-child attendance
// check for 1年1組 with a PDF through the staff pages, previews it (the families it
// reaches, the LINE messages with a placeholder child, never a real one), sends it and
// the parents receive it. Bad input stores nothing and says why in Japanese, beside
// the question it concerns; 質問を追加 keeps what was typed. A sent survey's wording can
// be corrected until the first answer, and never its number of choices.
func TestStaffCreatePreviewSendAndEdit(t *testing.T) {
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
	kimura := twins(t, w, sakuraID, class11, code[class11])
	tanaka, _ := apptest.RegisteredParent(t, w, "田中 直子", "田中 大輝", code[class11])

	tannin := apptest.NewStaffClient(t, w.App.URL())
	tannin.SignIn("sakura.tannin11", demo.Password)
	if home := tannin.Get("/staff/"); home.Doc.Find(`[data-testid="to-surveys"]`).Length() != 1 {
		t.Errorf("the staff home has no link to the surveys")
	}
	if href, _ := tannin.Get("/staff/surveys").Doc.Find(`[data-testid="survey-new"]`).Attr("href"); href != "/staff/surveys/new" {
		t.Errorf("the list's link to a new survey: %q", href)
	}
	page := tannin.Get("/staff/surveys/new")
	if page.Status != http.StatusOK || page.Doc.Find(`[data-testid="question-1"]`).Length() != 1 || page.Doc.Find(`[data-testid="question-5"]`).Length() != 1 {
		t.Fatalf("new survey form: %d %s", page.Status, apptest.Text(page))
	}
	if got := page.Doc.Find(`[data-testid="audience"]`).Text(); !strings.Contains(got, "1年1組") || strings.Contains(got, "1年2組") {
		t.Errorf("audience offered: %q", got)
	}

	deadline := time.Now().In(school.Tokyo).AddDate(0, 0, 3).Format("2006-01-02")
	survey := url.Values{"kind": {"survey"}, "class": {apptest.Itoa(class11)}, "title": {"給食アンケート"}, "questions": {"5"},
		"deadline_date": {deadline}, "deadline_time": {"17:00"}, "unit": {"family"},
		"q1.kind": {"single"}, "q1.text": {"給食の量はどうですか"}, "q1.choices": {"多い\nちょうどよい\n少ない"}, "q1.required": {"on"},
		"q2.kind": {"long"}, "q2.text": {"ご意見"}}
	count := func() int { return apptest.Count(t, w, `SELECT count(*) FROM survey`) }
	for _, tc := range []struct {
		name   string
		change func(url.Values)
		field  string // the error's data-testid
		want   string
	}{
		{"no question", func(v url.Values) {
			for _, k := range []string{"q1.text", "q1.choices", "q2.text"} {
				v.Del(k)
			}
		}, "error-questions", "質問を1つ以上入れてください"},
		{"one choice", func(v url.Values) { v.Set("q2.kind", "multi"); v.Set("q2.choices", "はい") }, "error-q2.choices", "選択肢を2つ以上入れてください"},
		{"past deadline", func(v url.Values) {
			v.Set("deadline_date", time.Now().In(school.Tokyo).AddDate(0, 0, -1).Format("2006-01-02"))
		}, "error-deadline", "回答期限は送信の1時間以上あとにしてください"},
		{"bad range", func(v url.Values) { v.Set("q2.kind", "number"); v.Set("q2.min", "十") }, "error-q2.range", "最小値・最大値は整数で入力してください"},
		{"another teacher's class", func(v url.Values) { v.Set("class", apptest.Itoa(class12)) }, "", ""},
	} {
		v := url.Values{}
		for k, x := range survey {
			v[k] = append([]string(nil), x...)
		}
		tc.change(v)
		r := tannin.ComposeTo("/staff/surveys", v, nil)
		if tc.want == "" {
			if r.Status != http.StatusForbidden && r.Status != http.StatusNotFound {
				t.Errorf("%s: %d", tc.name, r.Status)
			}
			continue
		}
		if r.Status != http.StatusUnprocessableEntity || !strings.Contains(r.Doc.Find(`[data-testid="`+tc.field+`"]`).Text(), tc.want) {
			t.Errorf("%s: %d %s", tc.name, r.Status, apptest.Text(r))
			continue
		}
		// Everything typed is still there.
		if got, _ := r.Doc.Find(`input[name="title"]`).Attr("value"); got != "給食アンケート" {
			t.Errorf("%s: title not kept: %q", tc.name, got)
		}
		if tc.name != "no question" {
			if got := r.Doc.Find(`textarea[name="q1.choices"]`).Text(); got != "多い\nちょうどよい\n少ない" {
				t.Errorf("%s: choices not kept: %q", tc.name, got)
			}
		}
	}
	if n := count(); n != 0 {
		t.Fatalf("bad input stored %d surveys", n)
	}

	// 質問を追加 shows one block more and keeps what was typed, storing nothing.
	add := url.Values{"op": {"add"}}
	for k, x := range survey {
		add[k] = x
	}
	r := tannin.ComposeTo("/staff/surveys", add, nil)
	if r.Status != http.StatusOK || r.Doc.Find(`[data-testid="question-6"]`).Length() != 1 || r.Doc.Find(`[data-testid="question-7"]`).Length() != 0 {
		t.Fatalf("add a question: %d", r.Status)
	}
	if got, _ := r.Doc.Find(`input[name="q2.text"]`).Attr("value"); got != "ご意見" || count() != 0 {
		t.Errorf("add a question: q2 %q, %d stored", got, count())
	}

	// The attendance check: per child (answered with a tap), with a PDF.
	att := url.Values{"kind": {"attendance"}, "class": {apptest.Itoa(class11)}, "title": {"授業参観"}, "body": {"12月15日（火）2時間目に授業参観を行います。"},
		"deadline_date": {deadline}, "deadline_time": {"17:00"}, "unit": {"child"}, "auto_remind": {"on"}, "questions": {"5"}}
	r = tannin.ComposeTo("/staff/surveys", att, map[string][]byte{"授業参観のご案内.pdf": apptest.SamplePDF("参観")})
	if r.Status != http.StatusSeeOther || !regexp.MustCompile(`^/staff/surveys/\d+/preview$`).MatchString(r.Location) {
		t.Fatalf("create: %d %q %s", r.Status, r.Location, apptest.Text(r))
	}
	base := strings.TrimSuffix(r.Location, "/preview")
	id, err := strconv.ParseInt(strings.TrimPrefix(base, "/staff/surveys/"), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	preview := tannin.Get(r.Location)
	if got := preview.Doc.Find(`[data-testid="reach"]`).Text(); !strings.Contains(got, "2人の保護者") || !strings.Contains(got, "2通") {
		t.Errorf("reach: %q", got)
	}
	line := preview.Doc.Find(`[data-testid="line-preview"]`).Text()
	for _, want := range []string{"【出欠確認】授業参観", "12月15日（火）2時間目", "回答期限：", "（お子さまの名前）さん", "参加", "不参加", "プリントを見る"} {
		if !strings.Contains(line, want) {
			t.Errorf("LINE preview lacks %q: %s", want, line)
		}
	}
	if strings.Contains(preview.Doc.Text(), "木村") || strings.Contains(preview.Doc.Text(), "田中") {
		t.Errorf("the preview names a real child")
	}
	if got := preview.Doc.Find(`[data-testid="form-preview"]`).Text(); !strings.Contains(got, "出欠") || !strings.Contains(got, "不参加") {
		t.Errorf("form preview: %s", got)
	}
	if preview.Doc.Find(`[data-testid="edit"]`).Length() != 1 || preview.Doc.Find(`[data-testid="send"]`).Length() != 1 {
		t.Errorf("the draft's preview offers no 編集する or 送信する")
	}
	if got := preview.Doc.Find(`[data-testid="handout"]`).Text(); !strings.Contains(got, "授業参観のご案内.pdf") {
		t.Errorf("handouts: %q", got)
	}
	// The teacher opens the attached PDF from the preview.
	href, _ := preview.Doc.Find(`[data-testid="handout"] a`).Attr("href")
	if pdf := tannin.Get(href); pdf.Status != http.StatusOK || !strings.HasPrefix(pdf.Body, "%PDF-") {
		t.Errorf("the handout %q: %d", href, pdf.Status)
	}
	if pdf := apptest.NewStaffClientSignedIn(t, w, nil, "sakura.komon").Get(href); pdf.Status != http.StatusNotFound && pdf.Status != http.StatusForbidden {
		t.Errorf("the club advisor opened the handout: %d", pdf.Status)
	}

	r = tannin.Post(base+"/send", nil)
	if r.Status != http.StatusSeeOther || r.Location != "/staff/surveys" {
		t.Fatalf("send: %d %q %s", r.Status, r.Location, apptest.Text(r))
	}
	apptest.WaitBotText(t, w, kimura.ID, "木村 そらさん", 1)
	apptest.WaitBotText(t, w, kimura.ID, "木村 あおいさん", 1)
	apptest.WaitBotText(t, w, tanaka.ID, "田中 大輝さん", 1)
	apptest.WaitRows(t, w, `SELECT count(*) FROM survey WHERE state <> 'sent'`)
	list := tannin.Get("/staff/surveys")
	if got := list.Doc.Find(`[data-testid="survey"]`).Text(); !strings.Contains(got, "授業参観") || !strings.Contains(got, "送信完了") || !strings.Contains(got, "0 / 3") {
		t.Errorf("list: %s", got)
	}

	// Before the first answer the wording can be corrected; only the wording changes.
	edit := tannin.Get(base + "/edit")
	if edit.Status != http.StatusOK || edit.Doc.Find(`[data-testid="wording-only"]`).Length() != 1 || edit.Doc.Find(`[data-testid="audience"]`).Length() != 0 {
		t.Fatalf("edit a sent survey: %d %s", edit.Status, apptest.Text(edit))
	}
	r = tannin.ComposeTo(base+"/edit", url.Values{"kind": {"attendance"}, "title": {"授業参観（3時間目に変更）"}, "body": {"12月15日（火）3時間目に授業参観を行います。"},
		"class": {apptest.Itoa(class12)}, "deadline_date": {deadline}, "deadline_time": {"09:00"}}, nil)
	if r.Status != http.StatusSeeOther {
		t.Fatalf("edit wording: %d %s", r.Status, apptest.Text(r))
	}
	sv, err := s.Surveys.Get(apptest.SignedInAs(t, w, "sakura.tannin11"), id)
	if err != nil {
		t.Fatal(err)
	}
	if sv.Title.Reveal() != "授業参観（3時間目に変更）" || sv.Audience.Classes[0] != class11 || sv.Deadline.In(school.Tokyo).Format("15:04") != "17:00" || len(sv.Questions) != 1 {
		t.Errorf("after the wording edit: %q %v %v %d", sv.Title.Reveal(), sv.Audience, sv.Deadline, len(sv.Questions))
	}

	// A sent survey keeps its number of choices.
	r = tannin.ComposeTo("/staff/surveys", survey, nil)
	if r.Status != http.StatusSeeOther {
		t.Fatalf("create a survey: %d %s", r.Status, apptest.Text(r))
	}
	base2 := strings.TrimSuffix(r.Location, "/preview")
	if r := tannin.Post(base2+"/send", nil); r.Status != http.StatusSeeOther {
		t.Fatalf("send: %d", r.Status)
	}
	fewer := url.Values{"kind": {"survey"}, "title": {"給食アンケート"}, "questions": {"2"}, "q1.kind": {"single"}, "q1.text": {"給食の量は？"},
		"q1.choices": {"多い\n少ない"}, "q2.kind": {"long"}, "q2.text": {"ご意見"}}
	r = tannin.ComposeTo(base2+"/edit", fewer, nil)
	if r.Status != http.StatusUnprocessableEntity || !strings.Contains(r.Doc.Find(`[data-testid="error-q1.choices"]`).Text(), "送信後は選択肢の数を変えられません") {
		t.Errorf("fewer choices: %d %s", r.Status, apptest.Text(r))
	}
	fewer.Set("q1.choices", "たくさん\nちょうどよい\nすくない")
	if r := tannin.ComposeTo(base2+"/edit", fewer, nil); r.Status != http.StatusSeeOther {
		t.Errorf("reworded choices: %d %s", r.Status, apptest.Text(r))
	}

	// After the first answer, nothing changes and the teacher is told why.
	if _, err := s.Pool.Exec(ctx, `UPDATE survey SET first_answer_at = now() WHERE id = $1`, id); err != nil {
		t.Fatal(err)
	}
	if r := tannin.Get(base + "/edit"); r.Status != http.StatusConflict || !strings.Contains(apptest.Text(r), "すでに回答があるため、このアンケートは編集できません") {
		t.Errorf("edit page after an answer: %d %s", r.Status, apptest.Text(r))
	}
	r = tannin.ComposeTo(base+"/edit", url.Values{"kind": {"attendance"}, "title": {"授業参観（中止）"}}, nil)
	if r.Status != http.StatusConflict || !strings.Contains(apptest.Text(r), "すでに回答があるため") {
		t.Errorf("edit after an answer: %d %s", r.Status, apptest.Text(r))
	}
	if sv, _ := s.Surveys.Get(apptest.SignedInAs(t, w, "sakura.tannin11"), id); sv.Title.Reveal() != "授業参観（3時間目に変更）" {
		t.Errorf("the title changed after an answer: %q", sv.Title.Reveal())
	}
	for _, action := range []string{"survey.create", "survey.view", "survey.send", "survey.update"} {
		if n := apptest.Count(t, w, `SELECT count(*) FROM audit_event WHERE action = $1`, action); n == 0 {
			t.Errorf("no %s in the audit log", action)
		}
	}
}
