package worklist_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"github.com/renraku/renraku/internal/absence"
	"github.com/renraku/renraku/internal/announce"
	"github.com/renraku/renraku/internal/apptest"
	"github.com/renraku/renraku/internal/demo"
	"github.com/renraku/renraku/internal/linesim"
	"github.com/renraku/renraku/internal/school"
)

// workWorld is さくら小学校 with a family in 1年1組 (verified, with a child absent for
// 出席停止 today and a message to the homeroom teacher) and one in 1年2組 (waiting for
// approval, its child absent today too).
type workWorld struct {
	w                *apptest.LineWorld
	logins           []demo.Login
	sakura           int64
	class11, class12 int64
	child11, child12 int64
	p1               linesim.User
	day              time.Time
}

// nextSchoolDay is today in Tokyo, or the next school day after it.
func nextSchoolDay() time.Time {
	d := school.Day(time.Now())
	for !school.IsSchoolDay(d) {
		d = d.AddDate(0, 0, 1)
	}
	return d
}

func startWorkWorld(t *testing.T) *workWorld {
	t.Helper()
	w := apptest.StartLineWorld(t)
	s := w.App.Services()
	ctx := context.Background()
	logins, err := demo.SeedStaff(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	ww := &workWorld{w: w, logins: logins, day: nextSchoolDay()}
	ww.sakura, ww.class11, _ = apptest.SchoolAndClass(t, w, demo.Schools[0].Name, "1年1組")
	ww.class12 = apptest.ClassID(t, w, ww.sakura, school.YearOf(time.Now()), "1年2組")
	// The office answers around the clock (no auto-reply in the way).
	if _, err := s.Pool.Exec(ctx, `UPDATE school SET office_open = '00:00', office_close = '23:59', office_days = '0123456' WHERE id = $1`, ww.sakura); err != nil {
		t.Fatal(err)
	}
	// The school day the absence lists are about, at 10:00: past the 08:00 cut-off.
	s.Absence.Clock.Set(ww.day.Add(10 * time.Hour))

	codes := apptest.ClassCodes(t, w, ww.sakura)
	ww.p1, _ = apptest.RegisteredParent(t, w, "木村 恵", "木村 あおい", codes[ww.class11])
	// The second family registers without the class code: it waits for approval.
	p2 := w.NewParent(t, "佐々木のLINE")
	if _, err := w.Sim.Follow(w.Ch.LineChannelID, p2.ID); err != nil {
		t.Fatal(err)
	}
	link := apptest.LinkIn(t, w, p2.ID, "友だち追加ありがとうございます", 1)
	b2 := apptest.NewParentBrowser(t)
	b2.Get(link)
	if r := b2.Post(link, url.Values{"consent": {"yes"}, "name": {"佐々木 誠"}, "relationship": {"father"}, "child.0.name": {"佐々木 蓮"},
		"child.0.school": {apptest.Itoa(ww.sakura)}, "child.0.class": {apptest.Itoa(ww.class12)}, "child.0.code": {""}, "op": {"save"}}); r.Status != http.StatusOK {
		t.Fatalf("register without a code: %d %s", r.Status, apptest.Text(r))
	}
	guardian := func(class int64) (g, c int64) {
		t.Helper()
		if err := s.Pool.QueryRow(ctx, `SELECT gs.guardian_id, c.id FROM guardianship gs JOIN child c ON c.id = gs.child_id WHERE c.class_id = $1`, class).Scan(&g, &c); err != nil {
			t.Fatal(err)
		}
		return g, c
	}
	g1, c1 := guardian(ww.class11)
	g2, c2 := guardian(ww.class12)
	ww.child11, ww.child12 = c1, c2
	report := func(g, c, class int64, d absence.Detail, key byte) {
		t.Helper()
		err := s.Tx.InTx(ctx, func(ctx context.Context) error {
			rep := &absence.Report{ChildID: c, GuardianID: g, SchoolID: ww.sakura, ClassID: class, Kind: "absent",
				From: ww.day, To: ww.day, Detail: d, Status: absence.Sent}
			_, err := s.Absence.Store.SaveReport(ctx, rep, []byte{key, byte(c), 9})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	report(g1, c1, ww.class11, absence.Detail{Reason: "suspension", Disease: "influenza"}, 1)
	report(g2, c2, ww.class12, absence.Detail{Reason: "illness"}, 2)

	// The parent of 1年1組 writes to the homeroom teacher.
	apptest.Pick(t, w, ww.p1, "1年1組 担任", 1)
	if _, err := w.Sim.SendText(w.Ch.LineChannelID, ww.p1.ID, "明日の遠足は雨でもありますか"); err != nil {
		t.Fatal(err)
	}
	// (WaitRows waits for a count of zero: no parent's message yet is 1.)
	apptest.WaitRows(t, w, `SELECT CASE WHEN count(*) > 0 THEN 0 ELSE 1 END FROM message WHERE direction = 'in'`)
	return ww
}

func (ww *workWorld) signIn(t *testing.T, login string) *apptest.StaffClient {
	t.Helper()
	return apptest.NewStaffClientSignedIn(t, ww.w, ww.logins, login)
}

// lines returns the work queue's lines of a kind on a page (the home page or the
// fragment).
func lines(r apptest.Response, kind string) *goquery.Selection {
	return r.Doc.Find(`[data-testid="work-line"][data-kind="` + kind + `"]`)
}

func mustLine(t *testing.T, r apptest.Response, kind, want string) *goquery.Selection {
	t.Helper()
	l := lines(r, kind)
	if l.Length() != 1 || !strings.Contains(l.Text(), want) {
		t.Fatalf("%s lines: %d %q, want one with %q\n%s", kind, l.Length(), l.Text(), want, queueText(r))
	}
	return l
}

func queueText(r apptest.Response) string {
	return strings.Join(strings.Fields(r.Doc.Find(`[data-testid="work-queue"]`).Text()), " ")
}

func href(t *testing.T, l *goquery.Selection) string {
	t.Helper()
	h, ok := l.Find("a").Attr("href")
	if !ok {
		t.Fatalf("line without a link: %q", l.Text())
	}
	return h
}

func title(r apptest.Response) string { return r.Doc.Find("title").Text() }

// TestTeacherSeesTheirClassesOnly: the homeroom teacher of 1年1組 sees today's report and
// the parent's message of 1年1組, not 1年2組's registration or report; each line opens
// the page that resolves it, filtered; the tab's title counts them; the fragment
// answers alone with its total; an advisor with nothing waiting is told so kindly.
func TestTeacherSeesTheirClassesOnly(t *testing.T) {
	t.Parallel()
	ww := startWorkWorld(t)
	tannin := ww.signIn(t, "sakura.tannin11")

	home := tannin.Get("/staff/")
	if home.Status != http.StatusOK {
		t.Fatalf("home: %d %s", home.Status, apptest.Text(home))
	}
	if n := lines(home, "registration").Length(); n != 0 {
		t.Errorf("the 1年1組 teacher sees %d registration lines (1年2組's is not theirs): %s", n, queueText(home))
	}
	if strings.Contains(queueText(home), "1年2組") {
		t.Errorf("another class on the teacher's queue: %s", queueText(home))
	}
	abs := mustLine(t, home, "absence", "1年1組：今日の欠席・遅刻などの連絡 未確認 1件")
	if !abs.HasClass("work-late") || !strings.Contains(abs.Text(), "締切時刻（08:00）を過ぎています") {
		t.Errorf("after the cut-off the absence line is not highlighted: %q", abs.Text())
	}
	conv := mustLine(t, home, "conversation", "1年1組 担任：未対応の連絡 1件")
	if !strings.Contains(conv.Text(), "たった今") && !strings.Contains(conv.Text(), "分前") {
		t.Errorf("the conversation's age: %q", conv.Text())
	}
	if got := title(home); got != "(2) ホーム | renraku 学校連絡" {
		t.Errorf("title %q, want (2) ホーム | renraku 学校連絡", got)
	}
	// No names or message text on the queue.
	for _, personal := range []string{"木村", "佐々木", "遠足"} {
		if strings.Contains(queueText(home), personal) {
			t.Errorf("the queue shows %q: %s", personal, queueText(home))
		}
	}

	// Each line opens its page, filtered to what it is about.
	list := tannin.Get(href(t, abs))
	if list.Status != http.StatusOK || list.Doc.Find(`[data-testid="absence-row"]`).Length() != 1 || !strings.Contains(apptest.Text(list), "木村 あおい") {
		t.Errorf("the absence line's list (%s): %d %s", href(t, abs), list.Status, apptest.Text(list))
	}
	if h := href(t, conv); !strings.Contains(h, "state=open") || !strings.Contains(h, "scope=class%3A"+apptest.Itoa(ww.class11)) {
		t.Errorf("the conversation line's link is not filtered: %s", h)
	}
	inbox := tannin.Get(href(t, conv))
	if inbox.Status != http.StatusOK || inbox.Doc.Find(`[data-testid="conversation"]`).Length() != 1 {
		t.Errorf("the filtered inbox: %d %s", inbox.Status, apptest.Text(inbox))
	}

	// The fragment alone, with its total.
	frag := tannin.Get("/staff/work")
	if frag.Status != http.StatusOK || frag.Header.Get("X-Work-Total") != "2" || strings.Contains(frag.Body, "<html") {
		t.Fatalf("fragment: %d total %q %s", frag.Status, frag.Header.Get("X-Work-Total"), frag.Body)
	}
	if v, _ := frag.Doc.Find(`[data-testid="work-queue"]`).Attr("data-work-total"); v != "2" {
		t.Errorf("fragment's data-work-total %q", v)
	}
	if _, ok := frag.Doc.Find(`[data-testid="work-queue"]`).Attr("data-live-page"); !ok {
		t.Error("the queue is not marked for live updates (data-live-page)")
	}

	// Acknowledging the list and closing the conversation empties the queue.
	if r := tannin.Post("/staff/absences/acknowledge", url.Values{"class": {apptest.Itoa(ww.class11)}, "date": {ww.day.Format("2006-01-02")}}); r.Status != http.StatusSeeOther {
		t.Fatalf("acknowledge: %d %s", r.Status, apptest.Text(r))
	}
	thread, _ := inbox.Doc.Find(`[data-testid="conversation"] a`).Attr("href")
	if r := tannin.Post(thread+"/state?state=done", url.Values{}); r.Status != http.StatusSeeOther {
		t.Fatalf("close the conversation: %d %s", r.Status, apptest.Text(r))
	}
	frag = tannin.Get("/staff/work")
	if frag.Header.Get("X-Work-Total") != "0" || frag.Doc.Find(`[data-testid="work-empty"]`).Text() != "対応が必要なものはありません" {
		t.Errorf("after acknowledging and closing: total %q %s", frag.Header.Get("X-Work-Total"), queueText(frag))
	}
	if got := title(tannin.Get("/staff/")); got != "ホーム | renraku 学校連絡" {
		t.Errorf("nothing waiting: title %q", got)
	}

	// The 1年2組 teacher (sub-homeroom of 1年1組) sees 1年2組's registration and report.
	tannin12 := ww.signIn(t, "sakura.tannin12")
	h12 := tannin12.Get("/staff/")
	reg := mustLine(t, h12, "registration", "1年2組：登録の承認待ち 1件")
	mustLine(t, h12, "absence", "1年2組")
	approvals := tannin12.Get(href(t, reg))
	if approvals.Doc.Find(`[data-testid="approval"]`).Length() != 1 || !strings.Contains(approvals.Doc.Find(`[data-testid="approval-class"]`).Text(), "1年2組") {
		t.Errorf("the approvals page: %s", apptest.Text(approvals))
	}

	// The advisor has nothing waiting.
	komon := ww.signIn(t, "sakura.komon")
	if r := komon.Get("/staff/"); r.Doc.Find(`[data-testid="work-empty"]`).Text() != "対応が必要なものはありません" || title(r) != "ホーム | renraku 学校連絡" {
		t.Errorf("the advisor's queue: %s (title %q)", queueText(r), title(r))
	}
}

// TestCutoffHighlight: before the school's cut-off today's reports are listed plainly.
func TestCutoffHighlight(t *testing.T) {
	t.Parallel()
	ww := startWorkWorld(t)
	ww.w.App.Services().Absence.Clock.Set(ww.day.Add(7 * time.Hour))
	r := ww.signIn(t, "sakura.tannin11").Get("/staff/work")
	abs := mustLine(t, r, "absence", "1年1組")
	if abs.HasClass("work-late") || strings.Contains(abs.Text(), "締切時刻") {
		t.Errorf("before the cut-off the line is highlighted: %q", abs.Text())
	}
}

// TestAdministratorsQueue: the school's administrator sees the whole school, the
// conversation past the response window (2 school days by default, then as the setting
// says), the LINE quota, the class over the closure threshold and a teacher's failed
// delivery; the settings tab validates the window in Japanese. The board administrator
// sees one row per school, linking into the school's pages.
func TestAdministratorsQueue(t *testing.T) {
	t.Parallel()
	ww := startWorkWorld(t)
	w, s := ww.w, ww.w.App.Services()
	ctx := context.Background()
	// 1年1組 has 5 pupils; one absent for 出席停止 is 20%: over the threshold (min 1).
	if _, err := s.Pool.Exec(ctx, `UPDATE class SET enrolment = 5 WHERE id = $1`, ww.class11); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Pool.Exec(ctx, `UPDATE school SET absence_alert_min = 1 WHERE id = $1`, ww.sakura); err != nil {
		t.Fatal(err)
	}
	// The parent's message arrived ten days ago and nobody has answered.
	if _, err := s.Pool.Exec(ctx, `UPDATE message SET created_at = now() - interval '10 days' WHERE direction = 'in'`); err != nil {
		t.Fatal(err)
	}
	// The homeroom teacher's announcement to 1年1組: LINE refuses the batch.
	tannin := apptest.SignedInAs(t, w, "sakura.tannin11")
	id, err := s.Announce.Create(tannin, announce.Compose{Kind: announce.Notice, Audience: announce.Audience{SchoolID: ww.sakura, Classes: []int64{ww.class11}},
		Title: "遠足のお知らせ", Body: "本文"}, "1年1組")
	if err != nil {
		t.Fatal(err)
	}
	w.Sim.FailNext(linesim.EndpointMulticast, 1, http.StatusBadRequest)
	if _, err := s.Announce.Send(tannin, id, false); err != nil {
		t.Fatal(err)
	}
	apptest.WaitSent(t, w, id, 30*time.Second)

	kocho := ww.signIn(t, "sakura.kocho")
	home := kocho.Get("/staff/")
	mustLine(t, home, "registration", "1年2組：登録の承認待ち 1件")
	if n := lines(home, "absence").Length(); n != 2 {
		t.Errorf("the administrator sees %d absence lines, want both classes': %s", n, queueText(home))
	}
	conv := mustLine(t, home, "conversation", "1年1組 担任：未対応の連絡 1件")
	if !strings.Contains(conv.Text(), "10日前") {
		t.Errorf("the conversation's age: %q", conv.Text())
	}
	over := mustLine(t, home, "overdue", "1年1組 担任：返信の目安（2登校日）を過ぎた連絡 1件")
	if !over.HasClass("work-late") {
		t.Errorf("the overdue line is not highlighted")
	}
	if r := kocho.Get(href(t, over)); r.Doc.Find(`[data-testid="conversation"]`).Length() != 1 {
		t.Errorf("the overdue line's inbox (%s): %s", href(t, over), apptest.Text(r))
	}
	quota := mustLine(t, home, "quota", "LINEの今月の送信数：")
	if r := kocho.Get(href(t, quota)); r.Status != http.StatusOK || !strings.Contains(apptest.Text(r), "今月") {
		t.Errorf("the quota line's channel tab (%s): %d", href(t, quota), r.Status)
	}
	closure := mustLine(t, home, "closure", "1年1組：発熱・出席停止による欠席 1人（在籍5人の20%）学級閉鎖の目安を超えています")
	if r := kocho.Get(href(t, closure)); r.Status != http.StatusOK {
		t.Errorf("the closure line's figures: %d", r.Status)
	}
	del := mustLine(t, home, "delivery", "お知らせ（1年1組）：届かなかった配信 1件")
	if r := kocho.Get(href(t, del)); r.Doc.Find(`[data-testid="count-failed"]`).Text() != "1" {
		t.Errorf("the delivery line's announcement: %s", apptest.Text(r))
	}
	if strings.Contains(queueText(home), "遠足") {
		t.Errorf("the announcement's title on the queue: %s", queueText(home))
	}
	// The teacher sees their own failed delivery too.
	if r := ww.signIn(t, "sakura.tannin11").Get("/staff/work"); lines(r, "delivery").Length() != 1 || lines(r, "overdue").Length() != 0 {
		t.Errorf("the teacher's queue: %s", queueText(r))
	}
	// 1 registration + 2 reports + 1 conversation + 1 announcement.
	if got := title(home); got != "(5) ホーム | renraku 学校連絡" {
		t.Errorf("title %q", got)
	}

	// The response window: a setting of the school, validated in Japanese.
	settings := "/admin/schools/" + apptest.Itoa(ww.sakura)
	page := kocho.Get(settings)
	if v, _ := page.Doc.Find(`#f-response_window_days`).Attr("value"); v != "2" {
		t.Errorf("the settings page's window: %q, want the default 2", v)
	}
	form := url.Values{}
	page.Doc.Find(`[data-testid="school-settings"] form input, [data-testid="school-settings"] form textarea`).Each(func(_ int, in *goquery.Selection) {
		name, _ := in.Attr("name")
		typ, _ := in.Attr("type")
		if name == "" || typ == "submit" {
			return
		}
		if typ == "checkbox" || typ == "radio" {
			if _, on := in.Attr("checked"); !on {
				return
			}
		}
		v, _ := in.Attr("value")
		if in.Is("textarea") {
			v = in.Text()
		}
		form.Add(name, v)
	})
	for _, bad := range []string{"0", "11", "二"} {
		form.Set("response_window_days", bad)
		r := kocho.Post(settings+"/settings", form)
		if r.Status != http.StatusUnprocessableEntity || !strings.Contains(r.Doc.Find(`[data-testid="error-response_window_days"]`).Text(), "1〜10の数字（登校日）で入力してください。") {
			t.Errorf("a window of %q: %d %s", bad, r.Status, apptest.Text(r))
		}
	}
	form.Set("response_window_days", "10")
	if r := kocho.Post(settings+"/settings", form); r.Status != http.StatusSeeOther {
		t.Fatalf("save a window of 10: %d %s", r.Status, apptest.Text(r))
	}
	if v, _ := kocho.Get(settings).Doc.Find(`#f-response_window_days`).Attr("value"); v != "10" {
		t.Errorf("saved window: %q", v)
	}
	// Ten days ago is within ten school days: no longer overdue.
	if r := kocho.Get("/staff/work"); lines(r, "overdue").Length() != 0 {
		t.Errorf("within a window of 10 school days: %s", queueText(r))
	}

	// The board: one row per school, each figure linking into the school's pages.
	board := ww.signIn(t, "midori.kyoiku")
	bh := board.Get("/staff/")
	rows := bh.Doc.Find(`[data-testid="work-school"]`)
	if rows.Length() != len(demo.Schools) {
		t.Fatalf("board rows: %d, want %d: %s", rows.Length(), len(demo.Schools), queueText(bh))
	}
	var sakura *goquery.Selection
	rows.Each(func(_ int, r *goquery.Selection) {
		if strings.Contains(r.Find("th").Text(), demo.Schools[0].Name) {
			sakura = r
		}
	})
	if sakura == nil {
		t.Fatalf("no row for %s", demo.Schools[0].Name)
	}
	cell := func(kind string) *goquery.Selection { return sakura.Find(`td[data-kind="` + kind + `"]`) }
	if got := cell("coverage").Text(); !strings.Contains(got, "1家庭（児童生徒1人 / 在籍5人）") {
		t.Errorf("coverage: %q", got)
	}
	if got := cell("absences").Text(); !strings.Contains(got, "欠席2・遅刻0・早退0") {
		t.Errorf("today's absences: %q", got)
	}
	if got := cell("failed").Text(); !strings.Contains(got, "1件") {
		t.Errorf("failed deliveries: %q", got)
	}
	for _, kind := range []string{"coverage", "absences", "overdue", "quota", "failed"} {
		h, _ := cell(kind).Find("a").Attr("href")
		if r := board.Get(h); r.Status != http.StatusOK {
			t.Errorf("the board's %s link %s: %d", kind, h, r.Status)
		}
	}
	for _, personal := range []string{"木村", "佐々木", "遠足"} {
		if strings.Contains(queueText(bh), personal) {
			t.Errorf("the board's queue shows %q", personal)
		}
	}
}
