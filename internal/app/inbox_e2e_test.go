package app_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"github.com/renraku/renraku/internal/demo"
	"github.com/renraku/renraku/internal/line"
	"github.com/renraku/renraku/internal/linesim"
	"github.com/renraku/renraku/internal/registration"
)

// pick taps 「連絡する」 and the quick reply with label, as a parent does.
func pick(t *testing.T, w *lineWorld, u linesim.User, label string, n int) {
	t.Helper()
	if _, err := w.sim.Postback(w.ch.LineChannelID, u.ID, line.PostbackData("menu.contact", ""), nil); err != nil {
		t.Fatal(err)
	}
	items := waitBotText(t, w, u.ID, "相談先を選択してください", n)
	var action *linesim.Action
	for i := len(items) - 1; i >= 0 && action == nil; i-- {
		for _, a := range items[i].QuickReply {
			if a.Label == label {
				a := a
				action = &a
				break
			}
		}
	}
	if action == nil {
		t.Fatalf("no quick reply %q in %+v", label, items[len(items)-1].QuickReply)
	}
	if _, err := w.sim.Tap(w.ch.LineChannelID, u.ID, *action); err != nil {
		t.Fatal(err)
	}
	waitBotText(t, w, u.ID, "「"+label+"」に連絡します", 1)
}

func TestContactAndInbox(t *testing.T) {
	t.Parallel()
	w := startLineWorld(t)
	s := w.app.Services()
	ctx := context.Background()
	if _, err := demo.SeedStaff(ctx, s); err != nil {
		t.Fatal(err)
	}
	sakuraID, class11, soccer := schoolAndClass(t, w, demo.Schools[0].Name, "1年1組")
	kocho := signedInAs(t, w, "sakura.kocho")
	sakura, _ := s.Schools.Get(kocho, sakuraID)
	// サッカークラブ (the first club by name may be 科学クラブ: look it up).
	if err := s.Pool.QueryRow(ctx, `SELECT id FROM club WHERE school_id = $1 AND name = 'サッカークラブ'`, sakuraID).Scan(&soccer); err != nil {
		t.Fatal(err)
	}
	// Office open around the clock for now (the auto-reply is tested below).
	if _, err := s.Pool.Exec(ctx, `UPDATE school SET office_open = '00:00', office_close = '23:59', office_days = '0123456' WHERE id = $1`, sakuraID); err != nil {
		t.Fatal(err)
	}
	codes, _ := s.Registration.Codes(kocho, sakura.BoardID, sakuraID, 0)
	var code string
	for _, c := range codes {
		if c.ClassID == class11 {
			code = registration.FormatCode(c.Code.Reveal())
		}
	}
	p1, _ := registeredParent(t, w, "木村 恵", "木村 あおい", code)
	// The second parent's child plays soccer.
	p2 := w.newParent(t, "佐々木のLINE")
	if _, err := w.sim.Follow(w.ch.LineChannelID, p2.ID); err != nil {
		t.Fatal(err)
	}
	link := linkIn(t, w, p2.ID, "友だち追加ありがとうございます", 1)
	b2 := newParentBrowser(t)
	b2.get(link)
	if r := b2.post(link, url.Values{"consent": {"yes"}, "name": {"佐々木 誠"}, "relationship": {"father"}, "child.0.name": {"佐々木 蓮"},
		"child.0.school": {itoa(sakuraID)}, "child.0.class": {itoa(class11)}, "child.0.clubs": {itoa(soccer)}, "child.0.code": {code}, "op": {"save"}}); r.status != http.StatusOK {
		t.Fatalf("register: %d %s", r.status, text(r))
	}

	// Parent 1 writes to the homeroom teacher, parent 2 to the soccer advisor.
	pick(t, w, p1, "1年1組 担任", 1)
	if _, err := w.sim.SendText(w.ch.LineChannelID, p1.ID, "明日の遠足は雨でもありますか"); err != nil {
		t.Fatal(err)
	}
	pick(t, w, p2, "サッカークラブ 顧問", 1)
	if _, err := w.sim.SendText(w.ch.LineChannelID, p2.ID, "土曜の練習を休みます"); err != nil {
		t.Fatal(err)
	}

	tannin := newStaffClient(t, w.app.URL())
	tannin.signIn("sakura.tannin11", demo.Password)
	komon := newStaffClient(t, w.app.URL())
	komon.signIn("sakura.komon", demo.Password)
	convOf := func(c *staffClient, want string) string {
		t.Helper()
		deadline := time.Now().Add(15 * time.Second)
		for time.Now().Before(deadline) {
			r := c.get("/staff/inbox")
			if href, ok := r.doc.Find(`[data-testid="conversation"] a`).Attr("href"); ok && strings.Contains(text(r), want) {
				if n := r.doc.Find(`[data-testid="conversation"]`).Length(); n != 1 {
					t.Fatalf("inbox has %d conversations: %s", n, text(r))
				}
				return href
			}
			time.Sleep(100 * time.Millisecond)
		}
		t.Fatalf("inbox never showed %q", want)
		return ""
	}
	t1 := convOf(tannin, "木村 恵")
	t2 := convOf(komon, "佐々木 誠")
	// Each sees only their own: the homeroom inbox does not list the club's message.
	if strings.Contains(text(tannin.get("/staff/inbox")), "佐々木") {
		t.Error("the homeroom teacher sees the advisor's conversation")
	}

	// An image the parent sends is fetched from LINE at once and shown in the thread.
	png := []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR renraku test image")
	if _, err := w.sim.SendImage(w.ch.LineChannelID, p1.ID, png, "image/png"); err != nil {
		t.Fatal(err)
	}
	var imgURL string
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline) && imgURL == ""; time.Sleep(100 * time.Millisecond) {
		imgURL, _ = tannin.get(t1).doc.Find(`[data-testid="image"]`).Attr("src")
	}
	if imgURL == "" {
		t.Fatalf("image not shown: %s", text(tannin.get(t1)))
	}
	if r := tannin.get(imgURL); r.status != http.StatusOK || r.body != string(png) {
		t.Fatalf("image: %d (%d bytes)", r.status, len(r.body))
	}
	if r := komon.get(imgURL); r.status != http.StatusForbidden {
		t.Errorf("advisor fetching the homeroom image: %d", r.status)
	}

	// Each answers; the answers reach the right phones under the role.
	page := tannin.get(t1)
	if !strings.Contains(text(page), "明日の遠足は雨でもありますか") {
		t.Fatalf("thread: %s", text(page))
	}
	if r := tannin.post(t1+"/reply", url.Values{"body": {""}}); r.status != http.StatusUnprocessableEntity {
		t.Errorf("empty reply: %d", r.status)
	}
	if r := tannin.post(t1+"/reply", url.Values{"body": {"雨天決行です。雨具を持たせてください。"}}); r.status != http.StatusSeeOther {
		t.Fatalf("reply: %d %s", r.status, text(r))
	}
	if r := komon.post(t2+"/reply", url.Values{"body": {"了解しました。"}}); r.status != http.StatusSeeOther {
		t.Fatalf("advisor reply: %d", r.status)
	}
	waitBotText(t, w, p1.ID, "【1年1組 担任】\n雨天決行です", 1)
	waitBotText(t, w, p2.ID, "【サッカークラブ 顧問】\n了解しました", 1)
	// The thread shows the reply as sent.
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(text(tannin.get(t1)), "送信済") && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	if !strings.Contains(text(tannin.get(t1)), "送信済") {
		t.Error("the reply is not shown as sent")
	}

	// A 定型文, a private note and a hand-over to the sub-homeroom teacher.
	if r := tannin.post("/staff/canned", url.Values{"title": {"受付"}, "body": {"ご連絡ありがとうございます。確認します。"}}); r.status != http.StatusSeeOther {
		t.Fatalf("add canned: %d %s", r.status, text(r))
	}
	page = tannin.get(t1)
	cannedHref, _ := page.doc.Find(`[data-testid="canned"]`).Attr("href")
	if got := tannin.get(cannedHref).doc.Find(`#f-body`).Text(); got != "ご連絡ありがとうございます。確認します。" {
		t.Errorf("canned reply not filled in: %q", got)
	}
	if r := tannin.post(t1+"/note", url.Values{"note": {"お母様に電話済み"}}); r.status != http.StatusSeeOther {
		t.Fatalf("note: %d", r.status)
	}
	page = tannin.get(t1)
	handover := ""
	page.doc.Find(`#f-assignee option`).Each(func(_ int, o *goquery.Selection) {
		if strings.Contains(o.Text(), "鈴木 二郎") {
			handover, _ = o.Attr("value")
		}
	})
	if handover == "" {
		t.Fatalf("sub-homeroom teacher not offered for hand-over: %s", text(page))
	}
	if r := tannin.post(t1+"/handover", url.Values{"assignee": {handover}}); r.status != http.StatusSeeOther {
		t.Fatalf("hand over: %d", r.status)
	}
	page = tannin.get(t1)
	if !strings.Contains(page.doc.Find(`[data-testid="assignee"]`).Text(), "鈴木 二郎") || !strings.Contains(text(page), "お母様に電話済み") {
		t.Errorf("after note and hand-over: %s", text(page))
	}
	// The note never reached the parent.
	for _, it := range w.sim.Chat(w.ch.LineChannelID, p1.ID) {
		if strings.Contains(it.Text, "電話済み") {
			t.Error("a staff note was sent to the parent")
		}
	}
	// Search within one's own conversations.
	if n := tannin.get("/staff/inbox?q=木村").doc.Find(`[data-testid="conversation"]`).Length(); n != 1 {
		t.Errorf("search 木村: %d", n)
	}
	if n := tannin.get("/staff/inbox?q=佐々木").doc.Find(`[data-testid="conversation"]`).Length(); n != 0 {
		t.Errorf("search 佐々木 in the homeroom inbox: %d", n)
	}

	// Guessing a thread ID: another school's teacher gets 404, a teacher of the same
	// school without the duty 403.
	other := newStaffClient(t, w.app.URL())
	other.signIn("hikari.tannin1a", demo.Password)
	if r := other.get(t1); r.status != http.StatusNotFound {
		t.Errorf("other school's teacher: %d", r.status)
	}
	if r := komon.get(t1); r.status != http.StatusForbidden {
		t.Errorf("advisor on the homeroom thread: %d", r.status)
	}

	// Out of hours: the school's auto-reply, once a day per conversation.
	if _, err := s.Pool.Exec(ctx, `UPDATE school SET office_days = '' WHERE id = $1`, sakuraID); err != nil {
		t.Fatal(err)
	}
	for _, msg := range []string{"夜分に失礼します", "もう一つ質問です"} {
		if _, err := w.sim.SendText(w.ch.LineChannelID, p1.ID, msg); err != nil {
			t.Fatal(err)
		}
	}
	waitBotText(t, w, p1.ID, "受付時間外", 1)
	time.Sleep(500 * time.Millisecond)
	n := 0
	for _, it := range w.sim.Chat(w.ch.LineChannelID, p1.ID) {
		if it.From == linesim.FromBot && strings.Contains(it.Text, "受付時間外") {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d auto-replies, want 1", n)
	}

	// No LINE identity on any inbox page.
	for _, path := range []string{"/staff/inbox", t1} {
		body := tannin.get(path).body
		for _, leak := range []string{p1.ID, p2.ID, "木村 恵のLINE", "佐々木のLINE"} {
			if strings.Contains(body, leak) {
				t.Errorf("%s shows a LINE identity", path)
			}
		}
	}
}
