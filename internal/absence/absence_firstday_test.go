package absence_test

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/renraku/renraku/internal/absence"
	"github.com/renraku/renraku/internal/apptest"
	"github.com/renraku/renraku/internal/browsertest"
	"github.com/renraku/renraku/internal/demo"
	"github.com/renraku/renraku/internal/school"
	"github.com/renraku/renraku/internal/staff/stafftest"
)

// TestAbsenceFormSuggestsTheNextSchoolDay moves the app's clock: on a Friday before the
// cut-off the form suggests that Friday; after it, Monday (on Saturday too); once the
// school marks that Monday closed in the console, Tuesday. A report sent with the
// suggestion is for that day.
func TestAbsenceFormSuggestsTheNextSchoolDay(t *testing.T) {
	t.Parallel()
	browsertest.RequireJapaneseFont(t)
	w := apptest.StartLineWorld(t)
	s := w.App.Services()
	ctx := context.Background()
	logins, err := demo.SeedStaff(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	sakuraID, class11, _ := apptest.SchoolAndClass(t, w, demo.Schools[0].Name, "1年1組")
	if _, err := s.Pool.Exec(ctx, `UPDATE school SET absence_cutoff = '08:00' WHERE id = $1`, sakuraID); err != nil {
		t.Fatal(err)
	}
	parent, b := apptest.RegisteredParent(t, w, "小川 みどり", "小川 はると", apptest.ClassCodes(t, w, sakuraID)[class11])
	link := apptest.AbsenceLink(t, w, parent, 1)

	friday := absence.Today(time.Now()).AddDate(0, 0, 1)
	for friday.Weekday() != time.Friday {
		friday = friday.AddDate(0, 0, 1)
	}
	monday, tuesday := friday.AddDate(0, 0, 3), friday.AddDate(0, 0, 4)
	at := func(day time.Time, hour, minute int) time.Time {
		return time.Date(day.Year(), day.Month(), day.Day(), hour, minute, 0, 0, school.Tokyo)
	}
	t.Cleanup(s.Absence.Clock.Reset)
	suggested := func(now time.Time) string {
		t.Helper()
		s.Absence.Clock.Set(now)
		page := b.Get(link)
		v, _ := page.Doc.Find(`#f-from`).Attr("value")
		return v
	}
	ymd := func(d time.Time) string { return d.Format("2006-01-02") }
	for _, tc := range []struct {
		name string
		now  time.Time
		want time.Time
	}{
		{"Friday before the cut-off", at(friday, 7, 30), friday},
		{"Friday after the cut-off", at(friday, 8, 30), monday},
		{"Saturday", at(friday.AddDate(0, 0, 1), 10, 0), monday},
	} {
		if got := suggested(tc.now); got != ymd(tc.want) {
			t.Errorf("%s: the form suggests %s, want %s", tc.name, got, ymd(tc.want))
		}
	}

	// The school's administrator marks that Monday closed (振替休業日) in the console.
	var secret string
	for _, l := range logins {
		if l.Login == "sakura.kocho" {
			secret = l.TOTPSecret
		}
	}
	// The code of the next step: the current one may have been used at enrolment.
	code := stafftest.MustCode(t, secret, time.Now().Add(30*time.Second))
	console := browsertest.New(t, 1280, 900)
	err = chromedp.Do(console,
		chromedp.Navigate(w.App.URL()+"/staff/login"),
		chromedp.SendKeys(chromedp.CSS(`#f-login`), "sakura.kocho"),
		chromedp.SendKeys(chromedp.CSS(`#f-password`), demo.Password),
		chromedp.Click(chromedp.CSS(`[data-testid="signin-submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="second-factor"]`)),
		chromedp.SendKeys(chromedp.CSS(`#f-code`), code),
		chromedp.Click(chromedp.CSS(`[data-testid="code-submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="staff-home"]`)),
		chromedp.Navigate(w.App.URL()+"/admin/schools/"+apptest.Itoa(sakuraID)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="to-closed-days"]`)),
		chromedp.Click(chromedp.CSS(`[data-testid="to-closed-days"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="closed-days"]`)),
		chromedp.SetValue(chromedp.CSS(`#f-day`), ymd(monday)),
		chromedp.SendKeys(chromedp.CSS(`#f-note`), "振替休業日"),
		chromedp.Click(chromedp.CSS(`[data-testid="closed-add"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="closed-day"]`)),
	)
	if err != nil {
		t.Fatal(err)
	}
	listed, err := chromedp.Run(console, chromedp.Text(chromedp.CSS(`[data-testid="closed-days"]`)))
	if err != nil {
		t.Fatalf("reading the closed days page: %v", err)
	}
	wantLabel := monday.Format("2006年1月2日") + "（月）"
	if !strings.Contains(listed, wantLabel) || !strings.Contains(listed, "振替休業日") {
		t.Errorf("closed days page: %q, want %s", listed, wantLabel)
	}
	browsertest.Screenshot(t, console, "closed-days")

	if got := suggested(at(friday, 21, 0)); got != ymd(tuesday) {
		t.Errorf("Friday evening with Monday closed: the form suggests %s, want %s", got, ymd(tuesday))
	}
	// The phone shows the same suggestion.
	phone := browsertest.New(t, 360, 740)
	phoneLink := apptest.AbsenceLink(t, w, parent, 2)
	err = chromedp.Do(phone,
		chromedp.Navigate(phoneLink),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="absence"]`)),
	)
	if err != nil {
		t.Fatal(err)
	}
	from, err := chromedp.Run(phone, chromedp.Value(chromedp.CSS(`#f-from`)))
	if err != nil {
		t.Fatalf("reading the phone form's date: %v", err)
	}
	note, err := chromedp.Run(phone, chromedp.Text(chromedp.CSS(`[data-testid="first-day"]`)))
	if err != nil {
		t.Fatalf("reading the phone form's first-day note: %v", err)
	}
	if want := tuesday.Format("1月2日") + "（火）"; from != ymd(tuesday) || !strings.Contains(note, want) {
		t.Errorf("the phone's form suggests %s (%q), want %s", from, note, want)
	}
	browsertest.Screenshot(t, phone, "absence-first-day")

	// Sent as suggested, the report is for Tuesday.
	page := b.Get(link)
	key, _ := page.Doc.Find(`input[name="key"]`).Attr("value")
	child, _ := page.Doc.Find(`input[name="child"]`).Attr("value")
	if r := b.Post(link, url.Values{"key": {key}, "child": {child}, "kind": {"absent"}, "from": {ymd(tuesday)}, "reason": {"family"}}); r.Status != 200 {
		t.Fatalf("submit: %d %s", r.Status, apptest.Text(r))
	}
	var day string
	if err := s.Pool.QueryRow(ctx, `SELECT to_char(date_from, 'YYYY-MM-DD') FROM absence_report`).Scan(&day); err != nil || day != ymd(tuesday) {
		t.Errorf("the report is for %s (%v), want %s", day, err, ymd(tuesday))
	}
}
