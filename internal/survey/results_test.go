package survey_test

import (
	"bytes"
	"context"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"golang.org/x/text/encoding/japanese"

	"github.com/renraku/renraku/internal/app"
	"github.com/renraku/renraku/internal/apptest"
	"github.com/renraku/renraku/internal/csvexport"
	"github.com/renraku/renraku/internal/demo"
	"github.com/renraku/renraku/internal/linesim"
	"github.com/renraku/renraku/internal/live"
	"github.com/renraku/renraku/internal/survey"
)

// resultsWorld is Sakura's 1年1組 with the Kimura twins (one LINE account, 木村のLINE),
// 田中 大輝, and 鈴木 花 of 1年2組.
type resultsWorld struct {
	w                *apptest.LineWorld
	s                *app.Services
	sakuraID         int64
	class11, class12 int64
	kimura, tanaka   linesim.User
	suzuki           linesim.User
	tannin, admin    context.Context
	deadline         time.Time
	attendance       survey.Compose
}

func newResultsWorld(t *testing.T) *resultsWorld {
	t.Helper()
	w := apptest.StartLineWorld(t)
	s := w.App.Services()
	if _, err := demo.SeedStaff(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	rw := &resultsWorld{w: w, s: s}
	rw.sakuraID, rw.class11, _ = apptest.SchoolAndClass(t, w, demo.Schools[0].Name, "1年1組")
	_, rw.class12, _ = apptest.SchoolAndClass(t, w, demo.Schools[0].Name, "1年2組")
	code := apptest.ClassCodes(t, w, rw.sakuraID)
	rw.kimura = twins(t, w, rw.sakuraID, rw.class11, code[rw.class11])
	rw.tanaka, _ = apptest.RegisteredParent(t, w, "田中 直子", "田中 大輝", code[rw.class11])
	rw.suzuki = parentIn(t, w, rw.sakuraID, rw.class12, code[rw.class12], "鈴木 良子", "鈴木 花")
	rw.tannin = apptest.SignedInAs(t, w, "sakura.tannin11")
	rw.admin = apptest.SignedInAs(t, w, "sakura.kocho")
	rw.deadline = time.Now().Add(72 * time.Hour)
	rw.attendance = survey.Compose{Kind: survey.KindAttendance, Audience: survey.Audience{SchoolID: rw.sakuraID, Classes: []int64{rw.class11}},
		Title: "授業参観", PerChild: true, Deadline: rw.deadline, Questions: []survey.Question{
			{Kind: survey.Single, Text: "出欠", Required: true, Choices: []survey.Choice{{Label: "参加"}, {Label: "不参加"}}},
			{Kind: survey.Short, Text: "ひとこと"}}}
	return rw
}

// send creates and sends a survey as ctx's person and waits until it is sent.
func (rw *resultsWorld) send(t *testing.T, ctx context.Context, c survey.Compose, label string) int64 {
	t.Helper()
	id, err := rw.s.Surveys.Create(ctx, c, label)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rw.s.Surveys.Send(ctx, id, true); err != nil {
		t.Fatal(err)
	}
	apptest.WaitRows(t, rw.w, `SELECT count(*) FROM survey WHERE id = `+apptest.Itoa(id)+` AND state <> 'sent'`)
	return id
}

// answer stores the answers of the unit of child (or, per family, of the guardian
// with nickname) as the store does for a parent, and tells open pages, as answering
// does.
func (rw *resultsWorld) answer(t *testing.T, surveyID int64, who string, a survey.Answers) {
	t.Helper()
	s := rw.s.Surveys
	err := s.Tx.InTx(context.Background(), func(ctx context.Context) error {
		sv, err := s.Store.FindSurvey(ctx, surveyID)
		if err != nil {
			return err
		}
		units, err := s.Store.FindResultUnits(ctx, surveyID, 0)
		if err != nil {
			return err
		}
		for _, u := range units {
			if u.Child() == who || (u.ChildID == 0 && u.Nickname().Reveal() == who) {
				if err := s.Store.SaveAnswers(ctx, u.ID, a, u.GuardianIDs[0], time.Now()); err != nil {
					return err
				}
				if err := s.Store.MarkFirstAnswer(ctx, surveyID, time.Now()); err != nil {
					return err
				}
				return s.Live.Publish(ctx, live.Event{Kind: live.SurveyAnswer, Board: sv.BoardID, School: u.SchoolID, Class: u.ClassID, Survey: surveyID})
			}
		}
		t.Fatalf("no unit of %s", who)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func choice(k string) survey.Value { return survey.Value{Choices: []string{k}} }

func staffClient(t *testing.T, rw *resultsWorld, login string) *apptest.StaffClient {
	t.Helper()
	c := apptest.NewStaffClient(t, rw.w.App.URL())
	c.SignIn(login, demo.Password)
	return c
}

// TestResultsShowAnswersByDutyUnderNicknames: the homeroom teacher's results page has
// the chart's counts, the counts by class, each child's answers under the guardian's
// nickname (never the LINE name), text escaped, and who has not answered; teachers of
// other duties get nothing; every view is audited without personal data.
func TestResultsShowAnswersByDutyUnderNicknames(t *testing.T) {
	t.Parallel()
	rw := newResultsWorld(t)
	id := rw.send(t, rw.tannin, rw.attendance, "1年1組")
	rw.answer(t, id, "木村 あおい", survey.Answers{"q1": choice("c1"), "q2": {Text: "=SUM(A1)"}})
	rw.answer(t, id, "田中 大輝", survey.Answers{"q1": choice("c2"), "q2": {Text: "<b>風邪</b>"}})

	c := staffClient(t, rw, "sakura.tannin11")
	path := "/staff/surveys/" + apptest.Itoa(id)
	r := c.Get(path)
	if r.Status != http.StatusOK {
		t.Fatalf("results: %d %s", r.Status, apptest.Text(r))
	}
	bar := func(r apptest.Response, key string) string {
		return r.Doc.Find(`[data-testid="question-result"][data-question="q1"] [data-testid="bar"][data-key="`+key+`"]`).AttrOr("data-count", "")
	}
	if bar(r, "c1") != "1" || bar(r, "c2") != "1" {
		t.Errorf("chart: 参加 %q 不参加 %q", bar(r, "c1"), bar(r, "c2"))
	}
	if n := r.Doc.Find(`svg[data-testid="chart"] rect`).Length(); n < 3 {
		t.Errorf("the chart has %d bars drawn", n)
	}
	var cells []string
	r.Doc.Find(`[data-testid="class-row"]`).Children().Each(func(_ int, c *goquery.Selection) {
		cells = append(cells, strings.Join(strings.Fields(c.Text()), " "))
	})
	row := strings.Join(cells, "|")
	if row != "1年1組|2 / 3|1|1" {
		t.Errorf("class row: %q", row)
	}
	answers := r.Doc.Find(`[data-testid="answers"]`).Text()
	for _, want := range []string{"木村 恵", "木村 あおい", "田中 直子", "田中 大輝", "参加", "=SUM(A1)", "<b>風邪</b>"} {
		if !strings.Contains(answers, want) {
			t.Errorf("answers lack %q: %s", want, answers)
		}
	}
	if strings.Contains(r.Body, "<b>風邪") || !strings.Contains(r.Body, "&lt;b&gt;風邪") {
		t.Error("a text answer is not escaped")
	}
	pending := r.Doc.Find(`[data-testid="pending-row"]`)
	if pending.Length() != 1 || !strings.Contains(pending.Text(), "木村 そら") || !strings.Contains(pending.Text(), "木村 恵") {
		t.Errorf("pending: %q", pending.Text())
	}
	for _, line := range []string{"木村のLINE", "田中 直子のLINE", rw.kimura.ID, rw.tanaka.ID} {
		if strings.Contains(r.Body, line) {
			t.Errorf("the page shows the LINE identity %q", line)
		}
	}
	if frag := c.Get(path + "/units"); frag.Status != http.StatusOK || !strings.Contains(frag.Body, `id="survey-results"`) || strings.Contains(frag.Body, "<html") {
		t.Errorf("fragment: %d", frag.Status)
	}

	// Teachers of other duties: the survey does not exist for them.
	for _, login := range []string{"sakura.komon", "sakura.jimu"} {
		if r := staffClient(t, rw, login).Get(path); r.Status != http.StatusNotFound {
			t.Errorf("%s: %d", login, r.Status)
		}
	}
	// The board's administrator sees everything.
	board := apptest.SignedInAs(t, rw.w, "midori.kyoiku")
	res, err := rw.s.Surveys.OpenResults(board, id)
	if err != nil || len(res.Answers) != 2 || len(res.Pending) != 1 {
		t.Errorf("board: %d answers %d pending (%v)", len(res.Answers), len(res.Pending), err)
	}

	// A draft's results are its preview.
	draft, err := rw.s.Surveys.Create(rw.tannin, rw.attendance, "1年1組")
	if err != nil {
		t.Fatal(err)
	}
	if r := c.Get("/staff/surveys/" + apptest.Itoa(draft)); r.Status != http.StatusSeeOther || r.Location != "/staff/surveys/"+apptest.Itoa(draft)+"/preview" {
		t.Errorf("draft: %d %q", r.Status, r.Location)
	}

	if n := apptest.Count(t, rw.w, `SELECT count(*) FROM audit_event WHERE action = 'survey.view_answers' AND object_id = $1
		AND (detail->>'answers')::int = 2 AND (detail->>'pending')::int = 1`, apptest.Itoa(id)); n < 2 {
		t.Errorf("views audited: %d", n)
	}
	if n := apptest.Count(t, rw.w, `SELECT count(*) FROM audit_event WHERE action LIKE 'survey.%' AND (detail::text LIKE '%木村%' OR detail::text LIKE '%SUM%')`); n != 0 {
		t.Errorf("%d audit records carry personal data", n)
	}
}

// TestAdvisorSeesClubAnswersUnlessSensitive: an advisor sees the answers of their
// club's children to a survey sent to the club; to a sensitive one (a consent question)
// only its figures.
func TestAdvisorSeesClubAnswersUnlessSensitive(t *testing.T) {
	t.Parallel()
	rw := newResultsWorld(t)
	var clubID int64
	if err := rw.w.App.Pool().QueryRow(context.Background(), `SELECT id FROM club WHERE school_id = $1 AND name = 'サッカークラブ'`, rw.sakuraID).Scan(&clubID); err != nil {
		t.Fatal(err)
	}
	// 田中 大輝 joins the club (found through a survey of the class).
	var childID int64
	class := rw.send(t, rw.tannin, rw.attendance, "1年1組")
	err := rw.s.Surveys.Tx.InTx(context.Background(), func(ctx context.Context) error {
		units, err := rw.s.Surveys.Store.FindResultUnits(ctx, class, 0)
		for _, u := range units {
			if u.Child() == "田中 大輝" {
				childID = u.ChildID
			}
		}
		return err
	})
	if err != nil || childID == 0 {
		t.Fatalf("child: %v", err)
	}
	if _, err := rw.w.App.Pool().Exec(context.Background(), `INSERT INTO child_club (child_id, club_id) VALUES ($1, $2)`, childID, clubID); err != nil {
		t.Fatal(err)
	}
	komon := apptest.SignedInAs(t, rw.w, "sakura.komon")
	club := survey.Compose{Kind: survey.KindSurvey, Audience: survey.Audience{SchoolID: rw.sakuraID, Clubs: []int64{clubID}}, Title: "遠征の送迎",
		PerChild: true, Deadline: rw.deadline, Questions: []survey.Question{{Kind: survey.Number, Text: "送迎できる人数", Unit: "人"}}}
	open := rw.send(t, komon, club, "サッカークラブ")
	rw.answer(t, open, "田中 大輝", survey.Answers{"q1": {Number: ptr(int64(3))}})
	res, err := rw.s.Surveys.OpenResults(komon, open)
	if err != nil || len(res.Answers) != 1 || res.Questions[0].Total != 3 {
		t.Fatalf("advisor, club survey: %+v %v", res.Answers, err)
	}

	club.Title = "遠征の同意書"
	club.Questions = []survey.Question{{Kind: survey.Consent, Text: "同意書", ConsentText: "持病がある場合はお知らせください。"}}
	sensitive := rw.send(t, komon, club, "サッカークラブ")
	rw.answer(t, sensitive, "田中 大輝", survey.Answers{"q1": {Agreed: true}})
	res, err = rw.s.Surveys.OpenResults(komon, sensitive)
	if err != nil || len(res.Answers) != 0 || res.Answered != 1 || res.Questions[0].Agreed != 1 {
		t.Errorf("advisor, sensitive survey: %d answers, %d answered, %+v (%v)", len(res.Answers), res.Answered, res.Questions, err)
	}
	if _, err := rw.s.Surveys.Export(komon, sensitive, "ja", csvexport.UTF8BOM); err != nil {
		t.Fatal(err)
	}
	// The child's homeroom teacher cannot address the club: the survey is not theirs.
	if _, err := rw.s.Surveys.OpenResults(rw.tannin, sensitive); err == nil {
		t.Error("the homeroom teacher opened the club's survey")
	}
	// The administrator sees the sensitive answers.
	if res, err := rw.s.Surveys.OpenResults(rw.admin, sensitive); err != nil || len(res.Answers) != 1 {
		t.Errorf("administrator: %d answers (%v)", len(res.Answers), err)
	}
}

func ptr[T any](v T) *T { return &v }

// TestRemindReachesOnlyThoseNotAnswered: a reminder reaches only the guardians of
// children not answered, about those children only; staff may remind twice; the
// automatic reminder goes out once, and not at all for a survey sent less than a day
// before its deadline.
func TestRemindReachesOnlyThoseNotAnswered(t *testing.T) {
	t.Parallel()
	rw := newResultsWorld(t)
	att := rw.attendance
	att.Questions = att.Questions[:1] // one tap
	id := rw.send(t, rw.tannin, att, "1年1組")
	rw.answer(t, id, "木村 あおい", survey.Answers{"q1": choice("c1")})
	rw.answer(t, id, "田中 大輝", survey.Answers{"q1": choice("c2")})

	c := staffClient(t, rw, "sakura.tannin11")
	path := "/staff/surveys/" + apptest.Itoa(id)
	// The survey's own messages reach 木村 first (both children asked), so the
	// reminder's come after them in the chat.
	apptest.WaitBotText(t, rw.w, rw.kimura.ID, "さん\n出欠", 2)
	r := c.Post(path+"/remind", nil)
	if r.Status != http.StatusOK || strings.TrimSpace(r.Doc.Find(`[data-testid="remind-count"]`).Text()) == "" ||
		!strings.Contains(r.Doc.Find(`[data-testid="remind-count"]`).Text(), "1人") || !strings.Contains(r.Body, "【再送】") {
		t.Fatalf("confirmation: %d %s", r.Status, apptest.Text(r))
	}
	if n := apptest.Count(t, rw.w, `SELECT count(*) FROM line_outbound WHERE purpose = 'survey_remind'`); n != 0 {
		t.Fatalf("the confirmation sent %d reminders", n)
	}
	r = c.Post(path+"/remind", url.Values{"op": {"send"}})
	if r.Status != http.StatusSeeOther || r.Location != path {
		t.Fatalf("remind: %d %s", r.Status, apptest.Text(r))
	}
	items := apptest.WaitBotText(t, rw.w, rw.kimura.ID, "【再送】", 1)
	var asked []string
	for _, it := range items {
		if strings.Contains(it.Text, "さん\n出欠") {
			asked = append(asked, it.Text)
		}
	}
	// The twins' first message asked about both; the reminder only about そら.
	if len(asked) != 3 || !strings.Contains(asked[2], "木村 そら") {
		t.Errorf("kimura's buttons: %q", asked)
	}
	// Twice is allowed.
	if n, err := rw.s.Surveys.Remind(rw.tannin, id, true); err != nil || n != 1 {
		t.Fatalf("second reminder: %d %v", n, err)
	}
	apptest.WaitBotText(t, rw.w, rw.kimura.ID, "【再送】", 2)
	if n := apptest.Received(rw.w, rw.tanaka.ID, "【再送】"); n != 0 {
		t.Errorf("tanaka, who answered, was reminded %d times", n)
	}
	if n := apptest.Count(t, rw.w, `SELECT count(*) FROM survey_unit WHERE survey_id = $1 AND reminded_at IS NOT NULL`, id); n != 1 {
		t.Errorf("units reminded: %d", n)
	}
	if n := apptest.Count(t, rw.w, `SELECT count(*) FROM audit_event WHERE action = 'survey.remind' AND object_id = $1`, apptest.Itoa(id)); n != 2 {
		t.Errorf("reminders audited: %d", n)
	}

	// Automatic: a day before the deadline, once.
	auto := att
	auto.Title, auto.AutoRemind = "個人面談", true
	autoID := rw.send(t, rw.tannin, auto, "1年1組")
	late := auto
	late.Title, late.Deadline = "引き取り訓練", time.Now().Add(20*time.Hour)
	lateID := rw.send(t, rw.tannin, late, "1年1組")
	clock := &rw.s.Surveys.Clock
	clock.Set(time.Now().Add(10 * time.Hour)) // within a day of the late one's deadline
	if n, err := rw.s.Surveys.AutoRemind(context.Background()); err != nil || n != 0 {
		t.Errorf("a survey sent less than a day before its deadline: %d %v", n, err)
	}
	clock.Set(rw.deadline.Add(-23 * time.Hour))
	// The periodic job sends it, as River runs it every ten minutes (on a queue that
	// has workers).
	if err := rw.s.Surveys.Tx.InTx(context.Background(), func(ctx context.Context) error {
		_, err := rw.s.LINE.Jobs.Insert(ctx, survey.RemindDueArgs{}, nil)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	apptest.WaitRows(t, rw.w, `SELECT 2 - count(*) FROM survey_recipient WHERE survey_id = `+apptest.Itoa(autoID)+` AND reminded_at IS NOT NULL`)
	if n, err := rw.s.Surveys.AutoRemind(context.Background()); err != nil || n != 0 {
		t.Errorf("automatic reminder again: %d %v", n, err)
	}
	clock.Reset()
	if n := apptest.Count(t, rw.w, `SELECT count(*) FROM survey_recipient WHERE survey_id = $1 AND reminded_at IS NOT NULL`, autoID); n != 2 {
		t.Errorf("automatic reminder reached %d guardians, want both (nobody answered)", n)
	}
	if n := apptest.Count(t, rw.w, `SELECT count(*) FROM survey_recipient WHERE survey_id = $1 AND reminded_at IS NOT NULL`, lateID); n != 0 {
		t.Errorf("the late survey was reminded")
	}
	apptest.WaitBotText(t, rw.w, rw.tanaka.ID, "【再送】", 1)
}

// TestExportAndPrint: the CSV in UTF-8 with a BOM and in Shift_JIS, one row per child,
// formula-safe; the print has one page per class; both are audited.
func TestExportAndPrint(t *testing.T) {
	t.Parallel()
	rw := newResultsWorld(t)
	grade := rw.attendance
	grade.Audience = survey.Audience{SchoolID: rw.sakuraID, Classes: []int64{rw.class11, rw.class12}}
	id := rw.send(t, rw.admin, grade, "1年1組、1年2組")
	rw.answer(t, id, "木村 あおい", survey.Answers{"q1": choice("c1"), "q2": {Text: "=SUM(A1)"}})
	rw.answer(t, id, "鈴木 花", survey.Answers{"q1": choice("c2"), "q2": {Text: "よろしくお願いします"}})

	f, err := rw.s.Surveys.Export(rw.admin, id, "ja", csvexport.UTF8BOM)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(f.Data, []byte("\xEF\xBB\xBF")) {
		t.Error("no BOM")
	}
	text := string(f.Data[3:])
	lines := strings.Split(strings.TrimSpace(text), "\r\n")
	if len(lines) != 5 || lines[0] != "クラス,児童生徒,保護者（呼び名）,回答日時,出欠,ひとこと" {
		t.Fatalf("csv: %q", lines)
	}
	if !strings.Contains(text, "1年1組,木村 あおい,木村 恵,") || !strings.Contains(text, ",参加,'=SUM(A1)") ||
		!strings.Contains(text, "1年2組,鈴木 花,鈴木 良子,") || strings.Contains(text, "のLINE") {
		t.Errorf("csv rows: %s", text)
	}
	sj, err := rw.s.Surveys.Export(rw.admin, id, "ja", csvexport.ShiftJIS)
	if err != nil {
		t.Fatal(err)
	}
	dec, err := japanese.ShiftJIS.NewDecoder().Bytes(sj.Data)
	if err != nil || string(dec) != text {
		t.Errorf("Shift_JIS: %q (%v)", dec, err)
	}
	// The homeroom teacher's download over HTTP has their class only.
	c := staffClient(t, rw, "sakura.tannin11")
	res, err := rw.s.Surveys.OpenResults(rw.tannin, id)
	if err == nil {
		t.Errorf("the teacher of one class opened the grade's survey: %+v", res.Units)
	}
	own := rw.send(t, rw.tannin, rw.attendance, "1年1組")
	rw.answer(t, own, "田中 大輝", survey.Answers{"q1": choice("c1"), "q2": {Text: "@attack"}})
	r := c.Get("/staff/surveys/" + apptest.Itoa(own) + "/export.csv?encoding=sjis")
	if r.Status != http.StatusOK || !strings.Contains(r.Header.Get("Content-Type"), "shift_jis") {
		t.Fatalf("sjis download: %d %v", r.Status, r.Header)
	}
	body, _ := japanese.ShiftJIS.NewDecoder().String(r.Body)
	if !strings.Contains(body, "'@attack") || strings.Count(strings.TrimSpace(body), "\r\n") != 3 {
		t.Errorf("download: %q", body)
	}
	if r := c.Get("/staff/surveys/" + apptest.Itoa(own) + "/export.csv?encoding=utf8"); !strings.HasPrefix(r.Body, "\xEF\xBB\xBF") {
		t.Errorf("utf8 download without a BOM: %q", r.Body[:min(20, len(r.Body))])
	}

	pdf, err := rw.s.Surveys.Print(rw.admin, id, "ja")
	if err != nil {
		t.Fatal(err)
	}
	pages := pdfPages(t, pdf)
	if len(pages) != 2 || !strings.Contains(pages[0], "1年1組") || strings.Contains(pages[0], "1年2組") ||
		!strings.Contains(pages[1], "1年2組") || !strings.Contains(pages[1], "鈴木 花") || !strings.Contains(pages[0], "木村 そら") ||
		!strings.Contains(pages[0], "参加 1") {
		t.Errorf("pages: %q", pages)
	}
	if r := c.Get("/staff/surveys/" + apptest.Itoa(own) + "/print.pdf"); r.Status != http.StatusOK || r.Header.Get("Content-Type") != "application/pdf" {
		t.Errorf("print: %d", r.Status)
	}
	for action, want := range map[string]int{"survey.export": 4, "survey.print": 2} {
		if n := apptest.Count(t, rw.w, `SELECT count(*) FROM audit_event WHERE action = $1`, action); n != want {
			t.Errorf("%s audited %d times, want %d", action, n, want)
		}
	}
	if n := apptest.Count(t, rw.w, `SELECT count(*) FROM audit_event WHERE action = 'survey.export' AND object_id = $1 AND (detail->>'rows')::int = 4`, apptest.Itoa(id)); n != 2 {
		t.Errorf("export rows audited: %d", n)
	}
}

// pdfPages extracts a PDF's text, page by page, with pdftotext.
func pdfPages(t *testing.T, pdf []byte) []string {
	t.Helper()
	if _, err := exec.LookPath("pdftotext"); err != nil {
		t.Fatal("pdftotext is missing: run `make test`, which installs poppler-utils")
	}
	path := filepath.Join(t.TempDir(), "results.pdf")
	if err := os.WriteFile(path, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("pdftotext", "-raw", "-enc", "UTF-8", path, "-").Output()
	if err != nil {
		t.Fatal(err)
	}
	pages := strings.Split(strings.TrimRight(string(out), "\f\n"), "\f")
	return pages
}
