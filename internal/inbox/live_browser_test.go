package inbox_test

import (
	"bufio"
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/renraku/renraku/internal/apptest"
	"github.com/renraku/renraku/internal/browsertest"
	"github.com/renraku/renraku/internal/demo"
	"github.com/renraku/renraku/internal/inbox"
	"github.com/renraku/renraku/internal/live"
)

// TestThreadIsLive has a homeroom teacher's thread open in Chromium while the parent
// writes through the LINE simulator: the new message appears without a reload and is
// marked read once shown (never on arrival). When a colleague (the school's
// administrator) replies, the open thread names them in a notice; the teacher's own
// reply raises none. The live streams of a teacher of another duty in the school and
// of a teacher of another school carry none of the conversation's events, and no
// stream carries anything but IDs.
func TestThreadIsLive(t *testing.T) {
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
	hikari, err := s.Schools.FindSchool(ctx, demo.Schools[1].Name)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Pool.Exec(ctx, `UPDATE school SET office_open = '00:00', office_close = '23:59', office_days = '0123456' WHERE id = $1`, sakuraID); err != nil {
		t.Fatal(err)
	}
	p1, _ := apptest.RegisteredParent(t, w, "中村 光", "中村 空", apptest.ClassCodes(t, w, sakuraID)[class11])
	apptest.Pick(t, w, p1, "1年1組 担任", 1)
	if _, err := w.Sim.SendText(w.Ch.LineChannelID, p1.ID, "連絡帳を忘れました"); err != nil {
		t.Fatal(err)
	}
	apptest.WaitRows(t, w, `SELECT 1 - count(*) FROM message WHERE direction = 'in'`)
	var convID int64
	if err := s.Pool.QueryRow(ctx, `SELECT id FROM conversation WHERE class_id = $1`, class11).Scan(&convID); err != nil {
		t.Fatal(err)
	}
	thread := "/staff/inbox/" + strconv.FormatInt(convID, 10)
	unread := func() int {
		t.Helper()
		var n int
		if err := s.Pool.QueryRow(ctx, `SELECT unread FROM conversation WHERE id = $1`, convID).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := unread(); n != 1 {
		t.Fatalf("unread before the thread is opened: %d, want 1", n)
	}

	// The streams of a teacher of another duty (the club's advisor), of a teacher of
	// another school, and of the school's administrator.
	komon := apptest.NewStaffClient(t, w.App.URL())
	komon.SignIn("sakura.komon", demo.Password)
	other := apptest.NewStaffClient(t, w.App.URL())
	other.SignIn("hikari.tannin1a", demo.Password)
	kocho := apptest.NewStaffClientSignedIn(t, w, logins, "sakura.kocho")
	komonStream, otherStream, kochoStream := openLive(t, komon), openLive(t, other), openLive(t, kocho)

	// The homeroom teacher opens the thread: it is read, and its stream connects.
	browser := browsertest.New(t, 1280, 900)
	err = chromedp.Do(browser,
		chromedp.Navigate(w.App.URL()+"/staff/login"),
		chromedp.SendKeys(chromedp.CSS(`#f-login`), "sakura.tannin11"),
		chromedp.SendKeys(chromedp.CSS(`#f-password`), demo.Password),
		chromedp.Click(chromedp.CSS(`[data-testid="signin-submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="to-inbox"]`)),
		chromedp.Navigate(w.App.URL()+thread),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="thread"]`)),
		chromedp.WaitReady(chromedp.CSS(`body[data-live="open"]`)),
	)
	if err != nil {
		t.Fatal(err)
	}
	if n := unread(); n != 0 {
		t.Errorf("unread after the thread was shown: %d, want 0", n)
	}

	// The parent writes: the message appears in the open thread, and is read.
	if _, err := w.Sim.SendText(w.Ch.LineChannelID, p1.ID, "明日の持ち物を教えてください"); err != nil {
		t.Fatal(err)
	}
	waitText(t, browser, `[data-testid="messages"] [data-testid="message"]:last-child`, "明日の持ち物を教えてください")
	if n := unread(); n != 0 {
		t.Errorf("unread after the new message was shown: %d, want 0", n)
	}
	browsertest.Screenshot(t, browser, "thread-live-message")

	// A colleague replies: the open thread names them in a notice, with a link to show
	// the thread again.
	if r := kocho.Post(thread+"/reply", url.Values{"body": {"校長の桜井です。体操服を持たせてください。"}}); r.Status != http.StatusSeeOther {
		t.Fatalf("the colleague's reply: %d %s", r.Status, apptest.Text(r))
	}
	waitText(t, browser, `[data-testid="thread-notice"]`, "先生が返信しました。返信する前に最新のやりとりを確認してください。")
	notice, err := chromedp.Run(browser, chromedp.Text(chromedp.CSS(`[data-testid="thread-notice"]`)))
	if err != nil || !strings.Contains(notice, "桜井 校長") || strings.Contains(notice, "中村") {
		t.Errorf("notice: %q (%v), want the colleague's name and nothing of the parent's", notice, err)
	}
	browsertest.Screenshot(t, browser, "thread-live-notice")
	if err := chromedp.Do(browser,
		chromedp.Click(chromedp.CSS(`[data-testid="thread-reload"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="thread"]`)),
		chromedp.WaitReady(chromedp.CSS(`body[data-live="open"]`)),
	); err != nil {
		t.Fatal(err)
	}
	waitText(t, browser, `[data-testid="messages"]`, "体操服を持たせてください")

	// The teacher's own reply raises no notice: after it, the parent's next message is
	// shown (the events are heard) and no notice with it.
	if err := chromedp.Do(browser,
		chromedp.SendKeys(chromedp.CSS(`#f-body`), "承知しました。"),
		chromedp.Click(chromedp.CSS(`[data-testid="reply-submit"]`)),
	); err != nil {
		t.Fatal(err)
	}
	waitText(t, browser, `[data-testid="messages"] [data-testid="message"]:last-child`, "承知しました。")
	if err := chromedp.Do(browser, chromedp.WaitReady(chromedp.CSS(`body[data-live="open"]`))); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Sim.SendText(w.Ch.LineChannelID, p1.ID, "ありがとうございました"); err != nil {
		t.Fatal(err)
	}
	waitText(t, browser, `[data-testid="messages"] [data-testid="message"]:last-child`, "ありがとうございました")
	if notices, err := chromedp.Run(browser, chromedp.Evaluate[int](`document.querySelectorAll('[data-testid="thread-notice"]').length`)); err != nil || notices != 0 {
		t.Errorf("notices after the teacher's own reply: %d (%v), want none", notices, err)
	}
	browsertest.Screenshot(t, browser, "thread-live-own-reply")

	// A message that arrives while nobody shows the thread stays unread; the thread's
	// news marks read only the messages it returns.
	if err := chromedp.Do(browser, chromedp.Navigate(w.App.URL()+"/staff/"), chromedp.WaitVisible(chromedp.CSS(`[data-testid="staff-home"]`))); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Sim.SendText(w.Ch.LineChannelID, p1.ID, "もう一つ質問があります"); err != nil {
		t.Fatal(err)
	}
	apptest.WaitRows(t, w, `SELECT 4 - count(*) FROM message WHERE direction = 'in'`)
	if n := unread(); n != 1 {
		t.Errorf("unread after a message no one was shown: %d, want 1", n)
	}
	var last, before int64
	if err := s.Pool.QueryRow(ctx, `SELECT max(id), (SELECT max(id) FROM message WHERE conversation_id = $1 AND id < (SELECT max(id) FROM message WHERE conversation_id = $1))
		FROM message WHERE conversation_id = $1`, convID).Scan(&last, &before); err != nil {
		t.Fatal(err)
	}
	tannin := apptest.SignedInAs(t, w, "sakura.tannin11")
	me, err := s.Staff.FindByLogin(ctx, "sakura.tannin11")
	if err != nil {
		t.Fatal(err)
	}
	if n, err := s.Inbox.Since(tannin, convID, last, me.ID, inbox.NoticeReply); err != nil || len(n.Messages) != 0 || n.Notice != "" {
		t.Errorf("news after the last message, of the teacher's own reply: %+v (%v), want nothing", n, err)
	}
	if n := unread(); n != 1 {
		t.Errorf("unread after news that showed nothing: %d, want 1", n)
	}
	if n, err := s.Inbox.Since(tannin, convID, before, 0, ""); err != nil || len(n.Messages) != 1 || n.Messages[0].Body.Reveal() != "もう一つ質問があります" {
		t.Errorf("news after the message before: %+v (%v), want the new message", n.Messages, err)
	}
	if n := unread(); n != 0 {
		t.Errorf("unread after the news showed the message: %d, want 0", n)
	}
	principal, err := s.Staff.FindByLogin(ctx, "sakura.kocho")
	if err != nil {
		t.Fatal(err)
	}
	if n, err := s.Inbox.Since(tannin, convID, last, principal.ID, inbox.NoticeHandOver); err != nil || n.Notice != inbox.NoticeHandOver || n.Colleague.Reveal() != "桜井 校長" {
		t.Errorf("news of the administrator's hand-over: %q %q (%v)", n.Notice, n.Colleague.Reveal(), err)
	}
	stranger, err := s.Staff.FindByLogin(ctx, "hikari.tannin1a")
	if err != nil {
		t.Fatal(err)
	}
	if n, err := s.Inbox.Since(tannin, convID, last, stranger.ID, inbox.NoticeReply); err != nil || n.Notice != "" {
		t.Errorf("news naming another school's teacher: %q %q (%v), want no notice", n.Notice, n.Colleague.Reveal(), err)
	}

	// A control event of each school, published after every event of the conversation:
	// once a stream has it, it would have had the conversation's events before it.
	for _, school := range []int64{sakuraID, hikari.ID} {
		if err := s.Tx.InTx(ctx, func(ctx context.Context) error {
			return s.Inbox.Live.Publish(ctx, live.Event{Kind: live.Absence, Board: hikari.BoardID, School: school})
		}); err != nil {
			t.Fatal(err)
		}
	}
	ids := regexp.MustCompile(`^\{"conversation":\d+,"staff":\d+(,"change":"(read|state|handover)")?\}$`)
	for name, stream := range map[string]<-chan sse{"the advisor": komonStream, "another school's teacher": otherStream, "the administrator": kochoStream} {
		got := untilAbsence(t, stream)
		var mine []sse
		for _, e := range got {
			if !ids.MatchString(e.data) {
				t.Errorf("%s's stream: %q carries more than IDs", name, e.data)
			}
			if strings.Contains(e.data, `"conversation":`+strconv.FormatInt(convID, 10)+`,`) {
				mine = append(mine, e)
			}
		}
		switch {
		case name == "the administrator" && len(mine) == 0:
			t.Errorf("the administrator's stream carried none of the conversation's events: %v", got)
		case name != "the administrator" && len(mine) > 0:
			t.Errorf("%s's stream carried the conversation's events: %v", name, mine)
		}
	}
}

// sse is one server-sent event.
type sse struct{ kind, data string }

// openLive opens a staff member's live stream (/staff/live) once it is subscribed.
func openLive(t *testing.T, c *apptest.StaffClient) <-chan sse {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	req := apptest.MustRequest(t, http.MethodGet, c.Base+"/staff/live", nil).WithContext(ctx)
	// The staff client's timeout would cut a stream that never ends by itself.
	resp, err := (&http.Client{Jar: c.HTTP.Jar}).Do(req)
	if err != nil || resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("live stream: %v %v", resp, err)
	}
	sc := bufio.NewScanner(resp.Body)
	if !sc.Scan() || sc.Text() != ": ok" {
		t.Fatalf("live stream began with %q", sc.Text())
	}
	out := make(chan sse, 256)
	go func() {
		defer resp.Body.Close()
		defer close(out)
		var e sse
		for sc.Scan() {
			switch line := sc.Text(); {
			case strings.HasPrefix(line, "event: "):
				e.kind = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				e.data = strings.TrimPrefix(line, "data: ")
			case line == "" && e.kind != "":
				out <- e
				e = sse{}
			}
		}
	}()
	return out
}

// untilAbsence reads a stream until its first absence event (the control) and returns
// the events before it.
func untilAbsence(t *testing.T, stream <-chan sse) []sse {
	t.Helper()
	var got []sse
	timeout := time.After(30 * time.Second)
	for {
		select {
		case e, open := <-stream:
			if !open {
				t.Fatal("the stream ended")
			}
			if e.kind == string(live.Absence) {
				return got
			}
			got = append(got, e)
		case <-timeout:
			t.Fatalf("the control event never came; got %v", got)
		}
	}
}

// waitText waits until the element sel's text contains want (across a navigation:
// a poll that a navigation ends is begun again on the new page).
func waitText(t *testing.T, browser context.Context, sel, want string) {
	t.Helper()
	expr := `(function(){var e=document.querySelector(` + strconv.Quote(sel) + `);return !!e && e.textContent.indexOf(` + strconv.Quote(want) + `) >= 0})()`
	var err error
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); {
		if _, err = chromedp.Run(browser, chromedp.Poll[bool](expr, chromedp.WithPollingInterval(100*time.Millisecond),
			chromedp.WithPollingTimeout(time.Until(deadline)))); err == nil {
			return
		}
	}
	text, _ := chromedp.Run(browser, chromedp.Evaluate[string](`document.body.innerText`))
	t.Fatalf("%s never showed %q: %v\npage: %s", sel, want, err, text)
}
