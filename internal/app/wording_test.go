package app_test

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"github.com/renraku/renraku/internal/apptest"
	"github.com/renraku/renraku/internal/demo"
	"github.com/renraku/renraku/internal/line"
	"github.com/renraku/renraku/internal/school"
)

// TestFirstWeekWording repeats the wording a new school met in its first week (issue
// 16, item 13): a send now says 送信しました and a scheduled one 予約しました with its
// time; a parent changing their nickname is told of a change, not of a registration;
// the hand-over list does not offer the teacher themself; the LINE channel page names
// how each message was sent in words, not LINE's API names.
func TestFirstWeekWording(t *testing.T) {
	t.Parallel()
	w, logins := apptest.StartDemoWorld(t)
	s := w.App.Services()
	ctx := context.Background()
	sakuraID, class11, _ := apptest.SchoolAndClass(t, w, demo.Schools[0].Name, "1年1組")
	if _, err := s.Pool.Exec(ctx, `UPDATE school SET office_open = '00:00', office_close = '23:59', office_days = '0123456' WHERE id = $1`, sakuraID); err != nil {
		t.Fatal(err)
	}
	code := apptest.ClassCodes(t, w, sakuraID)[class11]
	u, phone := apptest.RegisteredParent(t, w, "森 さやか", "森 ゆうた", code)
	apptest.WaitBotText(t, w, u.ID, "登録を受け付けました", 1)

	tannin := apptest.NewStaffClient(t, w.App.URL())
	tannin.SignIn("sakura.tannin11", demo.Password)

	t.Run("announcement sent now or scheduled", func(t *testing.T) {
		tannin.Get("/staff/announcements/new")
		r := tannin.Compose(url.Values{"kind": {"notice"}, "class": {apptest.Itoa(class11)}, "title": {"遠足のお知らせ"}, "body": {"持ち物はプリントをご覧ください。"}}, nil)
		if r.Status != http.StatusSeeOther {
			t.Fatalf("compose: %d %s", r.Status, apptest.Text(r))
		}
		sent := tannin.Post(r.Location+"/send", nil)
		if sent.Status != http.StatusSeeOther {
			t.Fatalf("send: %d %s", sent.Status, apptest.Text(sent))
		}
		flash := tannin.Get(sent.Location).Doc.Find(`[data-testid="flash"]`).Text()
		if !strings.Contains(flash, "送信しました") || strings.Contains(flash, "予約") {
			t.Errorf("after a send now: %q", flash)
		}

		at := time.Now().In(school.Tokyo).AddDate(0, 0, 2)
		at = time.Date(at.Year(), at.Month(), at.Day(), 7, 30, 0, 0, school.Tokyo)
		tannin.Get("/staff/announcements/new")
		r = tannin.Compose(url.Values{"kind": {"notice"}, "class": {apptest.Itoa(class11)}, "title": {"朝の連絡"}, "body": {"本文"},
			"scheduled_at": {at.Format("2006-01-02T15:04")}}, nil)
		if r.Status != http.StatusSeeOther {
			t.Fatalf("compose scheduled: %d %s", r.Status, apptest.Text(r))
		}
		sent = tannin.Post(r.Location+"/send", nil)
		if sent.Status != http.StatusSeeOther {
			t.Fatalf("send scheduled: %d %s", sent.Status, apptest.Text(sent))
		}
		flash = tannin.Get(sent.Location).Doc.Find(`[data-testid="flash"]`).Text()
		if !strings.Contains(flash, "予約しました") || !strings.Contains(flash, at.Format("2006/1/2 15:04")) || strings.Contains(flash, "送信（予約）") {
			t.Errorf("after scheduling for %s: %q", at.Format("2006/1/2 15:04"), flash)
		}
	})

	t.Run("nickname change", func(t *testing.T) {
		if _, err := w.Sim.Postback(w.Ch.LineChannelID, u.ID, line.PostbackData("menu.profile", ""), nil); err != nil {
			t.Fatal(err)
		}
		update := apptest.LinkIn(t, w, u.ID, "登録内容を確認・変更", 1)
		page := phone.Get(update)
		if page.Status != http.StatusOK {
			t.Fatalf("update page: %d", page.Status)
		}
		title := page.Doc.Find("title").Text()
		button := strings.TrimSpace(page.Doc.Find(`[data-testid="submit"]`).Text())
		if !strings.Contains(title, "登録内容の確認・変更") || button != "変更する" {
			t.Errorf("update page: title %q, button %q", title, button)
		}
		form := url.Values{"op": {"save"}}
		page.Doc.Find(`form[method="post"] input, form[method="post"] select`).Each(func(_ int, in *goquery.Selection) {
			name, _ := in.Attr("name")
			typ, _ := in.Attr("type")
			switch {
			case name == "" || name == "op" || name == "confirm":
			case in.Is("select"):
				v, _ := in.Find("option[selected]").Attr("value")
				form.Set(name, v)
			case typ == "checkbox" || typ == "radio":
				if _, on := in.Attr("checked"); on {
					v, _ := in.Attr("value")
					form.Add(name, v)
				}
			default:
				v, _ := in.Attr("value")
				form.Set(name, v)
			}
		})
		form.Set("nickname", "ゆうたママ")
		done := phone.Post(update, form)
		h1 := done.Doc.Find("h1").Text()
		if done.Status != http.StatusOK || h1 != "登録内容を変更しました" || strings.Contains(done.Doc.Find("title").Text(), "登録を受け付けました") {
			t.Fatalf("after the change: %d %q %s", done.Status, h1, apptest.Text(done))
		}
		apptest.WaitBotText(t, w, u.ID, "登録内容を変更しました", 1)
		if n := apptest.Received(w, u.ID, "登録を受け付けました"); n != 1 {
			t.Errorf("the change was announced as a registration (%d messages)", n)
		}
	})

	t.Run("hand-over list", func(t *testing.T) {
		apptest.Pick(t, w, u, "1年1組 担任", 1)
		if _, err := w.Sim.SendText(w.Ch.LineChannelID, u.ID, "明日は遅れます"); err != nil {
			t.Fatal(err)
		}
		var thread string
		for deadline := time.Now().Add(15 * time.Second); thread == "" && time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
			thread, _ = tannin.Get("/staff/inbox").Doc.Find(`[data-testid="conversation"] a`).First().Attr("href")
		}
		if thread == "" {
			t.Fatal("the parent's message did not reach the homeroom teacher's inbox")
		}
		self, err := s.Staff.FindByLogin(ctx, "sakura.tannin11")
		if err != nil {
			t.Fatal(err)
		}
		page := tannin.Get(thread)
		var offered []string
		page.Doc.Find(`#f-assignee option`).Each(func(_ int, o *goquery.Selection) {
			offered = append(offered, o.Text())
			if v, _ := o.Attr("value"); v == strconv.FormatInt(self.ID, 10) {
				t.Errorf("the teacher is offered to hand over to themself: %q", o.Text())
			}
		})
		if !strings.Contains(strings.Join(offered, " "), "鈴木 二郎") {
			t.Errorf("sub-homeroom teacher not offered: %q", offered)
		}
		if r := tannin.Post(thread+"/handover", url.Values{"assignee": {strconv.FormatInt(self.ID, 10)}}); r.Status != http.StatusUnprocessableEntity {
			t.Errorf("handing over to oneself: %d", r.Status)
		}
	})

	t.Run("LINE channel page", func(t *testing.T) {
		kocho := apptest.NewStaffClientSignedIn(t, w, logins, "sakura.kocho")
		var methods []string
		for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
			methods = methods[:0]
			page := kocho.Get("/admin/schools/" + apptest.Itoa(sakuraID) + "/channel")
			page.Doc.Find(`[data-testid="channel-usage"] tbody tr`).Each(func(_ int, tr *goquery.Selection) {
				methods = append(methods, strings.Join(strings.Fields(tr.Find("td").Eq(1).Text()), " "))
			})
			all := strings.Join(methods, " | ")
			if strings.Contains(all, "プッシュ") && strings.Contains(all, "応答") && strings.Contains(all, "一斉送信") {
				break
			}
		}
		all := strings.Join(methods, " | ")
		for _, want := range []string{"プッシュ", "応答", "一斉送信"} {
			if !strings.Contains(all, want) {
				t.Errorf("no %s among the methods: %q", want, all)
			}
		}
		for _, raw := range []string{"push", "reply", "multicast"} {
			if strings.Contains(all, raw) {
				t.Errorf("LINE's API name %q shown: %q", raw, all)
			}
		}
	})
}
