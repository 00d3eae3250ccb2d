package roster_test

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"github.com/renraku/renraku/internal/apptest"
	"github.com/renraku/renraku/internal/csvexport"
	"github.com/renraku/renraku/internal/pgtest"
	"github.com/renraku/renraku/internal/roster"
	"github.com/renraku/renraku/internal/staff/stafftest"
)

// TestRosterClassesEnrolmentPage: on the console's CSV page a clerk exports the
// classes (with an empty 在籍者数 column), fills in the enrolments in Excel (saved as
// Shift_JIS) and imports the file again; the page says what changed. A bad figure is
// listed with its line and column and nothing is stored.
func TestRosterClassesEnrolmentPage(t *testing.T) {
	t.Parallel()
	a := apptest.StartApp(t, pgtest.NewDBURL(t), nil)
	w := stafftest.Build(t, a.Pool(), a.Services().Vault)
	c := apptest.NewStaffClient(t, a.URL())
	c.SignIn("admin.a", stafftest.Password)
	path := "/admin/schools/" + apptest.Itoa(w.SchoolA.ID) + "/roster"
	if page := c.Get(path); !strings.Contains(page.Doc.Find(`[data-testid="classes-note"]`).Text(), "在籍者数") {
		t.Errorf("the CSV page does not mention the 在籍者数 column: %s", apptest.Text(page))
	}
	y := strconv.Itoa(w.SchoolA.CurrentYear)
	export := func() string {
		t.Helper()
		r := c.Get(path + "/export?kind=classes&encoding=shift_jis&year=" + y)
		decoded, _, err := roster.Decode([]byte(r.Body))
		if r.Status != http.StatusOK || err != nil {
			t.Fatalf("export: %d %v", r.Status, err)
		}
		return decoded
	}
	enrolments := func() string {
		t.Helper()
		var s string
		if err := a.Pool().QueryRow(context.Background(), `SELECT string_agg(grade::text || '年' || name || '=' || coalesce(enrolment::text, ''), ' ' ORDER BY grade, name)
			FROM class WHERE school_id = $1 AND year = $2`, w.SchoolA.ID, w.SchoolA.CurrentYear).Scan(&s); err != nil {
			t.Fatal(err)
		}
		return s
	}

	got := export()
	if want := "年度,学年,組,在籍者数\r\n" + y + ",1,1組,\r\n" + y + ",1,2組,\r\n"; got != want {
		t.Fatalf("export = %q, want %q", got, want)
	}
	filled := strings.Replace(strings.Replace(got, ",1組,", ",1組,31", 1), ",2組,", ",2組,３０", 1)
	sjis, err := csvexport.Encode(filled, csvexport.ShiftJIS)
	if err != nil {
		t.Fatal(err)
	}
	r := c.Upload(path+"/import", "classes", sjis.Data)
	if done := r.Doc.Find(`[data-testid="import-done"]`).Text(); r.Status != http.StatusOK || !strings.Contains(done, "在籍者数を変更した学級 2件") {
		t.Fatalf("import: %d %s", r.Status, apptest.Text(r))
	}
	if got := enrolments(); got != "1年1組=31 1年2組=30" {
		t.Errorf("stored: %s", got)
	}
	if got := export(); got != "年度,学年,組,在籍者数\r\n"+y+",1,1組,31\r\n"+y+",1,2組,30\r\n" {
		t.Errorf("export after import = %q", got)
	}

	// A bad figure: refused with its line and column, and nothing changes.
	r = c.Upload(path+"/import", "classes", []byte("年度,学年,組,在籍者数\r\n"+y+",1,1組,25\r\n"+y+",1,2組,三十人\r\n"))
	var items []string
	r.Doc.Find(`[data-testid="import-errors"] li`).Each(func(_ int, s *goquery.Selection) { items = append(items, s.Text()) })
	if r.Status != http.StatusUnprocessableEntity || len(items) != 1 || items[0] != "3行目（在籍者数）：在籍者数は0〜999の数字で入力してください（空欄にすると未設定になります）" {
		t.Errorf("bad figure: %d %q", r.Status, items)
	}
	if got := enrolments(); got != "1年1組=31 1年2組=30" {
		t.Errorf("a refused file changed the enrolments: %s", got)
	}
}
