package absence_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"
	"github.com/chromedp/chromedp"

	"github.com/renraku/renraku/internal/apptest"
	"github.com/renraku/renraku/internal/browsertest"
	"github.com/renraku/renraku/internal/demo"
	"github.com/renraku/renraku/internal/linesim"
)

// registeredSiblings follows the account and registers a parent with two children of
// さくら, one in each of two classes (with their class codes).
func registeredSiblings(t *testing.T, w *apptest.LineWorld, name string, children [2]string, classes [2]int64) (linesim.User, *apptest.ParentBrowser) {
	t.Helper()
	sakuraID, _, _ := apptest.SchoolAndClass(t, w, demo.Schools[0].Name, "1年1組")
	code := apptest.ClassCodes(t, w, sakuraID)
	u := w.NewParent(t, name+"のLINE")
	if _, err := w.Sim.Follow(w.Ch.LineChannelID, u.ID); err != nil {
		t.Fatal(err)
	}
	link := apptest.LinkIn(t, w, u.ID, "友だち追加ありがとうございます", 1)
	b := apptest.NewParentBrowser(t)
	b.Get(link)
	if r := b.Post(link, url.Values{"consent": {"yes"}, "name": {name}, "relationship": {"mother"},
		"child.0.name": {children[0]}, "child.0.school": {apptest.Itoa(sakuraID)}, "child.0.class": {apptest.Itoa(classes[0])}, "child.0.code": {code[classes[0]]},
		"child.1.name": {children[1]}, "child.1.school": {apptest.Itoa(sakuraID)}, "child.1.class": {apptest.Itoa(classes[1])}, "child.1.code": {code[classes[1]]},
		"op": {"save"}}); r.Status != http.StatusOK {
		t.Fatalf("register siblings: %d %s", r.Status, apptest.Text(r))
	}
	return u, b
}

// TestSiblingsAbsentInOneReport: a parent of two children in different classes ticks
// both on the phone and sends once; each child gets a report in their own homeroom
// teacher's list, and the confirmation page and the LINE message name both.
func TestSiblingsAbsentInOneReport(t *testing.T) {
	t.Parallel()
	browsertest.RequireJapaneseFont(t)
	w := apptest.StartLineWorld(t)
	s := w.App.Services()
	ctx := context.Background()
	if _, err := demo.SeedStaff(ctx, s); err != nil {
		t.Fatal(err)
	}
	_, class11, _ := apptest.SchoolAndClass(t, w, demo.Schools[0].Name, "1年1組")
	_, class12, _ := apptest.SchoolAndClass(t, w, demo.Schools[0].Name, "1年2組")
	parent, b := registeredSiblings(t, w, "木村 恵", [2]string{"木村 あおい", "木村 そら"}, [2]int64{class11, class12})
	link := apptest.AbsenceLink(t, w, parent, 1)

	// The form offers both children to tick; sending with none ticked is refused.
	page := b.Get(link)
	if n := page.Doc.Find(`input[type="checkbox"][name="child"]`).Length(); n != 2 {
		t.Fatalf("%d children to tick, want 2: %s", n, apptest.Text(page))
	}
	key, _ := page.Doc.Find(`input[name="key"]`).Attr("value")
	day, _ := page.Doc.Find(`#f-from`).Attr("value")
	r := b.Post(link, url.Values{"key": {key}, "kind": {"absent"}, "from": {day}, "reason": {"illness"}})
	if r.Status != http.StatusUnprocessableEntity || !strings.Contains(r.Doc.Find(`[data-testid="error-child"]`).Text(), "お子様を選んでください") {
		t.Fatalf("no child ticked: %d %s", r.Status, apptest.Text(r))
	}

	// On the phone (a link of its own: a link opens in one browser only).
	phoneLink := apptest.AbsenceLink(t, w, parent, 2)
	phone := browsertest.New(t, 360, 740)
	err := chromedp.Do(phone,
		chromedp.Navigate(phoneLink),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="children"]`)),
		chromedp.Click(chromedp.CSS(`[data-testid="children"] label:nth-of-type(1) input`)),
		chromedp.Click(chromedp.CSS(`[data-testid="children"] label:nth-of-type(2) input`)),
		chromedp.Click(chromedp.CSS(`input[name="symptoms"][value="fever"]`)),
	)
	if err != nil {
		t.Fatal(err)
	}
	browsertest.Screenshot(t, phone, "absence-siblings-form")
	err = chromedp.Do(phone,
		chromedp.Click(chromedp.CSS(`[data-testid="absence-submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="absence-done"]`)),
	)
	if err != nil {
		body, _ := chromedp.Run(phone, chromedp.Text(chromedp.CSS(`main`)))
		t.Fatalf("submit: %v: %s", err, body)
	}
	browsertest.Screenshot(t, phone, "absence-siblings-done")
	done, err := chromedp.Run(phone, chromedp.Text(chromedp.CSS(`[data-testid="absence-done"]`)))
	if err != nil {
		t.Fatalf("reading the confirmation: %v", err)
	}
	if !strings.Contains(done, "木村 あおいさん、木村 そらさんの欠席") {
		t.Errorf("confirmation %q does not name both children", done)
	}
	apptest.WaitBotText(t, w, parent.ID, "木村 あおいさん、木村 そらさんの欠席", 1)

	// One report per child, each in their own class.
	reports := func() map[int64]int {
		t.Helper()
		rows, err := s.Pool.Query(ctx, `SELECT class_id, count(*) FROM absence_report WHERE status <> 'cancelled' GROUP BY class_id`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		out := map[int64]int{}
		for rows.Next() {
			var c int64
			var n int
			if err := rows.Scan(&c, &n); err != nil {
				t.Fatal(err)
			}
			out[c] = n
		}
		return out
	}
	if got := reports(); len(got) != 2 || got[class11] != 1 || got[class12] != 1 {
		t.Fatalf("reports per class: %v", got)
	}

	// Each homeroom teacher's morning list has their pupil, not the sibling.
	for _, tc := range []struct {
		login      string
		class      int64
		has, hasnt string
	}{
		{"sakura.tannin11", class11, "木村 あおい", "木村 そら"},
		{"sakura.tannin12", class12, "木村 そら", "木村 あおい"},
	} {
		c := apptest.NewStaffClient(t, w.App.URL())
		c.SignIn(tc.login, demo.Password)
		r := c.Get("/staff/absences?class=" + apptest.Itoa(tc.class) + "&date=" + day)
		rows := r.Doc.Find(`[data-testid="absence-row"]`).Text()
		if r.Status != http.StatusOK || !strings.Contains(rows, tc.has) || strings.Contains(rows, tc.hasnt) {
			t.Errorf("%s's list: %d %q", tc.login, r.Status, rows)
		}
	}

	// A double tap of a two-child form stores each child's report once.
	page = b.Get(link)
	key, _ = page.Doc.Find(`input[name="key"]`).Attr("value")
	var ids []string
	page.Doc.Find(`input[name="child"]`).Each(func(_ int, in *goquery.Selection) {
		v, _ := in.Attr("value")
		ids = append(ids, v)
	})
	form := url.Values{"key": {key}, "child": ids, "kind": {"late"}, "from": {day}, "reason": {"hospital"}, "time": {"10:00"}}
	for range 2 {
		if r := b.Post(link, form); r.Status != http.StatusOK {
			t.Fatalf("double tap: %d %s", r.Status, apptest.Text(r))
		}
	}
	if got := reports(); got[class11] != 1 || got[class12] != 1 {
		t.Errorf("after a double tap, reports per class: %v", got)
	}
}
