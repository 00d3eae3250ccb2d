package app_test

import (
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"
	"github.com/chromedp/chromedp"

	"github.com/renraku/renraku/internal/apptest"
	"github.com/renraku/renraku/internal/browsertest"
	"github.com/renraku/renraku/internal/demo"
	"github.com/renraku/renraku/internal/pgtest"
	"github.com/renraku/renraku/internal/staff/stafftest"
)

// crawlLimit bounds the pages one persona's crawl visits: the demo's lists link to
// many records of the same kind, and a few of each are enough.
const crawlLimit = 250

// TestCrawlEveryPersona signs in as every demo persona, with a registered parent who
// has written to the homeroom teacher and reported an absence, and follows every link
// reachable from their home page, as a newcomer clicking through would. No link may
// answer 4xx or 5xx, and every HTML page has a heading. Links to the same page with
// other record IDs are followed a few times each, not all.
func TestCrawlEveryPersona(t *testing.T) {
	if testing.Short() {
		t.Skip("crawls every persona's pages")
	}
	t.Parallel()
	w, logins := apptest.StartDemoWorld(t)
	sakuraID, class11, _ := apptest.SchoolAndClass(t, w, demo.Schools[0].Name, "1年1組")
	kato, _ := apptest.RegisteredParent(t, w, "加藤 由美", "加藤 海", apptest.ClassCodes(t, w, sakuraID)[class11])
	apptest.Pick(t, w, kato, "1年1組 担任", 1)
	if _, err := w.Sim.SendText(w.Ch.LineChannelID, kato.ID, "明日の遠足の持ち物を教えてください"); err != nil {
		t.Fatal(err)
	}
	apptest.WaitRows(t, w, `SELECT count(*) FROM line_event WHERE processed_at IS NULL`)

	for _, l := range logins {
		t.Run(l.Login, func(t *testing.T) {
			c := apptest.NewStaffClient(t, w.App.URL())
			c.Secret = l.TOTPSecret
			c.SignIn(l.Login, demo.Password)
			crawl(t, c, "/staff/")
		})
	}
}

// crawl visits every same-site link reachable from start, breadth first.
func crawl(t *testing.T, c *apptest.StaffClient, start string) {
	t.Helper()
	seen := map[string]bool{start: true}
	shapes := map[string]int{} // path with its numbers blanked → pages visited
	queue := []string{start}
	from := map[string]string{}
	visited := 0
	for len(queue) > 0 && visited < crawlLimit {
		page := queue[0]
		queue = queue[1:]
		visited++
		r := c.Get(page)
		if r.Status >= 400 {
			t.Errorf("%s answers %d (linked from %s)", page, r.Status, from[page])
			continue
		}
		if r.Status >= 300 || r.Doc == nil {
			continue // a redirect (its target is linked elsewhere) or a download
		}
		if r.Doc.Find("h1").Length() == 0 {
			t.Errorf("%s has no heading (linked from %s)", page, from[page])
		}
		r.Doc.Find(`a[href]`).Each(func(_ int, s *goquery.Selection) {
			href, _ := s.Attr("href")
			u, err := url.Parse(href)
			if err != nil || u.Host != "" || u.Scheme != "" || !strings.HasPrefix(u.Path, "/") {
				return
			}
			if strings.HasPrefix(u.Path, "/static/") || strings.HasSuffix(u.Path, "/stream") {
				return
			}
			u.Fragment = ""
			next := u.String()
			shape := blankNumbers(u.Path)
			if seen[next] || shapes[shape] >= 3 {
				return
			}
			seen[next] = true
			shapes[shape]++
			from[next] = page
			queue = append(queue, next)
		})
	}
	if visited < 5 {
		t.Errorf("only %d pages reached from %s", visited, start)
	}
	t.Logf("%d pages visited, %d more queued", visited, len(queue))
}

// blankNumbers replaces each run of digits in a path with "#".
func blankNumbers(p string) string {
	var b strings.Builder
	digit := false
	for _, r := range p {
		if r >= '0' && r <= '9' {
			if !digit {
				b.WriteByte('#')
			}
			digit = true
			continue
		}
		digit = false
		b.WriteRune(r)
	}
	return b.String()
}

// TestHomePagesInChromium signs in as each kind of staff member in Chromium, as a
// person would, and opens every link of their home page: each one shows a page with
// a heading, never the error page. The screenshots (RENRAKU_SCREENSHOT_DIR) are the
// ones to look at after a change to a home page.
func TestHomePagesInChromium(t *testing.T) {
	if testing.Short() {
		t.Skip("opens Chromium five times")
	}
	t.Parallel()
	browsertest.RequireJapaneseFont(t)
	a := apptest.StartApp(t, pgtest.NewDBURL(t), nil)
	stafftest.Build(t, a.Pool(), a.Services().Vault)
	for _, login := range []string{"board.admin", "admin.a", "homeroom.a11", "advisor.a", "teacher.a"} {
		t.Run(login, func(t *testing.T) {
			t.Parallel()
			ctx := browsertest.New(t, 1366, 900)
			apptest.BrowserSignIn(t, ctx, a.URL(), login)
			browsertest.Screenshot(t, ctx, "home-"+login)
			links, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll('main a[href^="/"]')].map(a => a.getAttribute('href'))`))
			if err != nil {
				t.Fatal(err)
			}
			if len(links) == 0 {
				t.Fatal("the home page has no links")
			}
			for i, href := range links {
				if err := chromedp.Do(ctx, chromedp.Navigate(a.URL()+href), chromedp.WaitVisible(chromedp.CSS(`h1`))); err != nil {
					t.Fatalf("%s: %v", href, err)
				}
				heading, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`h1`)))
				if err != nil {
					t.Fatal(err)
				}
				errors, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('[data-testid="error"]').length`))
				if err != nil {
					t.Fatal(err)
				}
				if errors > 0 || strings.TrimSpace(heading) == "" {
					t.Errorf("the home page's link %s shows an error (%q)", href, heading)
				}
				browsertest.Screenshot(t, ctx, fmt.Sprintf("home-%s-%02d", login, i))
			}
		})
	}
}
