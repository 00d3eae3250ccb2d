package app_test

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"github.com/renraku/renraku/internal/csvexport"
	"github.com/renraku/renraku/internal/pgtest"
	"github.com/renraku/renraku/internal/roster"
	"github.com/renraku/renraku/internal/staff/stafftest"
)

func (c *staffClient) upload(path, kind string, file []byte) response {
	c.t.Helper()
	body, contentType := multipartBody(c.t, url.Values{"csrf": {c.csrf}, "kind": {kind}}, "file", map[string][]byte{"名簿.csv": file})
	req := mustRequest(c.t, http.MethodPost, c.base+path, body)
	req.Header.Set("Content-Type", contentType)
	return c.do(req)
}

func TestRosterPageImportAndExport(t *testing.T) {
	t.Parallel()
	a := startApp(t, pgtest.NewDBURL(t), nil)
	w := stafftest.Build(t, a.Pool(), a.Services().Vault)
	c := newStaffClient(t, a.URL())
	c.signIn("admin.a", stafftest.Password)
	path := "/admin/schools/" + id(w.SchoolA.ID) + "/roster"
	c.get(path)
	y := strconv.Itoa(w.SchoolA.CurrentYear)

	// A file with two bad lines: the page lists both in Japanese and imports nothing.
	bad := "年度,学年,組\r\n" + y + ",4,1組\r\n" + y + ",9,1組\r\n" + y + ",1,1組\r\n"
	r := c.upload(path+"/import", "classes", []byte(bad))
	if r.status != http.StatusUnprocessableEntity {
		t.Fatalf("bad file: %d", r.status)
	}
	var items []string
	r.doc.Find(`[data-testid="import-errors"] li`).Each(func(_ int, s *goquery.Selection) { items = append(items, s.Text()) })
	if len(items) != 2 || !strings.HasPrefix(items[0], "3行目（学年）：") || !strings.HasPrefix(items[1], "4行目（組）：") {
		t.Fatalf("errors shown: %q", items)
	}

	// The same classes, fixed, in Shift_JIS: imported.
	sjis, err := csvexport.Encode("年度,学年,組\r\n"+y+",4,1組\r\n"+y+",6,1組\r\n", csvexport.ShiftJIS)
	if err != nil {
		t.Fatal(err)
	}
	r = c.upload(path+"/import", "classes", sjis.Data)
	if r.status != http.StatusOK || !strings.Contains(r.doc.Find(`[data-testid="import-done"]`).Text(), "2件を取り込みました") {
		t.Fatalf("good file: %d %s", r.status, text(r))
	}

	// Export in Shift_JIS for Excel on Windows.
	r = c.get(path + "/export?kind=classes&encoding=shift_jis&year=" + y)
	if r.status != http.StatusOK {
		t.Fatalf("export: %d", r.status)
	}
	decoded, enc, err := roster.Decode([]byte(r.body))
	if err != nil || enc != roster.ShiftJIS || !strings.Contains(decoded, "6,1組") {
		t.Fatalf("export: %v %s %q", err, enc, decoded)
	}
}
