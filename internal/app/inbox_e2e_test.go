package app_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"github.com/renraku/renraku/internal/demo"
	"github.com/renraku/renraku/internal/inbox"
	"github.com/renraku/renraku/internal/leaktest"
	"github.com/renraku/renraku/internal/line"
	"github.com/renraku/renraku/internal/linesim"
	"github.com/renraku/renraku/internal/postgres/pgtx"
	"github.com/renraku/renraku/internal/vault"
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
	logins, err := demo.SeedStaff(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	sakuraID, class11, soccer := schoolAndClass(t, w, demo.Schools[0].Name, "1年1組")
	kocho := signedInAs(t, w, "sakura.kocho")
	// サッカークラブ (the first club by name may be 科学クラブ: look it up).
	if err := s.Pool.QueryRow(ctx, `SELECT id FROM club WHERE school_id = $1 AND name = 'サッカークラブ'`, sakuraID).Scan(&soccer); err != nil {
		t.Fatal(err)
	}
	// Office open around the clock for now (the auto-reply is tested below).
	if _, err := s.Pool.Exec(ctx, `UPDATE school SET office_open = '00:00', office_close = '23:59', office_days = '0123456' WHERE id = $1`, sakuraID); err != nil {
		t.Fatal(err)
	}
	code := classCodes(t, w, sakuraID)[class11]
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

	// A sticker lands in the thread too. Content LINE fails to give once is fetched on
	// the retry; content LINE no longer has is shown as unavailable.
	if _, err := w.sim.SendSticker(w.ch.LineChannelID, p1.ID, "446", "1988"); err != nil {
		t.Fatal(err)
	}
	w.sim.FailNext(linesim.EndpointContent, 1, http.StatusInternalServerError)
	if _, err := w.sim.SendImage(w.ch.LineChannelID, p1.ID, append(png, '2'), "image/png"); err != nil {
		t.Fatal(err)
	}
	waitThread(t, tannin, t1, func(r response) bool {
		return r.doc.Find(`[data-testid="sticker"]`).Length() == 1 && r.doc.Find(`[data-testid="image"]`).Length() == 2
	})
	w.sim.FailNext(linesim.EndpointContent, 1, http.StatusNotFound)
	if _, err := w.sim.SendImage(w.ch.LineChannelID, p1.ID, append(png, '3'), "image/png"); err != nil {
		t.Fatal(err)
	}
	waitThread(t, tannin, t1, func(r response) bool {
		return strings.Contains(r.doc.Find(`[data-testid="image-state"]`).Text(), "画像を取得できませんでした")
	})

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
	waitBotText(t, w, p1.ID, "【みどり市立さくら小学校 1年1組 担任】\n雨天決行です", 1)
	waitBotText(t, w, p2.ID, "【みどり市立さくら小学校 サッカークラブ 顧問】\n了解しました", 1)
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
		if strings.Contains(o.Text(), "duty.") || strings.Contains(o.Text(), "role.") {
			t.Errorf("hand-over choice shows a message ID: %q", o.Text())
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
	// Search within one's own conversations: posted, so names never enter an address.
	if n := tannin.post("/staff/inbox", url.Values{"q": {"木村"}}).doc.Find(`[data-testid="conversation"]`).Length(); n != 1 {
		t.Errorf("search 木村: %d", n)
	}
	if n := tannin.post("/staff/inbox", url.Values{"q": {"佐々木"}}).doc.Find(`[data-testid="conversation"]`).Length(); n != 0 {
		t.Errorf("search 佐々木 in the homeroom inbox: %d", n)
	}
	if r := tannin.post("/staff/inbox", url.Values{"q": {""}, "state": {"open"}}); r.status != http.StatusSeeOther || r.location != "/staff/inbox?state=open" {
		t.Errorf("filter without search words: %d to %s", r.status, r.location)
	}
	// The principal sees both and filters by class or club.
	kochoWeb := newStaffClient(t, w.app.URL())
	for _, l := range logins {
		if l.Login == "sakura.kocho" {
			kochoWeb.secret = l.TOTPSecret
		}
	}
	kochoWeb.signIn("sakura.kocho", demo.Password)
	scopes := map[string]string{}
	kochoWeb.get("/staff/inbox").doc.Find(`#f-scope option`).Each(func(_ int, o *goquery.Selection) {
		v, _ := o.Attr("value")
		scopes[strings.TrimSpace(o.Text())] = v
	})
	if scopes["1年1組"] != "class:"+itoa(class11) || scopes["サッカークラブ"] != "club:"+itoa(soccer) {
		t.Fatalf("scopes: %v", scopes)
	}
	for scope, want := range map[string]string{scopes["1年1組"]: "木村 恵", scopes["サッカークラブ"]: "佐々木 誠"} {
		r := kochoWeb.get("/staff/inbox?scope=" + scope)
		if n := r.doc.Find(`[data-testid="conversation"]`).Length(); n != 1 || !strings.Contains(text(r), want) {
			t.Errorf("scope %s: %d conversations: %s", scope, n, text(r))
		}
	}
	if r := kochoWeb.get("/staff/inbox?scope=class:x"); r.status == http.StatusOK || !strings.Contains(text(r), "絞り込みの条件が正しくありません") {
		t.Errorf("bad scope: %d", r.status)
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
	waitQuiet(t, w.app.Pool())
	n := 0
	for _, it := range w.sim.Chat(w.ch.LineChannelID, p1.ID) {
		if it.From == linesim.FromBot && strings.Contains(it.Text, "受付時間外") {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d auto-replies, want 1", n)
	}

	// After the school's inactivity period the next message is not filed: the parent is
	// asked again whom it is for, and to send it again.
	settings, err := s.Schools.Settings(kocho, sakuraID)
	if err != nil {
		t.Fatal(err)
	}
	upd := settings.Settings
	upd.InboxInactivityHours = 0
	if err := s.Schools.UpdateSettings(kocho, sakuraID, upd); err == nil {
		t.Error("an inactivity period of 0 hours was accepted")
	}
	upd.InboxInactivityHours = 1
	if err := s.Schools.UpdateSettings(kocho, sakuraID, upd); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Pool.Exec(ctx, `UPDATE guardian SET conversation_at = conversation_at - interval '2 hours'
		WHERE id = (SELECT guardian_id FROM conversation WHERE id = $1)`, strings.TrimPrefix(t1, "/staff/inbox/")); err != nil {
		t.Fatal(err)
	}
	if _, err := w.sim.SendText(w.ch.LineChannelID, p1.ID, "二週間ぶりの連絡です"); err != nil {
		t.Fatal(err)
	}
	waitBotText(t, w, p1.ID, "もう一度メッセージをお送りください", 1)
	if strings.Contains(text(tannin.get(t1)), "二週間ぶりの連絡です") {
		t.Error("a message after the inactivity period was filed in the old conversation")
	}

	// No LINE identity on any inbox page, in the database or in the logs; no message in
	// the database or the logs in clear.
	dump := leaktest.PgDump(t, w.dbURL)
	lineIDs := []string{p1.ID, p2.ID, "木村 恵のLINE", "佐々木のLINE", "木村 恵のLINEのひとこと"}
	messages := []string{"明日の遠足は雨でもありますか", "土曜の練習を休みます", "雨天決行です。雨具を持たせてください。", "お母様に電話済み"}
	leaktest.AssertAbsent(t, "pg_dump", dump, append(lineIDs, messages...)...)
	leaktest.AssertAbsent(t, "logs", w.logs.Bytes(), append(lineIDs, messages...)...)
	for _, c := range []*staffClient{tannin, komon, kochoWeb} {
		for _, path := range []string{"/staff/inbox", t1, t2, "/staff/canned"} {
			leaktest.AssertAbsent(t, path, []byte(c.get(path).body), lineIDs...)
		}
	}

	for _, path := range []string{"/staff/inbox", t1} {
		body := tannin.get(path).body
		for _, leak := range []string{p1.ID, p2.ID, "木村 恵のLINE", "佐々木のLINE"} {
			if strings.Contains(body, leak) {
				t.Errorf("%s shows a LINE identity", path)
			}
		}
	}

	// Long inboxes and threads come in pages: 50 conversations, 200 messages.
	t1ID, err := strconv.ParseInt(strings.TrimPrefix(t1, "/staff/inbox/"), 10, 64)
	if err != nil {
		t.Fatalf("conversation ID in %q: %v", t1, err)
	}
	err = s.Tx.InTx(ctx, func(ctx context.Context) error {
		tx := pgtx.Tx(ctx)

		var guardianID int64
		if err := tx.QueryRow(ctx, `SELECT guardian_id FROM conversation WHERE id = $1`, t1ID).Scan(&guardianID); err != nil {
			return err
		}
		for i := range 55 {
			child, err := s.Registration.Store.FindOrCreateChild(ctx, sakuraID, class11, vault.Personal(fmt.Sprintf("木村 %02d", i)))
			if err != nil {
				return err
			}
			c := inbox.Choice{Target: inbox.Homeroom, ChildID: child, ClassID: class11, SchoolID: sakuraID}
			if _, err := s.Inbox.Store.OpenConversation(ctx, guardianID, c); err != nil {
				return err
			}
		}
		for i := range 205 {
			m := inbox.Message{Direction: "in", Kind: "text", Body: vault.Personal(fmt.Sprintf("連絡その%d", i))}
			if err := s.Inbox.Store.AddMessage(ctx, t1ID, &m, 0); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	first := tannin.get("/staff/inbox")
	next, _ := first.doc.Find(`[data-testid="inbox-next"]`).Attr("href")
	if n := first.doc.Find(`[data-testid="conversation"]`).Length(); n != inbox.PageSize || next != "/staff/inbox?page=2" {
		t.Fatalf("first page: %d conversations, next %q", n, next)
	}
	if n := tannin.get(next).doc.Find(`[data-testid="conversation"]`).Length(); n != 56-inbox.PageSize {
		t.Errorf("second page: %d conversations", n)
	}
	thread := tannin.get(t1)
	var total int
	if err := s.Pool.QueryRow(ctx, `SELECT count(*) FROM message WHERE conversation_id = $1`, t1ID).Scan(&total); err != nil {
		t.Fatal(err)
	}
	older, _ := thread.doc.Find(`[data-testid="older"]`).Attr("href")
	if n := thread.doc.Find(`[data-testid="message"]`).Length(); n != inbox.ThreadPage || older == "" || !strings.Contains(text(thread), "連絡その204") {
		t.Fatalf("thread: %d messages, older %q", n, older)
	}
	olderPage := tannin.get(older)
	if n := olderPage.doc.Find(`[data-testid="message"]`).Length(); n != total-inbox.ThreadPage || !strings.Contains(text(olderPage), "明日の遠足は雨でもありますか") {
		t.Errorf("older messages: %d of %d", n, total-inbox.ThreadPage)
	}
}

// waitThread reloads a thread until done says it shows what the test waits for.
func waitThread(t *testing.T, c *staffClient, path string, done func(response) bool) {
	t.Helper()
	var r response
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if r = c.get(path); done(r) {
			return
		}
	}
	t.Fatalf("thread never showed what was waited for: %s", text(r))
}

// TestUnconfirmedParentToldWhyNoTeacher: before the school confirms a registration,
// 「連絡する」 offers only the school office; the parent is told that the homeroom
// teacher becomes reachable once the registration is confirmed.
func TestUnconfirmedParentToldWhyNoTeacher(t *testing.T) {
	t.Parallel()
	w, _ := startDemoWorld(t)
	u, _ := registeredParent(t, w, "未確認 花子", "未確認 太郎", "")
	if _, err := w.sim.Postback(w.ch.LineChannelID, u.ID, line.PostbackData("menu.contact", ""), nil); err != nil {
		t.Fatal(err)
	}
	items := waitBotText(t, w, u.ID, "相談先を選択してください", 1)
	last := items[len(items)-1]
	if !strings.Contains(last.Text, "未確認 太郎さんについては、担任の先生があなたの登録を確認したあとに先生へ連絡できるようになります") {
		t.Fatalf("the choice does not say why the homeroom teacher is missing: %q", last.Text)
	}
	for _, a := range last.QuickReply {
		if strings.Contains(a.Label, "担任") {
			t.Fatalf("an unconfirmed parent was offered %q", a.Label)
		}
	}
}
