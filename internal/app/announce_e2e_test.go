package app_test

import (
	"bytes"
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/renraku/renraku/internal/demo"
	"github.com/renraku/renraku/internal/leaktest"
	"github.com/renraku/renraku/internal/line"
	"github.com/renraku/renraku/internal/linesim"
)

// testPDF is a small, well-formed PDF with a marker in it.
func testPDF(marker string) []byte {
	return []byte("%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\n% " +
		marker + "\ntrailer << /Root 1 0 R >>\n%%EOF\n")
}

// compose posts the compose form with files, as a browser does.
func (c *staffClient) compose(fields url.Values, files map[string][]byte) response {
	c.t.Helper()
	return c.composeTo("/staff/announcements", fields, files)
}

// composeTo posts a compose form (new or edit) to path.
func (c *staffClient) composeTo(path string, fields url.Values, files map[string][]byte) response {
	c.t.Helper()
	form := url.Values{"csrf": {c.csrf}}
	for k, vs := range fields {
		form[k] = append(form[k], vs...)
	}
	body, contentType := multipartBody(c.t, form, "files", files)
	req := mustRequest(c.t, http.MethodPost, c.base+path, body)
	req.Header.Set("Content-Type", contentType)
	return c.do(req)
}

// received counts the bot's messages to a user that contain want.
func received(w *lineWorld, user, want string) int {
	n := 0
	for _, it := range w.sim.Chat(w.ch.LineChannelID, user) {
		if it.From == linesim.FromBot && strings.Contains(it.Text, want) {
			n++
		}
	}
	return n
}

// waitReceived waits until every user has received want exactly once.
func waitReceived(t *testing.T, w *lineWorld, want string, users ...linesim.User) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for _, u := range users {
		for received(w, u.ID, want) == 0 && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
		if n := received(w, u.ID, want); n != 1 {
			t.Fatalf("%s received %q %d times", u.DisplayName, want, n)
		}
	}
}

func TestAnnouncementsHandoutsAndSafetyAlerts(t *testing.T) {
	t.Parallel()
	w := startLineWorld(t)
	s := w.app.Services()
	ctx := context.Background()
	logins, err := demo.SeedStaff(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	sakuraID, class11, _ := schoolAndClass(t, w, demo.Schools[0].Name, "1年1組")
	_, class12, _ := schoolAndClass(t, w, demo.Schools[0].Name, "1年2組")
	code := classCodes(t, w, sakuraID)

	// 木村 has two children (1年1組 and 1年2組); 田中 one in 1年1組; 山本 registered
	// without the class code (unverified); 小林 registered and then blocked the account.
	kimura := w.newParent(t, "木村のLINE")
	if _, err := w.sim.Follow(w.ch.LineChannelID, kimura.ID); err != nil {
		t.Fatal(err)
	}
	link := linkIn(t, w, kimura.ID, "友だち追加ありがとうございます", 1)
	kb := newParentBrowser(t)
	kb.get(link)
	if r := kb.post(link, url.Values{"consent": {"yes"}, "name": {"木村 恵"}, "relationship": {"mother"},
		"child.0.name": {"木村 あおい"}, "child.0.school": {itoa(sakuraID)}, "child.0.class": {itoa(class11)}, "child.0.code": {code[class11]},
		"child.1.name": {"木村 そら"}, "child.1.school": {itoa(sakuraID)}, "child.1.class": {itoa(class12)}, "child.1.code": {code[class12]},
		"op": {"save"}}); r.status != http.StatusOK {
		t.Fatalf("register siblings: %d %s", r.status, text(r))
	}
	tanaka, _ := registeredParent(t, w, "田中 直子", "田中 大輝", code[class11])
	yamamoto, _ := registeredParent(t, w, "山本 亮", "山本 結衣", "")
	kobayashi, _ := registeredParent(t, w, "小林 真", "小林 陽", code[class11])
	if _, err := w.sim.Unfollow(w.ch.LineChannelID, kobayashi.ID); err != nil {
		t.Fatal(err)
	}
	waitFollowing(t, w, kobayashi.ID, false)

	tannin := newStaffClient(t, w.app.URL())
	tannin.signIn("sakura.tannin11", demo.Password)
	tannin.get("/staff/announcements/new")
	count := func() int {
		var n int
		if err := s.Pool.QueryRow(ctx, `SELECT count(*) FROM announcement`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}

	// Bad input changes nothing: a text file renamed .pdf, an empty audience, a past
	// schedule, a file over the board's limit.
	notice := url.Values{"kind": {"notice"}, "class": {itoa(class11)}, "title": {"遠足のお知らせ"}, "body": {"10月20日に遠足に行きます。持ち物はプリントをご覧ください。"}}
	for _, tc := range []struct {
		name   string
		change func(url.Values)
		files  map[string][]byte
		want   string
	}{
		{"renamed text", nil, map[string][]byte{"持ち物.pdf": []byte("これはPDFではありません")}, "PDFファイルではないもの"},
		{"no audience", func(v url.Values) { v.Del("class") }, nil, "送信先を選んでください"},
		{"past schedule", func(v url.Values) { v.Set("scheduled_at", time.Now().Add(-time.Hour).Format("2006-01-02T15:04")) }, nil, "送信予約日時が過ぎています"},
		{"too large", nil, map[string][]byte{"大きい.pdf": append(testPDF("x"), bytes.Repeat([]byte{' '}, 1<<20)...)}, "ファイルが大きすぎます"},
		{"another class", func(v url.Values) { v.Set("class", itoa(class12)) }, nil, ""},
	} {
		if tc.name == "too large" {
			if _, err := s.Pool.Exec(ctx, `UPDATE board SET handout_max_bytes = 1048576`); err != nil {
				t.Fatal(err)
			}
		}
		v := url.Values{}
		for k, x := range notice {
			v[k] = append([]string(nil), x...)
		}
		if tc.change != nil {
			tc.change(v)
		}
		r := tannin.compose(v, tc.files)
		switch {
		case tc.want == "" && r.status != http.StatusForbidden && r.status != http.StatusUnprocessableEntity:
			t.Errorf("%s: %d", tc.name, r.status)
		case tc.want != "" && (r.status != http.StatusUnprocessableEntity || !strings.Contains(text(r), tc.want)):
			t.Errorf("%s: %d %s", tc.name, r.status, text(r))
		}
	}
	if n := count(); n != 0 {
		t.Fatalf("bad input stored %d announcements", n)
	}

	// The homeroom teacher sends a handout to 1年1組: the two verified, following
	// guardians receive it; 山本 (unverified) does not; 小林 (blocked) is skipped.
	pdf := testPDF("遠足の持ち物")
	r := tannin.compose(notice, map[string][]byte{"遠足の持ち物.pdf": pdf})
	if r.status != http.StatusSeeOther {
		t.Fatalf("compose: %d %s", r.status, text(r))
	}
	page := tannin.get(r.location)
	if got := page.doc.Find(`[data-testid="reach"]`).Text(); !strings.Contains(got, "2人") {
		t.Errorf("reach: %q", got)
	}
	if !strings.Contains(page.doc.Find(`[data-testid="line-preview"]`).Text(), "【お知らせ】みどり市立さくら小学校　遠足のお知らせ") {
		t.Errorf("LINE preview: %s", page.doc.Find(`[data-testid="line-preview"]`).Text())
	}
	if r := tannin.post(r.location+"/send", nil); r.status != http.StatusSeeOther {
		t.Fatalf("send: %d %s", r.status, text(r))
	}
	annURL := r.location
	waitReceived(t, w, "【お知らせ】みどり市立さくら小学校　遠足のお知らせ", kimura, tanaka)
	if received(w, yamamoto.ID, "遠足") != 0 || received(w, kobayashi.ID, "遠足") != 0 {
		t.Error("an unverified or blocked guardian received the announcement")
	}
	waitPage(t, tannin, annURL, func(r response) bool { return r.doc.Find(`[data-testid="final-report"]`).Length() == 1 })
	page = tannin.get(annURL)
	for id, want := range map[string]string{"count-total": "3", "count-sent": "2", "count-skipped": "1", "count-failed": "0", "count-opened": "0"} {
		if got := strings.TrimSpace(page.doc.Find(`[data-testid="` + id + `"]`).Text()); got != want {
			t.Errorf("%s = %s, want %s", id, got, want)
		}
	}

	// 木村 taps the button and reads the handout: the open is counted; 田中 is listed as
	// not yet read (by nickname and child).
	var button linesim.Action
	for _, it := range w.sim.Chat(w.ch.LineChannelID, kimura.ID) {
		for _, a := range it.Actions {
			if a.Label == "プリントを見る" {
				button = a
			}
		}
	}
	if _, err := w.sim.Tap(w.ch.LineChannelID, kimura.ID, button); err != nil {
		t.Fatal(err)
	}
	openLink := linkIn(t, w, kimura.ID, "お知らせと配布プリントはこちらから", 1)
	kimuraPage := kb.get(openLink)
	if kimuraPage.status != http.StatusOK || !strings.Contains(text(kimuraPage), "10月20日に遠足に行きます") {
		t.Fatalf("parent page: %d %s", kimuraPage.status, text(kimuraPage))
	}
	fileURL, _ := kimuraPage.doc.Find(`[data-testid="parent-handout"]`).Attr("href")
	if f := kb.get(w.app.URL() + fileURL); f.status != http.StatusOK || f.body != string(pdf) {
		t.Fatalf("handout: %d (%d bytes)", f.status, len(f.body))
	}
	// Someone else's browser cannot use the link.
	if r := newParentBrowser(t).get(openLink); r.status == http.StatusOK {
		t.Error("a forwarded handout link opened in another browser")
	}
	page = tannin.get(annURL)
	if got := strings.TrimSpace(page.doc.Find(`[data-testid="count-opened"]`).Text()); got != "1" {
		t.Errorf("opened = %s", got)
	}
	unread := tannin.get(annURL + "/recipients?list=unread")
	if rows := unread.doc.Find(`[data-testid="recipient"]`); rows.Length() != 1 || !strings.Contains(rows.Text(), "田中 大輝") {
		t.Errorf("unread: %s", text(unread))
	}
	// Views of the list, the announcement, its handout and its unread list are audited.
	if r := tannin.get("/staff/announcements"); r.status != http.StatusOK || r.doc.Find(`[data-testid="announcement"]`).Length() != 1 {
		t.Errorf("list: %d %s", r.status, text(r))
	}
	staffHandout, _ := tannin.get(annURL).doc.Find(`[data-testid="handout"]`).Attr("href")
	if r := tannin.get(staffHandout); r.status != http.StatusOK || r.body != string(pdf) {
		t.Errorf("staff handout: %d", r.status)
	}
	for _, action := range []string{"announcement.view", "announcement.list_view", "handout.view", "announcement.recipients_view", "announcement.send", "announcement.create"} {
		var n int
		if err := s.Pool.QueryRow(ctx, `SELECT count(*) FROM audit_event WHERE action = $1`, action).Scan(&n); err != nil || n == 0 {
			t.Errorf("no audit row for %s (%v)", action, err)
		}
	}
	// The parent's list from the rich menu shows it as read.
	if _, err := w.sim.Postback(w.ch.LineChannelID, kimura.ID, line.PostbackData("menu.handouts", ""), nil); err != nil {
		t.Fatal(err)
	}
	list := kb.get(linkIn(t, w, kimura.ID, "学校からのお知らせと配布プリントの一覧です", 1))
	if n := list.doc.Find(`[data-testid="parent-item"]`).Length(); n != 1 || strings.Contains(text(list), "未読") {
		t.Errorf("parent list: %s", text(list))
	}

	// The principal sends to the whole school: 木村 (two children) receives it once.
	admin := newStaffClient(t, w.app.URL())
	for _, l := range logins {
		if l.Login == "sakura.kocho" {
			admin.secret = l.TOTPSecret
		}
	}
	admin.signIn("sakura.kocho", demo.Password)
	admin.get("/staff/announcements/new")
	r = admin.compose(url.Values{"kind": {"notice"}, "whole": {"on"}, "title": {"学校だより12月号"}, "body": {"12月の行事予定です。"}}, nil)
	if r.status != http.StatusSeeOther {
		t.Fatalf("whole school: %d %s", r.status, text(r))
	}
	if r := admin.post(r.location+"/send", nil); r.status != http.StatusSeeOther {
		t.Fatalf("send: %d", r.status)
	}
	waitReceived(t, w, "学校だより12月号", kimura, tanaka)

	// A safety alert naming a child needs the sender's consent confirmation.
	admin.get("/staff/announcements/new?kind=safety")
	alert := url.Values{"kind": {"safety"}, "title": {"不審者情報"}, "occurred_at": {"12月1日 16時ごろ"}, "place": {"さくら公園の北側"},
		"details": {"下校中の木村あおいさんが声をかけられました。"}, "response": {"集団下校を行います。"}}
	if r := admin.compose(alert, nil); r.status != http.StatusUnprocessableEntity || !strings.Contains(text(r), "同意欄にチェック") {
		t.Fatalf("alert naming a child without consent: %d %s", r.status, text(r))
	}
	alert.Set("consent", "on")
	r = admin.compose(alert, nil)
	if r.status != http.StatusSeeOther {
		t.Fatalf("alert: %d %s", r.status, text(r))
	}
	if r := admin.post(r.location+"/send", nil); r.status != http.StatusSeeOther {
		t.Fatalf("send alert: %d", r.status)
	}
	waitReceived(t, w, "【安全情報】みどり市立さくら小学校　不審者情報", kimura, tanaka)
	if received(w, kimura.ID, "場所：さくら公園の北側") != 1 {
		t.Error("the alert's template is not in the message")
	}
	var queue string
	if err := s.Pool.QueryRow(ctx, `SELECT queue FROM river_job WHERE kind = 'announce.batch' AND args->>'batch_id' =
		(SELECT max(b.id)::text FROM announcement_batch b JOIN announcement a ON a.id = b.announcement_id WHERE a.kind = 'safety')`).Scan(&queue); err != nil {
		t.Fatal(err)
	}
	if queue != "urgent" {
		t.Errorf("safety alert batch on queue %q", queue)
	}

	// The teacher of 1年1組 does not see the principal's school-wide list entries they
	// cannot send, and another school's teacher cannot open the announcement.
	other := newStaffClient(t, w.app.URL())
	other.signIn("hikari.tannin1a", demo.Password)
	if r := other.get(annURL); r.status != http.StatusNotFound {
		t.Errorf("other school's teacher: %d", r.status)
	}
	komon := newStaffClient(t, w.app.URL())
	komon.signIn("sakura.komon", demo.Password)
	if r := komon.get(annURL); r.status != http.StatusForbidden {
		t.Errorf("advisor on a class announcement: %d", r.status)
	}

	// Nothing personal in the database or the logs in clear; staff pages show no LINE
	// identity.
	dump := leaktest.PgDump(t, w.dbURL)
	leaktest.AssertAbsent(t, "pg_dump", dump, "10月20日に遠足に行きます", "遠足の持ち物", "下校中の木村あおいさん", kimura.ID)
	leaktest.AssertAbsent(t, "logs", w.logs.Bytes(), "10月20日に遠足に行きます", "遠足の持ち物", "木村あおい", kimura.ID, tanaka.ID)
	for _, path := range []string{"/staff/announcements", annURL, annURL + "/recipients?list=unread"} {
		leaktest.AssertAbsent(t, path, []byte(tannin.get(path).body), kimura.ID, tanaka.ID, "木村のLINE", "田中 直子のLINE")
	}
}

// waitFollowing waits until renraku has recorded a follow or unfollow.
func waitFollowing(t *testing.T, w *lineWorld, user string, following bool) {
	t.Helper()
	s := w.app.Services()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		var n int
		if err := s.Pool.QueryRow(context.Background(), `SELECT count(*) FROM line_friend WHERE following = $1 AND unfollowed_at IS NOT NULL`, following).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n > 0 || following {
			return
		}
	}
	t.Fatalf("unfollow of %s never recorded", user)
}

// waitPage reloads a staff page until done says it shows what the test waits for.
func waitPage(t *testing.T, c *staffClient, path string, done func(response) bool) {
	t.Helper()
	var r response
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if r = c.get(path); done(r) {
			return
		}
	}
	t.Fatalf("%s never showed what was waited for: %s", path, text(r))
}
