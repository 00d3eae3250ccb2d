package app_test

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
	"github.com/renraku/renraku/internal/demo"
	"github.com/renraku/renraku/internal/line"
	"github.com/renraku/renraku/internal/linesim"
	"github.com/renraku/renraku/internal/roster"
	"github.com/renraku/renraku/internal/school"
)

// registeredParent follows the account and registers a child of 1年1組 with the class
// code; it returns the parent's LINE user and browser.
func registeredParent(t testing.TB, w *lineWorld, name, child, code string) (linesim.User, *parentBrowser) {
	t.Helper()
	u := w.newParent(t, name+"のLINE")
	if _, err := w.sim.Follow(w.ch.LineChannelID, u.ID); err != nil {
		t.Fatal(err)
	}
	link := linkIn(t, w, u.ID, "友だち追加ありがとうございます", 1)
	sakuraID, class11, _ := schoolAndClass(t, w, demo.Schools[0].Name, "1年1組")
	b := newParentBrowser(t)
	b.get(link)
	r := b.post(link, url.Values{"consent": {"yes"}, "name": {name}, "relationship": {"mother"}, "child.0.name": {child},
		"child.0.school": {itoa(sakuraID)}, "child.0.class": {itoa(class11)}, "child.0.code": {code}, "op": {"save"}})
	if r.status != http.StatusOK {
		t.Fatalf("register %s: %d %s", name, r.status, text(r))
	}
	return u, b
}

// absenceLink taps 「遅刻・欠席連絡」 and returns the form's link.
func absenceLink(t testing.TB, w *lineWorld, u linesim.User, n int) string {
	t.Helper()
	if _, err := w.sim.Postback(w.ch.LineChannelID, u.ID, line.PostbackData("menu.absence", ""), nil); err != nil {
		t.Fatal(err)
	}
	return linkIn(t, w, u.ID, "遅刻・欠席の連絡ができます", n)
}

func TestAbsenceReportsAndMorningList(t *testing.T) {
	t.Parallel()
	w := startLineWorld(t)
	s := w.app.Services()
	ctx := context.Background()
	if _, err := demo.SeedStaff(ctx, s); err != nil {
		t.Fatal(err)
	}
	sakuraID, class11, _ := schoolAndClass(t, w, demo.Schools[0].Name, "1年1組")
	// The school tells parents when a report is seen.
	if _, err := s.Pool.Exec(ctx, `UPDATE school SET absence_notify = true WHERE id = $1`, sakuraID); err != nil {
		t.Fatal(err)
	}
	code := classCodes(t, w, sakuraID)[class11]
	today := absence.Today(time.Now())
	tomorrow := today.AddDate(0, 0, 1).Format("2006-01-02")

	p1, b1 := registeredParent(t, w, "青木 春子", "青木 一郎", code)
	p2, b2 := registeredParent(t, w, "井上 夏子", "井上 二郎", code)
	p3, b3 := registeredParent(t, w, "上田 秋子", "上田 三郎", code)

	send := func(b *parentBrowser, link string, form url.Values) response {
		t.Helper()
		page := b.get(link)
		key, _ := page.doc.Find(`input[name="key"]`).Attr("value")
		child, _ := page.doc.Find(`input[name="child"]`).Attr("value")
		form.Set("key", key)
		form.Set("child", child)
		return b.post(link, form)
	}

	// Parent 1: 欠席 tomorrow with fever; a double tap stores one report.
	link1 := absenceLink(t, w, p1, 1)
	form1 := url.Values{"kind": {"absent"}, "from": {tomorrow}, "reason": {"illness"}, "symptoms": {"fever", "cough"}, "temperature": {"38.2"}, "note": {"病院に行きます"}}
	r := send(b1, link1, form1)
	if r.status != http.StatusOK || r.doc.Find(`[data-testid="absence-done"]`).Length() == 0 {
		t.Fatalf("parent 1: %d %s", r.status, text(r))
	}
	if again := b1.post(link1, form1); again.status != http.StatusOK {
		t.Fatalf("double tap: %d", again.status)
	}
	waitBotText(t, w, p1.ID, "青木 一郎さんの欠席", 1)

	// Parent 2: 遅刻 today — first without a time (refused), then with it.
	link2 := absenceLink(t, w, p2, 1)
	r = send(b2, link2, url.Values{"kind": {"late"}, "from": {today.Format("2006-01-02")}, "reason": {"hospital"}})
	if r.status != http.StatusUnprocessableEntity || !strings.Contains(text(r), "時刻を入力してください") {
		t.Fatalf("late without a time: %d %s", r.status, text(r))
	}
	r = send(b2, link2, url.Values{"kind": {"late"}, "from": {today.Format("2006-01-02")}, "reason": {"hospital"}, "time": {"10:30"}})
	if r.status != http.StatusOK {
		t.Fatalf("parent 2: %d %s", r.status, text(r))
	}
	// A date in the past is refused and stores nothing.
	r = send(b2, link2, url.Values{"kind": {"absent"}, "from": {today.AddDate(0, 0, -1).Format("2006-01-02")}, "reason": {"family"}})
	if r.status != http.StatusUnprocessableEntity || !strings.Contains(text(r), "過ぎた日付") {
		t.Fatalf("past date: %d %s", r.status, text(r))
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
		if r := send(b2, link2, tc.form); r.status != http.StatusUnprocessableEntity || !strings.Contains(text(r), tc.want) {
			t.Errorf("%s: %d %s", name, r.status, text(r))
		}
	}
	page1 := b1.get(link1)
	child1, _ := page1.doc.Find(`input[name="child"]`).Attr("value")
	page2 := b2.get(link2)
	key2, _ := page2.doc.Find(`input[name="key"]`).Attr("value")
	if r := b2.post(link2, url.Values{"key": {key2}, "child": {child1}, "kind": {"absent"}, "from": {tomorrow}, "reason": {"family"}}); r.status != http.StatusUnprocessableEntity {
		t.Errorf("another family's child: %d", r.status)
	}
	var stored int
	if err := s.Pool.QueryRow(ctx, `SELECT count(*) FROM absence_report`).Scan(&stored); err != nil {
		t.Fatalf("counting stored reports: %v", err)
	}
	if stored != 2 {
		t.Fatalf("%d reports stored, want 2 (bad input stores nothing)", stored)
	}

	// Parent 3 reports tomorrow, then cancels.
	link3 := absenceLink(t, w, p3, 1)
	if r := send(b3, link3, url.Values{"kind": {"absent"}, "from": {tomorrow}, "reason": {"family"}}); r.status != http.StatusOK {
		t.Fatalf("parent 3: %d", r.status)
	}
	page := b3.get(link3)
	cancel, ok := page.doc.Find(`[data-testid="recent-item"] form`).Attr("action")
	if !ok {
		t.Fatalf("no cancel button: %s", text(page))
	}
	if r := b3.post(w.app.URL()+cancel, url.Values{}); r.status != http.StatusSeeOther {
		t.Fatalf("cancel: %d", r.status)
	}

	// The homeroom teacher's list for tomorrow: parent 1's report, parent 3's cancelled.
	teacher := newStaffClient(t, w.app.URL())
	teacher.signIn("sakura.tannin11", demo.Password)
	list := teacher.get("/staff/absences?class=" + itoa(class11) + "&date=" + tomorrow)
	var rows []string
	list.doc.Find(`[data-testid="absence-row"]`).Each(func(_ int, sel *goquery.Selection) {
		rows = append(rows, strings.Join(strings.Fields(sel.Text()), " "))
	})
	if len(rows) != 2 || !strings.Contains(rows[0], "青木 一郎") || !strings.Contains(rows[0], "発熱・咳") || !strings.Contains(rows[0], "38.2") ||
		!strings.Contains(rows[1], "上田 三郎") || !strings.Contains(rows[1], "取り消し") {
		t.Fatalf("tomorrow's list: %q", rows)
	}
	// Today's list has parent 2's 遅刻 with its time.
	list = teacher.get("/staff/absences?class=" + itoa(class11) + "&date=" + today.Format("2006-01-02"))
	if got := strings.Join(strings.Fields(list.doc.Find(`[data-testid="absence-table"] tbody`).Text()), " "); !strings.Contains(got, "井上 二郎") || !strings.Contains(got, "10:30") {
		t.Fatalf("today's list: %q", got)
	}
	// Tomorrow's report is not acknowledged yet, and its temperature has its unit.
	list = teacher.get("/staff/absences?class=" + itoa(class11) + "&date=" + tomorrow)
	if got := list.doc.Find(`[data-testid="absence-status"]`).First().Text(); !strings.Contains(got, "未確認") {
		t.Errorf("before acknowledging: %q", got)
	}
	if got := list.doc.Find(`[data-testid="absence-table"] tbody`).Text(); !strings.Contains(got, "38.2℃") {
		t.Errorf("temperature without its unit: %q", strings.Join(strings.Fields(got), " "))
	}
	// The teacher acknowledges tomorrow's; parent 1 is told (the school chose so).
	if r := teacher.post("/staff/absences/acknowledge", url.Values{"class": {itoa(class11)}, "date": {tomorrow}}); r.status != http.StatusSeeOther {
		t.Fatalf("acknowledge: %d", r.status)
	}
	waitBotText(t, w, p1.ID, "先生が確認しました", 1)
	list = teacher.get("/staff/absences?class=" + itoa(class11) + "&date=" + tomorrow)
	if got := list.doc.Find(`[data-testid="absence-status"]`).First().Text(); !strings.Contains(got, "確認済") {
		t.Errorf("after acknowledging: %q", got)
	}
	// Once seen, the parent can no longer cancel it.
	if strings.Contains(b1.get(link1).body, "/cancel/") {
		t.Error("an acknowledged report can still be cancelled")
	}

	// CSV in both encodings decodes to the same Japanese.
	for _, enc := range []roster.Encoding{roster.UTF8BOM, roster.ShiftJIS} {
		r := teacher.get("/staff/absences/export?class=" + itoa(class11) + "&date=" + tomorrow + "&encoding=" + string(enc))
		decoded, got, err := roster.Decode([]byte(r.body))
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
		if r := teacher.get("/staff/absences/rows?class=" + itoa(class11) + "&date=" + tomorrow); r.status != http.StatusOK || !strings.Contains(r.body, "青木 一郎") {
			t.Fatalf("refresh: %d", r.status)
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
	other := newStaffClient(t, w.app.URL())
	other.signIn("hikari.tannin1a", demo.Password)
	for _, p := range []string{"/staff/absences", "/staff/absences/rows"} {
		if r := other.get(p + "?class=" + itoa(class11) + "&date=" + tomorrow); r.status != http.StatusNotFound {
			t.Errorf("teacher of another school, %s: %d", p, r.status)
		}
	}
	_ = school.Tokyo
}

func TestAbsenceThresholdAlert(t *testing.T) {
	t.Parallel()
	w := startLineWorld(t)
	s := w.app.Services()
	ctx := context.Background()
	logins, err := demo.SeedStaff(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	sakuraID, class11, _ := schoolAndClass(t, w, demo.Schools[0].Name, "1年1組")
	kocho := signedInAs(t, w, "sakura.kocho")
	// Alert at half the class, of four pupils; on a school day.
	if _, err := s.Pool.Exec(ctx, `UPDATE school SET absence_alert_percent = 50 WHERE id = $1`, sakuraID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Pool.Exec(ctx, `UPDATE class SET enrolment = 4 WHERE id = $1`, class11); err != nil {
		t.Fatal(err)
	}
	day, _ := closureWeek(time.Now())
	s.Absence.Clock.Set(day.Add(7 * time.Hour))
	code := classCodes(t, w, sakuraID)[class11]
	today := day.Format("2006-01-02")
	type parent struct {
		u linesim.User
		b *parentBrowser
	}
	var parents []parent
	for i, n := range []string{"一", "二", "三", "四"} {
		u, b := registeredParent(t, w, "保護者 "+n, "児童 "+n, code)
		parents = append(parents, parent{u, b})
		_ = i
	}
	report := func(p parent, n int) {
		t.Helper()
		link := absenceLink(t, w, p.u, n)
		page := p.b.get(link)
		key, _ := page.doc.Find(`input[name="key"]`).Attr("value")
		child, _ := page.doc.Find(`input[name="child"]`).Attr("value")
		r := p.b.post(link, url.Values{"key": {key}, "child": {child}, "kind": {"absent"}, "from": {today}, "reason": {"illness"}, "symptoms": {"fever"}, "temperature": {"38.5"}})
		if r.status != http.StatusOK {
			t.Fatalf("report: %d %s", r.status, text(r))
		}
	}
	admin := newStaffClient(t, w.app.URL())
	for _, l := range logins {
		if l.Login == "sakura.kocho" {
			admin.secret = l.TOTPSecret
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
	admin.signIn("sakura.kocho", demo.Password)
	page := admin.get("/staff/absences/stats")
	if page.status != http.StatusOK || !strings.Contains(page.doc.Find(`[data-testid="stats-alert"]`).Text(), "1年1組") {
		t.Errorf("stats page: %d %s", page.status, text(page))
	}
	if got := page.doc.Find(`[data-testid="stats-row"] polyline`).Length(); got == 0 {
		t.Error("no trend chart")
	}
	if home := admin.get("/staff/"); home.doc.Find(`[data-testid="home-alert"]`).Length() != 1 {
		t.Errorf("home page alert: %s", text(home))
	}
	// Teachers do not get the school's figures.
	if _, err := s.Absence.Stats(signedInAs(t, w, "sakura.tannin11"), sakuraID, day); err == nil {
		t.Error("a teacher read the school's figures")
	}
}
