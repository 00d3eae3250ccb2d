package survey_test

import (
	"bytes"
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/renraku/renraku/internal/apptest"
	"github.com/renraku/renraku/internal/demo"
	"github.com/renraku/renraku/internal/line"
	"github.com/renraku/renraku/internal/linesim"
	"github.com/renraku/renraku/internal/survey"
)

// registerText is the start of the answer that invites a friend to register
// (reg.line.register), which the welcome does not contain.
const registerText = "下のボタンから登録してください（リンクの有効期限は24時間です）"

// parentIn registers a parent with one child in classID (RegisteredParent's, for any
// class).
func parentIn(t *testing.T, w *apptest.LineWorld, schoolID, classID int64, code, name, child string) linesim.User {
	t.Helper()
	u := w.NewParent(t, name+"のLINE")
	if _, err := w.Sim.Follow(w.Ch.LineChannelID, u.ID); err != nil {
		t.Fatal(err)
	}
	link := apptest.LinkIn(t, w, u.ID, "友だち追加ありがとうございます", 1)
	b := apptest.NewParentBrowser(t)
	b.Get(link)
	if r := b.Post(link, url.Values{"consent": {"yes"}, "name": {name}, "relationship": {"father"},
		"child.0.name": {child}, "child.0.school": {apptest.Itoa(schoolID)}, "child.0.class": {apptest.Itoa(classID)}, "child.0.code": {code},
		"op": {"save"}}); r.Status != http.StatusOK {
		t.Fatalf("register %s: %d %s", name, r.Status, apptest.Text(r))
	}
	return u
}

// buttonsFor returns the tap actions of the buttons message that asks about child.
func buttonsFor(t *testing.T, items []linesim.ChatItem, child string) []linesim.Action {
	t.Helper()
	for _, it := range items {
		if it.From == linesim.FromBot && strings.HasPrefix(it.Text, child+"さん\n") {
			return it.Actions
		}
	}
	t.Fatalf("no buttons for %s: %+v", child, items)
	return nil
}

func tapLabel(t *testing.T, w *apptest.LineWorld, u linesim.User, as []linesim.Action, label string) {
	t.Helper()
	for _, a := range as {
		if a.Label == label {
			if _, err := w.Sim.Tap(w.Ch.LineChannelID, u.ID, a); err != nil {
				t.Fatal(err)
			}
			return
		}
	}
	t.Fatalf("no button %q in %+v", label, as)
}

func unitOf(t *testing.T, a linesim.Action) int64 {
	t.Helper()
	_, args, _ := line.ParsePostbackData(a.Data)
	_, unit, _, ok := survey.ParseAnswerData(args)
	if !ok {
		t.Fatalf("not an answer: %+v", a)
	}
	return unit
}

func postback(t *testing.T, w *apptest.LineWorld, u linesim.User, data string) {
	t.Helper()
	if _, err := w.Sim.Postback(w.Ch.LineChannelID, u.ID, data, nil); err != nil {
		t.Fatal(err)
	}
}

// countBot counts the bot's messages to user that contain want.
func countBot(w *apptest.LineWorld, user, want string) int {
	n := 0
	for _, it := range w.Sim.Chat(w.Ch.LineChannelID, user) {
		if it.From == linesim.FromBot && strings.Contains(it.Text, want) {
			n++
		}
	}
	return n
}

// units is the survey's units as the database holds them (answered or not, by whom).
func units(t *testing.T, w *apptest.LineWorld, id int64) string {
	t.Helper()
	rows, err := w.App.Pool().Query(context.Background(), `SELECT id, answered_at IS NOT NULL, COALESCE(answered_by, 0), md5(COALESCE(answers_enc, ''::bytea))
		FROM survey_unit WHERE survey_id = $1 ORDER BY id`, id)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var b strings.Builder
	for rows.Next() {
		var u, by int64
		var answered bool
		var sum string
		if err := rows.Scan(&u, &answered, &by, &sum); err != nil {
			t.Fatal(err)
		}
		b.WriteString(apptest.Itoa(u) + ":" + map[bool]string{true: "y", false: "n"}[answered] + ":" + apptest.Itoa(by) + ":" + sum + " ")
	}
	return b.String()
}

// checked reports whether the page has the radio or checkbox of field with value
// checked.
func checked(body, field, value string) bool {
	re := regexp.MustCompile(`<input[^>]*name="` + regexp.QuoteMeta(field) + `"[^>]*value="` + regexp.QuoteMeta(value) + `"[^>]*>`)
	m := re.FindString(body)
	return m != "" && strings.Contains(m, " checked")
}

// TestParentsAnswerByTapAndOnTheForm: a per-child attendance check to 1年1組. A parent
// of twins answers one child with a tap in the chat and the other on the form page (the
// tapped answer shown there); another parent changes their answer with a second tap.
// The answers are encrypted. Taps after the deadline, on another family's child, on a
// survey not sent to the parent or with a choice the question lacks change nothing and
// are answered politely; a replayed webhook event is stored and answered once. After the
// deadline the form shows the answers read-only.
func TestParentsAnswerByTapAndOnTheForm(t *testing.T) {
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
	other := parentIn(t, w, sakuraID, class12, code[class12], "山本 健", "山本 りく")

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
	aoiUnit, soraUnit := unitOf(t, aoi[0]), unitOf(t, sora[0])
	tanakaButtons := buttonsFor(t, apptest.WaitBotText(t, w, tanaka.ID, "田中 大輝さん", 1), "田中 大輝")

	// あおい: one tap in the chat, confirmed with the child, the choice and the deadline.
	tapLabel(t, w, kimura, aoi, "参加")
	apptest.WaitBotText(t, w, kimura.ID, "木村 あおいさん：『参加』で受け付けました。回答期限（", 1)
	if n := apptest.Count(t, w, `SELECT count(*) FROM survey_unit WHERE survey_id = $1 AND answered_at IS NOT NULL`, id); n != 1 {
		t.Fatalf("answered units: %d", n)
	}
	if n := apptest.Count(t, w, `SELECT count(*) FROM survey WHERE id = $1 AND first_answer_at IS NOT NULL`, id); n != 1 {
		t.Error("the first answer is not recorded on the survey")
	}
	var raw []byte
	if err := w.App.Pool().QueryRow(ctx, `SELECT answers_enc FROM survey_unit WHERE id = $1`, aoiUnit).Scan(&raw); err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(raw, []byte(`"choices"`)) || bytes.Contains(raw, []byte(`"q1"`)) {
		t.Errorf("answers stored in plain text: %q", raw)
	}

	// The same webhook event again (LINE's redelivery) is neither stored nor answered twice.
	deliveries := w.Sim.Deliveries()
	last := deliveries[len(deliveries)-1]
	events := apptest.Count(t, w, `SELECT count(*) FROM line_event`)
	outbound := apptest.Count(t, w, `SELECT count(*) FROM line_outbound WHERE purpose = 'survey'`)
	before := units(t, w, id)
	for i := 0; i < 2; i++ {
		if status, err := w.Sim.Redeliver(last.WebhookEventIDs[0]); err != nil || status != http.StatusOK {
			t.Fatalf("redeliver: %d %v", status, err)
		}
	}
	if n := apptest.Count(t, w, `SELECT count(*) FROM line_event`); n != events {
		t.Errorf("the replayed event was stored again: %d events, want %d", n, events)
	}
	if n := apptest.Count(t, w, `SELECT count(*) FROM line_outbound WHERE purpose = 'survey'`); n != outbound {
		t.Errorf("the replayed event was answered again: %d, want %d", n, outbound)
	}
	if after := units(t, w, id); after != before {
		t.Errorf("the replayed event changed the answers: %s → %s", before, after)
	}

	// 田中: 参加, then 不参加 with a second tap; then 不参加 again (confirmed again).
	tapLabel(t, w, tanaka, tanakaButtons, "参加")
	apptest.WaitBotText(t, w, tanaka.ID, "田中 大輝さん：『参加』で受け付けました。", 1)
	tapLabel(t, w, tanaka, tanakaButtons, "不参加")
	apptest.WaitBotText(t, w, tanaka.ID, "田中 大輝さん：『不参加』で受け付けました。", 1)
	tapLabel(t, w, tanaka, tanakaButtons, "不参加")
	apptest.WaitBotText(t, w, tanaka.ID, "田中 大輝さん：『不参加』で受け付けました。", 2)

	// Refusals: another family's child, a survey not sent to them, a choice the question
	// does not have. Each is answered politely and changes nothing.
	before = units(t, w, id)
	postback(t, w, tanaka, survey.AnswerData(id, aoiUnit, "c2"))
	apptest.WaitBotText(t, w, tanaka.ID, "このボタンからは回答できません。", 1)
	postback(t, w, other, survey.AnswerData(id, aoiUnit, "c2"))
	apptest.WaitBotText(t, w, other.ID, "このボタンからは回答できません。", 1)
	postback(t, w, kimura, survey.AnswerData(id, soraUnit, "c9"))
	apptest.WaitBotText(t, w, kimura.ID, "このボタンからは回答できません。", 1)
	postback(t, w, kimura, survey.AnswerData(id+1000, soraUnit, "c1"))
	apptest.WaitBotText(t, w, kimura.ID, "このボタンからは回答できません。", 2)
	// Someone who has befriended the account but not registered gets the way to
	// register, for a tap and for 「回答する」.
	stranger := w.NewParent(t, "未登録の人のLINE")
	if _, err := w.Sim.Follow(w.Ch.LineChannelID, stranger.ID); err != nil {
		t.Fatal(err)
	}
	apptest.WaitBotText(t, w, stranger.ID, "友だち追加ありがとうございます", 1)
	postback(t, w, stranger, survey.AnswerData(id, aoiUnit, "c2"))
	apptest.WaitBotText(t, w, stranger.ID, registerText, 1)
	postback(t, w, stranger, line.PostbackData("survey.open", apptest.Itoa(id)))
	apptest.WaitBotText(t, w, stranger.ID, registerText, 2)
	if after := units(t, w, id); after != before {
		t.Errorf("a refused tap changed the answers: %s → %s", before, after)
	}

	// そら on the form: the page shows あおい's tapped answer, which is sent with it.
	postback(t, w, kimura, line.PostbackData("survey.open", apptest.Itoa(id)))
	link := apptest.LinkIn(t, w, kimura.ID, "回答ページを開いてください", 1)
	if !strings.Contains(link, "/p/survey/") || !strings.HasSuffix(link, "/s/"+apptest.Itoa(id)) {
		t.Fatalf("form link %q", link)
	}
	b := apptest.NewParentBrowser(t)
	r := b.Get(link)
	aoiField, soraField := survey.UnitField(aoiUnit, "q1"), survey.UnitField(soraUnit, "q1")
	if r.Status != http.StatusOK || !checked(r.Body, aoiField, "c1") || checked(r.Body, soraField, "c1") || checked(r.Body, soraField, "c2") {
		t.Fatalf("form: %d %s", r.Status, apptest.Text(r))
	}
	if !strings.Contains(r.Body, "木村 あおい") || !strings.Contains(r.Body, "木村 そら") || !strings.Contains(r.Body, "回答済み") {
		t.Errorf("form does not show each child and the tapped answer: %s", apptest.Text(r))
	}
	r = b.Post(link, url.Values{"op": {"send"}, aoiField: {"c1"}, soraField: {"c2"}})
	if r.Status != http.StatusOK || !strings.Contains(r.Body, "回答を送信しました") || !checked(r.Body, soraField, "c2") {
		t.Fatalf("send: %d %s", r.Status, apptest.Text(r))
	}
	if n := apptest.Count(t, w, `SELECT count(*) FROM survey_unit WHERE survey_id = $1 AND answered_at IS NOT NULL`, id); n != 3 {
		t.Errorf("answered units: %d, want 3", n)
	}

	// The list (from 配布プリント's survey button) shows the survey with each child answered.
	postback(t, w, kimura, line.PostbackData("menu.handouts", ""))
	items = apptest.WaitBotText(t, w, kimura.ID, "配布プリントの一覧です", 1)
	var surveys *linesim.Action
	for i := len(items) - 1; i >= 0 && surveys == nil; i-- {
		for _, a := range items[i].Actions {
			if a.Label == "アンケート（1件）" {
				surveys = &a
				break
			}
		}
	}
	if surveys == nil {
		t.Fatalf("配布プリント offers no surveys: %+v", items[len(items)-1])
	}
	if _, err := w.Sim.Tap(w.Ch.LineChannelID, kimura.ID, *surveys); err != nil {
		t.Fatal(err)
	}
	list := apptest.LinkIn(t, w, kimura.ID, "回答受付中のアンケート・出欠確認の一覧です", 1)
	r = b.Get(list)
	if r.Status != http.StatusOK || !strings.Contains(r.Body, "授業参観") || strings.Count(r.Body, "回答済み") != 2 || strings.Contains(r.Body, "未回答") {
		t.Errorf("list: %d %s", r.Status, apptest.Text(r))
	}
	// Another class's parent has no survey to answer: the form link of this one is not
	// theirs, and 配布プリント offers no survey button.
	postback(t, w, other, line.PostbackData("survey.open", apptest.Itoa(id)))
	otherList := apptest.LinkIn(t, w, other.ID, "一覧です", 1)
	ob := apptest.NewParentBrowser(t)
	if r := ob.Get(otherList + "/s/" + apptest.Itoa(id)); r.Status != http.StatusNotFound {
		t.Errorf("another class's parent opened the survey: %d", r.Status)
	}
	if r := ob.Get(otherList); r.Status != http.StatusOK || strings.Contains(r.Body, "授業参観") {
		t.Errorf("another class's list: %d %s", r.Status, apptest.Text(r))
	}

	// After the deadline: a tap is refused politely and changes nothing; the form is
	// read-only and refuses a post.
	if _, err := w.App.Pool().Exec(ctx, `UPDATE survey SET deadline = now() - interval '1 minute' WHERE id = $1`, id); err != nil {
		t.Fatal(err)
	}
	before = units(t, w, id)
	tapLabel(t, w, tanaka, tanakaButtons, "参加")
	apptest.WaitBotText(t, w, tanaka.ID, "このアンケートは締め切りました。", 1)
	if after := units(t, w, id); after != before {
		t.Errorf("a tap after the deadline changed the answers: %s → %s", before, after)
	}
	if n := countBot(w, tanaka.ID, "で受け付けました"); n != 3 {
		t.Errorf("tanaka's confirmations: %d, want 3", n)
	}
	r = b.Get(link)
	if r.Status != http.StatusOK || !strings.Contains(r.Body, "このアンケートは締め切りました。回答の内容は") || strings.Contains(r.Body, `name="op"`) ||
		!strings.Contains(apptest.Text(r), "参加") || !strings.Contains(apptest.Text(r), "不参加") {
		t.Errorf("closed form: %d %s", r.Status, apptest.Text(r))
	}
	r = b.Post(link, url.Values{"op": {"send"}, aoiField: {"c2"}, soraField: {"c1"}})
	if r.Status != http.StatusUnprocessableEntity || !strings.Contains(r.Body, "締め切りました") {
		t.Errorf("post after the deadline: %d %s", r.Status, apptest.Text(r))
	}
	if after := units(t, w, id); after != before {
		t.Errorf("a post after the deadline changed the answers: %s → %s", before, after)
	}

	// A per-family question is answered once for the family: the confirmation names no
	// child.
	fam := survey.Compose{Kind: survey.KindSurvey, Audience: att.Audience, Title: "引き取り訓練", Deadline: time.Now().Add(48 * time.Hour),
		Questions: []survey.Question{{Kind: survey.Single, Text: "お迎えの方法", Required: true, Choices: []survey.Choice{{Label: "徒歩"}, {Label: "車"}}}}}
	id2, err := s.Surveys.Create(tannin, fam, "1年1組")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Surveys.Send(tannin, id2, false); err != nil {
		t.Fatal(err)
	}
	items = apptest.WaitBotText(t, w, kimura.ID, "お迎えの方法", 1)
	var famButtons []linesim.Action
	for _, it := range items {
		if it.From == linesim.FromBot && it.Text == "お迎えの方法" {
			famButtons = it.Actions
		}
	}
	tapLabel(t, w, kimura, famButtons, "車")
	apptest.WaitBotText(t, w, kimura.ID, "『車』で受け付けました。回答期限（", 1)
	if n := countBot(w, kimura.ID, "さん：『車』"); n != 0 {
		t.Error("a family answer's confirmation names a child")
	}
	if n := apptest.Count(t, w, `SELECT count(*) FROM survey_unit WHERE survey_id = $1 AND answered_at IS NOT NULL AND guardian_id IS NOT NULL`, id2); n != 1 {
		t.Errorf("family answers: %d, want 1", n)
	}
}
