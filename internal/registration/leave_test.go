package registration_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/renraku/renraku/internal/apptest"
	"github.com/renraku/renraku/internal/demo"
	"github.com/renraku/renraku/internal/inbox"
	"github.com/renraku/renraku/internal/parentlink"
	"github.com/renraku/renraku/internal/postgres/pgtx"
	"github.com/renraku/renraku/internal/retention"
	"github.com/renraku/renraku/internal/school"
	"github.com/renraku/renraku/internal/vault"
)

var errRollBack = errors.New("roll back")

// TestTransferOut: the school administrator marks a child 転出 on the class page; the
// child, their reports and their only guardian's registration are deleted with deletion
// records under the school, and the parent is told in LINE. The class's teacher may
// not. Under a board that keeps a leaving child's data, the registration ends but the
// report stays until the retention period removes it, and then the child goes too.
func TestTransferOut(t *testing.T) {
	t.Parallel()
	w, logins := apptest.StartDemoWorld(t)
	s := w.App.Services()
	reach, _ := apptest.CityFamilies(t, w, 3, false)
	sakuraID, class11, _ := apptest.SchoolAndClass(t, w, demo.Schools[0].Name, "1年1組")
	guardians, children := apptest.FamilyChildren(t, w)
	apptest.AddAbsence(t, w, guardians[0], children[0], sakuraID, class11, time.Now())
	apptest.AddAbsence(t, w, guardians[1], children[1], sakuraID, class11, time.Now())
	// The first parent also wrote to the school office: that conversation goes with them.
	err := s.Tx.InTx(context.Background(), func(ctx context.Context) error {
		_, err := s.Inbox.Store.OpenConversation(ctx, guardians[0], inbox.Choice{Target: inbox.Office, SchoolID: sakuraID})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}

	kocho := apptest.NewStaffClientSignedIn(t, w, logins, "sakura.kocho")
	classPath := "/staff/classes/" + strconv.FormatInt(class11, 10)
	if got := kocho.Get(classPath).Doc.Find(`[data-testid="transfer"]`).Length(); got != 3 {
		t.Fatalf("the administrator sees %d 転出 buttons, want 3", got)
	}
	tannin := apptest.NewStaffClientSignedIn(t, w, logins, "sakura.tannin11")
	if got := tannin.Get(classPath).Doc.Find(`[data-testid="transfer"]`).Length(); got != 0 {
		t.Fatalf("the homeroom teacher sees %d 転出 buttons", got)
	}
	if r := tannin.Post("/staff/children/"+strconv.FormatInt(children[0], 10)+"/transfer", nil); r.Status != http.StatusForbidden {
		t.Fatalf("the homeroom teacher's 転出: %d", r.Status)
	}
	r := kocho.Post("/staff/children/"+strconv.FormatInt(children[0], 10)+"/transfer", nil)
	if r.Status != http.StatusSeeOther || r.Location != classPath {
		t.Fatalf("転出: %d → %q", r.Status, r.Location)
	}
	if got := kocho.Get(classPath).Doc.Find(`[data-testid="member"]`).Length(); got != 2 {
		t.Fatalf("the class lists %d children after the transfer, want 2", got)
	}
	if n := apptest.Count(t, w, `SELECT count(*) FROM child WHERE id = $1`, children[0]); n != 0 {
		t.Fatal("the child is still stored")
	}
	if n := apptest.Count(t, w, `SELECT count(*) FROM guardian WHERE id = $1`, guardians[0]); n != 0 {
		t.Fatal("the guardian left with no child is still registered")
	}
	if n := apptest.Count(t, w, `SELECT count(*) FROM absence_report WHERE child_id = $1`, children[0]); n != 0 {
		t.Fatal("the child's absence report is still stored")
	}
	want := map[string]int{"child": 1, "guardian": 1, "guardianship": 1, "absence_report": 1, "conversation": 1}
	for cat, n := range want {
		if got := apptest.Count(t, w, `SELECT COALESCE(sum(count), 0) FROM deletion_record WHERE reason = 'transfer' AND category = $1 AND school_id = $2`, cat, sakuraID); got != n {
			t.Errorf("deletion records of %s: %d, want %d", cat, got, n)
		}
	}
	apptest.WaitBotText(t, w, reach[0].ID, "転出にともない", 1)
	if apptest.Received(w, reach[1].ID, "転出にともない") != 0 {
		t.Fatal("another parent was told of the transfer")
	}
	if n := apptest.Count(t, w, `SELECT count(*) FROM audit_event WHERE action = 'child.transfer_out'`); n != 1 {
		t.Fatalf("%d audit events of the transfer", n)
	}

	// A board that keeps a leaving child's data.
	if _, err := s.Pool.Exec(context.Background(), `INSERT INTO retention_policy (board_id, delete_on_leave)
		SELECT board_id, false FROM school WHERE id = $1`, sakuraID); err != nil {
		t.Fatal(err)
	}
	if r := kocho.Post("/staff/children/"+strconv.FormatInt(children[1], 10)+"/transfer", nil); r.Status != http.StatusSeeOther {
		t.Fatalf("second 転出: %d", r.Status)
	}
	if n := apptest.Count(t, w, `SELECT count(*) FROM absence_report WHERE child_id = $1`, children[1]); n != 1 {
		t.Fatal("the kept child's absence report is gone")
	}
	if n := apptest.Count(t, w, `SELECT count(*) FROM guardianship WHERE child_id = $1`, children[1]); n != 0 {
		t.Fatal("the kept child still has a guardian")
	}
	if got := kocho.Get(classPath).Doc.Find(`[data-testid="member"]`).Length(); got != 1 {
		t.Fatalf("the class lists %d children, want 1", got)
	}
	if got := apptest.Count(t, w, `SELECT COALESCE(sum(count), 0) FROM deletion_record WHERE reason = 'transfer' AND category = 'child'`); got != 1 {
		t.Fatalf("the kept child was recorded as deleted (%d)", got)
	}
	apptest.WaitBotText(t, w, reach[1].ID, "転出にともない", 1)
	// The kept child no longer answers to their name: registering the same name in the
	// class makes a new child, without the old reports.
	var again int64
	err = s.Tx.InTx(context.Background(), func(ctx context.Context) error {
		tx := pgtx.Tx(ctx)
		var name []byte
		if err := tx.QueryRow(context.Background(), `SELECT name_enc FROM child WHERE id = $1`, children[1]).Scan(&name); err != nil {
			return err
		}
		child, err := s.Vault.DecryptPersonal(name, vault.NewADForID("child", "name", children[1]))
		if err != nil {
			return err
		}
		if again, err = s.Registration.Store.FindOrCreateChild(ctx, sakuraID, class11, child); err != nil {
			return err
		}
		return errRollBack // leave nothing behind
	})
	if err != errRollBack || again == children[1] {
		t.Fatalf("registering the kept child's name again found the kept child (%v)", err)
	}
	// Past the period, the report goes, and with it the child.
	if _, err := s.Pool.Exec(context.Background(), `UPDATE absence_report SET date_from = date_from - 800, date_to = date_to - 800 WHERE child_id = $1`, children[1]); err != nil {
		t.Fatal(err)
	}
	var boardID int64
	if err := s.Pool.QueryRow(context.Background(), `SELECT board_id FROM school WHERE id = $1`, sakuraID).Scan(&boardID); err != nil {
		t.Fatalf("the school's board: %v", err)
	}
	items, err := s.Retention.Apply(context.Background(), boardID, false)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for _, it := range items {
		got[it.Category] += it.Count
	}
	if got["absence_report"] != 1 || got["child"] != 1 {
		t.Fatalf("retention after the kept transfer: %v", got)
	}
	if n := apptest.Count(t, w, `SELECT count(*) FROM child WHERE id = $1`, children[1]); n != 0 {
		t.Fatal("the kept child outlived their data")
	}

	// The third parent withdraws: their child was in one school, so the records are
	// that school's.
	var link string
	err = s.Tx.InTx(context.Background(), func(ctx context.Context) error {
		tx := pgtx.Tx(ctx)
		var friendID int64
		if err := tx.QueryRow(context.Background(), `SELECT friend_id FROM guardian WHERE id = $1`, guardians[2]).Scan(&friendID); err != nil {
			return err
		}
		link, err = s.Registration.IssueLink(ctx, friendID, parentlink.PurposeUpdate)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Registration.Withdraw(context.Background(), link[strings.LastIndex(link, "/")+1:], ""); err != nil {
		t.Fatal(err)
	}
	if n := apptest.Count(t, w, `SELECT count(*) FROM deletion_record WHERE reason = 'withdrawal' AND school_id = $1`, sakuraID); n != 5 {
		t.Fatalf("%d withdrawal records under the school, want 5", n)
	}
}

// TestSingleYearRegistration: a board switches single-year registration on in the
// console; nothing is deleted until the school year ends. On the first night of the
// next year the dry run counts every registration and the run deletes them all, with
// deletion records, and each parent is asked in LINE to register again.
func TestSingleYearRegistration(t *testing.T) {
	t.Parallel()
	w, logins := apptest.StartDemoWorld(t)
	s := w.App.Services()
	ctx := context.Background()
	reach, _ := apptest.CityFamilies(t, w, 3, false)
	sakuraID, class11, _ := apptest.SchoolAndClass(t, w, demo.Schools[0].Name, "1年1組")
	guardians, children := apptest.FamilyChildren(t, w)
	apptest.AddAbsence(t, w, guardians[0], children[0], sakuraID, class11, time.Now())

	board := apptest.NewStaffClientSignedIn(t, w, logins, "midori.kyoiku")
	if r := board.Post("/admin/board/retention", url.Values{"message_days": {"730"}, "absence_days": {"730"}, "announcement_days": {"730"}, "survey_days": {"365"},
		"delete_on_leave": {"on"}, "single_year": {"on"}}); r.Status != http.StatusSeeOther {
		t.Fatalf("saving the policy: %d", r.Status)
	}
	// A single-year board's new year starts on April 1st: another day is refused.
	kocho := apptest.NewStaffClientSignedIn(t, w, logins, "sakura.kocho")
	plan := "/admin/schools/" + strconv.FormatInt(sakuraID, 10) + "/rollover/plan"
	nextYear := strconv.Itoa(school.YearOf(time.Now()) + 1)
	if r := kocho.Post(plan, url.Values{"graduating": {"6"}, "switch_on": {nextYear + "-04-06"}}); r.Status != http.StatusUnprocessableEntity ||
		r.Doc.Find(`[data-testid="error-switch_on"]`).Length() != 1 {
		t.Fatalf("a single-year board's switch on April 6th: %d", r.Status)
	}
	if r := kocho.Post(plan, url.Values{"graduating": {"6"}, "switch_on": {nextYear + "-04-01"}}); r.Status != http.StatusSeeOther {
		t.Fatalf("a single-year board's switch on April 1st: %d", r.Status)
	}
	page := board.Get("/admin/board/retention")
	if _, on := page.Doc.Find(`[data-testid="single-year"]`).Attr("checked"); !on {
		t.Fatal("the single-year box is not ticked after saving")
	}
	var boardID int64
	if err := s.Pool.QueryRow(ctx, `SELECT board_id FROM school WHERE id = $1`, sakuraID).Scan(&boardID); err != nil {
		t.Fatalf("the school's board: %v", err)
	}
	// Switched on this year, it waits for the year's end.
	if items, err := s.Retention.Apply(ctx, boardID, false); err != nil || sumReason(items, "year_end") != 0 {
		t.Fatalf("single-year deletion ran before the year ended: %v %v", items, err)
	}
	if n := apptest.Count(t, w, `SELECT count(*) FROM guardian`); n != 3 {
		t.Fatalf("%d guardians left", n)
	}
	// At 01:00 on April 1st the school switches to the new year: nobody moves or is
	// placed (every registration ends with March), and nobody is told.
	if r := kocho.Post("/admin/schools/"+strconv.FormatInt(sakuraID, 10)+"/rollover/copy", nil); r.Status != http.StatusSeeOther {
		t.Fatalf("copy: %d", r.Status)
	}
	s.Rollover.Clock.Set(time.Date(school.YearOf(time.Now())+1, time.April, 1, 1, 0, 0, 0, school.Tokyo))
	switched, err := s.Rollover.SwitchDue(ctx)
	if res, ok := switched[sakuraID]; err != nil || !ok || res.Moved+res.Placed+res.Graduated != 0 {
		t.Fatalf("single-year switch: %+v %v", switched, err)
	}
	if n := apptest.Count(t, w, `SELECT current_year FROM school WHERE id = $1`, sakuraID); n != school.YearOf(time.Now())+1 {
		t.Fatalf("the school's year is %d", n)
	}
	// The first night of the next school year.
	april := time.Date(school.YearOf(time.Now())+1, time.April, 1, 2, 0, 0, 0, school.Tokyo)
	s.Retention.Clock.Set(april)
	dry, err := s.Retention.Apply(ctx, boardID, true)
	if err != nil {
		t.Fatal(err)
	}
	if got := byCategory(dry, "year_end"); got["guardian"] != 3 || got["child"] != 3 || got["absence_report"] != 1 {
		t.Fatalf("dry run: %v", got)
	}
	if n := apptest.Count(t, w, `SELECT count(*) FROM guardian`); n != 3 {
		t.Fatal("the dry run deleted")
	}
	items, err := s.Retention.Apply(ctx, boardID, false)
	if err != nil {
		t.Fatal(err)
	}
	if got := byCategory(items, "year_end"); got["guardian"] != 3 || got["child"] != 3 {
		t.Fatalf("run: %v", got)
	}
	for _, table := range []string{"guardian", "child", "guardianship", "absence_report"} {
		if n := apptest.Count(t, w, `SELECT count(*) FROM `+table); n != 0 {
			t.Errorf("%d rows of %s left", n, table)
		}
	}
	if got := apptest.Count(t, w, `SELECT COALESCE(sum(count), 0) FROM deletion_record WHERE reason = 'year_end' AND category = 'guardian' AND policy = 'single_year'`); got != 3 {
		t.Fatalf("deletion records of guardians: %d", got)
	}
	for _, u := range reach {
		apptest.WaitBotText(t, w, u.ID, "もう一度登録してください", 1)
		if apptest.Received(w, u.ID, "仮の学級") != 0 {
			t.Fatal("a single-year parent was told of a provisional class")
		}
	}
	// Once a year: the next night deletes nothing more.
	if items, err := s.Retention.Apply(ctx, boardID, false); err != nil || sumReason(items, "year_end") != 0 {
		t.Fatalf("the year-end deletion ran twice: %v %v", items, err)
	}
}

func byCategory(items []retention.Item, reason string) map[string]int {
	out := map[string]int{}
	for _, it := range items {
		if it.Reason == reason {
			out[it.Category] += it.Count
		}
	}
	return out
}

func sumReason(items []retention.Item, reason string) int {
	n := 0
	for _, it := range items {
		if it.Reason == reason {
			n += it.Count
		}
	}
	return n
}
