package rollover_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/renraku/renraku/internal/announce"
	"github.com/renraku/renraku/internal/apptest"
	"github.com/renraku/renraku/internal/demo"
	"github.com/renraku/renraku/internal/leaktest"
	"github.com/renraku/renraku/internal/postgres"
	"github.com/renraku/renraku/internal/registration"
	"github.com/renraku/renraku/internal/school"
	"github.com/renraku/renraku/internal/survey"
	"github.com/renraku/renraku/internal/vault"
)

func clubID(t *testing.T, w *apptest.LineWorld, schoolID int64, year int, name string) int64 {
	t.Helper()
	var id int64
	if err := w.App.Services().Pool.QueryRow(context.Background(), `SELECT id FROM club WHERE school_id = $1 AND year = $2 AND name = $3`,
		schoolID, year, name).Scan(&id); err != nil {
		t.Fatalf("club %d %s: %v", year, name, err)
	}
	return id
}

// TestYearRollover is 年度更新 end to end: the administrator copies this year's
// structure into the next, saves the plan (6年 graduates, the switch on the first
// school day), is refused asking parents before February, then asks in March; parents
// confirm through their LINE links (a wrong class is refused and changes nothing); the
// unconfirmed child is listed; the nightly switch on the day makes the new year
// current: graduates' data goes with deletion records, their parents are told, a
// guardian with a younger child stays, confirmed children move, the unconfirmed one is
// placed by default and waits for approval, and an announcement scheduled to last
// year's class is cancelled.
func TestYearRollover(t *testing.T) {
	t.Parallel()
	w, logins := apptest.StartDemoWorld(t)
	s := w.App.Services()
	ctx := context.Background()
	sakura, err := s.Schools.FindSchool(ctx, demo.Schools[0].Name)
	if err != nil {
		t.Fatal(err)
	}
	year := sakura.CurrentYear
	next := year + 1
	users, err := w.Sim.AddFriends(w.Ch.LineChannelID, 5, "ja")
	if err != nil {
		t.Fatal(err)
	}
	// A: 1年1組 (will confirm 2年1組 and a club); B: 6年1組 only (graduates);
	// C: 2年1組 (never confirms); D: 3年1組 and a 6年1組 sibling; E: 1年2組, named
	// like A (never confirms: 2年 has one class next year, where A already is).
	labels := []string{"1年1組", "6年1組", "2年1組", "3年1組", "1年2組"}
	var fams []postgres.Family
	for i, u := range users {
		fams = append(fams, postgres.Family{UserID: u.ID, ChannelID: w.Ch.ID, SchoolID: sakura.ID, ClassID: apptest.ClassID(t, w, sakura.ID, year, labels[i]),
			Nickname: fmt.Sprintf("保護者%c", 'A'+i), ChildName: fmt.Sprintf("児童%c", 'A'+i%4), Verified: true, Following: true})
	}
	if err := postgres.SeedFamilies(ctx, s.Pool, s.Vault, fams); err != nil {
		t.Fatal(err)
	}
	guardians, children := apptest.FamilyChildren(t, w)
	soccer := clubID(t, w, sakura.ID, year, "サッカークラブ")
	if _, err := s.Pool.Exec(ctx, `INSERT INTO child_club (child_id, club_id) VALUES ($1, $2)`, children[0], soccer); err != nil {
		t.Fatal(err)
	}
	var sibling int64
	err = s.Tx.InTx(ctx, func(ctx context.Context) error {
		st := s.Registration.Store
		if sibling, err = st.FindOrCreateChild(ctx, sakura.ID, apptest.ClassID(t, w, sakura.ID, year, "6年1組"), vault.Personal("児童D姉")); err != nil {
			return err
		}
		_, err := st.LinkChild(ctx, guardians[3], sibling, registration.Verified, "code")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	apptest.AddAbsence(t, w, guardians[1], children[1], sakura.ID, apptest.ClassID(t, w, sakura.ID, year, "6年1組"), time.Now())

	kocho := apptest.NewStaffClientSignedIn(t, w, logins, "sakura.kocho")
	steps := apptest.NewSteps(t)
	steps.Use(kocho)
	base := "/admin/schools/" + strconv.FormatInt(sakura.ID, 10) + "/rollover"
	var (
		linkA, linkD                         string
		next21, next31, next41, nextSoccer   int64
		annID                                int64
		surveyDraft, surveySched, surveySent int64
	)
	kochoCtx := apptest.SignedInAs(t, w, "sakura.kocho")
	class11 := apptest.ClassID(t, w, sakura.ID, year, "1年1組")
	// where is the class a child is in now.
	where := func(t *testing.T, child int64) int64 {
		t.Helper()
		var c int64
		if err := s.Pool.QueryRow(ctx, `SELECT class_id FROM child WHERE id = $1`, child).Scan(&c); err != nil {
			t.Fatal(err)
		}
		return c
	}
	steps.Run("the page refuses asking and switching before a plan; the structure is copied", func(t *testing.T) {
		if r := kocho.Get(base); r.Status != http.StatusOK || !strings.Contains(r.Body, strconv.Itoa(next)+"年度への年度更新") {
			t.Fatalf("rollover page: %d", r.Status)
		}
		// Before anything is prepared, asking and switching are refused with the reason.
		if r := kocho.Post(base+"/ask", nil); r.Status != http.StatusConflict || !strings.Contains(r.Body, "卒業する学年と切り替え日を保存") {
			t.Fatalf("asking before a plan: %d", r.Status)
		}
		if r := kocho.Post(base+"/switch", nil); r.Status != http.StatusConflict || !strings.Contains(r.Body, "4月1日から") {
			t.Fatalf("switching in %d: %d", year, r.Status)
		}
		// With no classes next year yet, the children to confirm are flagged (not the
		// graduates).
		if got := kocho.Get(base).Doc.Find(`[data-testid="rollover-no-class"]`).Text(); !strings.Contains(got, "4人") {
			t.Fatalf("children without a class next year: %q", got)
		}
		if r := kocho.Post(base+"/copy", nil); r.Status != http.StatusSeeOther {
			t.Fatalf("copy: %d", r.Status)
		}
		if kocho.Get(base).Doc.Find(`[data-testid="rollover-no-class"]`).Length() != 0 {
			t.Fatal("children are flagged after the copy")
		}
		if n := apptest.Count(t, w, `SELECT count(*) FROM class WHERE school_id = $1 AND year = $2`, sakura.ID, next); n != 7 {
			t.Fatalf("%d classes copied, want 7", n)
		}
		if n := apptest.Count(t, w, `SELECT count(*) FROM club WHERE school_id = $1 AND year = $2`, sakura.ID, next); n != 2 {
			t.Fatalf("%d clubs copied, want 2", n)
		}
		duties := apptest.Count(t, w, `SELECT count(*) FROM staff_assignment WHERE school_id = $1 AND year = $2`, sakura.ID, year)
		if n := apptest.Count(t, w, `SELECT count(*) FROM staff_assignment WHERE school_id = $1 AND year = $2`, sakura.ID, next); n != duties || n == 0 {
			t.Fatalf("%d duties copied, want %d", n, duties)
		}
		kocho.Post(base+"/copy", nil) // again: nothing doubles
		// Next year's duties are edited on the staff page of that year: 佐藤 becomes 3年1組's
		// homeroom teacher.
		sato, err := s.Staff.FindByLogin(ctx, "sakura.tannin11")
		if err != nil {
			t.Fatal(err)
		}
		staffPage := "/admin/staff/" + strconv.FormatInt(sato.ID, 10)
		if r := kocho.Get(staffPage + "?year=" + strconv.Itoa(next)); r.Doc.Find(`select[name="class"] option[value="`+strconv.FormatInt(apptest.ClassID(t, w, sakura.ID, next, "3年1組"), 10)+`"]`).Length() != 1 {
			t.Fatalf("the staff page of %d does not offer its classes", next)
		}
		if r := kocho.Post(staffPage+"/assignments", url.Values{"duty": {"homeroom"}, "class": {strconv.FormatInt(apptest.ClassID(t, w, sakura.ID, next, "3年1組"), 10)},
			"year": {strconv.Itoa(next)}}); r.Status != http.StatusSeeOther {
			t.Fatalf("next year's duty: %d", r.Status)
		}
		if n := apptest.Count(t, w, `SELECT count(*) FROM class WHERE school_id = $1 AND year = $2`, sakura.ID, next); n != 7 {
			t.Fatalf("copying twice made %d classes", n)
		}
	})
	steps.Run("the plan is checked and saved", func(t *testing.T) {
		// The plan: a bad day and no grade are refused.
		if r := kocho.Post(base+"/plan", url.Values{"switch_on": {strconv.Itoa(next) + "-05-06"}}); r.Status != http.StatusUnprocessableEntity ||
			r.Doc.Find(`[data-testid="error-graduating"]`).Length() != 1 || r.Doc.Find(`[data-testid="error-switch_on"]`).Length() != 1 {
			t.Fatalf("a bad plan: %d", r.Status)
		}
		if r := kocho.Post(base+"/plan", url.Values{"graduating": {"5"}, "switch_on": {strconv.Itoa(next) + "-04-06"}}); r.Status != http.StatusUnprocessableEntity ||
			r.Doc.Find(`[data-testid="error-graduating"]`).Length() != 1 {
			t.Fatalf("a plan without the top grade: %d", r.Status)
		}
		switchOn := strconv.Itoa(next) + "-04-06"
		if r := kocho.Post(base+"/plan", url.Values{"graduating": {"6"}, "switch_on": {switchOn}}); r.Status != http.StatusSeeOther {
			t.Fatalf("plan: %d %s", r.Status, string(w.Logs.Bytes()))
		}
	})
	steps.Run("parents are asked from February, not the graduates'", func(t *testing.T) {
		// Before February, parents are not asked yet.
		if r := kocho.Post(base+"/ask", nil); r.Status != http.StatusConflict || !strings.Contains(r.Body, "2月1日から") {
			t.Fatalf("asking in December: %d", r.Status)
		}
		march := time.Date(next, time.March, 2, 10, 0, 0, 0, school.Tokyo)
		s.Rollover.Clock.Set(march)
		if r := kocho.Post(base+"/ask", nil); r.Status != http.StatusSeeOther {
			t.Fatalf("ask: %d %s", r.Status, r.Body)
		}
		linkA = apptest.LinkIn(t, w, users[0].ID, "学年・組と部活動の確認", 1)
		apptest.LinkIn(t, w, users[2].ID, "学年・組と部活動の確認", 1)
		linkD = apptest.LinkIn(t, w, users[3].ID, "学年・組と部活動の確認", 1)
		if apptest.Received(w, users[1].ID, "学年・組と部活動の確認") != 0 {
			t.Fatal("the parent of a graduating child only was asked")
		}
	})
	steps.Run("parents confirm through their links", func(t *testing.T) {
		// A: the page is pre-filled with 2年1組 and the same club of the next year.
		next21, next31, next41 = apptest.ClassID(t, w, sakura.ID, next, "2年1組"), apptest.ClassID(t, w, sakura.ID, next, "3年1組"), apptest.ClassID(t, w, sakura.ID, next, "4年1組")
		nextSoccer = clubID(t, w, sakura.ID, next, "サッカークラブ")
		pa := apptest.NewParentBrowser(t)
		r := pa.Get(linkA)
		if r.Status != http.StatusOK {
			t.Fatalf("A's page: %d", r.Status)
		}
		if got, _ := r.Doc.Find(`[data-testid="rollover-class"] option[selected]`).Attr("value"); got != strconv.FormatInt(next21, 10) {
			t.Fatalf("A's class is pre-filled with %s, want 2年1組 (%d)", got, next21)
		}
		if got, _ := r.Doc.Find(`input[type=checkbox][checked]`).Attr("value"); got != strconv.FormatInt(nextSoccer, 10) {
			t.Fatalf("A's club is pre-filled with %q", got)
		}
		child := strconv.FormatInt(children[0], 10)
		// This year's class is not a choice: refused, nothing stored.
		r = pa.Post(linkA, url.Values{"child": {child}, "class_" + child: {strconv.FormatInt(fams[0].ClassID, 10)}})
		if r.Status != http.StatusUnprocessableEntity || r.Doc.Find(`[data-testid="error-class_`+child+`"]`).Length() != 1 {
			t.Fatalf("a wrong class: %d", r.Status)
		}
		// Nor is a class of another grade next year.
		r = pa.Post(linkA, url.Values{"child": {child}, "class_" + child: {strconv.FormatInt(apptest.ClassID(t, w, sakura.ID, next, "6年1組"), 10)}})
		if r.Status != http.StatusUnprocessableEntity {
			t.Fatalf("a class of another grade: %d", r.Status)
		}
		if n := apptest.Count(t, w, `SELECT count(*) FROM child_next`); n != 0 {
			t.Fatal("a refused choice was stored")
		}
		r = pa.Post(linkA, url.Values{"child": {child}, "class_" + child: {strconv.FormatInt(next21, 10)},
			"clubs_" + child: {strconv.FormatInt(nextSoccer, 10)}})
		if r.Status != http.StatusOK || r.Doc.Find(`[data-testid="rollover-parent-done"]`).Length() != 1 {
			t.Fatalf("A's confirmation: %d", r.Status)
		}
		// D: the graduating sibling has nothing to confirm; the other goes to 4年1組.
		pd := apptest.NewParentBrowser(t)
		r = pd.Get(linkD)
		if r.Doc.Find(`[data-testid="rollover-child"]`).Length() != 2 || r.Doc.Find(`[data-testid="rollover-graduating"]`).Length() != 1 {
			t.Fatalf("D's page lists %d children", r.Doc.Find(`[data-testid="rollover-child"]`).Length())
		}
		child = strconv.FormatInt(children[3], 10)
		nextScience := clubID(t, w, sakura.ID, next, "科学クラブ")
		if r = pd.Post(linkD, url.Values{"child": {child}, "class_" + child: {strconv.FormatInt(next41, 10)},
			"clubs_" + child: {strconv.FormatInt(nextScience, 10)}}); r.Status != http.StatusOK {
			t.Fatalf("D's confirmation: %d", r.Status)
		}
		// Next year's 科学クラブ is dropped after D chose it: the switch leaves it out.
		if _, err := s.Schools.DeleteClub(apptest.SignedInAs(t, w, "sakura.kocho"), nextScience); err != nil {
			t.Fatal(err)
		}
		// The parents' confirmations are in the school's audit log.
		if n := apptest.Count(t, w, `SELECT count(*) FROM audit_event WHERE action = 'rollover.confirm' AND board_id = $1 AND school_id = $2`, sakura.BoardID, sakura.ID); n != 2 {
			t.Fatalf("%d confirmations in the school's audit log", n)
		}
	})
	steps.Run("staff see who has not confirmed and remind them", func(t *testing.T) {
		// Staff see who has not confirmed.
		r := kocho.Get(base)
		if got := r.Doc.Find(`[data-testid="rollover-confirmed"]`).Text(); got != "2" {
			t.Fatalf("confirmed: %q", got)
		}
		if got := r.Doc.Find(`[data-testid="rollover-graduates"]`).Text(); got != "2" {
			t.Fatalf("graduates: %q", got)
		}
		if rows := r.Doc.Find(`[data-testid="rollover-waiting"]`); rows.Length() != 2 || !strings.Contains(rows.Text(), "児童C") || !strings.Contains(rows.Text(), "2年1組") {
			t.Fatalf("waiting: %q", rows.Text())
		}
		// Asking again reminds only C.
		if r := kocho.Post(base+"/ask", nil); r.Status != http.StatusSeeOther {
			t.Fatalf("remind: %d", r.Status)
		}
		apptest.LinkIn(t, w, users[2].ID, "学年・組と部活動の確認", 2)
		if apptest.Received(w, users[0].ID, "学年・組と部活動の確認") != 1 {
			t.Fatal("a parent who confirmed was asked again")
		}
	})
	steps.Run("the nightly job switches on the day", func(t *testing.T) {
		// An announcement scheduled to last year's 1年1組 for after the switch.
		var err error
		annID, err = s.Announce.Create(kochoCtx, announce.Compose{Kind: announce.Notice, Audience: announce.Audience{SchoolID: sakura.ID, Classes: []int64{class11}},
			Title: "遠足のお知らせ", Body: "持ち物", ScheduledAt: time.Now().Add(24 * time.Hour)}, "1年1組")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Announce.Send(kochoCtx, annID, false); err != nil {
			t.Fatal(err)
		}
		// Surveys to last year's classes and grades: a draft, one scheduled for after
		// the switch, and one sent (to 1年1組 and the graduating 6年1組, per child).
		ask := func(title string, a survey.Audience, at time.Time) survey.Compose {
			return survey.Compose{Kind: survey.KindAttendance, Audience: a, Title: title, PerChild: true, ScheduledAt: at,
				Deadline:  time.Now().Add(72 * time.Hour),
				Questions: survey.AttendanceQuestions(func(id string) string { return s.Registration.T("ja", id, nil) }, false, false)}
		}
		if surveyDraft, err = s.Surveys.Create(kochoCtx, ask("遠足の出欠", survey.Audience{SchoolID: sakura.ID, Classes: []int64{class11}}, time.Time{}), "1年1組"); err != nil {
			t.Fatal(err)
		}
		if surveySched, err = s.Surveys.Create(kochoCtx, ask("学年懇談会の出欠", survey.Audience{SchoolID: sakura.ID, Grades: []int{1}}, time.Now().Add(24*time.Hour)), "1年"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Surveys.Send(kochoCtx, surveySched, false); err != nil {
			t.Fatal(err)
		}
		class61 := apptest.ClassID(t, w, sakura.ID, year, "6年1組")
		if surveySent, err = s.Surveys.Create(kochoCtx, ask("授業参観の出欠", survey.Audience{SchoolID: sakura.ID, Classes: []int64{class11, class61}}, time.Time{}), "1年1組・6年1組"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Surveys.Send(kochoCtx, surveySent, false); err != nil {
			t.Fatal(err)
		}
		apptest.WaitSurveySent(t, w, surveySent)
		apptest.SeedSurveyAnswer(t, w, apptest.SurveyUnit(t, w, surveySent, children[1], 0), guardians[1], survey.Answers{"q1": {Choices: []string{"c1"}}})
		apptest.SeedSurveyAnswer(t, w, apptest.SurveyUnit(t, w, surveySent, children[0], 0), guardians[0], survey.Answers{"q1": {Choices: []string{"c2"}}})

		// A's parent reports an absence for the first school day before the switch.
		firstDay := time.Date(next, time.April, 6, 0, 0, 0, 0, school.Tokyo)
		apptest.AddAbsence(t, w, guardians[0], children[0], sakura.ID, fams[0].ClassID, firstDay)

		// The night before the day, nothing happens; on the day, the job switches.
		s.Rollover.Clock.Set(time.Date(next, time.April, 5, 1, 0, 0, 0, school.Tokyo))
		if done, err := s.Rollover.SwitchDue(ctx); err != nil || len(done) != 0 {
			t.Fatalf("switch before the day: %v %v", done, err)
		}
		s.Rollover.Clock.Set(time.Date(next, time.April, 6, 1, 0, 0, 0, school.Tokyo))
		done, err := s.Rollover.SwitchDue(ctx)
		if err != nil {
			t.Fatal(err)
		}
		res := done[sakura.ID]
		if res.Graduated != 2 || res.Moved != 2 || res.Placed != 1 || res.Unplaced != 1 || res.Cancelled != 1 || res.SurveysCancelled != 2 || res.GuardiansEnd != 1 {
			t.Fatalf("switch: %+v", res)
		}
		if again, err := s.Rollover.SwitchDue(ctx); err != nil || len(again) != 0 {
			t.Fatalf("a second run switched again: %v %v", again, err)
		}
	})
	steps.Run("children move, graduates go, parents are told", func(t *testing.T) {
		if n := apptest.Count(t, w, `SELECT current_year FROM school WHERE id = $1`, sakura.ID); n != next {
			t.Fatalf("current year %d, want %d", n, next)
		}
		if where(t, children[0]) != next21 || where(t, children[3]) != next41 || where(t, children[2]) != next31 {
			t.Fatal("children are not in their new classes")
		}
		if where(t, children[4]) != fams[4].ClassID {
			t.Fatal("E, named like A, was not left for staff to place")
		}
		if n := apptest.Count(t, w, `SELECT count(*) FROM child_club WHERE child_id = $1`, children[3]); n != 0 {
			t.Fatal("D joined a club that no longer exists")
		}
		// The administrator places E: 2年1組 already has a 児童A, so that is refused (the
		// reason shown on E's class page); another class of the new year is accepted.
		moveE := "/staff/children/" + strconv.FormatInt(children[4], 10) + "/class"
		oldPage := "/staff/classes/" + strconv.FormatInt(fams[4].ClassID, 10)
		if r := kocho.Post(moveE, url.Values{"class": {strconv.FormatInt(next21, 10)}}); r.Status != http.StatusSeeOther || r.Location != oldPage {
			t.Fatalf("moving E next to A: %d → %q", r.Status, r.Location)
		}
		if r := kocho.Get(oldPage); !strings.Contains(r.Doc.Find(`[data-testid="flash"]`).Text(), "同じ名前") {
			t.Fatalf("the refusal's reason: %q", r.Doc.Find(`[data-testid="flash"]`).Text())
		}
		new12 := apptest.ClassID(t, w, sakura.ID, next, "1年2組")
		if r := kocho.Post(moveE, url.Values{"class": {strconv.FormatInt(new12, 10)}}); r.Status != http.StatusSeeOther {
			t.Fatalf("moving E: %d", r.Status)
		}
		if where(t, children[4]) != new12 {
			t.Fatal("E was not moved")
		}
		if n := apptest.Count(t, w, `SELECT count(*) FROM absence_report WHERE child_id = $1 AND class_id = $2`, children[0], next21); n != 1 {
			t.Fatal("the report for the first school day is not on the new class's list")
		}
		if n := apptest.Count(t, w, `SELECT count(*) FROM child_club WHERE child_id = $1 AND club_id = $2`, children[0], nextSoccer); n != 1 {
			t.Fatal("A's new club is missing")
		}
		if n := apptest.Count(t, w, `SELECT count(*) FROM guardianship WHERE child_id = $1 AND status = 'pending'`, children[2]); n != 1 {
			t.Fatal("the unconfirmed child is not waiting for approval")
		}
		if n := apptest.Count(t, w, `SELECT count(*) FROM guardianship WHERE child_id = $1 AND status = 'verified'`, children[0]); n != 1 {
			t.Fatal("the confirmed child lost their verification")
		}
		if n := apptest.Count(t, w, `SELECT count(*) FROM child WHERE id = ANY($1)`, []int64{children[1], sibling}); n != 0 {
			t.Fatal("graduates are still stored")
		}
		if n := apptest.Count(t, w, `SELECT count(*) FROM guardian WHERE id = $1`, guardians[1]); n != 0 {
			t.Fatal("the graduate's only guardian is still registered")
		}
		if n := apptest.Count(t, w, `SELECT count(*) FROM guardian WHERE id = $1`, guardians[3]); n != 1 {
			t.Fatal("a guardian with a younger child lost their registration")
		}
		for cat, want := range map[string]int{"child": 2, "guardian": 1, "guardianship": 2, "absence_report": 1} {
			if got := apptest.Count(t, w, `SELECT COALESCE(sum(count), 0) FROM deletion_record WHERE reason = 'graduation' AND category = $1 AND school_id = $2`, cat, sakura.ID); got != want {
				t.Errorf("graduation deletion records of %s: %d, want %d", cat, got, want)
			}
		}
		apptest.WaitBotText(t, w, users[1].ID, "ご卒業おめでとうございます", 1)
		apptest.WaitBotText(t, w, users[2].ID, "仮の学級", 1)
		if apptest.Received(w, users[3].ID, "ご卒業") != 0 {
			t.Fatal("a guardian who stays was told their registration ended")
		}
		var state string
		if err := s.Pool.QueryRow(ctx, `SELECT state FROM announcement WHERE id = $1`, annID).Scan(&state); err != nil || state != announce.Cancelled {
			t.Fatalf("the announcement to last year's class is %s", state)
		}
		// Last year's announcements stay readable to the school's administrators, and the
		// list says why this one was cancelled.
		if r := kocho.Get("/staff/announcements/" + strconv.FormatInt(annID, 10)); r.Status != http.StatusOK {
			t.Fatalf("last year's announcement after the switch: %d", r.Status)
		}
		if r := kocho.Get("/staff/announcements"); !strings.Contains(r.Body, "年度更新のため") {
			t.Fatalf("the announcements list does not say the rollover cancelled it: %s", apptest.Text(r))
		}
		// Surveys not yet sent to last year's classes or grades are cancelled as
		// announcements are; the one sent stays readable, its answers with it, except
		// the graduate's (their data went with them).
		for _, id := range []int64{surveyDraft, surveySched} {
			var state, reason string
			if err := s.Pool.QueryRow(ctx, `SELECT state, cancel_reason FROM survey WHERE id = $1`, id).Scan(&state, &reason); err != nil ||
				state != survey.Cancelled || reason != "rollover" {
				t.Fatalf("survey %d to last year's classes: %s %q %v", id, state, reason, err)
			}
		}
		if sv, err := s.Surveys.Get(kochoCtx, surveySent); err != nil || sv.State != survey.Sent || sv.Title.Reveal() != "授業参観の出欠" {
			t.Fatalf("last year's sent survey after the switch: %+v %v", sv.State, err)
		}
		if n := apptest.Count(t, w, `SELECT count(*) FROM survey_unit WHERE survey_id = $1 AND child_id = $2`, surveySent, children[1]); n != 0 {
			t.Fatal("the graduate's survey answer outlived them")
		}
		if a := apptest.SurveyAnswer(t, w, apptest.SurveyUnit(t, w, surveySent, children[0], 0)); len(a["q1"].Choices) != 1 || a["q1"].Choices[0] != "c2" {
			t.Fatalf("a moved child's answer: %v", a)
		}
		if n := apptest.Count(t, w, `SELECT count(*) FROM audit_event WHERE action = 'rollover.switch' AND actor_kind = 'system'`); n != 1 {
			t.Fatalf("%d audit events of the switch", n)
		}
	})
	steps.Run("the new year is current", func(t *testing.T) {
		// The new year's structure is current: an announcement to last year's class is
		// refused, and the approvals list shows the waiting parent.
		if _, err := s.Announce.Create(kochoCtx, announce.Compose{Kind: announce.Notice, Audience: announce.Audience{SchoolID: sakura.ID, Classes: []int64{class11}},
			Title: "旧学級", Body: "本文"}, "1年1組"); err == nil {
			t.Fatal("an announcement to last year's class was accepted")
		}
		if r := kocho.Get("/staff/approvals"); !strings.Contains(r.Body, "児童C") {
			t.Fatal("the approvals list lacks the child placed by default")
		}
		// 3年1組's new homeroom teacher approves the child placed by default; last year's
		// 1年1組 is no longer theirs.
		sato2 := apptest.NewStaffClientSignedIn(t, w, logins, "sakura.tannin11")
		if r := sato2.Get("/staff/approvals"); !strings.Contains(r.Body, "児童C") {
			t.Fatal("the new homeroom teacher does not see the child waiting for approval")
		}
		if r := sato2.Get("/staff/classes/" + strconv.FormatInt(class11, 10)); r.Status != http.StatusNotFound {
			t.Fatalf("last year's class page for its old homeroom teacher: %d", r.Status)
		}
	})
	steps.Run("nothing of the families in the logs or a dump", func(t *testing.T) {
		// Nothing of the families in the logs or in a dump (names are encrypted; audit
		// details are counts).
		names := []string{"児童A", "児童C", "児童D", "児童D姉", "保護者A", "保護者C", users[0].ID, users[2].ID}
		leaktest.AssertAbsent(t, "logs", w.Logs.Bytes(), names...)
		leaktest.AssertAbsent(t, "pg_dump", leaktest.PgDump(t, w.DBURL), names...)
	})
}
