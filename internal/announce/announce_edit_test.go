package announce_test

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"github.com/renraku/renraku/internal/announce"
	"github.com/renraku/renraku/internal/apptest"
	"github.com/renraku/renraku/internal/demo"
	"github.com/renraku/renraku/internal/school"
)

// TestAnnouncementEditBeforeSending: a draft opens in the compose form with everything
// filled in, saving changes it (a handout removed, one added), and the parent receives
// the edited text; once sent, the form is refused with a Japanese message and a post
// changes nothing. A scheduled announcement stays scheduled when edited, and the job
// queued for its old time sends nothing.
func TestAnnouncementEditBeforeSending(t *testing.T) {
	t.Parallel()
	w := apptest.StartLineWorld(t)
	s := w.App.Services()
	ctx := context.Background()
	if _, err := demo.SeedStaff(ctx, s); err != nil {
		t.Fatal(err)
	}
	sakuraID, class11, _ := apptest.SchoolAndClass(t, w, demo.Schools[0].Name, "1年1組")
	code := apptest.ClassCodes(t, w, sakuraID)
	tanaka, _ := apptest.RegisteredParent(t, w, "田中 直子", "田中 大輝", code[class11])

	tannin := apptest.NewStaffClient(t, w.App.URL())
	tannin.SignIn("sakura.tannin11", demo.Password)
	tannin.Get("/staff/announcements/new")
	r := tannin.Compose(url.Values{"kind": {"notice"}, "class": {apptest.Itoa(class11)}, "title": {"遠足のお知らせ"}, "body": {"10月20日に遠足に行きます。"}},
		map[string][]byte{"持ち物.pdf": apptest.SamplePDF("持ち物"), "日程.pdf": apptest.SamplePDF("日程")})
	if r.Status != http.StatusSeeOther {
		t.Fatalf("create: %d %s", r.Status, apptest.Text(r))
	}
	page := r.Location
	id, err := strconv.ParseInt(strings.TrimPrefix(page, "/staff/announcements/"), 10, 64)
	if err != nil {
		t.Fatalf("created at %q", page)
	}
	stored := func() announce.Announcement {
		t.Helper()
		an, err := s.Announce.Get(apptest.SignedInAs(t, w, "sakura.kocho"), id)
		if err != nil {
			t.Fatal(err)
		}
		return an
	}
	handoutID := func(name string) string {
		for _, h := range stored().Handouts {
			if h.Name.Reveal() == name {
				return apptest.Itoa(h.ID)
			}
		}
		t.Fatalf("no handout %s", name)
		return ""
	}

	// The draft's page offers 編集する; the form has everything filled in.
	if r := tannin.Get(page); r.Doc.Find(`[data-testid="edit"]`).Length() != 1 {
		t.Fatalf("the draft's page has no edit button: %s", apptest.Text(r))
	}
	r = tannin.Get(page + "/edit")
	if r.Status != http.StatusOK {
		t.Fatalf("edit form: %d %s", r.Status, apptest.Text(r))
	}
	title, _ := r.Doc.Find(`#f-title`).Attr("value")
	_, classChecked := r.Doc.Find(`input[name="class"][value="` + apptest.Itoa(class11) + `"]`).Attr("checked")
	if title != "遠足のお知らせ" || r.Doc.Find(`#f-body`).Text() != "10月20日に遠足に行きます。" || !classChecked ||
		r.Doc.Find(`[data-testid="edit-handout"]`).Length() != 2 || !strings.Contains(r.Doc.Find(`h1`).Text(), "お知らせを編集") {
		t.Fatalf("edit form not filled in: title %q, class %v: %s", title, classChecked, apptest.Text(r))
	}
	if action, _ := r.Doc.Find(`[data-testid="compose-form"]`).Attr("action"); action != page+"/edit" {
		t.Errorf("the form posts to %q", action)
	}

	// A mistake is shown beside its field and changes nothing.
	r = tannin.ComposeTo(page+"/edit", url.Values{"class": {apptest.Itoa(class11)}, "title": {""}, "body": {"変更"}}, nil)
	if r.Status != http.StatusUnprocessableEntity || r.Doc.Find(`[data-testid="error-title"]`).Length() != 1 {
		t.Fatalf("empty title: %d %s", r.Status, apptest.Text(r))
	}
	if an := stored(); an.Title.Reveal() != "遠足のお知らせ" || an.Body.Reveal() != "10月20日に遠足に行きます。" {
		t.Fatalf("a refused edit changed the draft: %q %q", an.Title.Reveal(), an.Body.Reveal())
	}

	// Saving: new title and body, 持ち物.pdf removed, 雨天時.pdf added.
	r = tannin.ComposeTo(page+"/edit", url.Values{"class": {apptest.Itoa(class11)}, "title": {"遠足のお知らせ（訂正）"},
		"body": {"遠足は10月21日に変わりました。"}, "remove": {handoutID("持ち物.pdf")}}, map[string][]byte{"雨天時.pdf": apptest.SamplePDF("雨天時")})
	if r.Status != http.StatusSeeOther || r.Location != page {
		t.Fatalf("save: %d %s", r.Status, apptest.Text(r))
	}
	r = tannin.Get(page)
	if got := r.Doc.Find(`[data-testid="line-preview"]`).Text(); !strings.Contains(got, "遠足のお知らせ（訂正）") || !strings.Contains(got, "10月21日") {
		t.Errorf("LINE preview after the edit: %q", got)
	}
	var handouts []string
	r.Doc.Find(`[data-testid="handout"]`).Each(func(_ int, h *goquery.Selection) { handouts = append(handouts, h.Text()) })
	if len(handouts) != 2 || !strings.HasPrefix(handouts[0], "日程.pdf") || !strings.HasPrefix(handouts[1], "雨天時.pdf") {
		t.Errorf("handouts after the edit: %q", handouts)
	}
	if !strings.Contains(apptest.Text(r), "お知らせを保存しました") {
		t.Errorf("no confirmation after saving: %s", apptest.Text(r))
	}
	if n := auditCount(t, w, "announcement.update", id); n != 1 {
		t.Errorf("%d announcement.update events, want 1", n)
	}

	// Sent: the edited text reaches the parent; the form is refused and nothing changes.
	if r := tannin.Post(page+"/send", nil); r.Status != http.StatusSeeOther {
		t.Fatalf("send: %d %s", r.Status, apptest.Text(r))
	}
	apptest.WaitSent(t, w, id, 30*time.Second)
	apptest.WaitReceived(t, w, "遠足のお知らせ（訂正）", tanaka)
	r = tannin.Get(page + "/edit")
	if r.Status != http.StatusConflict || !strings.Contains(apptest.Text(r), "編集できません") {
		t.Errorf("edit form of a sent announcement: %d %s", r.Status, apptest.Text(r))
	}
	r = tannin.ComposeTo(page+"/edit", url.Values{"class": {apptest.Itoa(class11)}, "title": {"書き換え"}, "body": {"書き換え"}}, nil)
	if r.Status != http.StatusConflict || !strings.Contains(apptest.Text(r), "編集できません") || !strings.Contains(apptest.Text(r), "内容は変更されていません") {
		t.Errorf("editing a sent announcement: %d %s", r.Status, apptest.Text(r))
	}
	if an := stored(); an.Title.Reveal() != "遠足のお知らせ（訂正）" || len(an.Handouts) != 2 {
		t.Errorf("a sent announcement changed: %q, %d handouts", an.Title.Reveal(), len(an.Handouts))
	}
	if r := tannin.Get(page); r.Doc.Find(`[data-testid="edit"]`).Length() != 0 {
		t.Error("a sent announcement offers 編集する")
	}
	if n := auditCount(t, w, "announcement.update", id); n != 1 {
		t.Errorf("%d announcement.update events after a refused edit, want 1", n)
	}

	// Scheduled in an hour, then edited: still scheduled, at the new time.
	kocho := apptest.SignedInAs(t, w, "sakura.kocho")
	class := announce.Audience{SchoolID: sakuraID, Classes: []int64{class11}}
	later := time.Now().Add(time.Hour).Truncate(time.Minute)
	sid, err := s.Announce.Create(kocho, announce.Compose{Kind: announce.Notice, Audience: class, Title: "授業参観の予約送信", Body: "本文", ScheduledAt: later}, "1年1組")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Announce.Send(kocho, sid, false); err != nil {
		t.Fatal(err)
	}
	spage := "/staff/announcements/" + apptest.Itoa(sid)
	r = tannin.Get(spage + "/edit")
	at, _ := r.Doc.Find(`#f-scheduled_at`).Attr("value")
	if r.Status != http.StatusOK || at != later.In(school.Tokyo).Format("2006-01-02T15:04") || r.Doc.Find(`[data-testid="edit-scheduled-note"]`).Length() != 1 {
		t.Fatalf("edit form of a scheduled announcement: %d, time %q: %s", r.Status, at, apptest.Text(r))
	}
	// A scheduled one keeps a time.
	r = tannin.ComposeTo(spage+"/edit", url.Values{"class": {apptest.Itoa(class11)}, "title": {"授業参観"}, "body": {"本文"}}, nil)
	if r.Status != http.StatusUnprocessableEntity || r.Doc.Find(`[data-testid="error-scheduled_at"]`).Length() != 1 {
		t.Fatalf("scheduled without a time: %d %s", r.Status, apptest.Text(r))
	}
	r = tannin.ComposeTo(spage+"/edit", url.Values{"class": {apptest.Itoa(class11)}, "title": {"授業参観（時間変更）"}, "body": {"本文"},
		"scheduled_at": {later.Add(time.Hour).In(school.Tokyo).Format("2006-01-02T15:04")}}, nil)
	if r.Status != http.StatusSeeOther {
		t.Fatalf("reschedule: %d %s", r.Status, apptest.Text(r))
	}
	// The job queued for the first time runs (as if the hour had passed): nothing is sent.
	if _, err := s.Pool.Exec(ctx, `UPDATE river_job SET scheduled_at = now(), state = 'available' WHERE id = (SELECT min(id) FROM river_job
		WHERE kind = 'announce.start' AND args->>'announcement_id' = $1)`, apptest.Itoa(sid)); err != nil {
		t.Fatal(err)
	}
	apptest.WaitQuiet(t, w.App.Pool())
	if an, err := s.Announce.Get(kocho, sid); err != nil {
		t.Fatal(err)
	} else if an.State != announce.Scheduled || an.Counts.Total != 0 || !an.ScheduledAt.Equal(later.Add(time.Hour)) {
		t.Fatalf("after the old time's job: %s, %d recipients, at %v", an.State, an.Counts.Total, an.ScheduledAt)
	}
	// Moved to three seconds from now, it goes out then, as edited, once.
	if err := s.Announce.Update(kocho, sid, announce.Compose{Audience: class, Title: "授業参観（最終）", Body: "本文", ScheduledAt: time.Now().Add(3 * time.Second)}, nil, "1年1組"); err != nil {
		t.Fatal(err)
	}
	apptest.WaitSent(t, w, sid, 30*time.Second)
	apptest.WaitReceived(t, w, "授業参観（最終）", tanaka)
	if n := apptest.Received(w, tanaka.ID, "授業参観（時間変更）") + apptest.Received(w, tanaka.ID, "授業参観の予約送信"); n != 0 {
		t.Errorf("an earlier version was sent %d times", n)
	}
}

// TestSafetyAlertDraftEditKeepsItsTemplate: a safety alert's draft opens in the form
// with its template's fields (発生日時・場所・内容・対応) and the extra text filled in,
// and saving lays them out again.
func TestSafetyAlertDraftEditKeepsItsTemplate(t *testing.T) {
	t.Parallel()
	w := apptest.StartLineWorld(t)
	s := w.App.Services()
	logins, err := demo.SeedStaff(context.Background(), s)
	if err != nil {
		t.Fatal(err)
	}
	admin := apptest.NewStaffClient(t, w.App.URL())
	for _, l := range logins {
		if l.Login == "sakura.kocho" {
			admin.Secret = l.TOTPSecret
		}
	}
	admin.SignIn("sakura.kocho", demo.Password)
	admin.Get("/staff/announcements/new?kind=safety")
	r := admin.Compose(url.Values{"kind": {"safety"}, "whole": {"on"}, "title": {"不審者情報"}, "occurred_at": {"12月1日 7時ごろ"},
		"place": {"さくら公園の北口"}, "details": {"児童に声をかける人がいました。\n黒い上着の男性です。"}, "response": {"集団で登下校してください。"},
		"body": {"続報はお知らせします。"}}, nil)
	if r.Status != http.StatusSeeOther {
		t.Fatalf("create: %d %s", r.Status, apptest.Text(r))
	}
	page := r.Location
	r = admin.Get(page + "/edit")
	val := func(sel string) string {
		if v, ok := r.Doc.Find(sel).Attr("value"); ok {
			return v
		}
		return r.Doc.Find(sel).Text()
	}
	for sel, want := range map[string]string{"#f-title": "不審者情報", "#f-occurred_at": "12月1日 7時ごろ", "#f-place": "さくら公園の北口",
		"#f-details": "児童に声をかける人がいました。\n黒い上着の男性です。", "#f-response": "集団で登下校してください。", "#f-body": "続報はお知らせします。"} {
		if got := val(sel); got != want {
			t.Errorf("%s = %q, want %q", sel, got, want)
		}
	}
	if !strings.Contains(r.Doc.Find("h1").Text(), "安全情報を編集") {
		t.Errorf("heading: %q", r.Doc.Find("h1").Text())
	}
	r = admin.ComposeTo(page+"/edit", url.Values{"whole": {"on"}, "title": {"不審者情報（続報）"}, "occurred_at": {"12月1日 7時ごろ"},
		"place": {"さくら公園の南口"}, "details": {"児童に声をかける人がいました。"}, "response": {"集団で登下校してください。"}, "body": {""}}, nil)
	if r.Status != http.StatusSeeOther {
		t.Fatalf("save: %d %s", r.Status, apptest.Text(r))
	}
	preview := admin.Get(page).Doc.Find(`[data-testid="line-preview"]`).Text()
	if !strings.Contains(preview, "場所：さくら公園の南口") || strings.Contains(preview, "北口") || strings.Contains(preview, "続報はお知らせします") {
		t.Errorf("after saving: %q", preview)
	}
}

// auditCount counts an action's audit events on an announcement.
func auditCount(t *testing.T, w *apptest.LineWorld, action string, id int64) int {
	t.Helper()
	return apptest.Count(t, w, `SELECT count(*) FROM audit_event WHERE action = $1 AND object_id = $2`, action, apptest.Itoa(id))
}
