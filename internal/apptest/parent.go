package apptest

import (
	"context"
	"errors"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/renraku/renraku/internal/audit"
	"github.com/renraku/renraku/internal/demo"
	"github.com/renraku/renraku/internal/line"
	"github.com/renraku/renraku/internal/linesim"
	"github.com/renraku/renraku/internal/registration"
)

// ParentBrowser is a phone's browser opening links from LINE.
type ParentBrowser struct {
	T testing.TB
	// C does the requests: a StaffClient without a staff session.
	C *StaffClient
}

// NewParentBrowser returns a browser with no cookies yet.
func NewParentBrowser(t testing.TB) *ParentBrowser {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &ParentBrowser{T: t, C: &StaffClient{T: t, HTTP: &http.Client{Jar: jar, Timeout: 20 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}}
}

// Get opens the page at the absolute URL u.
func (b *ParentBrowser) Get(u string) Response {
	b.T.Helper()
	return b.C.Do(MustRequest(b.T, http.MethodGet, u, nil))
}

// Post sends form to the absolute URL u (the form carries its own CSRF token).
func (b *ParentBrowser) Post(u string, form url.Values) Response {
	b.T.Helper()
	req := MustRequest(b.T, http.MethodPost, u, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.C.Do(req)
}

// LinkIn waits for the bot's message with a link button and returns the link.
func LinkIn(t testing.TB, w *LineWorld, user, want string, count int) string {
	t.Helper()
	items := WaitBotText(t, w, user, want, count)
	for i := len(items) - 1; i >= 0; i-- {
		for _, a := range items[i].Actions {
			if a.Type == "uri" && strings.Contains(a.URI, "/p/") {
				return a.URI
			}
		}
	}
	t.Fatalf("no link in the chat: %+v", items)
	return ""
}

// SchoolAndClass returns the IDs of the school named schoolName, of its class (as
// 「1年1組」) and of its first club (0 when it has none).
func SchoolAndClass(t testing.TB, w *LineWorld, schoolName, class string) (int64, int64, int64) {
	t.Helper()
	s := w.App.Services()
	sc, err := s.Schools.FindSchool(context.Background(), schoolName)
	if err != nil {
		t.Fatal(err)
	}
	var classID, clubID int64
	err = s.Pool.QueryRow(context.Background(), `SELECT id FROM class WHERE school_id = $1 AND grade::text || '年' || name = $2`, sc.ID, class).Scan(&classID)
	if err != nil {
		t.Fatal(err)
	}
	// A school without clubs has club 0.
	err = s.Pool.QueryRow(context.Background(), `SELECT id FROM club WHERE school_id = $1 ORDER BY name LIMIT 1`, sc.ID).Scan(&clubID)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		t.Fatalf("club of %s: %v", schoolName, err)
	}
	return sc.ID, classID, clubID
}

// Itoa formats an ID as it appears in URLs and forms.
func Itoa(n int64) string { return strconv.FormatInt(n, 10) }

// ClassCodes returns the registration codes of a school's classes, as a parent types
// them.
func ClassCodes(t *testing.T, w *LineWorld, schoolID int64) map[int64]string {
	t.Helper()
	s := w.App.Services()
	// The board's administrator may read every school's codes.
	board := SignedInAs(t, w, "midori.kyoiku")
	sc, err := s.Schools.Get(board, schoolID)
	if err != nil {
		t.Fatal(err)
	}
	codes, err := s.Registration.Codes(board, sc.BoardID, schoolID, 0)
	if err != nil {
		t.Fatal(err)
	}
	out := map[int64]string{}
	for _, c := range codes {
		out[c.ClassID] = registration.FormatCode(c.Code.Reveal())
	}
	return out
}

// RegisteredParent follows the account and registers a child of 1年1組 with the class
// code; it returns the parent's LINE user and browser.
func RegisteredParent(t testing.TB, w *LineWorld, name, child, code string) (linesim.User, *ParentBrowser) {
	t.Helper()
	u := w.NewParent(t, name+"のLINE")
	if _, err := w.Sim.Follow(w.Ch.LineChannelID, u.ID); err != nil {
		t.Fatal(err)
	}
	link := LinkIn(t, w, u.ID, "友だち追加ありがとうございます", 1)
	sakuraID, class11, _ := SchoolAndClass(t, w, demo.Schools[0].Name, "1年1組")
	b := NewParentBrowser(t)
	b.Get(link)
	r := b.Post(link, url.Values{"consent": {"yes"}, "name": {name}, "relationship": {"mother"}, "child.0.name": {child},
		"child.0.school": {Itoa(sakuraID)}, "child.0.class": {Itoa(class11)}, "child.0.code": {code}, "op": {"save"}})
	if r.Status != http.StatusOK {
		t.Fatalf("register %s: %d %s", name, r.Status, Text(r))
	}
	return u, b
}

// AbsenceLink taps 「遅刻・欠席連絡」 and returns the form's link.
func AbsenceLink(t testing.TB, w *LineWorld, u linesim.User, n int) string {
	t.Helper()
	if _, err := w.Sim.Postback(w.Ch.LineChannelID, u.ID, line.PostbackData("menu.absence", ""), nil); err != nil {
		t.Fatal(err)
	}
	return LinkIn(t, w, u.ID, "遅刻・欠席の連絡ができます", n)
}

// MustSchool returns the ID of the i-th demo school.
func MustSchool(t testing.TB, w *LineWorld, i int) int64 {
	t.Helper()
	sc, err := w.App.Services().Schools.FindSchool(context.Background(), demo.Schools[i].Name)
	if err != nil {
		t.Fatal(err)
	}
	return sc.ID
}

// The LINE Login channel and LIFF app the LIFF tests configure.
const (
	LoginChannelID = "1650000001"
	LIFFID         = "1650000001-AbCdEfGh"
)

// RegisterWithNickname registers a parent of one child of Sakura's class without a code,
// with a nickname other than their name.
func RegisterWithNickname(t *testing.T, w *LineWorld, name, relationship, nickname, child string, classID int64) {
	t.Helper()
	u := w.NewParent(t, name+"のLINE")
	if _, err := w.Sim.Follow(w.Ch.LineChannelID, u.ID); err != nil {
		t.Fatal(err)
	}
	link := LinkIn(t, w, u.ID, "友だち追加ありがとうございます", 1)
	b := NewParentBrowser(t)
	b.Get(link)
	r := b.Post(link, url.Values{"consent": {"yes"}, "name": {name}, "relationship": {relationship}, "nickname": {nickname}, "op": {"save"},
		"child.0.name": {child}, "child.0.school": {Itoa(MustSchool(t, w, 0))}, "child.0.class": {Itoa(classID)}})
	if r.Status != http.StatusOK {
		t.Fatalf("register %s: %d %s", name, r.Status, Text(r))
	}
}

// WithLIFF gives the demo channel a LINE Login channel and a LIFF app, in renraku and in
// the simulator.
func WithLIFF(t testing.TB, w *LineWorld) {
	t.Helper()
	ctx := context.Background()
	s := w.App.Services()
	ch := w.Ch
	ch.LoginChannelID, ch.LIFFID = LoginChannelID, LIFFID
	sakura, err := s.Schools.FindSchool(ctx, demo.Schools[0].Name)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.LINE.SetChannel(ctx, audit.OperatorActor, sakura.ID, sakura.BoardID, ch); err != nil {
		t.Fatal(err)
	}
	if err := w.Sim.AddChannel(linesim.ChannelConfig{ID: ch.LineChannelID, Secret: ch.Secret.Reveal(), AccessToken: ch.AccessToken.Reveal(),
		WebhookURL: w.App.URL() + "/line/webhook/" + ch.LineChannelID, Name: "みどり市 学校連絡",
		LoginChannelID: LoginChannelID, LoginChannelSecret: "0123456789abcdef0123456789abcdef",
		// The LIFF app's endpoint URL is renraku's base URL (docs/OPERATIONS.md).
		LIFFApps: map[string]string{LIFFID: w.App.URL()}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.LINE.SyncRichMenus(ctx, ch); err != nil {
		t.Fatal(err)
	}
}
