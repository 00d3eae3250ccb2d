package registration_test

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/renraku/renraku/internal/absence"
	"github.com/renraku/renraku/internal/apptest"
	"github.com/renraku/renraku/internal/demo"
	"github.com/renraku/renraku/internal/line"
	"github.com/renraku/renraku/internal/lineapi"
	"github.com/renraku/renraku/internal/linesim"
	"github.com/renraku/renraku/internal/parentlink"
	"github.com/renraku/renraku/internal/registration"
)

// registerAs follows the account and submits the registration form with the children
// given (each: name, class ID, code) as a guardian of the relationship; it returns the
// parent's LINE user, browser and the form's answer.
func registerAs(t *testing.T, w *apptest.LineWorld, name, relationship string, children ...[3]string) (linesim.User, *apptest.ParentBrowser, apptest.Response) {
	t.Helper()
	u := w.NewParent(t, name+"のLINE")
	if _, err := w.Sim.Follow(w.Ch.LineChannelID, u.ID); err != nil {
		t.Fatal(err)
	}
	link := apptest.LinkIn(t, w, u.ID, "友だち追加ありがとうございます", 1)
	sakuraID, _, _ := apptest.SchoolAndClass(t, w, demo.Schools[0].Name, "1年1組")
	b := apptest.NewParentBrowser(t)
	b.Get(link)
	form := url.Values{"consent": {"yes"}, "name": {name}, "relationship": {relationship}, "op": {"save"}}
	for i, c := range children {
		p := "child." + strconv.Itoa(i) + "."
		form.Set(p+"name", c[0])
		form.Set(p+"school", apptest.Itoa(sakuraID))
		form.Set(p+"class", c[1])
		form.Set(p+"code", c[2])
	}
	return u, b, b.Post(link, form)
}

// issueLink gives a friend a parent link of purpose, as the menu would.
func issueLink(t *testing.T, w *apptest.LineWorld, friendID int64, purpose string) string {
	t.Helper()
	s := w.App.Services()
	var link string
	err := s.Tx.InTx(context.Background(), func(ctx context.Context) error {
		var err error
		link, err = s.Registration.IssueLink(ctx, friendID, purpose)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return link
}

// TestFurtherGuardianWaitsForTheSchool: a class code verifies a child's first guardian
// only. Someone else naming the same child with the right code waits for the homeroom
// teacher, can neither report the child absent nor write to the teacher about them,
// and the verified guardian is told in LINE and can answer 「心当たりがない」.
func TestFurtherGuardianWaitsForTheSchool(t *testing.T) {
	t.Parallel()
	w, logins := apptest.StartDemoWorld(t)
	s := w.App.Services()
	ctx := context.Background()
	sakuraID, class11, _ := apptest.SchoolAndClass(t, w, demo.Schools[0].Name, "1年1組")
	kocho := apptest.SignedInAs(t, w, "sakura.kocho")
	sakura := mustGetSchool(t, kocho, s, sakuraID)
	if err := s.Registration.NewCode(kocho, sakura.BoardID, sakuraID, class11); err != nil {
		t.Fatal(err)
	}
	code := apptest.ClassCodes(t, w, sakuraID)[class11]
	// apptest.Count: a query of audit_event waits for the seal (the mother's tap is
	// processed by a worker, whose reply can reach her before its events are sealed).
	count := func(q string, args ...any) int {
		t.Helper()
		return apptest.Count(t, w, q, args...)
	}

	// The child's first guardian is verified at once by the code.
	mother, _, r := registerAs(t, w, "青木 春子", "mother", [3]string{"青木 一郎", apptest.Itoa(class11), code})
	if r.Status != http.StatusOK {
		t.Fatalf("first guardian: %d %s", r.Status, apptest.Text(r))
	}
	apptest.WaitBotText(t, w, mother.ID, "登録済み：1人、先生の確認待ち：0人", 1)

	// Someone else names the same child with the same (right) code: pending.
	stranger, _, r := registerAs(t, w, "見知らぬ 人", "father", [3]string{"青木一郎", apptest.Itoa(class11), code})
	if r.Status != http.StatusOK || r.Doc.Find(`[data-testid="registration-contested"]`).Length() == 0 {
		t.Fatalf("further guardian: %d %s", r.Status, apptest.Text(r))
	}
	apptest.WaitBotText(t, w, stranger.ID, "登録済み：0人、先生の確認待ち：1人", 1)
	var gsID, childID, strangerFriend int64
	var status string
	if err := s.Pool.QueryRow(ctx, `SELECT gs.id, gs.child_id, gs.status, gu.friend_id FROM guardianship gs JOIN guardian gu ON gu.id = gs.guardian_id
		ORDER BY gs.id DESC LIMIT 1`).Scan(&gsID, &childID, &status, &strangerFriend); err != nil {
		t.Fatal(err)
	}
	if status != registration.Pending || count(`SELECT count(*) FROM child`) != 1 {
		t.Fatalf("the further guardian is %s (children: %d)", status, count(`SELECT count(*) FROM child`))
	}

	// The mother is told in LINE: the child, the relationship given, never who it is.
	items := apptest.WaitBotText(t, w, mother.ID, "別のLINEアカウントから登録がありました", 1)
	var notice string
	var dispute *linesim.Action
	for _, it := range items {
		if it.From != linesim.FromBot {
			continue
		}
		if strings.Contains(it.Text, "別のLINEアカウントから登録がありました") {
			notice = it.Text
		}
		for _, a := range it.Actions {
			if a.Label == "心当たりがない" {
				a := a
				dispute = &a
			}
		}
	}
	if !strings.Contains(notice, "青木 一郎さん（1年1組）") || !strings.Contains(notice, "続柄：父") {
		t.Errorf("notice: %q", notice)
	}
	for _, leak := range []string{"見知らぬ", "見知らぬ 人のLINE", stranger.ID} {
		if strings.Contains(notice, leak) {
			t.Errorf("the notice tells the registrant's identity (%q): %q", leak, notice)
		}
	}
	if dispute == nil || dispute.Type != "postback" || len(dispute.Data) > lineapi.MaxPostbackData || strings.Contains(dispute.Data, "青木") {
		t.Fatalf("no 「心当たりがない」 postback button fit for LINE: %+v", dispute)
	}

	// The stranger cannot report the child absent: the menu says why, and the form
	// refuses the child with a message; nothing is stored.
	if _, err := w.Sim.Postback(w.Ch.LineChannelID, stranger.ID, line.PostbackData("menu.absence", ""), nil); err != nil {
		t.Fatal(err)
	}
	apptest.WaitBotText(t, w, stranger.ID, "確認が終わるまで欠席連絡はできません", 1)
	link := issueLink(t, w, strangerFriend, parentlink.PurposeAbsence)
	sb := apptest.NewParentBrowser(t)
	page := sb.Get(link)
	if page.Status != http.StatusOK || !strings.Contains(page.Doc.Find(`[data-testid="awaiting"]`).Text(), "青木 一郎さんの欠席連絡は") {
		t.Fatalf("absence page of the waiting guardian: %d %s", page.Status, apptest.Text(page))
	}
	key, _ := page.Doc.Find(`input[name="key"]`).Attr("value")
	tomorrow := absence.Today(time.Now()).AddDate(0, 0, 1).Format("2006-01-02")
	r = sb.Post(link, url.Values{"key": {key}, "child": {apptest.Itoa(childID)}, "kind": {"absent"}, "from": {tomorrow}, "reason": {"family"}})
	if r.Status != http.StatusUnprocessableEntity || !strings.Contains(apptest.Text(r), "すでに確認済みの保護者がいます") {
		t.Fatalf("absence for the child: %d %s", r.Status, apptest.Text(r))
	}
	if n := count(`SELECT count(*) FROM absence_report`); n != 0 {
		t.Fatalf("%d absence reports stored", n)
	}

	// Nor write to the teacher about the child: no homeroom choice, the reason given,
	// and a forged choice opens nothing.
	if _, err := w.Sim.Postback(w.Ch.LineChannelID, stranger.ID, line.PostbackData("menu.contact", ""), nil); err != nil {
		t.Fatal(err)
	}
	items = apptest.WaitBotText(t, w, stranger.ID, "相談先を選択してください", 1)
	last := items[len(items)-1]
	if !strings.Contains(last.Text, "担任の先生があなたの登録を確認したあとに") {
		t.Errorf("the choice does not say why: %q", last.Text)
	}
	for _, a := range last.QuickReply {
		if strings.Contains(a.Label, "担任") {
			t.Errorf("the waiting guardian may choose %q", a.Label)
		}
	}
	forged := line.PostbackData("contact.pick", "homeroom:"+apptest.Itoa(childID)+":0:"+apptest.Itoa(sakuraID))
	if _, err := w.Sim.Postback(w.Ch.LineChannelID, stranger.ID, forged, nil); err != nil {
		t.Fatal(err)
	}
	apptest.WaitBotText(t, w, stranger.ID, "相談先を選択してください", 2)
	if n := count(`SELECT count(*) FROM conversation WHERE child_id IS NOT NULL`); n != 0 {
		t.Fatalf("%d conversations about the child opened", n)
	}

	// The homeroom teacher's approvals page says the child already has a guardian.
	teacher := apptest.NewStaffClientSignedIn(t, w, logins, "sakura.tannin11")
	approvals := func() apptest.Response {
		t.Helper()
		r := teacher.Get("/staff/approvals")
		if r.Status != http.StatusOK {
			t.Fatalf("approvals: %d", r.Status)
		}
		return r
	}
	r = approvals()
	if got := r.Doc.Find(`[data-testid="approval-has-guardian"]`).Text(); !strings.Contains(got, "この児童にはすでに確認済みの保護者がいます") {
		t.Fatalf("approvals page: %s", apptest.Text(r))
	}
	if r.Doc.Find(`[data-testid="approval-disputed"]`).Length() != 0 {
		t.Fatal("a warning of a dispute nobody made")
	}

	// The mother answers 「心当たりがない」: recorded, audited, confirmed to her, and a
	// visible warning on the approvals page; the registration stays pending.
	if _, err := w.Sim.Tap(w.Ch.LineChannelID, mother.ID, *dispute); err != nil {
		t.Fatal(err)
	}
	apptest.WaitBotText(t, w, mother.ID, "学校にお知らせしました", 1)
	if n := count(`SELECT count(*) FROM guardianship WHERE id = $1 AND status = 'pending' AND disputed_at IS NOT NULL AND disputed_by IS NOT NULL`, gsID); n != 1 {
		t.Fatal("the dispute is not recorded on the registration")
	}
	if n := count(`SELECT count(*) FROM audit_event WHERE action = 'registration.dispute' AND object_id = $1`, apptest.Itoa(gsID)); n != 1 {
		t.Fatalf("%d audit events of the dispute", n)
	}
	r = approvals()
	if got := r.Doc.Find(`[data-testid="approval-disputed"]`).Text(); !strings.Contains(got, "心当たりがない") {
		t.Fatalf("approvals page after the dispute: %s", apptest.Text(r))
	}

	// The teacher checks with the family and approves: the guardian is let in.
	if r := teacher.Post("/staff/approvals/"+apptest.Itoa(gsID)+"/approve", nil); r.Status != http.StatusSeeOther {
		t.Fatalf("approve: %d", r.Status)
	}
	apptest.WaitBotText(t, w, stranger.ID, "青木 一郎さん（1年1組）の登録を先生が確認しました", 1)
	absLink := apptest.AbsenceLink(t, w, stranger, 1)
	page = sb.Get(absLink)
	key, _ = page.Doc.Find(`input[name="key"]`).Attr("value")
	if r := sb.Post(absLink, url.Values{"key": {key}, "child": {apptest.Itoa(childID)}, "kind": {"absent"}, "from": {tomorrow}, "reason": {"family"}}); r.Status != http.StatusOK {
		t.Fatalf("absence after approval: %d %s", r.Status, apptest.Text(r))
	}
	apptest.Pick(t, w, stranger, "1年1組 担任", 3)
	if _, err := w.Sim.SendText(w.Ch.LineChannelID, stranger.ID, "よろしくお願いします"); err != nil {
		t.Fatal(err)
	}
	waitCount(t, count, `SELECT count(*) FROM message WHERE direction = 'in'`, 1)

	// A later 「心当たりがない」 suspends the approval: the registrant is told the school
	// checks again (not who asked), and their next message is refused, not filed.
	if _, err := w.Sim.Tap(w.Ch.LineChannelID, mother.ID, *dispute); err != nil {
		t.Fatal(err)
	}
	apptest.WaitBotText(t, w, mother.ID, "学校にお知らせしました", 2)
	apptest.WaitBotText(t, w, stranger.ID, "あらためて確認しています", 1)
	if n := count(`SELECT count(*) FROM guardianship WHERE id = $1 AND status = 'pending'`, gsID); n != 1 {
		t.Fatal("the approved registration is not pending again")
	}
	if _, err := w.Sim.SendText(w.Ch.LineChannelID, stranger.ID, "もう一通"); err != nil {
		t.Fatal(err)
	}
	apptest.WaitBotText(t, w, stranger.ID, "メッセージは届いていません", 1)
	if n := count(`SELECT count(*) FROM message WHERE direction = 'in'`); n != 1 {
		t.Fatalf("%d messages filed", n)
	}

	// The stranger cannot dispute the mother's registration with a forged postback.
	var motherGS int64
	if err := s.Pool.QueryRow(ctx, `SELECT min(id) FROM guardianship`).Scan(&motherGS); err != nil {
		t.Fatalf("the mother's guardianship: %v", err)
	}
	if _, err := w.Sim.Postback(w.Ch.LineChannelID, stranger.ID, line.PostbackData(registration.PostbackDispute, apptest.Itoa(motherGS)), nil); err != nil {
		t.Fatal(err)
	}
	apptest.WaitBotText(t, w, stranger.ID, "この登録は見つかりませんでした", 1)
	if n := count(`SELECT count(*) FROM guardianship WHERE id = $1 AND status = 'verified' AND disputed_at IS NULL`, motherGS); n != 1 {
		t.Fatal("a forged dispute changed the first guardian's registration")
	}
}

// waitCount waits until a count query answers want.
func waitCount(t *testing.T, count func(string, ...any) int, q string, want int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for ctx.Err() == nil {
		if count(q) == want {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s never came to %d (is %d)", q, want, count(q))
}

// TestClassCodeGuessesCountEveryCode: every code of a submission is a guess counted
// against the limit, and a submission that would pass it is refused whole, with
// nothing stored.
func TestClassCodeGuessesCountEveryCode(t *testing.T) {
	t.Parallel()
	w, _ := apptest.StartDemoWorld(t)
	s := w.App.Services()
	ctx := context.Background()
	sakuraID, class11, _ := apptest.SchoolAndClass(t, w, demo.Schools[0].Name, "1年1組")
	_, class12, _ := apptest.SchoolAndClass(t, w, demo.Schools[0].Name, "1年2組")
	_, class21, _ := apptest.SchoolAndClass(t, w, demo.Schools[0].Name, "2年1組")
	kocho := apptest.SignedInAs(t, w, "sakura.kocho")
	sakura := mustGetSchool(t, kocho, s, sakuraID)
	for _, id := range []int64{class11, class12, class21} {
		if err := s.Registration.NewCode(kocho, sakura.BoardID, sakuraID, id); err != nil {
			t.Fatal(err)
		}
	}
	codes := apptest.ClassCodes(t, w, sakuraID)

	u := w.NewParent(t, "試行")
	if _, err := w.Sim.Follow(w.Ch.LineChannelID, u.ID); err != nil {
		t.Fatal(err)
	}
	link := apptest.LinkIn(t, w, u.ID, "友だち追加ありがとうございます", 1)
	b := apptest.NewParentBrowser(t)
	b.Get(link)
	form := func(children ...[2]string) url.Values {
		f := url.Values{"consent": {"yes"}, "name": {"試行 花子"}, "relationship": {"mother"}, "op": {"save"}}
		for i, c := range children {
			p := "child." + strconv.Itoa(i) + "."
			f.Set(p+"name", "試行 "+strconv.Itoa(i+1)+"郎")
			f.Set(p+"school", apptest.Itoa(sakuraID))
			f.Set(p+"class", c[0])
			f.Set(p+"code", c[1])
		}
		return f
	}
	stored := func() int {
		t.Helper()
		var n int
		if err := s.Pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM guardian) + (SELECT count(*) FROM child)`).Scan(&n); err != nil {
			t.Fatalf("counting guardians and children: %v", err)
		}
		return n
	}

	// One submission of three children with wrong codes: three guesses, three wrong.
	r := b.Post(link, form([2]string{apptest.Itoa(class11), "WXYZ-234A"}, [2]string{apptest.Itoa(class12), "WXYZ-234B"}, [2]string{apptest.Itoa(class21), "WXYZ-234C"}))
	for i := 0; i < 3; i++ {
		if !strings.Contains(r.Doc.Find(`[data-testid="error-child.`+strconv.Itoa(i)+`.code"]`).Text(), "登録コードが違います") {
			t.Fatalf("wrong code %d: %s", i, apptest.Text(r))
		}
	}
	// Three right codes would make six guesses in the hour: refused whole, no code
	// compared, nothing stored.
	r = b.Post(link, form([2]string{apptest.Itoa(class11), codes[class11]}, [2]string{apptest.Itoa(class12), codes[class12]}, [2]string{apptest.Itoa(class21), codes[class21]}))
	if r.Status != http.StatusUnprocessableEntity {
		t.Fatalf("one guess over the limit: %d %s", r.Status, apptest.Text(r))
	}
	for i := 0; i < 3; i++ {
		if !strings.Contains(r.Doc.Find(`[data-testid="error-child.`+strconv.Itoa(i)+`.code"]`).Text(), "1時間ほどお待ちください") {
			t.Fatalf("child %d not refused for the limit: %s", i, apptest.Text(r))
		}
	}
	if n := stored(); n != 0 {
		t.Fatalf("a refused submission stored %d rows", n)
	}
	// Two right codes come to exactly five: accepted, both verified.
	r = b.Post(link, form([2]string{apptest.Itoa(class11), codes[class11]}, [2]string{apptest.Itoa(class12), codes[class12]}))
	if r.Status != http.StatusOK {
		t.Fatalf("at the limit: %d %s", r.Status, apptest.Text(r))
	}
	apptest.WaitBotText(t, w, u.ID, "登録済み：2人、先生の確認待ち：0人", 1)
}
