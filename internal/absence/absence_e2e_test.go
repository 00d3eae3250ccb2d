package absence_test

import (
	"context"
	"encoding/csv"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"github.com/renraku/renraku/internal/absence"
	"github.com/renraku/renraku/internal/apptest"
	"github.com/renraku/renraku/internal/demo"
	"github.com/renraku/renraku/internal/linesim"
	"github.com/renraku/renraku/internal/roster"
)

func TestAbsenceReportsAndMorningList(t *testing.T) {
	t.Parallel()
	w := apptest.StartLineWorld(t)
	s := w.App.Services()
	ctx := context.Background()
	if _, err := demo.SeedStaff(ctx, s); err != nil {
		t.Fatal(err)
	}
	sakuraID, class11, _ := apptest.SchoolAndClass(t, w, demo.Schools[0].Name, "1年1組")
	// The school tells parents when a report is seen.
	if _, err := s.Pool.Exec(ctx, `UPDATE school SET absence_notify = true WHERE id = $1`, sakuraID); err != nil {
		t.Fatal(err)
	}
	code := apptest.ClassCodes(t, w, sakuraID)[class11]
	today := absence.Today(time.Now())
	tomorrow := today.AddDate(0, 0, 1).Format("2006-01-02")

	p1, b1 := apptest.RegisteredParent(t, w, "青木 春子", "青木 一郎", code)
	p2, b2 := apptest.RegisteredParent(t, w, "井上 夏子", "井上 二郎", code)
	p3, b3 := apptest.RegisteredParent(t, w, "上田 秋子", "上田 三郎", code)

	send := func(b *apptest.ParentBrowser, link string, form url.Values) apptest.Response {
		t.Helper()
		page := b.Get(link)
		key, _ := page.Doc.Find(`input[name="key"]`).Attr("value")
		child, _ := page.Doc.Find(`input[name="child"]`).Attr("value")
		form.Set("key", key)
		form.Set("child", child)
		return b.Post(link, form)
	}

	// Parent 1: 欠席 tomorrow with fever; a double tap stores one report.
	link1 := apptest.AbsenceLink(t, w, p1, 1)
	form1 := url.Values{"kind": {"absent"}, "from": {tomorrow}, "reason": {"illness"}, "symptoms": {"fever", "cough"}, "temperature": {"38.2"}, "note": {"病院に行きます"}}
	r := send(b1, link1, form1)
	if r.Status != http.StatusOK || r.Doc.Find(`[data-testid="absence-done"]`).Length() == 0 {
		t.Fatalf("parent 1: %d %s", r.Status, apptest.Text(r))
	}
	if again := b1.Post(link1, form1); again.Status != http.StatusOK {
		t.Fatalf("double tap: %d", again.Status)
	}
	apptest.WaitBotText(t, w, p1.ID, "青木 一郎さんの欠席", 1)

	// Parent 2: 遅刻 today — first without a time (refused), then with it.
	link2 := apptest.AbsenceLink(t, w, p2, 1)
	r = send(b2, link2, url.Values{"kind": {"late"}, "from": {today.Format("2006-01-02")}, "reason": {"hospital"}})
	if r.Status != http.StatusUnprocessableEntity || !strings.Contains(apptest.Text(r), "時刻を入力してください") {
		t.Fatalf("late without a time: %d %s", r.Status, apptest.Text(r))
	}
	r = send(b2, link2, url.Values{"kind": {"late"}, "from": {today.Format("2006-01-02")}, "reason": {"hospital"}, "time": {"10:30"}})
	if r.Status != http.StatusOK {
		t.Fatalf("parent 2: %d %s", r.Status, apptest.Text(r))
	}
	// A date in the past is refused and stores nothing.
	r = send(b2, link2, url.Values{"kind": {"absent"}, "from": {today.AddDate(0, 0, -1).Format("2006-01-02")}, "reason": {"family"}})
	if r.Status != http.StatusUnprocessableEntity || !strings.Contains(apptest.Text(r), "過ぎた日付") {
		t.Fatalf("past date: %d %s", r.Status, apptest.Text(r))
	}

	// Other bad input, each refused with a message and nothing stored: a range over 30
	// days, a note over 200 characters, another family's child.
	for name, tc := range map[string]struct {
		form url.Values
		want string
	}{
		"range": {url.Values{"kind": {"absent"}, "from": {tomorrow}, "to": {today.AddDate(0, 0, 40).Format("2006-01-02")}, "reason": {"family"}}, "30日"},
		"note":  {url.Values{"kind": {"absent"}, "from": {tomorrow}, "reason": {"other"}, "note": {strings.Repeat("あ", 201)}}, "200文字以内"},
	} {
		if r := send(b2, link2, tc.form); r.Status != http.StatusUnprocessableEntity || !strings.Contains(apptest.Text(r), tc.want) {
			t.Errorf("%s: %d %s", name, r.Status, apptest.Text(r))
		}
	}
	page1 := b1.Get(link1)
	child1, _ := page1.Doc.Find(`input[name="child"]`).Attr("value")
	page2 := b2.Get(link2)
	key2, _ := page2.Doc.Find(`input[name="key"]`).Attr("value")
	if r := b2.Post(link2, url.Values{"key": {key2}, "child": {child1}, "kind": {"absent"}, "from": {tomorrow}, "reason": {"family"}}); r.Status != http.StatusUnprocessableEntity {
		t.Errorf("another family's child: %d", r.Status)
	}
	var stored int
	if err := s.Pool.QueryRow(ctx, `SELECT count(*) FROM absence_report`).Scan(&stored); err != nil {
		t.Fatalf("counting stored reports: %v", err)
	}
	if stored != 2 {
		t.Fatalf("%d reports stored, want 2 (bad input stores nothing)", stored)
	}

	// Parent 3 reports tomorrow, then cancels.
	link3 := apptest.AbsenceLink(t, w, p3, 1)
	if r := send(b3, link3, url.Values{"kind": {"absent"}, "from": {tomorrow}, "reason": {"family"}}); r.Status != http.StatusOK {
		t.Fatalf("parent 3: %d", r.Status)
	}
	page := b3.Get(link3)
	cancel, ok := page.Doc.Find(`[data-testid="recent-item"] form`).Attr("action")
	if !ok {
		t.Fatalf("no cancel button: %s", apptest.Text(page))
	}
	if r := b3.Post(w.App.URL()+cancel, url.Values{}); r.Status != http.StatusSeeOther {
		t.Fatalf("cancel: %d", r.Status)
	}

	// The homeroom teacher's list for tomorrow: parent 1's report, parent 3's cancelled.
	teacher := apptest.NewStaffClient(t, w.App.URL())
	teacher.SignIn("sakura.tannin11", demo.Password)
	list := teacher.Get("/staff/absences?class=" + apptest.Itoa(class11) + "&date=" + tomorrow)
	var rows []string
	list.Doc.Find(`[data-testid="absence-row"]`).Each(func(_ int, sel *goquery.Selection) {
		rows = append(rows, strings.Join(strings.Fields(sel.Text()), " "))
	})
	if len(rows) != 2 || !strings.Contains(rows[0], "青木 一郎") || !strings.Contains(rows[0], "発熱・咳") || !strings.Contains(rows[0], "38.2") ||
		!strings.Contains(rows[1], "上田 三郎") || !strings.Contains(rows[1], "取り消し") {
		t.Fatalf("tomorrow's list: %q", rows)
	}
	// Today's list has parent 2's 遅刻 with its time.
	list = teacher.Get("/staff/absences?class=" + apptest.Itoa(class11) + "&date=" + today.Format("2006-01-02"))
	if got := strings.Join(strings.Fields(list.Doc.Find(`[data-testid="absence-table"] tbody`).Text()), " "); !strings.Contains(got, "井上 二郎") || !strings.Contains(got, "10:30") {
		t.Fatalf("today's list: %q", got)
	}
	// Tomorrow's report is not acknowledged yet, and its temperature has its unit.
	list = teacher.Get("/staff/absences?class=" + apptest.Itoa(class11) + "&date=" + tomorrow)
	if got := list.Doc.Find(`[data-testid="absence-status"]`).First().Text(); !strings.Contains(got, "未確認") {
		t.Errorf("before acknowledging: %q", got)
	}
	if got := list.Doc.Find(`[data-testid="absence-table"] tbody`).Text(); !strings.Contains(got, "38.2℃") {
		t.Errorf("temperature without its unit: %q", strings.Join(strings.Fields(got), " "))
	}
	// The teacher acknowledges tomorrow's; parent 1 is told (the school chose so).
	if r := teacher.Post("/staff/absences/acknowledge", url.Values{"class": {apptest.Itoa(class11)}, "date": {tomorrow}}); r.Status != http.StatusSeeOther {
		t.Fatalf("acknowledge: %d", r.Status)
	}
	apptest.WaitBotText(t, w, p1.ID, "先生が確認しました", 1)
	list = teacher.Get("/staff/absences?class=" + apptest.Itoa(class11) + "&date=" + tomorrow)
	if got := list.Doc.Find(`[data-testid="absence-status"]`).First().Text(); !strings.Contains(got, "確認済") {
		t.Errorf("after acknowledging: %q", got)
	}
	// Once seen, the parent can no longer cancel it.
	if strings.Contains(b1.Get(link1).Body, "/cancel/") {
		t.Error("an acknowledged report can still be cancelled")
	}

	// CSV in both encodings decodes to the same Japanese.
	for _, enc := range []roster.Encoding{roster.UTF8BOM, roster.ShiftJIS} {
		r := teacher.Get("/staff/absences/export?class=" + apptest.Itoa(class11) + "&date=" + tomorrow + "&encoding=" + string(enc))
		decoded, got, err := roster.Decode([]byte(r.Body))
		if err != nil || got != enc {
			t.Fatalf("%s export: %v (%s)", enc, err, got)
		}
		records, err := csv.NewReader(strings.NewReader(decoded)).ReadAll()
		if err != nil || len(records) != 3 || records[0][2] != "児童生徒" || records[1][2] != "青木 一郎" || records[1][4] != "体調不良" || records[1][5] != "発熱・咳" {
			t.Fatalf("%s export: %v %q", enc, err, records)
		}
	}
	var views, exports int
	if err := s.Pool.QueryRow(ctx, `SELECT count(*) FILTER (WHERE action = 'absence.list_view'), count(*) FILTER (WHERE action = 'absence.export') FROM audit_event`).Scan(&views, &exports); err != nil {
		t.Fatal(err)
	}
	if views < 3 || exports != 2 {
		t.Errorf("audit: %d list views, %d exports", views, exports)
	}
	// The open page's 30-second refresh shows the rows without a new audit row per poll:
	// the page load recorded the view.
	for range 3 {
		if r := teacher.Get("/staff/absences/rows?class=" + apptest.Itoa(class11) + "&date=" + tomorrow); r.Status != http.StatusOK || !strings.Contains(r.Body, "青木 一郎") {
			t.Fatalf("refresh: %d", r.Status)
		}
	}
	var after int
	if err := s.Pool.QueryRow(ctx, `SELECT count(*) FROM audit_event WHERE action = 'absence.list_view'`).Scan(&after); err != nil {
		t.Fatal(err)
	}
	if after != views {
		t.Errorf("each refresh was audited: %d list views before, %d after three refreshes", views, after)
	}
	// Another class's teacher can neither open nor refresh this class's list by changing the ID.
	other := apptest.NewStaffClient(t, w.App.URL())
	other.SignIn("hikari.tannin1a", demo.Password)
	for _, p := range []string{"/staff/absences", "/staff/absences/rows"} {
		if r := other.Get(p + "?class=" + apptest.Itoa(class11) + "&date=" + tomorrow); r.Status != http.StatusNotFound {
			t.Errorf("teacher of another school, %s: %d", p, r.Status)
		}
	}
}

func TestAbsenceThresholdAlert(t *testing.T) {
	t.Parallel()
	w := apptest.StartLineWorld(t)
	s := w.App.Services()
	ctx := context.Background()
	logins, err := demo.SeedStaff(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	sakuraID, class11, _ := apptest.SchoolAndClass(t, w, demo.Schools[0].Name, "1年1組")
	kocho := apptest.SignedInAs(t, w, "sakura.kocho")
	// Alert at half the class, of four pupils; on a school day.
	if _, err := s.Pool.Exec(ctx, `UPDATE school SET absence_alert_percent = 50 WHERE id = $1`, sakuraID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Pool.Exec(ctx, `UPDATE class SET enrolment = 4 WHERE id = $1`, class11); err != nil {
		t.Fatal(err)
	}
	day, _ := closureWeek(time.Now())
	s.Absence.Clock.Set(day.Add(7 * time.Hour))
	code := apptest.ClassCodes(t, w, sakuraID)[class11]
	today := day.Format("2006-01-02")
	type parent struct {
		u linesim.User
		b *apptest.ParentBrowser
	}
	var parents []parent
	for _, n := range []string{"一", "二", "三", "四"} {
		u, b := apptest.RegisteredParent(t, w, "保護者 "+n, "児童 "+n, code)
		parents = append(parents, parent{u, b})
	}
	report := func(p parent, n int) {
		t.Helper()
		link := apptest.AbsenceLink(t, w, p.u, n)
		page := p.b.Get(link)
		key, _ := page.Doc.Find(`input[name="key"]`).Attr("value")
		child, _ := page.Doc.Find(`input[name="child"]`).Attr("value")
		r := p.b.Post(link, url.Values{"key": {key}, "child": {child}, "kind": {"absent"}, "from": {today}, "reason": {"illness"}, "symptoms": {"fever"}, "temperature": {"38.5"}})
		if r.Status != http.StatusOK {
			t.Fatalf("report: %d %s", r.Status, apptest.Text(r))
		}
	}
	admin := apptest.NewStaffClient(t, w.App.URL())
	for _, l := range logins {
		if l.Login == "sakura.kocho" {
			admin.Secret = l.TOTPSecret
		}
	}
	stats := func() (string, int) {
		st, err := s.Absence.Stats(kocho, sakuraID, day)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range st.Classes {
			if c.ID == class11 {
				alert := "no alert"
				if c.Alert {
					alert = "alert"
				}
				return alert, c.Fever
			}
		}
		t.Fatal("class missing from the figures")
		return "", 0
	}
	report(parents[0], 1)
	if alert, fever := stats(); alert != "no alert" || fever != 1 {
		t.Fatalf("one of four with fever: %s, %d", alert, fever)
	}
	report(parents[1], 1)
	if alert, fever := stats(); alert != "alert" || fever != 2 {
		t.Fatalf("two of four with fever: %s, %d", alert, fever)
	}
	// The school's administrators see it on their start page.
	alerts, err := s.Absence.Alerts(kocho)
	if err != nil || len(alerts.Over) != 1 || alerts.Over[0].Label != "1年1組" || alerts.Over[0].Percent != 50 {
		t.Fatalf("alerts: %+v, %v", alerts, err)
	}
	// On the pages: the stats page and the administrator's start page show the alert.
	admin.SignIn("sakura.kocho", demo.Password)
	page := admin.Get("/staff/absences/stats")
	if page.Status != http.StatusOK || !strings.Contains(page.Doc.Find(`[data-testid="stats-alert"]`).Text(), "1年1組") {
		t.Errorf("stats page: %d %s", page.Status, apptest.Text(page))
	}
	if got := page.Doc.Find(`[data-testid="stats-row"] polyline`).Length(); got == 0 {
		t.Error("no trend chart")
	}
	if home := admin.Get("/staff/"); home.Doc.Find(`[data-testid="home-alert"]`).Length() != 1 {
		t.Errorf("home page alert: %s", apptest.Text(home))
	}
	// Teachers do not get the school's figures.
	if _, err := s.Absence.Stats(apptest.SignedInAs(t, w, "sakura.tannin11"), sakuraID, day); err == nil {
		t.Error("a teacher read the school's figures")
	}
}
