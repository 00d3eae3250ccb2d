package announce_test

import (
	"bytes"
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/renraku/renraku/internal/apptest"
	"github.com/renraku/renraku/internal/demo"
	"github.com/renraku/renraku/internal/leaktest"
	"github.com/renraku/renraku/internal/line"
	"github.com/renraku/renraku/internal/linesim"
)

func TestAnnouncementsHandoutsAndSafetyAlerts(t *testing.T) {
	t.Parallel()
	w := apptest.StartLineWorld(t)
	s := w.App.Services()
	ctx := context.Background()
	logins, err := demo.SeedStaff(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	sakuraID, class11, _ := apptest.SchoolAndClass(t, w, demo.Schools[0].Name, "1年1組")
	_, class12, _ := apptest.SchoolAndClass(t, w, demo.Schools[0].Name, "1年2組")
	code := apptest.ClassCodes(t, w, sakuraID)

	// 木村 has two children (1年1組 and 1年2組); 田中 one in 1年1組; 山本 registered
	// without the class code (unverified); 小林 registered and then blocked the account.
	kimura := w.NewParent(t, "木村のLINE")
	if _, err := w.Sim.Follow(w.Ch.LineChannelID, kimura.ID); err != nil {
		t.Fatal(err)
	}
	link := apptest.LinkIn(t, w, kimura.ID, "友だち追加ありがとうございます", 1)
	kb := apptest.NewParentBrowser(t)
	kb.Get(link)
	if r := kb.Post(link, url.Values{"consent": {"yes"}, "name": {"木村 恵"}, "relationship": {"mother"},
		"child.0.name": {"木村 あおい"}, "child.0.school": {apptest.Itoa(sakuraID)}, "child.0.class": {apptest.Itoa(class11)}, "child.0.code": {code[class11]},
		"child.1.name": {"木村 そら"}, "child.1.school": {apptest.Itoa(sakuraID)}, "child.1.class": {apptest.Itoa(class12)}, "child.1.code": {code[class12]},
		"op": {"save"}}); r.Status != http.StatusOK {
		t.Fatalf("register siblings: %d %s", r.Status, apptest.Text(r))
	}
	tanaka, _ := apptest.RegisteredParent(t, w, "田中 直子", "田中 大輝", code[class11])
	yamamoto, _ := apptest.RegisteredParent(t, w, "山本 亮", "山本 結衣", "")
	kobayashi, _ := apptest.RegisteredParent(t, w, "小林 真", "小林 陽", code[class11])
	if _, err := w.Sim.Unfollow(w.Ch.LineChannelID, kobayashi.ID); err != nil {
		t.Fatal(err)
	}
	waitFollowing(t, w, kobayashi.ID, false)

	tannin := apptest.NewStaffClient(t, w.App.URL())
	tannin.SignIn("sakura.tannin11", demo.Password)
	tannin.Get("/staff/announcements/new")
	count := func() int {
		var n int
		if err := s.Pool.QueryRow(ctx, `SELECT count(*) FROM announcement`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}

	// Bad input changes nothing: a text file renamed .pdf, an empty audience, a past
	// schedule, a file over the board's limit.
	notice := url.Values{"kind": {"notice"}, "class": {apptest.Itoa(class11)}, "title": {"遠足のお知らせ"}, "body": {"10月20日に遠足に行きます。持ち物はプリントをご覧ください。"}}
	for _, tc := range []struct {
		name   string
		change func(url.Values)
		files  map[string][]byte
		want   string
	}{
		{"renamed text", nil, map[string][]byte{"持ち物.pdf": []byte("これはPDFではありません")}, "PDFファイルではないもの"},
		{"no audience", func(v url.Values) { v.Del("class") }, nil, "送信先を選んでください"},
		{"past schedule", func(v url.Values) { v.Set("scheduled_at", time.Now().Add(-time.Hour).Format("2006-01-02T15:04")) }, nil, "送信予約日時が過ぎています"},
		{"too large", nil, map[string][]byte{"大きい.pdf": append(apptest.SamplePDF("x"), bytes.Repeat([]byte{' '}, 1<<20)...)}, "ファイルが大きすぎます"},
		{"another class", func(v url.Values) { v.Set("class", apptest.Itoa(class12)) }, nil, ""},
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
		r := tannin.Compose(v, tc.files)
		switch {
		case tc.want == "" && r.Status != http.StatusForbidden && r.Status != http.StatusUnprocessableEntity:
			t.Errorf("%s: %d", tc.name, r.Status)
		case tc.want != "" && (r.Status != http.StatusUnprocessableEntity || !strings.Contains(apptest.Text(r), tc.want)):
			t.Errorf("%s: %d %s", tc.name, r.Status, apptest.Text(r))
		}
	}
	if n := count(); n != 0 {
		t.Fatalf("bad input stored %d announcements", n)
	}

	// The homeroom teacher sends a handout to 1年1組: the two verified, following
	// guardians receive it; 山本 (unverified) does not; 小林 (blocked) is skipped.
	pdf := apptest.SamplePDF("遠足の持ち物")
	r := tannin.Compose(notice, map[string][]byte{"遠足の持ち物.pdf": pdf})
	if r.Status != http.StatusSeeOther {
		t.Fatalf("compose: %d %s", r.Status, apptest.Text(r))
	}
	page := tannin.Get(r.Location)
	if got := page.Doc.Find(`[data-testid="reach"]`).Text(); !strings.Contains(got, "2人") {
		t.Errorf("reach: %q", got)
	}
	if !strings.Contains(page.Doc.Find(`[data-testid="line-preview"]`).Text(), "【お知らせ】みどり市立さくら小学校　遠足のお知らせ") {
		t.Errorf("LINE preview: %s", page.Doc.Find(`[data-testid="line-preview"]`).Text())
	}
	if r := tannin.Post(r.Location+"/send", nil); r.Status != http.StatusSeeOther {
		t.Fatalf("send: %d %s", r.Status, apptest.Text(r))
	}
	annURL := r.Location
	apptest.WaitReceived(t, w, "【お知らせ】みどり市立さくら小学校　遠足のお知らせ", kimura, tanaka)
	if apptest.Received(w, yamamoto.ID, "遠足") != 0 || apptest.Received(w, kobayashi.ID, "遠足") != 0 {
		t.Error("an unverified or blocked guardian received the announcement")
	}
	apptest.WaitPage(t, tannin, annURL, func(r apptest.Response) bool { return r.Doc.Find(`[data-testid="final-report"]`).Length() == 1 })
	page = tannin.Get(annURL)
	for id, want := range map[string]string{"count-total": "3", "count-sent": "2", "count-skipped": "1", "count-failed": "0", "count-opened": "0"} {
		if got := strings.TrimSpace(page.Doc.Find(`[data-testid="` + id + `"]`).Text()); got != want {
			t.Errorf("%s = %s, want %s", id, got, want)
		}
	}

	// 木村 taps the button and reads the handout: the open is counted; 田中 is listed as
	// not yet read (by nickname and child).
	var button linesim.Action
	for _, it := range w.Sim.Chat(w.Ch.LineChannelID, kimura.ID) {
		for _, a := range it.Actions {
			if a.Label == "プリントを見る" {
				button = a
			}
		}
	}
	if _, err := w.Sim.Tap(w.Ch.LineChannelID, kimura.ID, button); err != nil {
		t.Fatal(err)
	}
	openLink := apptest.LinkIn(t, w, kimura.ID, "お知らせと配布プリントはこちらから", 1)
	kimuraPage := kb.Get(openLink)
	if kimuraPage.Status != http.StatusOK || !strings.Contains(apptest.Text(kimuraPage), "10月20日に遠足に行きます") {
		t.Fatalf("parent page: %d %s", kimuraPage.Status, apptest.Text(kimuraPage))
	}
	fileURL, _ := kimuraPage.Doc.Find(`[data-testid="parent-handout"]`).Attr("href")
	if f := kb.Get(w.App.URL() + fileURL); f.Status != http.StatusOK || f.Body != string(pdf) {
		t.Fatalf("handout: %d (%d bytes)", f.Status, len(f.Body))
	}
	// Someone else's browser cannot use the link.
	if r := apptest.NewParentBrowser(t).Get(openLink); r.Status == http.StatusOK {
		t.Error("a forwarded handout link opened in another browser")
	}
	page = tannin.Get(annURL)
	if got := strings.TrimSpace(page.Doc.Find(`[data-testid="count-opened"]`).Text()); got != "1" {
		t.Errorf("opened = %s", got)
	}
	unread := tannin.Get(annURL + "/recipients?list=unread")
	if rows := unread.Doc.Find(`[data-testid="recipient"]`); rows.Length() != 1 || !strings.Contains(rows.Text(), "田中 大輝") {
		t.Errorf("unread: %s", apptest.Text(unread))
	}
	// Views of the list, the announcement, its handout and its unread list are audited.
	if r := tannin.Get("/staff/announcements"); r.Status != http.StatusOK || r.Doc.Find(`[data-testid="announcement"]`).Length() != 1 {
		t.Errorf("list: %d %s", r.Status, apptest.Text(r))
	}
	staffHandout, _ := tannin.Get(annURL).Doc.Find(`[data-testid="handout"]`).Attr("href")
	if r := tannin.Get(staffHandout); r.Status != http.StatusOK || r.Body != string(pdf) {
		t.Errorf("staff handout: %d", r.Status)
	}
	for _, action := range []string{"announcement.view", "announcement.list_view", "handout.view", "announcement.recipients_view", "announcement.send", "announcement.create"} {
		var n int
		if err := s.Pool.QueryRow(ctx, `SELECT count(*) FROM audit_event WHERE action = $1`, action).Scan(&n); err != nil || n == 0 {
			t.Errorf("no audit row for %s (%v)", action, err)
		}
	}
	// The parent's list from the rich menu shows it as read.
	if _, err := w.Sim.Postback(w.Ch.LineChannelID, kimura.ID, line.PostbackData("menu.handouts", ""), nil); err != nil {
		t.Fatal(err)
	}
	list := kb.Get(apptest.LinkIn(t, w, kimura.ID, "学校からのお知らせと配布プリントの一覧です", 1))
	if n := list.Doc.Find(`[data-testid="parent-item"]`).Length(); n != 1 || strings.Contains(apptest.Text(list), "未読") {
		t.Errorf("parent list: %s", apptest.Text(list))
	}

	// The principal sends to the whole school: 木村 (two children) receives it once.
	admin := apptest.NewStaffClient(t, w.App.URL())
	for _, l := range logins {
		if l.Login == "sakura.kocho" {
			admin.Secret = l.TOTPSecret
		}
	}
	admin.SignIn("sakura.kocho", demo.Password)
	admin.Get("/staff/announcements/new")
	r = admin.Compose(url.Values{"kind": {"notice"}, "whole": {"on"}, "title": {"学校だより12月号"}, "body": {"12月の行事予定です。"}}, nil)
	if r.Status != http.StatusSeeOther {
		t.Fatalf("whole school: %d %s", r.Status, apptest.Text(r))
	}
	if r := admin.Post(r.Location+"/send", nil); r.Status != http.StatusSeeOther {
		t.Fatalf("send: %d", r.Status)
	}
	apptest.WaitReceived(t, w, "学校だより12月号", kimura, tanaka)

	// A safety alert naming a child needs the sender's consent confirmation.
	admin.Get("/staff/announcements/new?kind=safety")
	alert := url.Values{"kind": {"safety"}, "title": {"不審者情報"}, "occurred_at": {"12月1日 16時ごろ"}, "place": {"さくら公園の北側"},
		"details": {"下校中の木村あおいさんが声をかけられました。"}, "response": {"集団下校を行います。"}}
	if r := admin.Compose(alert, nil); r.Status != http.StatusUnprocessableEntity || !strings.Contains(apptest.Text(r), "同意欄にチェック") {
		t.Fatalf("alert naming a child without consent: %d %s", r.Status, apptest.Text(r))
	}
	alert.Set("consent", "on")
	r = admin.Compose(alert, nil)
	if r.Status != http.StatusSeeOther {
		t.Fatalf("alert: %d %s", r.Status, apptest.Text(r))
	}
	if r := admin.Post(r.Location+"/send", nil); r.Status != http.StatusSeeOther {
		t.Fatalf("send alert: %d", r.Status)
	}
	apptest.WaitReceived(t, w, "【安全情報】みどり市立さくら小学校　不審者情報", kimura, tanaka)
	if apptest.Received(w, kimura.ID, "場所：さくら公園の北側") != 1 {
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
	other := apptest.NewStaffClient(t, w.App.URL())
	other.SignIn("hikari.tannin1a", demo.Password)
	if r := other.Get(annURL); r.Status != http.StatusNotFound {
		t.Errorf("other school's teacher: %d", r.Status)
	}
	komon := apptest.NewStaffClient(t, w.App.URL())
	komon.SignIn("sakura.komon", demo.Password)
	if r := komon.Get(annURL); r.Status != http.StatusForbidden {
		t.Errorf("advisor on a class announcement: %d", r.Status)
	}

	// Nothing personal in the database or the logs in clear; staff pages show no LINE
	// identity.
	dump := leaktest.PgDump(t, w.DBURL)
	leaktest.AssertAbsent(t, "pg_dump", dump, "10月20日に遠足に行きます", "遠足の持ち物", "下校中の木村あおいさん", kimura.ID)
	leaktest.AssertAbsent(t, "logs", w.Logs.Bytes(), "10月20日に遠足に行きます", "遠足の持ち物", "木村あおい", kimura.ID, tanaka.ID)
	for _, path := range []string{"/staff/announcements", annURL, annURL + "/recipients?list=unread"} {
		leaktest.AssertAbsent(t, path, []byte(tannin.Get(path).Body), kimura.ID, tanaka.ID, "木村のLINE", "田中 直子のLINE")
	}
}

// waitFollowing waits until renraku has recorded a follow or unfollow.
func waitFollowing(t *testing.T, w *apptest.LineWorld, user string, following bool) {
	t.Helper()
	s := w.App.Services()
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
