package app_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/renraku/renraku/internal/app"
	"github.com/renraku/renraku/internal/demo"
	"github.com/renraku/renraku/internal/leaktest"
	"github.com/renraku/renraku/internal/line"
	"github.com/renraku/renraku/internal/linesim"
	"github.com/renraku/renraku/internal/registration"
	"github.com/renraku/renraku/internal/school"
)

// parentBrowser is a phone's browser opening links from LINE.
type parentBrowser struct {
	t testing.TB
	c *staffClient
}

func newParentBrowser(t testing.TB) *parentBrowser {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &parentBrowser{t: t, c: &staffClient{t: t, http: &http.Client{Jar: jar, Timeout: 20 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}}
}

func (b *parentBrowser) get(u string) response {
	b.t.Helper()
	return b.c.do(mustRequest(b.t, http.MethodGet, u, nil))
}

func (b *parentBrowser) post(u string, form url.Values) response {
	b.t.Helper()
	req := mustRequest(b.t, http.MethodPost, u, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.c.do(req)
}

// linkIn waits for the bot's message with a link button and returns the link.
func linkIn(t testing.TB, w *lineWorld, user, want string, count int) string {
	t.Helper()
	items := waitBotText(t, w, user, want, count)
	for i := len(items) - 1; i >= 0; i-- {
		for _, a := range items[i].Actions {
			if a.Type == "uri" && strings.Contains(a.URI, "/p/") {
				return a.URI
			}
		}
	}
	t.Fatalf("no link in the chat: %+v", items)
	return ""
}

func schoolAndClass(t testing.TB, w *lineWorld, schoolName, class string) (int64, int64, int64) {
	t.Helper()
	s := w.app.Services()
	sc, err := s.Schools.FindSchool(context.Background(), schoolName)
	if err != nil {
		t.Fatal(err)
	}
	var classID, clubID int64
	err = s.Pool.QueryRow(context.Background(), `SELECT id FROM class WHERE school_id = $1 AND grade::text || '年' || name = $2`, sc.ID, class).Scan(&classID)
	if err != nil {
		t.Fatal(err)
	}
	// A school without clubs has club 0.
	err = s.Pool.QueryRow(context.Background(), `SELECT id FROM club WHERE school_id = $1 ORDER BY name LIMIT 1`, sc.ID).Scan(&clubID)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		t.Fatalf("club of %s: %v", schoolName, err)
	}
	return sc.ID, classID, clubID
}

func TestRegistrationThroughLINE(t *testing.T) {
	t.Parallel()
	w := startLineWorld(t)
	s := w.app.Services()
	ctx := context.Background()
	if _, err := demo.SeedStaff(ctx, s); err != nil {
		t.Fatal(err)
	}
	sakuraID, class11, _ := schoolAndClass(t, w, demo.Schools[0].Name, "1年1組")
	hikariID, class1A, hikariClub := schoolAndClass(t, w, demo.Schools[1].Name, "1年A組")

	// The school issues 1年1組's code for the letter.
	kocho := signedInAs(t, w, "sakura.kocho")
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
	u := w.newParent(t, "LINE表示名ヤマダ")
	if _, err := w.sim.Follow(w.ch.LineChannelID, u.ID); err != nil {
		t.Fatal(err)
	}
	link := linkIn(t, w, u.ID, "友だち追加ありがとうございます", 1)

	phone := newParentBrowser(t)
	page := phone.get(link)
	if page.status != http.StatusOK || page.doc.Find(`[data-testid="registration"]`).Length() == 0 {
		t.Fatalf("registration page: %d %s", page.status, text(page))
	}

	// First try: no consent, a wrong code, a class of the wrong school. Nothing is stored.
	form := url.Values{
		"name": {"山田 花子"}, "relationship": {"mother"}, "nickname": {""},
		"child.0.name": {"山田 一郎"}, "child.0.school": {itoa(sakuraID)}, "child.0.class": {itoa(class11)}, "child.0.code": {"ABCD-EFGH"},
		"child.1.name": {"山田 二郎"}, "child.1.school": {itoa(hikariID)}, "child.1.class": {itoa(class11)}, "child.1.clubs": {itoa(hikariClub)},
		"op": {"save"},
	}
	r := phone.post(link, form)
	if r.status != http.StatusUnprocessableEntity {
		t.Fatalf("bad form: %d", r.status)
	}
	for _, id := range []string{"error-consent", "error-child.1.class"} {
		if r.doc.Find(`[data-testid="`+id+`"]`).Length() == 0 {
			t.Errorf("no message %s: %s", id, text(r))
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
	form.Set("child.1.class", itoa(class1A))
	r = phone.post(link, form)
	if r.status != http.StatusUnprocessableEntity || !strings.Contains(r.doc.Find(`[data-testid="error-child.0.code"]`).Text(), "登録コードが違います") {
		t.Fatalf("wrong code: %d %s", r.status, text(r))
	}
	// With the right code the first child is verified; the second waits for approval.
	form.Set("child.0.code", strings.ToLower(code))
	r = phone.post(link, form)
	if r.status != http.StatusOK || r.doc.Find(`[data-testid="registration-done"]`).Length() == 0 {
		t.Fatalf("submit: %d %s", r.status, text(r))
	}
	waitBotText(t, w, u.ID, "登録済み：1人、先生の確認待ち：1人", 1)
	waitMenu(t, w, u.ID, line.MenuMember)
	// A double tap sends the form twice: still one guardian, two children.
	if r := phone.post(link, form); r.status != http.StatusOK {
		t.Fatalf("second submit: %d", r.status)
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
	teacher := signedInAs(t, w, "hikari.tannin1a")
	queue, err := s.Registration.Queue(teacher)
	if err != nil || len(queue) != 1 || queue[0].ChildName.Reveal() != "山田 二郎" || queue[0].Nickname.Reveal() != "山田 花子" {
		t.Fatalf("queue: %+v, %v", queue, err)
	}
	if other, err := s.Registration.Queue(signedInAs(t, w, "sakura.tannin11")); err != nil || len(other) != 0 {
		t.Errorf("another class's teacher sees the request: %+v, %v", other, err)
	}
	if _, err := s.Registration.Decide(teacher, queue[0].GuardianshipID, true); err != nil {
		t.Fatal(err)
	}
	waitBotText(t, w, u.ID, "山田 二郎さん（1年A組）の登録を先生が確認しました", 1)

	// A second guardian registers the same child: one child, two guardians.
	u2 := w.newParent(t, "LINE表示名パパ")
	if _, err := w.sim.Follow(w.ch.LineChannelID, u2.ID); err != nil {
		t.Fatal(err)
	}
	link2 := linkIn(t, w, u2.ID, "友だち追加ありがとうございます", 1)
	phone2 := newParentBrowser(t)
	phone2.get(link2)
	r = phone2.post(link2, url.Values{"consent": {"yes"}, "name": {"山田 太郎"}, "relationship": {"father"}, "nickname": {"一郎パパ"},
		"child.0.name": {"山田一郎"}, "child.0.school": {itoa(sakuraID)}, "child.0.class": {itoa(class11)}, "child.0.code": {code}, "op": {"save"}})
	if r.status != http.StatusOK {
		t.Fatalf("second guardian: %d %s", r.status, text(r))
	}
	members, err := s.Registration.ClassMembers(kocho, sakura.BoardID, sakuraID, sakura.CurrentYear, class11)
	if err != nil || len(members) != 1 || len(members[0].Guardians) != 2 {
		t.Fatalf("class members: %+v, %v", members, err)
	}

	// The father blocks the account: he is shown as blocked and nothing reaches him; when
	// he adds the account again he is welcomed back, still registered.
	if _, err := w.sim.Unfollow(w.ch.LineChannelID, u2.ID); err != nil {
		t.Fatal(err)
	}
	waitActive(t, s, kocho, sakura.BoardID, sakuraID, sakura.CurrentYear, class11, "一郎パパ", false)
	if _, err := w.sim.Follow(w.ch.LineChannelID, u2.ID); err != nil {
		t.Fatal(err)
	}
	waitBotText(t, w, u2.ID, "おかえりなさい", 1)
	waitActive(t, s, kocho, sakura.BoardID, sakuraID, sakura.CurrentYear, class11, "一郎パパ", true)

	// A forwarded link opened in another browser is refused; so is an expired one.
	if r := newParentBrowser(t).get(link); r.status != http.StatusForbidden {
		t.Errorf("forwarded link: %d", r.status)
	}
	if _, err := s.Pool.Exec(ctx, `UPDATE parent_link SET expires_at = now() - interval '1 minute'`); err != nil {
		t.Fatal(err)
	}
	if r := phone.get(link); r.status != http.StatusNotFound {
		t.Errorf("expired link: %d", r.status)
	}

	// 「自分の情報を更新する」 sends an update link that opens the stored registration,
	// from which the parent withdraws.
	if _, err := w.sim.Postback(w.ch.LineChannelID, u.ID, line.PostbackData("menu.profile", ""), nil); err != nil {
		t.Fatal(err)
	}
	update := linkIn(t, w, u.ID, "登録内容を確認・変更", 1)
	r = phone.get(update)
	if got, _ := r.doc.Find(`input[name="child.1.name"]`).Attr("value"); got != "山田 二郎" {
		t.Fatalf("update page not filled: %q", got)
	}
	// Moving 山田 一郎 to 1年2組 is a new registration: it waits for the teacher again.
	_, class12, _ := schoolAndClass(t, w, demo.Schools[0].Name, "1年2組")
	moved := url.Values{}
	for k, v := range form {
		moved[k] = v
	}
	moved.Set("child.0.class", itoa(class12))
	moved.Set("child.0.code", "")
	if r := phone.post(update, moved); r.status != http.StatusOK {
		t.Fatalf("class change: %d %s", r.status, text(r))
	}
	waitBotText(t, w, u.ID, "登録済み：1人、先生の確認待ち：1人", 2)
	// (The father of 1年1組, a further guardian, waits in the same queue: its teacher
	// is 1年1組's sub-homeroom teacher.)
	if q, err := s.Registration.Queue(signedInAs(t, w, "sakura.tannin12")); err != nil || len(q) != 2 || q[1].ClassLabel != "1年2組" || q[0].ClassLabel != "1年1組" {
		t.Fatalf("class change not in the new teacher's queue: %+v, %v", q, err)
	}
	withdraw := update + "/withdraw"
	if r := phone.post(withdraw, url.Values{"confirm": {"yes"}}); r.status != http.StatusOK || r.doc.Find(`[data-testid="withdrawn"]`).Length() == 0 {
		t.Fatalf("withdraw: %d %s", r.status, text(r))
	}
	waitBotText(t, w, u.ID, "退会の手続きが完了", 1)
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
	dump := leaktest.PgDump(t, w.dbURL)
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

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// waitMenu waits until the user's rich menu is the given kind.
func waitMenu(t *testing.T, w *lineWorld, user, kind string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if m, ok := w.sim.CurrentRichMenu(w.ch.LineChannelID, user); ok && strings.Contains(m.Name, kind) {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	m, _ := w.sim.CurrentRichMenu(w.ch.LineChannelID, user)
	t.Fatalf("rich menu %q, want %s", m.Name, kind)
}

var _ = linesim.FromBot

func TestRegistrationCodeTriesAreLimited(t *testing.T) {
	t.Parallel()
	w := startLineWorld(t)
	s := w.app.Services()
	if _, err := demo.SeedStaff(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	sakuraID, class11, _ := schoolAndClass(t, w, demo.Schools[0].Name, "1年1組")
	kocho := signedInAs(t, w, "sakura.kocho")
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
	u := w.newParent(t, "試行")
	if _, err := w.sim.Follow(w.ch.LineChannelID, u.ID); err != nil {
		t.Fatal(err)
	}
	link := linkIn(t, w, u.ID, "友だち追加ありがとうございます", 1)
	b := newParentBrowser(t)
	b.get(link)
	form := url.Values{"consent": {"yes"}, "name": {"試行 花子"}, "relationship": {"mother"}, "child.0.name": {"試行 一郎"},
		"child.0.school": {itoa(sakuraID)}, "child.0.class": {itoa(class11)}, "op": {"save"}}
	for i := 0; i < registration.MaxCodeFailures; i++ {
		form.Set("child.0.code", "WXYZ234"+string(rune('A'+i)))
		r := b.post(link, form)
		if !strings.Contains(r.doc.Find(`[data-testid="error-child.0.code"]`).Text(), "登録コードが違います") {
			t.Fatalf("try %d: %s", i+1, text(r))
		}
	}
	// The sixth try within the hour is refused even with the right code.
	form.Set("child.0.code", code)
	r := b.post(link, form)
	if !strings.Contains(r.doc.Find(`[data-testid="error-child.0.code"]`).Text(), "1時間ほどお待ちください") {
		t.Fatalf("after five wrong codes: %s", text(r))
	}
	// Without a code the parent can still register, for the teacher to approve.
	form.Set("child.0.code", "")
	if r := b.post(link, form); r.status != http.StatusOK {
		t.Fatalf("registering without a code: %d %s", r.status, text(r))
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

// classCodes returns the registration codes of a school's classes, as a parent types
// them.
func classCodes(t *testing.T, w *lineWorld, schoolID int64) map[int64]string {
	t.Helper()
	s := w.app.Services()
	kocho := signedInAs(t, w, "sakura.kocho")
	sc, err := s.Schools.Get(kocho, schoolID)
	if err != nil {
		t.Fatal(err)
	}
	codes, err := s.Registration.Codes(kocho, sc.BoardID, schoolID, 0)
	if err != nil {
		t.Fatal(err)
	}
	out := map[int64]string{}
	for _, c := range codes {
		out[c.ClassID] = registration.FormatCode(c.Code.Reveal())
	}
	return out
}

// TestSchoolSitesFromTheMenu: 「学校ウェブサイト」 answers with the address the school set
// in the console, and 「部活動サイト」, which it has not set, says so rather than that the
// feature is being prepared.
func TestSchoolSitesFromTheMenu(t *testing.T) {
	t.Parallel()
	w, _ := startDemoWorld(t)
	ctx := context.Background()
	sakuraID, class11, _ := schoolAndClass(t, w, demo.Schools[0].Name, "1年1組")
	u, _ := registeredParent(t, w, "中村 由紀", "中村 蒼", classCodes(t, w, sakuraID)[class11])
	if _, err := w.app.Pool().Exec(ctx, `UPDATE school SET website_url = 'https://sakura.example.jp/', club_site_url = '' WHERE id = $1`, sakuraID); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ data, want string }{
		{"menu.website", demo.Schools[0].Name + "のウェブサイト：https://sakura.example.jp/"},
		{"menu.clubs", demo.Schools[0].Name + "は、部活動サイトのアドレスをまだ登録していません。"},
	} {
		if _, err := w.sim.Postback(w.ch.LineChannelID, u.ID, line.PostbackData(tc.data, ""), nil); err != nil {
			t.Fatal(err)
		}
		items := waitBotText(t, w, u.ID, tc.want, 1)
		if strings.Contains(items[len(items)-1].Text, "準備中") {
			t.Errorf("%s: %q", tc.data, items[len(items)-1].Text)
		}
	}
}
