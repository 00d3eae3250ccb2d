package inbox_test

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

	"github.com/renraku/renraku/internal/apptest"
	"github.com/renraku/renraku/internal/demo"
	"github.com/renraku/renraku/internal/inbox"
	"github.com/renraku/renraku/internal/leaktest"
	"github.com/renraku/renraku/internal/line"
	"github.com/renraku/renraku/internal/linesim"
	"github.com/renraku/renraku/internal/postgres/pgtx"
	"github.com/renraku/renraku/internal/vault"
)

func TestContactAndInbox(t *testing.T) {
	t.Parallel()
	w := apptest.StartLineWorld(t)
	s := w.App.Services()
	ctx := context.Background()
	logins, err := demo.SeedStaff(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	sakuraID, class11, soccer := apptest.SchoolAndClass(t, w, demo.Schools[0].Name, "1年1組")
	kocho := apptest.SignedInAs(t, w, "sakura.kocho")
	// サッカークラブ (the first club by name may be 科学クラブ: look it up).
	if err := s.Pool.QueryRow(ctx, `SELECT id FROM club WHERE school_id = $1 AND name = 'サッカークラブ'`, sakuraID).Scan(&soccer); err != nil {
		t.Fatal(err)
	}
	// Office open around the clock for now (the auto-reply is tested below).
	if _, err := s.Pool.Exec(ctx, `UPDATE school SET office_open = '00:00', office_close = '23:59', office_days = '0123456' WHERE id = $1`, sakuraID); err != nil {
		t.Fatal(err)
	}
	code := apptest.ClassCodes(t, w, sakuraID)[class11]
	p1, _ := apptest.RegisteredParent(t, w, "木村 恵", "木村 あおい", code)
	// The second parent's child plays soccer.
	p2 := w.NewParent(t, "佐々木のLINE")
	if _, err := w.Sim.Follow(w.Ch.LineChannelID, p2.ID); err != nil {
		t.Fatal(err)
	}
	link := apptest.LinkIn(t, w, p2.ID, "友だち追加ありがとうございます", 1)
	b2 := apptest.NewParentBrowser(t)
	b2.Get(link)
	if r := b2.Post(link, url.Values{"consent": {"yes"}, "name": {"佐々木 誠"}, "relationship": {"father"}, "child.0.name": {"佐々木 蓮"},
		"child.0.school": {apptest.Itoa(sakuraID)}, "child.0.class": {apptest.Itoa(class11)}, "child.0.clubs": {apptest.Itoa(soccer)}, "child.0.code": {code}, "op": {"save"}}); r.Status != http.StatusOK {
		t.Fatalf("register: %d %s", r.Status, apptest.Text(r))
	}

	var (
		tannin, komon, kochoWeb *apptest.StaffClient
		// t1 and t2 are the paths of the homeroom's and the advisor's conversations.
		t1, t2 string
	)
	steps := apptest.NewSteps(t)
	steps.Run("each writes to the teacher they pick", func(t *testing.T) {
		// Parent 1 writes to the homeroom teacher, parent 2 to the soccer advisor.
		apptest.Pick(t, w, p1, "1年1組 担任", 1)
		if _, err := w.Sim.SendText(w.Ch.LineChannelID, p1.ID, "明日の遠足は雨でもありますか"); err != nil {
			t.Fatal(err)
		}
		apptest.Pick(t, w, p2, "サッカークラブ 顧問", 1)
		if _, err := w.Sim.SendText(w.Ch.LineChannelID, p2.ID, "土曜の練習を休みます"); err != nil {
			t.Fatal(err)
		}

		tannin = apptest.NewStaffClient(t, w.App.URL())
		tannin.SignIn("sakura.tannin11", demo.Password)
		komon = apptest.NewStaffClient(t, w.App.URL())
		komon.SignIn("sakura.komon", demo.Password)
		steps.Use(tannin, komon)
		convOf := func(c *apptest.StaffClient, want string) string {
			t.Helper()
			deadline := time.Now().Add(15 * time.Second)
			for time.Now().Before(deadline) {
				r := c.Get("/staff/inbox")
				if href, ok := r.Doc.Find(`[data-testid="conversation"] a`).Attr("href"); ok && strings.Contains(apptest.Text(r), want) {
					if n := r.Doc.Find(`[data-testid="conversation"]`).Length(); n != 1 {
						t.Fatalf("inbox has %d conversations: %s", n, apptest.Text(r))
					}
					return href
				}
				time.Sleep(100 * time.Millisecond)
			}
			t.Fatalf("inbox never showed %q", want)
			return ""
		}
		t1 = convOf(tannin, "木村 恵")
		t2 = convOf(komon, "佐々木 誠")
		// Each sees only their own: the homeroom inbox does not list the club's message.
		if strings.Contains(apptest.Text(tannin.Get("/staff/inbox")), "佐々木") {
			t.Error("the homeroom teacher sees the advisor's conversation")
		}
	})
	steps.Run("images and stickers reach the thread", func(t *testing.T) {
		// An image the parent sends is fetched from LINE at once and shown in the thread.
		png := []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR renraku test image")
		if _, err := w.Sim.SendImage(w.Ch.LineChannelID, p1.ID, png, "image/png"); err != nil {
			t.Fatal(err)
		}
		var imgURL string
		for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline) && imgURL == ""; time.Sleep(100 * time.Millisecond) {
			imgURL, _ = tannin.Get(t1).Doc.Find(`[data-testid="image"]`).Attr("src")
		}
		if imgURL == "" {
			t.Fatalf("image not shown: %s", apptest.Text(tannin.Get(t1)))
		}
		if r := tannin.Get(imgURL); r.Status != http.StatusOK || r.Body != string(png) {
			t.Fatalf("image: %d (%d bytes)", r.Status, len(r.Body))
		}
		if r := komon.Get(imgURL); r.Status != http.StatusForbidden {
			t.Errorf("advisor fetching the homeroom image: %d", r.Status)
		}

		// A sticker lands in the thread too. Content LINE fails to give once is fetched on
		// the retry; content LINE no longer has is shown as unavailable.
		if _, err := w.Sim.SendSticker(w.Ch.LineChannelID, p1.ID, "446", "1988"); err != nil {
			t.Fatal(err)
		}
		w.Sim.FailNext(linesim.EndpointContent, 1, http.StatusInternalServerError)
		if _, err := w.Sim.SendImage(w.Ch.LineChannelID, p1.ID, append(png, '2'), "image/png"); err != nil {
			t.Fatal(err)
		}
		waitThread(t, tannin, t1, func(r apptest.Response) bool {
			return r.Doc.Find(`[data-testid="sticker"]`).Length() == 1 && r.Doc.Find(`[data-testid="image"]`).Length() == 2
		})
		w.Sim.FailNext(linesim.EndpointContent, 1, http.StatusNotFound)
		if _, err := w.Sim.SendImage(w.Ch.LineChannelID, p1.ID, append(png, '3'), "image/png"); err != nil {
			t.Fatal(err)
		}
		waitThread(t, tannin, t1, func(r apptest.Response) bool {
			return strings.Contains(r.Doc.Find(`[data-testid="image-state"]`).Text(), "画像を取得できませんでした")
		})
	})
	steps.Run("replies reach the right phones", func(t *testing.T) {
		// Each answers; the answers reach the right phones under the role.
		page := tannin.Get(t1)
		if !strings.Contains(apptest.Text(page), "明日の遠足は雨でもありますか") {
			t.Fatalf("thread: %s", apptest.Text(page))
		}
		if r := tannin.Post(t1+"/reply", url.Values{"body": {""}}); r.Status != http.StatusUnprocessableEntity {
			t.Errorf("empty reply: %d", r.Status)
		}
		if r := tannin.Post(t1+"/reply", url.Values{"body": {"雨天決行です。雨具を持たせてください。"}}); r.Status != http.StatusSeeOther {
			t.Fatalf("reply: %d %s", r.Status, apptest.Text(r))
		}
		if r := komon.Post(t2+"/reply", url.Values{"body": {"了解しました。"}}); r.Status != http.StatusSeeOther {
			t.Fatalf("advisor reply: %d", r.Status)
		}
		apptest.WaitBotText(t, w, p1.ID, "【みどり市立さくら小学校 1年1組 担任】\n雨天決行です", 1)
		apptest.WaitBotText(t, w, p2.ID, "【みどり市立さくら小学校 サッカークラブ 顧問】\n了解しました", 1)
		// The thread shows the reply as sent.
		deadline := time.Now().Add(10 * time.Second)
		for !strings.Contains(apptest.Text(tannin.Get(t1)), "送信済") && time.Now().Before(deadline) {
			time.Sleep(100 * time.Millisecond)
		}
		if !strings.Contains(apptest.Text(tannin.Get(t1)), "送信済") {
			t.Error("the reply is not shown as sent")
		}
	})
	steps.Run("canned reply, note and hand-over", func(t *testing.T) {
		// A 定型文, a private note and a hand-over to the sub-homeroom teacher.
		if r := tannin.Post("/staff/canned", url.Values{"title": {"受付"}, "body": {"ご連絡ありがとうございます。確認します。"}}); r.Status != http.StatusSeeOther {
			t.Fatalf("add canned: %d %s", r.Status, apptest.Text(r))
		}
		page := tannin.Get(t1)
		cannedHref, _ := page.Doc.Find(`[data-testid="canned"]`).Attr("href")
		if got := tannin.Get(cannedHref).Doc.Find(`#f-body`).Text(); got != "ご連絡ありがとうございます。確認します。" {
			t.Errorf("canned reply not filled in: %q", got)
		}
		if r := tannin.Post(t1+"/note", url.Values{"note": {"お母様に電話済み"}}); r.Status != http.StatusSeeOther {
			t.Fatalf("note: %d", r.Status)
		}
		page = tannin.Get(t1)
		handover := ""
		page.Doc.Find(`#f-assignee option`).Each(func(_ int, o *goquery.Selection) {
			if strings.Contains(o.Text(), "鈴木 二郎") {
				handover, _ = o.Attr("value")
			}
			if strings.Contains(o.Text(), "duty.") || strings.Contains(o.Text(), "role.") {
				t.Errorf("hand-over choice shows a message ID: %q", o.Text())
			}
		})
		if handover == "" {
			t.Fatalf("sub-homeroom teacher not offered for hand-over: %s", apptest.Text(page))
		}
		if r := tannin.Post(t1+"/handover", url.Values{"assignee": {handover}}); r.Status != http.StatusSeeOther {
			t.Fatalf("hand over: %d", r.Status)
		}
		page = tannin.Get(t1)
		if !strings.Contains(page.Doc.Find(`[data-testid="assignee"]`).Text(), "鈴木 二郎") || !strings.Contains(apptest.Text(page), "お母様に電話済み") {
			t.Errorf("after note and hand-over: %s", apptest.Text(page))
		}
		// The note never reached the parent.
		for _, it := range w.Sim.Chat(w.Ch.LineChannelID, p1.ID) {
			if strings.Contains(it.Text, "電話済み") {
				t.Error("a staff note was sent to the parent")
			}
		}
	})
	steps.Run("search and the principal's filters", func(t *testing.T) {
		// Search within one's own conversations: posted, so names never enter an address.
		if n := tannin.Post("/staff/inbox", url.Values{"q": {"木村"}}).Doc.Find(`[data-testid="conversation"]`).Length(); n != 1 {
			t.Errorf("search 木村: %d", n)
		}
		if n := tannin.Post("/staff/inbox", url.Values{"q": {"佐々木"}}).Doc.Find(`[data-testid="conversation"]`).Length(); n != 0 {
			t.Errorf("search 佐々木 in the homeroom inbox: %d", n)
		}
		if r := tannin.Post("/staff/inbox", url.Values{"q": {""}, "state": {"open"}}); r.Status != http.StatusSeeOther || r.Location != "/staff/inbox?state=open" {
			t.Errorf("filter without search words: %d to %s", r.Status, r.Location)
		}
		// The principal sees both and filters by class or club.
		kochoWeb = apptest.NewStaffClient(t, w.App.URL())
		for _, l := range logins {
			if l.Login == "sakura.kocho" {
				kochoWeb.Secret = l.TOTPSecret
			}
		}
		kochoWeb.SignIn("sakura.kocho", demo.Password)
		steps.Use(kochoWeb)
		scopes := map[string]string{}
		kochoWeb.Get("/staff/inbox").Doc.Find(`#f-scope option`).Each(func(_ int, o *goquery.Selection) {
			v, _ := o.Attr("value")
			scopes[strings.TrimSpace(o.Text())] = v
		})
		if scopes["1年1組"] != "class:"+apptest.Itoa(class11) || scopes["サッカークラブ"] != "club:"+apptest.Itoa(soccer) {
			t.Fatalf("scopes: %v", scopes)
		}
		for scope, want := range map[string]string{scopes["1年1組"]: "木村 恵", scopes["サッカークラブ"]: "佐々木 誠"} {
			r := kochoWeb.Get("/staff/inbox?scope=" + scope)
			if n := r.Doc.Find(`[data-testid="conversation"]`).Length(); n != 1 || !strings.Contains(apptest.Text(r), want) {
				t.Errorf("scope %s: %d conversations: %s", scope, n, apptest.Text(r))
			}
		}
		if r := kochoWeb.Get("/staff/inbox?scope=class:x"); r.Status == http.StatusOK || !strings.Contains(apptest.Text(r), "絞り込みの条件が正しくありません") {
			t.Errorf("bad scope: %d", r.Status)
		}
	})
	steps.Run("guessed thread IDs", func(t *testing.T) {
		// Guessing a thread ID: another school's teacher gets 404, a teacher of the same
		// school without the duty 403.
		other := apptest.NewStaffClient(t, w.App.URL())
		other.SignIn("hikari.tannin1a", demo.Password)
		if r := other.Get(t1); r.Status != http.StatusNotFound {
			t.Errorf("other school's teacher: %d", r.Status)
		}
		if r := komon.Get(t1); r.Status != http.StatusForbidden {
			t.Errorf("advisor on the homeroom thread: %d", r.Status)
		}
	})
	steps.Run("out of hours: one auto-reply a day", func(t *testing.T) {
		// Out of hours: the school's auto-reply, once a day per conversation.
		if _, err := s.Pool.Exec(ctx, `UPDATE school SET office_days = '' WHERE id = $1`, sakuraID); err != nil {
			t.Fatal(err)
		}
		for _, msg := range []string{"夜分に失礼します", "もう一つ質問です"} {
			if _, err := w.Sim.SendText(w.Ch.LineChannelID, p1.ID, msg); err != nil {
				t.Fatal(err)
			}
		}
		apptest.WaitBotText(t, w, p1.ID, "受付時間外", 1)
		apptest.WaitQuiet(t, w.App.Pool())
		n := 0
		for _, it := range w.Sim.Chat(w.Ch.LineChannelID, p1.ID) {
			if it.From == linesim.FromBot && strings.Contains(it.Text, "受付時間外") {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%d auto-replies, want 1", n)
		}
	})
	steps.Run("after the inactivity period the parent is asked again", func(t *testing.T) {
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
		if _, err := w.Sim.SendText(w.Ch.LineChannelID, p1.ID, "二週間ぶりの連絡です"); err != nil {
			t.Fatal(err)
		}
		apptest.WaitBotText(t, w, p1.ID, "もう一度メッセージをお送りください", 1)
		if strings.Contains(apptest.Text(tannin.Get(t1)), "二週間ぶりの連絡です") {
			t.Error("a message after the inactivity period was filed in the old conversation")
		}
	})
	steps.Run("no LINE identity nor clear text stored or shown", func(t *testing.T) {
		// No LINE identity on any inbox page, in the database or in the logs; no message in
		// the database or the logs in clear.
		dump := leaktest.PgDump(t, w.DBURL)
		lineIDs := []string{p1.ID, p2.ID, "木村 恵のLINE", "佐々木のLINE", "木村 恵のLINEのひとこと"}
		messages := []string{"明日の遠足は雨でもありますか", "土曜の練習を休みます", "雨天決行です。雨具を持たせてください。", "お母様に電話済み"}
		leaktest.AssertAbsent(t, "pg_dump", dump, append(lineIDs, messages...)...)
		leaktest.AssertAbsent(t, "logs", w.Logs.Bytes(), append(lineIDs, messages...)...)
		for _, c := range []*apptest.StaffClient{tannin, komon, kochoWeb} {
			for _, path := range []string{"/staff/inbox", t1, t2, "/staff/canned"} {
				leaktest.AssertAbsent(t, path, []byte(c.Get(path).Body), lineIDs...)
			}
		}

		for _, path := range []string{"/staff/inbox", t1} {
			body := tannin.Get(path).Body
			for _, leak := range []string{p1.ID, p2.ID, "木村 恵のLINE", "佐々木のLINE"} {
				if strings.Contains(body, leak) {
					t.Errorf("%s shows a LINE identity", path)
				}
			}
		}
	})
	steps.Run("inbox and thread in pages", func(t *testing.T) {
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
		first := tannin.Get("/staff/inbox")
		next, _ := first.Doc.Find(`[data-testid="inbox-next"]`).Attr("href")
		if n := first.Doc.Find(`[data-testid="conversation"]`).Length(); n != inbox.PageSize || next != "/staff/inbox?page=2" {
			t.Fatalf("first page: %d conversations, next %q", n, next)
		}
		if n := tannin.Get(next).Doc.Find(`[data-testid="conversation"]`).Length(); n != 56-inbox.PageSize {
			t.Errorf("second page: %d conversations", n)
		}
		thread := tannin.Get(t1)
		var total int
		if err := s.Pool.QueryRow(ctx, `SELECT count(*) FROM message WHERE conversation_id = $1`, t1ID).Scan(&total); err != nil {
			t.Fatal(err)
		}
		older, _ := thread.Doc.Find(`[data-testid="older"]`).Attr("href")
		if n := thread.Doc.Find(`[data-testid="message"]`).Length(); n != inbox.ThreadPage || older == "" || !strings.Contains(apptest.Text(thread), "連絡その204") {
			t.Fatalf("thread: %d messages, older %q", n, older)
		}
		olderPage := tannin.Get(older)
		if n := olderPage.Doc.Find(`[data-testid="message"]`).Length(); n != total-inbox.ThreadPage || !strings.Contains(apptest.Text(olderPage), "明日の遠足は雨でもありますか") {
			t.Errorf("older messages: %d of %d", n, total-inbox.ThreadPage)
		}
	})
}

// waitThread reloads a thread until done says it shows what the test waits for.
func waitThread(t *testing.T, c *apptest.StaffClient, path string, done func(apptest.Response) bool) {
	t.Helper()
	var r apptest.Response
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if r = c.Get(path); done(r) {
			return
		}
	}
	t.Fatalf("thread never showed what was waited for: %s", apptest.Text(r))
}

// TestUnconfirmedParentToldWhyNoTeacher: before the school confirms a registration,
// 「連絡する」 offers only the school office; the parent is told that the homeroom
// teacher becomes reachable once the registration is confirmed.
func TestUnconfirmedParentToldWhyNoTeacher(t *testing.T) {
	t.Parallel()
	w, _ := apptest.StartDemoWorld(t)
	u, _ := apptest.RegisteredParent(t, w, "未確認 花子", "未確認 太郎", "")
	if _, err := w.Sim.Postback(w.Ch.LineChannelID, u.ID, line.PostbackData("menu.contact", ""), nil); err != nil {
		t.Fatal(err)
	}
	items := apptest.WaitBotText(t, w, u.ID, "相談先を選択してください", 1)
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
