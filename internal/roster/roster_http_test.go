package roster_test

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"
	"github.com/chromedp/chromedp"

	"github.com/renraku/renraku/internal/apptest"
	"github.com/renraku/renraku/internal/audit"
	"github.com/renraku/renraku/internal/authz"
	"github.com/renraku/renraku/internal/browsertest"
	"github.com/renraku/renraku/internal/csvexport"
	"github.com/renraku/renraku/internal/pgtest"
	"github.com/renraku/renraku/internal/roster"
	"github.com/renraku/renraku/internal/school"
	"github.com/renraku/renraku/internal/staff/stafftest"
)

func TestRosterPageImportAndExport(t *testing.T) {
	t.Parallel()
	a := apptest.StartApp(t, pgtest.NewDBURL(t), nil)
	w := stafftest.Build(t, a.Pool(), a.Services().Vault)
	c := apptest.NewStaffClient(t, a.URL())
	c.SignIn("admin.a", stafftest.Password)
	path := "/admin/schools/" + apptest.Itoa(w.SchoolA.ID) + "/roster"
	c.Get(path)
	y := strconv.Itoa(w.SchoolA.CurrentYear)

	// No file, or an empty one: the page asks for a file.
	if r := c.Upload(path+"/import", "classes", nil); r.Status != http.StatusUnprocessableEntity ||
		!strings.Contains(r.Doc.Find(`[data-testid="import-errors"]`).Text(), "CSVファイルを選んでください") {
		t.Fatalf("no file: %d %s", r.Status, apptest.Text(r))
	}

	// A file with two bad lines: the page lists both in Japanese and imports nothing.
	bad := "年度,学年,組\r\n" + y + ",4,1組\r\n" + y + ",9,1組\r\n" + y + ",1,1組\r\n"
	r := c.Upload(path+"/import", "classes", []byte(bad))
	if r.Status != http.StatusUnprocessableEntity {
		t.Fatalf("bad file: %d", r.Status)
	}
	var items []string
	r.Doc.Find(`[data-testid="import-errors"] li`).Each(func(_ int, s *goquery.Selection) { items = append(items, s.Text()) })
	if len(items) != 2 || !strings.HasPrefix(items[0], "3行目（学年）：") || !strings.HasPrefix(items[1], "4行目（組）：") {
		t.Fatalf("errors shown: %q", items)
	}

	// The same classes, fixed, in Shift_JIS: imported.
	sjis, err := csvexport.Encode("年度,学年,組\r\n"+y+",4,1組\r\n"+y+",6,1組\r\n", csvexport.ShiftJIS)
	if err != nil {
		t.Fatal(err)
	}
	r = c.Upload(path+"/import", "classes", sjis.Data)
	if r.Status != http.StatusOK || !strings.Contains(r.Doc.Find(`[data-testid="import-done"]`).Text(), "2件を取り込みました") {
		t.Fatalf("good file: %d %s", r.Status, apptest.Text(r))
	}

	// Export in Shift_JIS for Excel on Windows.
	r = c.Get(path + "/export?kind=classes&encoding=shift_jis&year=" + y)
	if r.Status != http.StatusOK {
		t.Fatalf("export: %d", r.Status)
	}
	decoded, enc, err := roster.Decode([]byte(r.Body))
	if err != nil || enc != roster.ShiftJIS || !strings.Contains(decoded, "6,1組") {
		t.Fatalf("export: %v %s %q", err, enc, decoded)
	}
}

// TestRosterTemplatesDownloadAndImport downloads the template of every kind from the
// roster page, in Shift_JIS and in UTF-8, and gives each back to the page as a school
// would: the preview lists its one line as new without an error, and its button
// imports the same file. The staff template again then reads 変更なし.
func TestRosterTemplatesDownloadAndImport(t *testing.T) {
	t.Parallel()
	for _, enc := range []roster.Encoding{roster.ShiftJIS, roster.UTF8BOM} {
		t.Run(string(enc), func(t *testing.T) {
			t.Parallel()
			a := apptest.StartApp(t, pgtest.NewDBURL(t), nil)
			w := stafftest.Build(t, a.Pool(), a.Services().Vault)
			sc, _, err := w.Schools.EnsureSchool(context.Background(), audit.OperatorActor, w.Board.Name, school.School{Name: "みどり小学校", Type: school.Elementary})
			if err != nil {
				t.Fatal(err)
			}
			w.MustCreateStaff(t, authz.SchoolAdmin, sc.ID, "admin.m", "管理 花子")
			c := apptest.NewStaffClient(t, a.URL())
			c.SignIn("admin.m", stafftest.Password)
			path := "/admin/schools/" + apptest.Itoa(sc.ID) + "/roster"
			if r := c.Get(path); r.Doc.Find(`[data-testid="roster-template"] select[name="encoding"] option[value="`+string(enc)+`"]`).Length() != 1 {
				t.Fatalf("the page offers no %s template: %s", enc, apptest.Text(r))
			}
			y := strconv.Itoa(w.SchoolA.CurrentYear) // every new school starts in the same year
			headers := map[roster.Kind]string{
				roster.KindStaff:       "ログインID,氏名,役割\r\nyamada.taro,山田 太郎,教職員\r\n",
				roster.KindClasses:     "年度,学年,組,在籍者数\r\n" + y + ",1,1組,30\r\n",
				roster.KindClubs:       "年度,部活動名\r\n" + y + ",サッカー部\r\n",
				roster.KindAssignments: "年度,ログインID,職務,対象\r\n" + y + ",yamada.taro,担任,1年1組\r\n",
			}
			download := func(kind roster.Kind) []byte {
				t.Helper()
				r := c.Get(path + "/template?kind=" + string(kind) + "&encoding=" + string(enc))
				if r.Status != http.StatusOK || r.Header.Get("Content-Type") != "text/csv; charset="+enc.Charset() ||
					r.Header.Get("Content-Disposition") != `attachment; filename="template-`+string(kind)+`.csv"` {
					t.Fatalf("%s template: %d %v", kind, r.Status, r.Header)
				}
				got, gotEnc, err := roster.Decode([]byte(r.Body))
				if err != nil || gotEnc != enc || got != headers[kind] {
					t.Fatalf("%s template reads %q as %s (%v), want %q", kind, got, gotEnc, err, headers[kind])
				}
				return []byte(r.Body)
			}
			for _, kind := range roster.Kinds {
				file := download(kind)
				r := c.PostMultipart(path+"/import", map[string]string{"kind": string(kind), "mode": "preview"}, file)
				lines := r.Doc.Find(`[data-testid="import-line"]`)
				if r.Status != http.StatusOK || r.Doc.Find(`[data-testid="import-errors"]`).Length() > 0 || lines.Length() != 1 ||
					lines.AttrOr("data-outcome", "") != "new" || strings.TrimSpace(lines.Find(`[data-testid="import-outcome"]`).Text()) != "新規" ||
					r.Doc.Find(`[data-testid="preview-note"]`).Length() != 1 {
					t.Fatalf("%s template preview: %d %s", kind, r.Status, apptest.Text(r))
				}
				content, _ := r.Doc.Find(`[data-testid="import-lines"] input[name="content"]`).Attr("value")
				r = c.PostMultipart(path+"/import", map[string]string{"kind": string(kind), "mode": "import", "content": content}, nil)
				if r.Status != http.StatusOK || !strings.Contains(r.Doc.Find(`[data-testid="import-done"]`).Text(), "1件を取り込みました") {
					t.Fatalf("%s template import: %d %s", kind, r.Status, apptest.Text(r))
				}
			}
			r := c.PostMultipart(path+"/import", map[string]string{"kind": "staff", "mode": "preview"}, download(roster.KindStaff))
			if got := r.Doc.Find(`[data-testid="import-summary"]`).Text(); r.Status != http.StatusOK || got != "新規 0件・更新 0件・変更なし 1件" {
				t.Errorf("staff template again: %d %q", r.Status, got)
			}
		})
	}
}

// TestRosterPreviewInChromium: an administrator chooses a staff CSV from Excel
// (Shift_JIS) that changes one account and adds another, checks it first — the page
// lists each line as 更新 (with what changes) or 新規 and saves nothing — and imports
// it with the preview's button, without choosing the file again.
func TestRosterPreviewInChromium(t *testing.T) {
	t.Parallel()
	browsertest.RequireJapaneseFont(t)
	a := apptest.StartApp(t, pgtest.NewDBURL(t), nil)
	w := stafftest.Build(t, a.Pool(), a.Services().Vault)
	sjis, err := csvexport.Encode("ログインID,氏名,役割\r\nteacher.a,教員 四郎,学校管理者\r\nnew.one,新任 一郎,教職員\r\nadvisor.a,顧問 三郎,教職員\r\n", csvexport.ShiftJIS)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "教職員.csv")
	if err := os.WriteFile(file, sjis.Data, 0o644); err != nil {
		t.Fatal(err)
	}
	ctx := browsertest.New(t, 1366, 900)
	apptest.BrowserSignIn(t, ctx, a.URL(), "admin.a")
	err = chromedp.Do(ctx,
		chromedp.Navigate(a.URL()+"/admin/schools/"+apptest.Itoa(w.SchoolA.ID)+"/roster"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="roster-template"]`)),
		chromedp.SetValue(chromedp.CSS(`#f-kind`), "staff"),
		chromedp.SetUploadFiles(`#f-file`, []string{file}),
		chromedp.Click(chromedp.CSS(`[data-testid="roster-preview-submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="import-lines"]`)),
	)
	if err != nil {
		t.Fatal(err)
	}
	browsertest.Screenshot(t, ctx, "roster-preview")
	lines, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll('[data-testid="import-line"]')].map(r => r.dataset.outcome + ' ' + r.querySelector('td:last-child').innerText.replace(/\s+/g, ' ').trim())`))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"update 更新 役割：教職員 → 学校管理者", "new 新規", "same 変更なし"}
	if strings.Join(lines, "|") != strings.Join(want, "|") {
		t.Errorf("preview lines %q, want %q", lines, want)
	}
	if st, err := a.Services().Staff.FindByLogin(context.Background(), "teacher.a"); err != nil || st.Role != authz.Teacher {
		t.Fatalf("the preview changed teacher.a: %v %v", st.Role, err)
	}
	err = chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`[data-testid="roster-confirm-submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="import-done"]`)),
	)
	if err != nil {
		t.Fatal(err)
	}
	browsertest.Screenshot(t, ctx, "roster-imported")
	invites, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`[data-testid="import-invites"] tbody`)))
	if err != nil || !strings.Contains(invites, "new.one") || strings.Contains(invites, "teacher.a") {
		t.Errorf("invites after import: %q (%v)", invites, err)
	}
	if st, err := a.Services().Staff.FindByLogin(context.Background(), "teacher.a"); err != nil || st.Role != authz.SchoolAdmin {
		t.Errorf("teacher.a after import: %v %v", st.Role, err)
	}
}
