package app_test

import (
	"context"
	"encoding/csv"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/renraku/renraku/internal/absence"
	"github.com/renraku/renraku/internal/app"
	"github.com/renraku/renraku/internal/apptest"
	"github.com/renraku/renraku/internal/audit"
	"github.com/renraku/renraku/internal/authz"
	"github.com/renraku/renraku/internal/line"
	"github.com/renraku/renraku/internal/pgtest"
	"github.com/renraku/renraku/internal/registration"
	"github.com/renraku/renraku/internal/roster"
	"github.com/renraku/renraku/internal/staff"
	"github.com/renraku/renraku/internal/staff/stafftest"
	"github.com/renraku/renraku/internal/vault"
	"github.com/renraku/renraku/internal/web"
)

// hostile are values a parent or a clerk could type that a spreadsheet would run as a
// formula if a cell began with them.
var hostile = []string{
	`=HYPERLINK("http://x","y")`,
	`=cmd|' /C calc'!A0`,
	"+81-3-1234",
	"-2+3",
	"@SUM(1+1)",
	"\t=1+1",
	"\r=1+1",
	"＝１＋１",
	"＋１",
	"－１",
	"＠ＳＵＭ",
}

// formulaStart is what a cell must not begin with, written out here rather than taken
// from csvexport so the test checks the files, not the package's own idea of them.
const formulaStart = "=+-@\t\r＝＋－＠"

// isExportRoute is the rule that picks the export routes out of the router: a GET
// whose last path segment is "export". A later export route is then exercised here
// without anyone remembering to add it (and fails until the test knows its queries).
func isExportRoute(method, route string) bool {
	return method == http.MethodGet && strings.HasSuffix(route, "/export")
}

// exportWorld stores hostile values in every place an export reads text from: a
// parent's name, nickname and note and a child's name (absence lists), a staff name
// (audit log, roster staff and assignments), a club's name (roster clubs and
// assignments), a school's name (monthly report).
type exportWorld struct {
	a   *app.App
	w   *stafftest.World
	day string
}

func newExportWorld(t *testing.T) *exportWorld {
	t.Helper()
	a := apptest.StartApp(t, pgtest.NewDBURL(t), nil)
	w := stafftest.Build(t, a.Pool(), a.Services().Vault)
	s := a.Services()
	ctx := context.Background()
	day := absence.Today(time.Now())
	for i, v := range hostile {
		st := w.MustCreateStaff(t, authz.Teacher, w.SchoolA.ID, fmt.Sprintf("hostile.%d", i), v)
		// The staff member signs in, so the audit log names them as an actor.
		apptest.NewStaffClient(t, a.URL()).SignIn(st.Login.Reveal(), stafftest.Password)
		var clubID int64
		if err := s.Pool.QueryRow(ctx, `INSERT INTO club (school_id, year, name) VALUES ($1, $2, $3) RETURNING id`,
			w.SchoolA.ID, w.SchoolA.CurrentYear, truncate(v, 30)).Scan(&clubID); err != nil {
			t.Fatalf("club %d: %v", i, err)
		}
		if _, err := s.Pool.Exec(ctx, `INSERT INTO class (school_id, year, grade, name) VALUES ($1, $2, 3, $3)`,
			w.SchoolA.ID, w.SchoolA.CurrentYear, truncate(v, 10)); err != nil {
			t.Fatalf("class %d: %v", i, err)
		}
		if _, err := w.Staff.Assign(w.Ctx(t, w.AdminA), st.ID, staff.NewAssignment{Duty: authz.Advisor, ClubID: clubID}); err != nil {
			t.Fatalf("assign %d: %v", i, err)
		}
	}
	if _, err := s.Pool.Exec(ctx, `UPDATE school SET name = $1 WHERE id = $2`, hostile[0], w.SchoolB.ID); err != nil {
		t.Fatal(err)
	}
	ch := lineChannel(t, a, w)
	err := s.Tx.InTx(ctx, func(ctx context.Context) error {
		for i, v := range append(append([]string{}, hostile...), "絵文字😀家族👨\u200d👩\u200d👧") {
			f := newFriend(ch, i)
			if err := s.LINE.Store.SaveFriendFollow(ctx, &f, time.Now()); err != nil {
				return err
			}
			st := s.Registration.Store
			g := registration.Guardian{FriendID: f.ID, Name: vault.Personal(v), Relationship: "mother", Nickname: vault.Personal(v),
				Language: "ja", ConsentVersion: 1, ConsentedAt: time.Now()}
			if err := st.SaveGuardian(ctx, &g); err != nil {
				return err
			}
			child, err := st.FindOrCreateChild(ctx, w.SchoolA.ID, w.ClassA11.ID, vault.Personal(v))
			if err != nil {
				return err
			}
			if _, err := st.LinkChild(ctx, g.ID, child, registration.Verified, ""); err != nil {
				return err
			}
			rep := &absence.Report{ChildID: child, GuardianID: g.ID, SchoolID: w.SchoolA.ID, ClassID: w.ClassA11.ID, Kind: "late",
				From: day, To: day, Detail: absence.Detail{Reason: "other", Note: v, Temperature: v, Time: v}, Status: absence.Sent}
			if _, err := s.Absence.Store.SaveReport(ctx, rep, []byte(fmt.Sprintf("export-%d", i))); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return &exportWorld{a: a, w: w, day: day.Format("2006-01-02")}
}

func truncate(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n])
	}
	return s
}

// lineChannel gives school A a LINE channel for the fixture's parents.
func lineChannel(t *testing.T, a *app.App, w *stafftest.World) line.Channel {
	t.Helper()
	ctx := context.Background()
	s := a.Services()
	if _, err := s.LINE.SetChannel(ctx, audit.OperatorActor, w.SchoolA.ID, w.Board.ID, line.Channel{LineChannelID: "2000000777",
		Secret: "0123456789abcdef0123456789abcdef", AccessToken: "export-token-0123456789"}); err != nil {
		t.Fatal(err)
	}
	ch, err := s.LINE.FindChannelByLineID(ctx, "2000000777")
	if err != nil {
		t.Fatal(err)
	}
	return ch
}

// newFriend is the i-th fixture parent's LINE friendship.
func newFriend(ch line.Channel, i int) line.Friend {
	return line.Friend{ChannelID: ch.ID, UserID: vault.Personal(fmt.Sprintf("U%032x", 0xe0000+i)), Language: "ja", Following: true}
}

// exportQueries says how to exercise each export route: the path with its parameters
// filled in, one per file the route offers.
func (x *exportWorld) exportQueries(route string) ([]string, bool) {
	w := x.w
	var out []string
	switch route {
	case "/staff/absences/export":
		for _, enc := range []string{"utf-8-bom", "shift_jis"} {
			out = append(out, "/staff/absences/export?class="+apptest.Itoa(w.ClassA11.ID)+"&date="+x.day+"&encoding="+enc)
		}
	case "/admin/audit/export":
		for _, enc := range []string{"utf-8-bom", "shift_jis"} {
			out = append(out, "/admin/audit/export?encoding="+enc)
		}
	case "/admin/schools/{schoolID}/audit/export":
		out = append(out, "/admin/schools/"+apptest.Itoa(w.SchoolA.ID)+"/audit/export?encoding=utf-8-bom")
	case "/admin/reports/export":
		out = append(out, "/admin/reports/export?format=csv")
	case "/admin/schools/{schoolID}/roster/export":
		for _, k := range roster.Kinds {
			for _, enc := range []string{"utf-8-bom", "shift_jis"} {
				out = append(out, "/admin/schools/"+apptest.Itoa(w.SchoolA.ID)+"/roster/export?kind="+string(k)+"&encoding="+enc)
			}
		}
	default:
		return nil, false
	}
	return out, true
}

// TestEveryExportNeutralisesFormulas downloads every export route of the router, as a
// board administrator, with hostile values stored in place, and checks that no cell of
// any file begins with a formula character. A route that the rule picks and the test
// cannot exercise fails it.
func TestEveryExportNeutralisesFormulas(t *testing.T) {
	t.Parallel()
	x := newExportWorld(t)
	var routes []string
	err := chi.Walk(x.a.Handler().(chi.Routes), func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		if isExportRoute(method, route) {
			routes = append(routes, route)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(routes)
	if len(routes) < 5 {
		t.Fatalf("export routes found: %q; the rule picks too few", routes)
	}
	c := apptest.NewStaffClient(t, x.a.URL())
	c.SignIn(x.w.BoardAdmin.Login.Reveal(), stafftest.Password)
	for _, route := range routes {
		paths, ok := x.exportQueries(route)
		if !ok {
			t.Errorf("export route %s: this test does not know how to exercise it; add it to exportQueries", route)
			continue
		}
		for _, path := range paths {
			r := c.Get(path)
			if r.Status != http.StatusOK || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/csv") {
				t.Errorf("%s: %d %s %.200s", path, r.Status, r.Header.Get("Content-Type"), r.Body)
				continue
			}
			text, _, err := roster.Decode([]byte(r.Body))
			if err != nil {
				t.Errorf("%s: decode: %v", path, err)
				continue
			}
			cr := csv.NewReader(strings.NewReader(text))
			cr.FieldsPerRecord = -1 // the monthly report's rows differ in length
			records, err := cr.ReadAll()
			if err != nil {
				t.Errorf("%s: %v", path, err)
				continue
			}
			neutralised := 0
			for i, rec := range records {
				for j, cell := range rec {
					if dangerous(cell) {
						t.Errorf("%s: line %d cell %d begins with a formula character: %q", path, i+1, j+1, cell)
					}
					for _, v := range hostile {
						if strings.HasPrefix(v, cell[min(1, len(cell)):]) && strings.HasPrefix(cell, "'") {
							neutralised++
						}
					}
				}
			}
			if neutralised == 0 {
				t.Errorf("%s: no hostile value in the file; the test stored none where this export reads", path)
			}
		}
	}
}

// dangerous reports whether a spreadsheet would run the cell: it begins with a formula
// character and is not simply a number (a count the code wrote, such as -1).
func dangerous(cell string) bool {
	if cell == "" {
		return false
	}
	if _, err := strconv.ParseFloat(cell, 64); err == nil {
		return false
	}
	r := []rune(cell)[0]
	return strings.ContainsRune(formulaStart, r)
}

// TestShiftJISExportSubstitutes: an emoji in a nickname no longer refuses a class's
// Shift_JIS export; the file comes with the emoji as 〓, the response counts the
// substitutions, and the next page tells the teacher how many.
func TestShiftJISExportSubstitutes(t *testing.T) {
	t.Parallel()
	x := newExportWorld(t)
	c := apptest.NewStaffClient(t, x.a.URL())
	c.SignIn(x.w.HomeroomA11.Login.Reveal(), stafftest.Password)
	r := c.Get("/staff/absences/export?class=" + apptest.Itoa(x.w.ClassA11.ID) + "&date=" + x.day + "&encoding=shift_jis")
	if r.Status != http.StatusOK {
		t.Fatalf("Shift_JIS export: %d %.300s", r.Status, r.Body)
	}
	text, enc, err := roster.Decode([]byte(r.Body))
	if err != nil || enc != roster.ShiftJIS {
		t.Fatalf("decode: %v %s", err, enc)
	}
	// 😀 and the family (one character to a reader) in the nickname, the child's name,
	// the note, the temperature and the time: 2 × 5.
	if !strings.Contains(text, "絵文字〓家族〓") {
		t.Errorf("export does not hold the substituted name: %q", text)
	}
	if got := r.Header.Get(web.SubstitutedHeader); got != "10" {
		t.Errorf("%s = %q, want 10", web.SubstitutedHeader, got)
	}
	page := c.Get("/staff/absences?class=" + apptest.Itoa(x.w.ClassA11.ID) + "&date=" + x.day)
	if got := page.Doc.Find(`[data-testid="flash"]`).Text(); !strings.Contains(got, "10文字") || !strings.Contains(got, "〓") {
		t.Errorf("flash after the download = %q, want the count of substituted characters", got)
	}
	if n := apptest.Count(t, &apptest.LineWorld{App: x.a}, `SELECT count(*) FROM audit_event WHERE action = 'absence.export' AND detail->>'substituted' = '10'`); n != 1 {
		t.Errorf("%d audited exports with the count, want 1", n)
	}
	// UTF-8 keeps the characters and says nothing.
	r = c.Get("/staff/absences/export?class=" + apptest.Itoa(x.w.ClassA11.ID) + "&date=" + x.day + "&encoding=utf-8-bom")
	if r.Status != http.StatusOK || !strings.Contains(r.Body, "👨\u200d👩\u200d👧") || r.Header.Get(web.SubstitutedHeader) != "" {
		t.Errorf("UTF-8 export: %d %q", r.Status, r.Header.Get(web.SubstitutedHeader))
	}
}
