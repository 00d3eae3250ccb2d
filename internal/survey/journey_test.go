package survey_test

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/renraku/renraku/internal/apptest"
	"github.com/renraku/renraku/internal/browsertest"
	"github.com/renraku/renraku/internal/demo"
	"github.com/renraku/renraku/internal/line"
	"github.com/renraku/renraku/internal/school"
	"github.com/renraku/renraku/internal/survey"
)

// TestAttendanceCheckJourney is issue 19's journey in one piece, as people do it: the
// homeroom teacher creates a per-child attendance check for 1年1組 on the staff pages
// and sends it; a parent with two children answers one by a tap in LINE and the other
// on the page; another parent changes an answer with a second tap; the teacher sees the
// chart and who has not answered in Chromium, and downloads the CSV; the reminder
// reaches only the family that has not answered; after the deadline a tap is refused
// and changes nothing.
func TestAttendanceCheckJourney(t *testing.T) {
	t.Parallel()
	browsertest.RequireJapaneseFont(t)
	w := apptest.StartLineWorld(t)
	s := w.App.Services()
	if _, err := demo.SeedStaff(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	sakuraID, class11, _ := apptest.SchoolAndClass(t, w, demo.Schools[0].Name, "1年1組")
	code := apptest.ClassCodes(t, w, sakuraID)
	kimura := twins(t, w, sakuraID, class11, code[class11])
	tanaka, _ := apptest.RegisteredParent(t, w, "田中 直子", "田中 大輝", code[class11])
	suzuki := parentIn(t, w, sakuraID, class11, code[class11], "鈴木 良子", "鈴木 花")

	// The teacher creates and sends it on the staff pages.
	tannin := apptest.NewStaffClient(t, w.App.URL())
	tannin.SignIn("sakura.tannin11", demo.Password)
	deadline := time.Now().In(school.Tokyo).AddDate(0, 0, 3).Format("2006-01-02")
	r := tannin.ComposeTo("/staff/surveys", url.Values{"kind": {"attendance"}, "class": {apptest.Itoa(class11)}, "title": {"授業参観"},
		"body": {"12月15日（火）2時間目に授業参観を行います。"}, "deadline_date": {deadline}, "deadline_time": {"17:00"}, "unit": {"child"},
		"questions": {"5"}}, nil)
	if r.Status != http.StatusSeeOther || !strings.HasSuffix(r.Location, "/preview") {
		t.Fatalf("create: %d %s", r.Status, apptest.Text(r))
	}
	path := strings.TrimSuffix(r.Location, "/preview")
	id, err := strconv.ParseInt(strings.TrimPrefix(path, "/staff/surveys/"), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	if r := tannin.Post(path+"/send", nil); r.Status != http.StatusSeeOther {
		t.Fatalf("send: %d %s", r.Status, apptest.Text(r))
	}

	// 木村: あおい by a tap, そら on the page.
	items := apptest.WaitBotText(t, w, kimura.ID, "木村 そらさん", 1)
	aoi, sora := buttonsFor(t, items, "木村 あおい"), buttonsFor(t, items, "木村 そら")
	tapLabel(t, w, kimura, aoi, "参加")
	apptest.WaitBotText(t, w, kimura.ID, "木村 あおいさん：『参加』で受け付けました。", 1)
	postback(t, w, kimura, line.PostbackData("survey.open", apptest.Itoa(id)))
	link := apptest.LinkIn(t, w, kimura.ID, "回答ページを開いてください", 1)
	b := apptest.NewParentBrowser(t)
	b.Get(link)
	soraField := survey.UnitField(unitOf(t, sora[0]), "q1")
	if r := b.Post(link, url.Values{"op": {"send"}, survey.UnitField(unitOf(t, aoi[0]), "q1"): {"c1"}, soraField: {"c2"}}); r.Status != http.StatusOK ||
		!strings.Contains(r.Body, "回答を送信しました") {
		t.Fatalf("the form: %d %s", r.Status, apptest.Text(r))
	}

	// 田中: 参加, then 不参加.
	tb := buttonsFor(t, apptest.WaitBotText(t, w, tanaka.ID, "田中 大輝さん", 1), "田中 大輝")
	tapLabel(t, w, tanaka, tb, "参加")
	apptest.WaitBotText(t, w, tanaka.ID, "『参加』で受け付けました。", 1)
	tapLabel(t, w, tanaka, tb, "不参加")
	apptest.WaitBotText(t, w, tanaka.ID, "『不参加』で受け付けました。", 1)
	suzukiButtons := buttonsFor(t, apptest.WaitBotText(t, w, suzuki.ID, "鈴木 花さん", 1), "鈴木 花")

	// The teacher's results page in Chromium: 参加 1 (あおい), 不参加 2 (そら, 大輝), and
	// 鈴木 花 not answered.
	bw := browsertest.New(t, 1280, 900)
	err = chromedp.Do(bw,
		chromedp.Navigate(w.App.URL()+"/staff/login"),
		chromedp.SendKeys(chromedp.CSS(`#f-login`), "sakura.tannin11"),
		chromedp.SendKeys(chromedp.CSS(`#f-password`), demo.Password),
		chromedp.Click(chromedp.CSS(`[data-testid="signin-submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="staff-home"]`)),
		chromedp.Navigate(w.App.URL()+path),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="survey-results"]`)),
		chromedp.WaitReady(chromedp.CSS(`[data-question="q1"] g[data-key="c1"][data-count="1"]`)),
		chromedp.WaitReady(chromedp.CSS(`[data-question="q1"] g[data-key="c2"][data-count="2"]`)),
	)
	if err != nil {
		t.Fatal(err)
	}
	browsertest.Screenshot(t, bw, "survey-journey-results")
	pending, err := chromedp.Run(bw, chromedp.Text(chromedp.CSS(`[data-testid="pending"]`)))
	if err != nil || !strings.Contains(pending, "鈴木 花") || strings.Contains(pending, "木村") || strings.Contains(pending, "田中") {
		t.Errorf("not answered: %q %v", pending, err)
	}
	page, err := chromedp.Run(bw, chromedp.Text(chromedp.CSS(`body`)))
	if err != nil || strings.Contains(page, "のLINE") {
		t.Errorf("the results page shows a LINE name (%v)", err)
	}

	// The CSV: one row per child, with the answers.
	csv := tannin.Get(path + "/export.csv?encoding=utf8")
	if csv.Status != http.StatusOK || !strings.HasPrefix(csv.Body, "\xEF\xBB\xBF") {
		t.Fatalf("csv: %d", csv.Status)
	}
	for _, want := range []string{"木村 あおい", "参加", "木村 そら", "不参加", "田中 大輝", "鈴木 花"} {
		if !strings.Contains(csv.Body, want) {
			t.Errorf("the CSV lacks %q:\n%s", want, csv.Body)
		}
	}

	// The reminder reaches only 鈴木.
	if r := tannin.Post(path+"/remind", url.Values{"op": {"send"}}); r.Status != http.StatusSeeOther {
		t.Fatalf("remind: %d %s", r.Status, apptest.Text(r))
	}
	apptest.WaitBotText(t, w, suzuki.ID, "【再送】", 1)
	apptest.WaitRows(t, w, `SELECT count(*) FROM line_outbound WHERE state = 'queued'`)
	for _, u := range []string{kimura.ID, tanaka.ID} {
		if n := apptest.Received(w, u, "【再送】"); n != 0 {
			t.Errorf("a family that answered was reminded (%d)", n)
		}
	}

	// After the deadline a tap is refused and changes nothing.
	if _, err := w.App.Pool().Exec(context.Background(), `UPDATE survey SET deadline = now() - interval '1 minute' WHERE id = $1`, id); err != nil {
		t.Fatal(err)
	}
	before := units(t, w, id)
	tapLabel(t, w, suzuki, suzukiButtons, "参加")
	apptest.WaitBotText(t, w, suzuki.ID, "このアンケートは締め切りました。", 1)
	if after := units(t, w, id); after != before {
		t.Errorf("a tap after the deadline changed the answers: %s → %s", before, after)
	}
}
