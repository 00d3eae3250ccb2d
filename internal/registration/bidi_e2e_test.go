package registration_test

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"github.com/renraku/renraku/internal/apptest"
	"github.com/renraku/renraku/internal/demo"
)

// TestRegistrationDropsBidiControls: a parent who registers with a right-to-left
// override in the nickname, a zero width space in the name and an isolate in the
// child's name is stored without them (the emoji family in the nickname stays whole),
// and the class page shows the nickname and the child isolated in <bdi>.
func TestRegistrationDropsBidiControls(t *testing.T) {
	t.Parallel()
	w, logins := apptest.StartDemoWorld(t)
	s := w.App.Services()
	ctx := context.Background()
	sakuraID, class11, _ := apptest.SchoolAndClass(t, w, demo.Schools[0].Name, "1年1組")
	kocho := apptest.SignedInAs(t, w, "sakura.kocho")
	sakura := mustGetSchool(t, kocho, s, sakuraID)
	code := apptest.ClassCodes(t, w, sakuraID)[class11]
	u := w.NewParent(t, "bidi")
	if _, err := w.Sim.Follow(w.Ch.LineChannelID, u.ID); err != nil {
		t.Fatal(err)
	}
	link := apptest.LinkIn(t, w, u.ID, "友だち追加ありがとうございます", 1)
	b := apptest.NewParentBrowser(t)
	b.Get(link)
	r := b.Post(link, url.Values{"consent": {"yes"}, "name": {"佐藤\u200B 花子"}, "relationship": {"mother"},
		"nickname": {"はなこ\u202Eママ👨\u200D👩\u200D👧"}, "child.0.name": {"佐藤\u2067 一郎"},
		"child.0.school": {apptest.Itoa(sakuraID)}, "child.0.class": {apptest.Itoa(class11)}, "child.0.code": {code}, "op": {"save"}})
	if r.Status != http.StatusOK {
		t.Fatalf("register: %d %s", r.Status, apptest.Text(r))
	}
	const nickname = "はなこママ👨\u200D👩\u200D👧"
	waitActive(t, s, kocho, sakura.BoardID, sakuraID, sakura.CurrentYear, class11, nickname, true)
	members, err := s.Registration.ClassMembers(kocho, sakura.BoardID, sakuraID, sakura.CurrentYear, class11)
	if err != nil {
		t.Fatal(err)
	}
	var child string
	for _, m := range members {
		if strings.HasPrefix(m.ChildName.Reveal(), "佐藤") {
			child = m.ChildName.Reveal()
		}
	}
	if child != "佐藤 一郎" {
		t.Errorf("child stored as %+q, want 佐藤 一郎", child)
	}
	// The class page isolates the nickname and the child's name.
	page := apptest.NewStaffClientSignedIn(t, w, logins, "sakura.kocho").Get("/staff/classes/" + apptest.Itoa(class11))
	if page.Status != http.StatusOK {
		t.Fatalf("class page: %d", page.Status)
	}
	var isolated []string
	page.Doc.Find(`[data-testid="member"] bdi`).Each(func(_ int, sel *goquery.Selection) { isolated = append(isolated, sel.Text()) })
	if !slices.Contains(isolated, nickname) || !slices.Contains(isolated, "佐藤 一郎") {
		t.Errorf("isolated on the class page: %+q, want the nickname and the child", isolated)
	}
	if strings.ContainsAny(page.Body, "\u202E\u200B\u2067") {
		t.Error("the class page holds a bidirectional or invisible control character")
	}

	// A LINE message with an override reaches the inbox without it, shown isolated.
	if _, err := s.Pool.Exec(ctx, `UPDATE school SET office_open = '00:00', office_close = '23:59', office_days = '0123456' WHERE id = $1`, sakuraID); err != nil {
		t.Fatal(err)
	}
	apptest.Pick(t, w, u, "1年1組 担任", 1)
	if _, err := w.Sim.SendText(w.Ch.LineChannelID, u.ID, "明日は\u202E休みます\u200B"); err != nil {
		t.Fatal(err)
	}
	tannin := apptest.NewStaffClient(t, w.App.URL())
	tannin.SignIn("sakura.tannin11", demo.Password)
	var href string
	apptest.WaitPage(t, tannin, "/staff/inbox", func(r apptest.Response) bool {
		href, _ = r.Doc.Find(`[data-testid="conversation"] a`).Attr("href")
		return href != ""
	})
	// The conversation exists from the parent's choice; wait for the message in it.
	var bodies []string
	apptest.WaitPage(t, tannin, href, func(r apptest.Response) bool {
		bodies = nil
		r.Doc.Find(`p.body[dir="auto"]`).Each(func(_ int, sel *goquery.Selection) { bodies = append(bodies, sel.Text()) })
		return len(bodies) > 0
	})
	if !slices.Contains(bodies, "明日は休みます") {
		t.Errorf("thread bodies %+q, want 明日は休みます isolated and without controls", bodies)
	}
}
