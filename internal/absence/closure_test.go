package absence_test

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/chromedp/chromedp"

	"github.com/renraku/renraku/internal/apptest"
	"github.com/renraku/renraku/internal/browsertest"
	"github.com/renraku/renraku/internal/demo"
	"github.com/renraku/renraku/internal/linesim"
	"github.com/renraku/renraku/internal/postgres"
	"github.com/renraku/renraku/internal/school"
	"github.com/renraku/renraku/internal/staff/stafftest"
)

// closureWeek is a Wednesday that is a school day and the Sunday after it, both in
// the school year of now: the days the closure tests put the absence clock at.
func closureWeek(now time.Time) (wed, sun time.Time) {
	today := school.Day(now)
	for i := 0; i <= 70; i++ {
		d := today.AddDate(0, 0, (i+1)/2*(1-2*(i%2))) // today, then a day earlier, a day later, two days earlier …
		if d.Weekday() != time.Wednesday || !school.IsSchoolDay(d) {
			continue
		}
		s := d.AddDate(0, 0, 4)
		if school.YearOf(d) == school.YearOf(today) && school.YearOf(s) == school.YearOf(today) {
			return d, s
		}
	}
	panic("no school-day Wednesday within five weeks of today")
}

// closureWorld is the demo school さくら with its staff, and LINE friends seeded as
// verified guardians of children in its classes, who report absences.
type closureWorld struct {
	w      *apptest.LineWorld
	logins []demo.Login
	sakura school.School
	links  map[string]int // absence links each parent was sent
}

func startClosureWorld(t *testing.T) *closureWorld {
	t.Helper()
	w, logins := apptest.StartDemoWorld(t)
	sakura, err := w.App.Services().Schools.FindSchool(context.Background(), demo.Schools[0].Name)
	if err != nil {
		t.Fatal(err)
	}
	return &closureWorld{w: w, logins: logins, sakura: sakura, links: map[string]int{}}
}

// family seeds a verified guardian of a child of class (1年1組) and returns the
// parent's LINE user.
func (cw *closureWorld) family(t *testing.T, class, child string) linesim.User {
	t.Helper()
	s := cw.w.App.Services()
	users, err := cw.w.Sim.AddFriends(cw.w.Ch.LineChannelID, 1, "ja")
	if err != nil {
		t.Fatal(err)
	}
	if err := postgres.SeedFamilies(context.Background(), s.Pool, s.Vault, []postgres.Family{{UserID: users[0].ID, ChannelID: cw.w.Ch.ID,
		SchoolID: cw.sakura.ID, ClassID: cw.class(t, class), Nickname: child + "の保護者", ChildName: child, Verified: true, Following: true}}); err != nil {
		t.Fatal(err)
	}
	return users[0]
}

func (cw *closureWorld) class(t *testing.T, label string) int64 {
	t.Helper()
	return apptest.ClassID(t, cw.w, cw.sakura.ID, cw.sakura.CurrentYear, label)
}

// feverish reports the parent's child absent with fever from one day to another
// through the parent's form.
func (cw *closureWorld) feverish(t *testing.T, u linesim.User, from, to time.Time) {
	t.Helper()
	cw.links[u.ID]++
	link := apptest.AbsenceLink(t, cw.w, u, cw.links[u.ID])
	b := apptest.NewParentBrowser(t)
	page := b.Get(link)
	key, _ := page.Doc.Find(`input[name="key"]`).Attr("value")
	child, _ := page.Doc.Find(`input[name="child"]`).Attr("value")
	r := b.Post(link, url.Values{"key": {key}, "child": {child}, "kind": {"absent"}, "from": {from.Format("2006-01-02")},
		"to": {to.Format("2006-01-02")}, "reason": {"illness"}, "symptoms": {"fever"}, "temperature": {"38.4"}})
	if r.Status != http.StatusOK {
		t.Fatalf("report: %d %s", r.Status, apptest.Text(r))
	}
}

func (cw *closureWorld) secret(login string) string {
	for _, l := range cw.logins {
		if l.Login == login {
			return l.TOTPSecret
		}
	}
	return ""
}

// TestClosureAlertCountsAgainstEnrolment: the 学級閉鎖 alert on the principal's home
// page and the figures page is counted against the class's enrolment, not against
// the children registered in renraku; it is raised only on school days and from the
// school's minimum number of pupils, and a class without an enrolment shows its count
// with no percentage and says the enrolment is missing.
func TestClosureAlertCountsAgainstEnrolment(t *testing.T) {
	t.Parallel()
	cw := startClosureWorld(t)
	s := cw.w.App.Services()
	wed, sun := closureWeek(time.Now())
	s.Absence.Clock.Set(wed.Add(7 * time.Hour))
	class11 := cw.class(t, "1年1組")
	admin := apptest.NewStaffClient(t, cw.w.App.URL())
	admin.Secret = cw.secret("sakura.kocho")
	admin.SignIn("sakura.kocho", demo.Password)
	setEnrolment := func(classID int64, v string) apptest.Response {
		t.Helper()
		admin.Get("/admin/schools/" + apptest.Itoa(cw.sakura.ID) + "/structure")
		return admin.Post("/admin/classes/"+apptest.Itoa(classID)+"/enrolment", url.Values{"enrolment": {v}})
	}
	home := func() apptest.Response {
		t.Helper()
		r := admin.Get("/staff/")
		if r.Status != http.StatusOK {
			t.Fatalf("home: %d", r.Status)
		}
		return r
	}
	statsOf := func(day time.Time) apptest.Response {
		t.Helper()
		r := admin.Get("/staff/absences/stats?date=" + day.Format("2006-01-02"))
		if r.Status != http.StatusOK {
			t.Fatalf("stats: %d", r.Status)
		}
		return r
	}
	row := func(r apptest.Response, label string) []string {
		t.Helper()
		var cells []string
		r.Doc.Find(`[data-testid="stats-row"]`).Each(func(_ int, tr *goquery.Selection) {
			if strings.TrimSpace(tr.Find("td").First().Text()) == label {
				tr.Find("td").Each(func(_ int, td *goquery.Selection) { cells = append(cells, strings.TrimSpace(td.Text())) })
			}
		})
		if cells == nil {
			t.Fatalf("no row for %s: %s", label, apptest.Text(r))
		}
		return cells // class, enrolment, registered, absent, late, early, fever, suspension, %, trend
	}

	// 1年1組 has 30 pupils; one feverish child, the only one registered in renraku,
	// is 3 %, not 100 %: no alarm.
	if r := setEnrolment(class11, "30"); r.Status != http.StatusSeeOther {
		t.Fatalf("set enrolment: %d %s", r.Status, apptest.Text(r))
	}
	first := cw.family(t, "1年1組", "青木 はな")
	cw.feverish(t, first, wed, sun)
	// 1年2組's enrolment is not set: its feverish child is counted, with no share.
	other := cw.family(t, "1年2組", "石井 そら")
	cw.feverish(t, other, wed, wed)

	h := home()
	if n := h.Doc.Find(`[data-testid="home-alert"]`).Length(); n != 0 {
		t.Errorf("one feverish child of 30 raised %d alerts: %s", n, apptest.Text(h))
	}
	note := h.Doc.Find(`[data-testid="home-no-enrolment"]`)
	if got := note.Text(); !strings.Contains(got, "1年2組：発熱・出席停止で欠席している児童生徒が1人です。在籍者数が未設定") || strings.Contains(got, "％") || strings.Contains(got, "1年1組") {
		t.Errorf("note for the class without an enrolment: %q", got)
	}
	if href, _ := note.Find(`[data-testid="set-enrolment"]`).Attr("href"); href != "/admin/schools/"+apptest.Itoa(cw.sakura.ID)+"/structure" {
		t.Errorf("where to set the enrolment: %q", href)
	}
	st := statsOf(wed)
	if n := st.Doc.Find(`[data-testid="stats-alert"]`).Length(); n != 0 {
		t.Errorf("stats page alerts: %d", n)
	}
	if c := row(st, "1年1組"); c[1] != "30" || c[2] != "1" || c[6] != "1" || c[8] != "3" {
		t.Errorf("1年1組 row: %q", c)
	}
	if c := row(st, "1年2組"); c[1] != "未設定" || c[6] != "1" || c[8] != "—" {
		t.Errorf("1年2組 row: %q", c)
	}
	if st.Doc.Find(`[data-testid="stats-enrolment-unset"]`).Length() != 1 {
		t.Error("the stats page does not say that an enrolment is missing")
	}

	// A second feverish child, with 1年1組's enrolment at 10: 2 pupils, 20 % of the
	// enrolment, on a school day: the alert, with the share of the enrolment.
	if r := setEnrolment(class11, "１０"); r.Status != http.StatusSeeOther {
		t.Fatalf("set enrolment: %d %s", r.Status, apptest.Text(r))
	}
	second := cw.family(t, "1年1組", "上田 りく")
	cw.feverish(t, second, wed, sun)
	h = home()
	alerts := h.Doc.Find(`[data-testid="home-alert"]`)
	if alerts.Length() != 1 || !strings.Contains(alerts.Text(), "1年1組：発熱・出席停止で欠席している児童生徒が2人（在籍10人の20％）です。") {
		t.Errorf("home alert: %q", alerts.Text())
	}
	st = statsOf(wed)
	if got := st.Doc.Find(`[data-testid="stats-alert"]`).Text(); !strings.Contains(got, "在籍10人の20％") {
		t.Errorf("stats alert: %q", got)
	}
	if c := row(st, "1年1組"); c[1] != "10" || c[8] != "20" {
		t.Errorf("1年1組 row: %q", c)
	}

	// The same figures on the Sunday: no alert, on the start page or the figures page.
	s.Absence.Clock.Set(sun.Add(7 * time.Hour))
	h = home()
	if n := h.Doc.Find(`[data-testid="home-alert"], [data-testid="home-no-enrolment"]`).Length(); n != 0 {
		t.Errorf("on a Sunday: %s", apptest.Text(h))
	}
	st = statsOf(sun)
	if n := st.Doc.Find(`[data-testid="stats-alert"]`).Length(); n != 0 || st.Doc.Find(`[data-testid="stats-not-school-day"]`).Length() != 1 {
		t.Errorf("stats on a Sunday: %d alerts: %s", n, apptest.Text(st))
	}
	if c := row(st, "1年1組"); c[6] != "2" || c[8] != "20" {
		t.Errorf("1年1組 on Sunday (counts still shown): %q", c)
	}

	// The Wednesday marked a closed day (休校日) by the school: no alert either.
	s.Absence.Clock.Set(wed.Add(7 * time.Hour))
	closedDays := "/admin/schools/" + apptest.Itoa(cw.sakura.ID) + "/closed-days"
	admin.Get(closedDays)
	if r := admin.Post(closedDays, url.Values{"day": {wed.Format("2006-01-02")}, "note": {"学校行事の振替"}}); r.Status != http.StatusSeeOther {
		t.Fatalf("mark the Wednesday closed: %d %s", r.Status, apptest.Text(r))
	}
	if n := home().Doc.Find(`[data-testid="home-alert"]`).Length(); n != 0 {
		t.Errorf("on a day the school marked closed: %d alerts", n)
	}
	if st := statsOf(wed); st.Doc.Find(`[data-testid="stats-alert"]`).Length() != 0 || st.Doc.Find(`[data-testid="stats-not-school-day"]`).Length() != 1 {
		t.Errorf("stats on a closed day: %s", apptest.Text(st))
	}
	admin.Get(closedDays)
	if r := admin.Post(closedDays+"/"+wed.Format("2006-01-02")+"/delete", nil); r.Status != http.StatusSeeOther {
		t.Fatalf("unmark the Wednesday: %d %s", r.Status, apptest.Text(r))
	}
	if n := home().Doc.Find(`[data-testid="home-alert"]`).Length(); n != 1 {
		t.Errorf("the Wednesday a school day again: %d alerts", n)
	}

	// Back on the Wednesday, with the school's minimum raised to 3 pupils: 2 are below
	// it, whatever their share.
	page := admin.Get("/admin/schools/" + apptest.Itoa(cw.sakura.ID))
	if v, _ := page.Doc.Find(`#f-absence_alert_min`).Attr("value"); v != "2" {
		t.Errorf("the settings page's minimum: %q, want the default 2", v)
	}
	form := url.Values{}
	page.Doc.Find(`[data-testid="school-settings"] form input, [data-testid="school-settings"] form textarea`).Each(func(_ int, in *goquery.Selection) {
		name, _ := in.Attr("name")
		typ, _ := in.Attr("type")
		if name == "" || name == "csrf" {
			return
		}
		if typ == "checkbox" {
			if _, on := in.Attr("checked"); !on {
				return
			}
		}
		v, _ := in.Attr("value")
		if in.Is("textarea") {
			v = in.Text()
		}
		form.Add(name, v)
	})
	form.Set("absence_alert_min", "3")
	if r := admin.Post("/admin/schools/"+apptest.Itoa(cw.sakura.ID)+"/settings", form); r.Status != http.StatusSeeOther {
		t.Fatalf("save settings: %d %s", r.Status, apptest.Text(r))
	}
	if h = home(); h.Doc.Find(`[data-testid="home-alert"]`).Length() != 0 {
		t.Errorf("2 pupils below a minimum of 3 raised the alert: %s", apptest.Text(h))
	}
	form.Set("absence_alert_min", "0")
	if r := admin.Post("/admin/schools/"+apptest.Itoa(cw.sakura.ID)+"/settings", form); r.Status != http.StatusUnprocessableEntity ||
		!strings.Contains(r.Doc.Find(`[data-testid="error-absence_alert_min"]`).Text(), "1〜100") {
		t.Errorf("a minimum of 0: %d %s", r.Status, apptest.Text(r))
	}

	// A bad enrolment is refused beside the class and changes nothing.
	r := setEnrolment(class11, "三十")
	if r.Status != http.StatusUnprocessableEntity || !strings.Contains(r.Doc.Find(`[data-testid="error-enrolment"]`).Text(), "0〜999") {
		t.Errorf("bad enrolment: %d %s", r.Status, apptest.Text(r))
	}
	var stored *int
	if err := s.Pool.QueryRow(context.Background(), `SELECT enrolment FROM class WHERE id = $1`, class11).Scan(&stored); err != nil || stored == nil || *stored != 10 {
		t.Errorf("enrolment after a refused value: %v %v", stored, err)
	}
	var audited int
	if err := s.Pool.QueryRow(context.Background(), `SELECT count(*) FROM audit_event WHERE action = 'class.enrolment' AND object_id = $1`, strconv.FormatInt(class11, 10)).Scan(&audited); err != nil {
		t.Fatal(err)
	}
	if audited != 2 {
		t.Errorf("%d enrolment changes audited, want 2", audited)
	}
}

// TestEnrolmentOnStructurePageInChromium: the principal sees on the start page that
// 1年1組's feverish pupils are counted without a share because its enrolment is not
// set, follows the link to the structure page, enters the enrolment, and the start
// page then shows the alert against it.
func TestEnrolmentOnStructurePageInChromium(t *testing.T) {
	t.Parallel()
	browsertest.RequireJapaneseFont(t)
	cw := startClosureWorld(t)
	s := cw.w.App.Services()
	wed, _ := closureWeek(time.Now())
	s.Absence.Clock.Set(wed.Add(7 * time.Hour))
	for _, child := range []string{"青木 はな", "上田 りく"} {
		cw.feverish(t, cw.family(t, "1年1組", child), wed, wed)
	}

	pc := browsertest.New(t, 1366, 900)
	// The code of the next step: the current one may have been used at enrolment.
	code := stafftest.MustCode(t, cw.secret("sakura.kocho"), time.Now().Add(30*time.Second))
	err := chromedp.Do(pc,
		chromedp.Navigate(cw.w.App.URL()+"/staff/login"),
		chromedp.SendKeys(chromedp.CSS(`#f-login`), "sakura.kocho"),
		chromedp.SendKeys(chromedp.CSS(`#f-password`), demo.Password),
		chromedp.Click(chromedp.CSS(`[data-testid="signin-submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="second-factor"]`)),
		chromedp.SendKeys(chromedp.CSS(`#f-code`), code),
		chromedp.Click(chromedp.CSS(`[data-testid="code-submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="home-no-enrolment"]`)),
	)
	if err != nil {
		browsertest.Screenshot(t, pc, "closure-signin-failed")
		t.Fatal(err)
	}
	browsertest.Screenshot(t, pc, "closure-home-no-enrolment")
	note, err := chromedp.Run(pc, chromedp.Text(chromedp.CSS(`[data-testid="home-no-enrolment"]`)))
	if err != nil {
		t.Fatalf("reading the start page note: %v", err)
	}
	if !strings.Contains(note, "1年1組：発熱・出席停止で欠席している児童生徒が2人です。在籍者数が未設定") || strings.Contains(note, "％") {
		t.Errorf("start page note: %q", note)
	}
	if n, err := chromedp.Run(pc, chromedp.Evaluate[int](`document.querySelectorAll('[data-testid="home-alert"]').length`)); err != nil {
		t.Fatalf("counting the start page's alerts: %v", err)
	} else if n != 0 {
		t.Errorf("%d alerts without an enrolment", n)
	}

	// To the structure page from the note; 1年1組 has 10 pupils.
	input := chromedp.CSS(`#enrolment-` + strconv.FormatInt(cw.class(t, "1年1組"), 10))
	err = chromedp.Do(pc,
		chromedp.Click(chromedp.CSS(`[data-testid="set-enrolment"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="classes"]`)),
		chromedp.WaitVisible(input),
	)
	if err != nil {
		t.Fatal(err)
	}
	browsertest.Screenshot(t, pc, "closure-structure-before")
	err = chromedp.Do(pc,
		chromedp.SendKeys(input, "10"),
		chromedp.Submit(input),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="flash"]`)),
	)
	if err != nil {
		t.Fatal(err)
	}
	browsertest.Screenshot(t, pc, "closure-structure-after")
	if v, err := chromedp.Run(pc, chromedp.Value(input)); err != nil {
		t.Fatalf("reading the enrolment after saving: %v", err)
	} else if v != "10" {
		t.Errorf("the structure page shows enrolment %q after saving", v)
	}

	err = chromedp.Do(pc,
		chromedp.Navigate(cw.w.App.URL()+"/staff/"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="home-alert"]`)),
	)
	if err != nil {
		t.Fatal(err)
	}
	browsertest.Screenshot(t, pc, "closure-home-alert")
	alert, err := chromedp.Run(pc, chromedp.Text(chromedp.CSS(`[data-testid="home-alert"]`)))
	if err != nil {
		t.Fatalf("reading the start page alert: %v", err)
	}
	if !strings.Contains(alert, "1年1組：発熱・出席停止で欠席している児童生徒が2人（在籍10人の20％）です。") {
		t.Errorf("start page alert: %q", alert)
	}
	if n, err := chromedp.Run(pc, chromedp.Evaluate[int](`document.querySelectorAll('[data-testid="home-no-enrolment"]').length`)); err != nil {
		t.Fatalf("counting the start page's missing-enrolment notes: %v", err)
	} else if n != 0 {
		t.Errorf("the missing-enrolment note is still shown")
	}

	// The figures page: the alert, 1年1組's share of its enrolment, and the other
	// classes' missing enrolment.
	err = chromedp.Do(pc,
		chromedp.Click(chromedp.CSS(`[data-testid="home-alert"] a`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="stats-alert"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="stats-enrolment-unset"]`)),
	)
	if err != nil {
		t.Fatal(err)
	}
	browsertest.Screenshot(t, pc, "closure-stats")
	percent, err := chromedp.Run(pc, chromedp.Text(chromedp.CSS(`[data-testid="stats-row"] [data-testid="stats-percent"]`)))
	if err != nil {
		t.Fatalf("reading 1年1組's share on the figures page: %v", err)
	}
	if strings.TrimSpace(percent) != "20" {
		t.Errorf("1年1組's share on the figures page: %q", percent)
	}
}
