package retention_test

import (
	"context"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/renraku/renraku/internal/announce"
	"github.com/renraku/renraku/internal/apptest"
	"github.com/renraku/renraku/internal/demo"
	"github.com/renraku/renraku/internal/school"
	"github.com/renraku/renraku/internal/survey"
)

// TestRetentionSurveys: surveys' answers are a category of their own on the board's
// retention page (アンケートの回答, 365 days by default), edited with the same checks
// and audit as the other periods. The dry run counts the surveys whose deadline is
// older than the period, their answers and handouts; the run deletes them with their
// units, answers, recipients and handout files (a recent survey stays), writes
// deletion records with counts only, and the 消去証明書 has the surveys' line.
func TestRetentionSurveys(t *testing.T) {
	t.Parallel()
	w, logins := apptest.StartDemoWorld(t)
	s := w.App.Services()
	ctx := context.Background()
	apptest.CityFamilies(t, w, 2, false)
	sakuraID, class11, _ := apptest.SchoolAndClass(t, w, demo.Schools[0].Name, "1年1組")
	guardians, children := apptest.FamilyChildren(t, w)
	tannin := apptest.SignedInAs(t, w, "sakura.tannin11")
	attendance := func(title string, files []announce.Upload) survey.Compose {
		return survey.Compose{Kind: survey.KindAttendance, Audience: survey.Audience{SchoolID: sakuraID, Classes: []int64{class11}},
			Title: title, Body: "出欠をお知らせください。", PerChild: true, Deadline: time.Now().Add(72 * time.Hour), Files: files,
			Questions: survey.AttendanceQuestions(func(id string) string { return s.Registration.T("ja", id, nil) }, false, false)}
	}
	// Last year's survey, sent, answered, with a handout: its deadline 400 days ago.
	old, err := s.Surveys.Create(tannin, attendance("昨年度の授業参観", []announce.Upload{{Name: "案内.pdf", Data: apptest.SamplePDF("昨年度の案内")}}), "1年1組")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Surveys.Send(tannin, old, false); err != nil {
		t.Fatal(err)
	}
	apptest.WaitSurveySent(t, w, old)
	apptest.SeedSurveyAnswer(t, w, apptest.SurveyUnit(t, w, old, children[0], 0), guardians[0], survey.Answers{"q1": {Choices: []string{"c1"}}})
	var oldKey string
	if err := s.Pool.QueryRow(ctx, `SELECT storage_key FROM survey_handout WHERE survey_id = $1`, old).Scan(&oldKey); err != nil {
		t.Fatal(err)
	}
	// A draft whose deadline passed 300 days ago (kept for 365 days, not for 200), and
	// this year's survey.
	older, err := s.Surveys.Create(tannin, attendance("下書きのまま", nil), "1年1組")
	if err != nil {
		t.Fatal(err)
	}
	recent, err := s.Surveys.Create(tannin, attendance("今年度の授業参観", nil), "1年1組")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Pool.Exec(ctx, `UPDATE survey SET deadline = now() - make_interval(days => CASE id WHEN $1 THEN 400 ELSE 300 END) WHERE id IN ($1, $2)`, old, older); err != nil {
		t.Fatal(err)
	}

	admin := apptest.NewStaffClientSignedIn(t, w, logins, "midori.kyoiku")
	page := admin.Get("/admin/board/retention")
	if page.Status != http.StatusOK {
		t.Fatalf("retention page: %d", page.Status)
	}
	if v, _ := page.Doc.Find(`input[name="survey_days"]`).Attr("value"); v != "365" || !strings.Contains(page.Doc.Find(`label[for="f-survey_days"]`).Text(), "アンケートの回答") {
		t.Fatalf("the surveys' period field: %q %q", v, page.Doc.Find(`label[for="f-survey_days"]`).Text())
	}
	preview := func(r apptest.Response) map[string]string {
		out := map[string]string{}
		for _, c := range []string{"survey", "survey_answer", "survey_handout"} {
			out[c] = strings.TrimSpace(r.Doc.Find(`[data-testid="preview-` + c + `"]`).Text())
		}
		return out
	}
	if got := preview(page); got["survey"] != "1" || got["survey_answer"] != "1" || got["survey_handout"] != "1" {
		t.Fatalf("dry run at 365 days: %v", got)
	}
	if !strings.Contains(page.Doc.Find(`[data-testid="retention-preview"]`).Text(), "アンケート・出欠確認") {
		t.Error("the dry run does not name surveys")
	}

	// The same checks as the other periods: 30 to 3650 days.
	policy := func(days string) url.Values {
		return url.Values{"message_days": {"730"}, "absence_days": {"730"}, "announcement_days": {"730"}, "survey_days": {days}, "delete_on_leave": {"on"}}
	}
	for _, bad := range []string{"29", "3651", "", "一年"} {
		r := admin.Post("/admin/board/retention", policy(bad))
		if r.Status != http.StatusUnprocessableEntity || r.Doc.Find(`[data-testid="error-survey_days"]`).Length() != 1 {
			t.Errorf("survey_days %q: %d", bad, r.Status)
		}
	}
	if v, _ := admin.Get("/admin/board/retention").Doc.Find(`input[name="survey_days"]`).Attr("value"); v != "365" {
		t.Errorf("after refused periods the page reads %q", v)
	}
	if r := admin.Post("/admin/board/retention", policy("200")); r.Status != http.StatusSeeOther {
		t.Fatalf("saving 200 days: %d", r.Status)
	}
	if n := apptest.Count(t, w, `SELECT count(*) FROM audit_event WHERE action = 'retention.policy' AND (detail->>'survey_days')::int = 200`); n != 1 {
		t.Errorf("%d audit events of the surveys' period", n)
	}
	page = admin.Get("/admin/board/retention")
	if v, _ := page.Doc.Find(`input[name="survey_days"]`).Attr("value"); v != "200" {
		t.Errorf("the saved period reads %q", v)
	}
	if got := preview(page); got["survey"] != "2" || got["survey_answer"] != "1" || got["survey_handout"] != "1" {
		t.Fatalf("dry run at 200 days: %v", got)
	}
	if n := apptest.Count(t, w, `SELECT count(*) FROM survey`); n != 3 {
		t.Fatalf("the dry run deleted surveys: %d left", n)
	}

	// The nightly run deletes them with everything that hangs on them.
	if _, err := s.Retention.Apply(ctx, w.Ch.BoardID, false); err != nil {
		t.Fatal(err)
	}
	if n := apptest.Count(t, w, `SELECT count(*) FROM survey WHERE id = ANY($1)`, []int64{old, older}); n != 0 {
		t.Fatal("expired surveys are still stored")
	}
	if n := apptest.Count(t, w, `SELECT count(*) FROM survey WHERE id = $1`, recent); n != 1 {
		t.Fatal("this year's survey was deleted")
	}
	for _, table := range []string{"survey_unit", "survey_recipient", "survey_handout"} {
		if n := apptest.Count(t, w, `SELECT count(*) FROM `+table+` WHERE survey_id = $1`, old); n != 0 {
			t.Errorf("%d rows of %s outlived their survey", n, table)
		}
	}
	if n := apptest.Count(t, w, `SELECT count(*) FROM file_blob WHERE key = $1`, oldKey); n != 0 {
		t.Error("the expired survey's handout file is still stored")
	}
	for cat, want := range map[string]int{"survey": 2, "survey_answer": 1, "survey_handout": 1} {
		if n := apptest.Count(t, w, `SELECT COALESCE(sum(count), 0) FROM deletion_record WHERE category = $1 AND reason = 'retention'
			AND policy = 'survey_days=200' AND actor = 'system'`, cat); n != want {
			t.Errorf("deletion records of %s: %d, want %d", cat, n, want)
		}
	}
	if again, err := s.Retention.Apply(ctx, w.Ch.BoardID, true); err != nil || total(again) != 0 {
		t.Errorf("after the run, a dry run finds %v %v", again, err)
	}

	// The certificate has the surveys' line, with its period.
	today := time.Now().In(school.Tokyo).Format("2006-01-02")
	cert := admin.Get("/admin/board/retention/certificate?from=" + today + "&to=" + today)
	if cert.Status != http.StatusOK || !strings.HasPrefix(cert.Body, "%PDF-") {
		t.Fatalf("certificate: %d", cert.Status)
	}
	path := filepath.Join(t.TempDir(), "certificate.pdf")
	if err := os.WriteFile(path, []byte(cert.Body), 0o600); err != nil {
		t.Fatal(err)
	}
	text, err := exec.Command("pdftotext", "-raw", "-enc", "UTF-8", path, "-").Output()
	if err != nil {
		t.Fatalf("pdftotext: %v", err)
	}
	got := strings.Join(strings.Fields(string(text)), "")
	for _, want := range []string{"アンケート・出欠確認", "アンケートの回答", "アンケートの配布プリント（PDF）", "保存期間200日"} {
		if !strings.Contains(got, want) {
			t.Errorf("the certificate lacks %q: %s", want, text)
		}
	}
}
