package registration_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/renraku/renraku/internal/app"
	"github.com/renraku/renraku/internal/apptest"
	"github.com/renraku/renraku/internal/demo"
	"github.com/renraku/renraku/internal/leaktest"
	"github.com/renraku/renraku/internal/line"
	"github.com/renraku/renraku/internal/registration"
	"github.com/renraku/renraku/internal/school"
)

func TestRegistrationThroughLINE(t *testing.T) {
	t.Parallel()
	w := apptest.StartLineWorld(t)
	s := w.App.Services()
	ctx := context.Background()
	if _, err := demo.SeedStaff(ctx, s); err != nil {
		t.Fatal(err)
	}
	sakuraID, class11, _ := apptest.SchoolAndClass(t, w, demo.Schools[0].Name, "1年1組")
	hikariID, class1A, hikariClub := apptest.SchoolAndClass(t, w, demo.Schools[1].Name, "1年A組")

	// The school issues 1年1組's code for the letter.
	kocho := apptest.SignedInAs(t, w, "sakura.kocho")
	sakura := mustGetSchool(t, kocho, s, sakuraID)
	if err := s.Registration.NewCode(kocho, sakura.BoardID, sakuraID, class11); err != nil {
		t.Fatal(err)
	}
	codes, err := s.Registration.Codes(kocho, sakura.BoardID, sakuraID, 0)
	if err != nil {
		t.Fatal(err)
	}
	var code string
	for _, c := range codes {
		if c.ClassID == class11 {
			code = registration.FormatCode(c.Code.Reveal())
		}
	}

	// A parent adds the account: the welcome carries a personal link, and the menu is
	// the guest menu.
	u := w.NewParent(t, "LINE表示名ヤマダ")
	if _, err := w.Sim.Follow(w.Ch.LineChannelID, u.ID); err != nil {
		t.Fatal(err)
	}
	link := apptest.LinkIn(t, w, u.ID, "友だち追加ありがとうございます", 1)

	phone := apptest.NewParentBrowser(t)
	page := phone.Get(link)
	if page.Status != http.StatusOK || page.Doc.Find(`[data-testid="registration"]`).Length() == 0 {
		t.Fatalf("registration page: %d %s", page.Status, apptest.Text(page))
	}

	// First try: no consent, a wrong code, a class of the wrong school. Nothing is stored.
	form := url.Values{
		"name": {"山田 花子"}, "relationship": {"mother"}, "nickname": {""},
		"child.0.name": {"山田 一郎"}, "child.0.school": {apptest.Itoa(sakuraID)}, "child.0.class": {apptest.Itoa(class11)}, "child.0.code": {"ABCD-EFGH"},
		"child.1.name": {"山田 二郎"}, "child.1.school": {apptest.Itoa(hikariID)}, "child.1.class": {apptest.Itoa(class11)}, "child.1.clubs": {apptest.Itoa(hikariClub)},
		"op": {"save"},
	}
	r := phone.Post(link, form)
	if r.Status != http.StatusUnprocessableEntity {
		t.Fatalf("bad form: %d", r.Status)
	}
	for _, id := range []string{"error-consent", "error-child.1.class"} {
		if r.Doc.Find(`[data-testid="`+id+`"]`).Length() == 0 {
			t.Errorf("no message %s: %s", id, apptest.Text(r))
		}
	}
	var guardians int
	if err := s.Pool.QueryRow(ctx, `SELECT count(*) FROM guardian`).Scan(&guardians); err != nil {
		t.Fatalf("counting guardians: %v", err)
	}
	if guardians != 0 {
		t.Fatalf("a refused form stored a guardian")
	}
	// The consent and class fixed, the code is checked (and found wrong).
	form.Set("consent", "yes")
	form.Set("child.1.class", apptest.Itoa(class1A))
	r = phone.Post(link, form)
	if r.Status != http.StatusUnprocessableEntity || !strings.Contains(r.Doc.Find(`[data-testid="error-child.0.code"]`).Text(), "登録コードが違います") {
		t.Fatalf("wrong code: %d %s", r.Status, apptest.Text(r))
	}
	// With the right code the first child is verified; the second waits for approval.
	form.Set("child.0.code", strings.ToLower(code))
	r = phone.Post(link, form)
	if r.Status != http.StatusOK || r.Doc.Find(`[data-testid="registration-done"]`).Length() == 0 {
		t.Fatalf("submit: %d %s", r.Status, apptest.Text(r))
	}
	apptest.WaitBotText(t, w, u.ID, "登録済み：1人、先生の確認待ち：1人", 1)
	waitMenu(t, w, u.ID, line.MenuMember)
	// A double tap sends the form twice: still one guardian, two children.
	if r := phone.Post(link, form); r.Status != http.StatusOK {
		t.Fatalf("second submit: %d", r.Status)
	}
	var gs, cs, links int
	if err := s.Pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM guardian), (SELECT count(*) FROM child), (SELECT count(*) FROM guardianship)`).Scan(&gs, &cs, &links); err != nil {
		t.Fatalf("counting guardians, children and links: %v", err)
	}
	if gs != 1 || cs != 2 || links != 2 {
		t.Fatalf("after a double submit: %d guardians, %d children, %d links", gs, cs, links)
	}

	// The homeroom teacher of 1年A組 sees the request with the nickname (the guardian's
	// name by default), never the LINE profile, and approves it.
	teacher := apptest.SignedInAs(t, w, "hikari.tannin1a")
	queue, err := s.Registration.Queue(teacher)
	if err != nil || len(queue) != 1 || queue[0].ChildName.Reveal() != "山田 二郎" || queue[0].Nickname.Reveal() != "山田 花子" {
		t.Fatalf("queue: %+v, %v", queue, err)
	}
	if other, err := s.Registration.Queue(apptest.SignedInAs(t, w, "sakura.tannin11")); err != nil || len(other) != 0 {
		t.Errorf("another class's teacher sees the request: %+v, %v", other, err)
	}
	if _, err := s.Registration.Decide(teacher, queue[0].GuardianshipID, true); err != nil {
		t.Fatal(err)
	}
	apptest.WaitBotText(t, w, u.ID, "山田 二郎さん（1年A組）の登録を先生が確認しました", 1)

	// A second guardian registers the same child: one child, two guardians.
	u2 := w.NewParent(t, "LINE表示名パパ")
	if _, err := w.Sim.Follow(w.Ch.LineChannelID, u2.ID); err != nil {
		t.Fatal(err)
	}
	link2 := apptest.LinkIn(t, w, u2.ID, "友だち追加ありがとうございます", 1)
	phone2 := apptest.NewParentBrowser(t)
	phone2.Get(link2)
	r = phone2.Post(link2, url.Values{"consent": {"yes"}, "name": {"山田 太郎"}, "relationship": {"father"}, "nickname": {"一郎パパ"},
		"child.0.name": {"山田一郎"}, "child.0.school": {apptest.Itoa(sakuraID)}, "child.0.class": {apptest.Itoa(class11)}, "child.0.code": {code}, "op": {"save"}})
	if r.Status != http.StatusOK {
		t.Fatalf("second guardian: %d %s", r.Status, apptest.Text(r))
	}
	members, err := s.Registration.ClassMembers(kocho, sakura.BoardID, sakuraID, sakura.CurrentYear, class11)
	if err != nil || len(members) != 1 || len(members[0].Guardians) != 2 {
		t.Fatalf("class members: %+v, %v", members, err)
	}

	// The father blocks the account: he is shown as blocked and nothing reaches him; when
	// he adds the account again he is welcomed back, still registered.
	if _, err := w.Sim.Unfollow(w.Ch.LineChannelID, u2.ID); err != nil {
		t.Fatal(err)
	}
	waitActive(t, s, kocho, sakura.BoardID, sakuraID, sakura.CurrentYear, class11, "一郎パパ", false)
	if _, err := w.Sim.Follow(w.Ch.LineChannelID, u2.ID); err != nil {
		t.Fatal(err)
	}
	apptest.WaitBotText(t, w, u2.ID, "おかえりなさい", 1)
	waitActive(t, s, kocho, sakura.BoardID, sakuraID, sakura.CurrentYear, class11, "一郎パパ", true)

	// A forwarded link opened in another browser is refused; so is an expired one.
	if r := apptest.NewParentBrowser(t).Get(link); r.Status != http.StatusForbidden {
		t.Errorf("forwarded link: %d", r.Status)
	}
	if _, err := s.Pool.Exec(ctx, `UPDATE parent_link SET expires_at = now() - interval '1 minute'`); err != nil {
		t.Fatal(err)
	}
	if r := phone.Get(link); r.Status != http.StatusNotFound {
		t.Errorf("expired link: %d", r.Status)
	}

	// 「自分の情報を更新する」 sends an update link that opens the stored registration,
	// from which the parent withdraws.
	if _, err := w.Sim.Postback(w.Ch.LineChannelID, u.ID, line.PostbackData("menu.profile", ""), nil); err != nil {
		t.Fatal(err)
	}
	update := apptest.LinkIn(t, w, u.ID, "登録内容を確認・変更", 1)
	r = phone.Get(update)
	if got, _ := r.Doc.Find(`input[name="child.1.name"]`).Attr("value"); got != "山田 二郎" {
		t.Fatalf("update page not filled: %q", got)
	}
	// Moving 山田 一郎 to 1年2組 is a new registration: it waits for the teacher again.
	_, class12, _ := apptest.SchoolAndClass(t, w, demo.Schools[0].Name, "1年2組")
	moved := url.Values{}
	for k, v := range form {
		moved[k] = v
	}
	moved.Set("child.0.class", apptest.Itoa(class12))
	moved.Set("child.0.code", "")
	if r := phone.Post(update, moved); r.Status != http.StatusOK {
		t.Fatalf("class change: %d %s", r.Status, apptest.Text(r))
	}
	apptest.WaitBotText(t, w, u.ID, "登録済み：1人、先生の確認待ち：1人", 2)
	// (The father of 1年1組, a further guardian, waits in the same queue: its teacher
	// is 1年1組's sub-homeroom teacher.)
	if q, err := s.Registration.Queue(apptest.SignedInAs(t, w, "sakura.tannin12")); err != nil || len(q) != 2 || q[1].ClassLabel != "1年2組" || q[0].ClassLabel != "1年1組" {
		t.Fatalf("class change not in the new teacher's queue: %+v, %v", q, err)
	}
	withdraw := update + "/withdraw"
	// Not ticked: the update page again with the reason, and nothing deleted.
	if r := phone.Post(withdraw, url.Values{}); r.Status != http.StatusUnprocessableEntity || !strings.Contains(apptest.Text(r), "退会するには確認のチェックを入れてください") {
		t.Fatalf("unconfirmed withdrawal: %d %s", r.Status, apptest.Text(r))
	}
	if n := apptest.Count(t, w, `SELECT count(*) FROM guardian`); n == 0 {
		t.Fatal("an unconfirmed withdrawal deleted the guardian")
	}
	if r := phone.Post(withdraw, url.Values{"confirm": {"yes"}}); r.Status != http.StatusOK || r.Doc.Find(`[data-testid="withdrawn"]`).Length() == 0 {
		t.Fatalf("withdraw: %d %s", r.Status, apptest.Text(r))
	}
	apptest.WaitBotText(t, w, u.ID, "退会の手続きが完了", 1)
	waitMenu(t, w, u.ID, line.MenuGuest)
	var guardianRows, childRows, deletions, copies int
	err = s.Pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM guardian), (SELECT count(*) FROM child), (SELECT count(*) FROM deletion_record WHERE reason = 'withdrawal'),
		(SELECT count(*) FROM line_outbound o JOIN line_friend f ON f.id = o.friend_id WHERE f.user_key = (SELECT user_key FROM line_friend WHERE id = o.friend_id)
			AND o.state <> 'queued' AND o.messages_enc IS NOT NULL AND o.friend_id = (SELECT friend_id FROM line_outbound WHERE purpose = 'registration' ORDER BY id DESC LIMIT 1))`).
		Scan(&guardianRows, &childRows, &deletions, &copies)
	if err != nil {
		t.Fatalf("counting what the withdrawal left: %v", err)
	}
	// 山田 二郎 had only this guardian: deleted; 山田 一郎 keeps his father (five records:
	// guardian, child, guardianship, LINE copies, conversations). The copies of
	// what was sent to the parent who left are wiped (the farewell, still queued, stays).
	if guardianRows != 1 || childRows != 1 || deletions != 5 || copies != 0 {
		t.Errorf("after withdrawal: %d guardians, %d children, %d deletion records, %d message copies kept", guardianRows, childRows, deletions, copies)
	}
	// The parent's children were in two schools: the records are the board's, not one
	// school's.
	var underSchool int
	if err := s.Pool.QueryRow(ctx, `SELECT count(*) FROM deletion_record WHERE reason = 'withdrawal' AND school_id IS NOT NULL`).Scan(&underSchool); err != nil {
		t.Fatalf("counting withdrawal records under a school: %v", err)
	}
	if underSchool != 0 {
		t.Errorf("%d withdrawal records under one school for a parent of two schools", underSchool)
	}

	// Nothing readable in a dump: names, nicknames, LINE names and IDs.
	dump := leaktest.PgDump(t, w.DBURL)
	leaktest.AssertAbsent(t, "pg_dump", dump, "山田 太郎", "山田一郎", "山田 一郎", "一郎パパ", "LINE表示名パパ", u2.ID, strings.ReplaceAll(code, "-", ""))
}

// waitActive waits until a guardian of the class shows as active (following) or not.
func waitActive(t *testing.T, s *app.Services, ctx context.Context, boardID, schoolID int64, year int, classID int64, nickname string, active bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		members, err := s.Registration.ClassMembers(ctx, boardID, schoolID, year, classID)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range members {
			for _, g := range m.Guardians {
				if g.Nickname.Reveal() == nickname && g.Active == active {
					return
				}
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s never became active=%v", nickname, active)
}

// waitMenu waits until the user's rich menu is the given kind.
func waitMenu(t *testing.T, w *apptest.LineWorld, user, kind string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if m, ok := w.Sim.CurrentRichMenu(w.Ch.LineChannelID, user); ok && strings.Contains(m.Name, kind) {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	m, linked := w.Sim.CurrentRichMenu(w.Ch.LineChannelID, user)
	t.Fatalf("rich menu %q (linked: %v), want %s", m.Name, linked, kind)
}

func TestRegistrationCodeTriesAreLimited(t *testing.T) {
	t.Parallel()
	w := apptest.StartLineWorld(t)
	s := w.App.Services()
	if _, err := demo.SeedStaff(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	sakuraID, class11, _ := apptest.SchoolAndClass(t, w, demo.Schools[0].Name, "1年1組")
	kocho := apptest.SignedInAs(t, w, "sakura.kocho")
	sakura := mustGetSchool(t, kocho, s, sakuraID)
	if err := s.Registration.NewCode(kocho, sakura.BoardID, sakuraID, class11); err != nil {
		t.Fatal(err)
	}
	codes, err := s.Registration.Codes(kocho, sakura.BoardID, sakuraID, 0)
	if err != nil {
		t.Fatalf("registration codes: %v", err)
	}
	var code string
	for _, c := range codes {
		if c.ClassID == class11 {
			code = c.Code.Reveal()
		}
	}
	u := w.NewParent(t, "試行")
	if _, err := w.Sim.Follow(w.Ch.LineChannelID, u.ID); err != nil {
		t.Fatal(err)
	}
	link := apptest.LinkIn(t, w, u.ID, "友だち追加ありがとうございます", 1)
	b := apptest.NewParentBrowser(t)
	b.Get(link)
	form := url.Values{"consent": {"yes"}, "name": {"試行 花子"}, "relationship": {"mother"}, "child.0.name": {"試行 一郎"},
		"child.0.school": {apptest.Itoa(sakuraID)}, "child.0.class": {apptest.Itoa(class11)}, "op": {"save"}}
	for i := 0; i < registration.MaxCodeFailures; i++ {
		form.Set("child.0.code", "WXYZ234"+string(rune('A'+i)))
		r := b.Post(link, form)
		if !strings.Contains(r.Doc.Find(`[data-testid="error-child.0.code"]`).Text(), "登録コードが違います") {
			t.Fatalf("try %d: %s", i+1, apptest.Text(r))
		}
	}
	// The sixth try within the hour is refused even with the right code.
	form.Set("child.0.code", code)
	r := b.Post(link, form)
	if !strings.Contains(r.Doc.Find(`[data-testid="error-child.0.code"]`).Text(), "1時間ほどお待ちください") {
		t.Fatalf("after five wrong codes: %s", apptest.Text(r))
	}
	// Without a code the parent can still register, for the teacher to approve.
	form.Set("child.0.code", "")
	if r := b.Post(link, form); r.Status != http.StatusOK {
		t.Fatalf("registering without a code: %d %s", r.Status, apptest.Text(r))
	}
}

// mustGetSchool returns a school as the staff member signed in on ctx sees it.
func mustGetSchool(t testing.TB, ctx context.Context, s *app.Services, schoolID int64) school.School {
	t.Helper()
	sc, err := s.Schools.Get(ctx, schoolID)
	if err != nil {
		t.Fatalf("school %d: %v", schoolID, err)
	}
	return sc
}

// TestSchoolSitesFromTheMenu: 「学校ウェブサイト」 answers with the address the school set
// in the console, and 「部活動サイト」, which it has not set, says so rather than that the
// feature is being prepared.
func TestSchoolSitesFromTheMenu(t *testing.T) {
	t.Parallel()
	w, _ := apptest.StartDemoWorld(t)
	ctx := context.Background()
	sakuraID, class11, _ := apptest.SchoolAndClass(t, w, demo.Schools[0].Name, "1年1組")
	u, _ := apptest.RegisteredParent(t, w, "中村 由紀", "中村 蒼", apptest.ClassCodes(t, w, sakuraID)[class11])
	if _, err := w.App.Pool().Exec(ctx, `UPDATE school SET website_url = 'https://sakura.example.jp/', club_site_url = '' WHERE id = $1`, sakuraID); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ data, want string }{
		{"menu.website", demo.Schools[0].Name + "のウェブサイト：https://sakura.example.jp/"},
		{"menu.clubs", demo.Schools[0].Name + "は、部活動サイトのアドレスをまだ登録していません。"},
	} {
		if _, err := w.Sim.Postback(w.Ch.LineChannelID, u.ID, line.PostbackData(tc.data, ""), nil); err != nil {
			t.Fatal(err)
		}
		items := apptest.WaitBotText(t, w, u.ID, tc.want, 1)
		if strings.Contains(items[len(items)-1].Text, "準備中") {
			t.Errorf("%s: %q", tc.data, items[len(items)-1].Text)
		}
	}
}
