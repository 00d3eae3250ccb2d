package registration_test

import (
	"context"
	"image/png"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/makiuchi-d/gozxing"
	gozxingqr "github.com/makiuchi-d/gozxing/qrcode"

	"github.com/renraku/renraku/internal/apptest"
	"github.com/renraku/renraku/internal/authz"
	"github.com/renraku/renraku/internal/browsertest"
	"github.com/renraku/renraku/internal/demo"
	"github.com/renraku/renraku/internal/i18n"
	"github.com/renraku/renraku/internal/line"
	"github.com/renraku/renraku/internal/pgtest"
	"github.com/renraku/renraku/internal/registration"
	"github.com/renraku/renraku/internal/school"
	"github.com/renraku/renraku/internal/staff"
	"github.com/renraku/renraku/internal/staff/stafftest"
	"github.com/renraku/renraku/web"
)

// pdfText writes pdf to dir and returns its pages' text (pdftotext -raw: in the order
// it was drawn).
func pdfText(t *testing.T, dir string, pdf []byte) (path string, pages []string) {
	t.Helper()
	path = filepath.Join(dir, "sheets.pdf")
	if err := os.WriteFile(path, pdf, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("pdftotext", "-raw", "-enc", "UTF-8", path, "-").Output()
	if err != nil {
		t.Fatalf("pdftotext: %v", err)
	}
	return path, strings.Split(strings.TrimSuffix(string(out), "\f"), "\f")
}

// readPrintedQR renders the first page of the PDF at path as a scanner would see it
// and reads its QR code.
func readPrintedQR(t *testing.T, path string) string {
	t.Helper()
	base := strings.TrimSuffix(path, ".pdf")
	if b, err := exec.Command("pdftoppm", "-png", "-r", "150", "-f", "1", "-l", "1", "-singlefile", path, base).CombinedOutput(); err != nil {
		t.Fatalf("pdftoppm: %v %s", err, b)
	}
	f, err := os.Open(base + ".png")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	bmp, err := gozxing.NewBinaryBitmapFromImage(img)
	if err != nil {
		t.Fatal(err)
	}
	res, err := gozxingqr.NewQRCodeReader().Decode(bmp, nil)
	if err != nil {
		t.Fatalf("no QR code on the printed page: %v", err)
	}
	return res.GetText()
}

// squeezed removes all white space, so text wrapped over lines compares whole.
func squeezed(s string) string { return strings.Join(strings.Fields(s), "") }

// TestCodeSheetsPrintAndRead: a school administrator prints the letters parents take
// home from the codes page — every class of the year, one page each, or one class —
// and each page says, to the character, the class, its code, the address of the
// school's LINE official account (its QR code reads as that address) and how to
// register. Printing is audited; a teacher and another school's administrator are
// refused. In Chromium, the codes page offers the sheets and the link answers a PDF.
func TestCodeSheetsPrintAndRead(t *testing.T) {
	t.Parallel()
	browsertest.RequireJapaneseFont(t)
	for _, tool := range []string{"pdftotext", "pdftoppm"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is missing: run `make test`, which installs poppler-utils", tool)
		}
	}
	w, logins := apptest.StartDemoWorld(t)
	s := w.App.Services()
	sakura := demo.Schools[0].Name
	sakuraID, class11, _ := apptest.SchoolAndClass(t, w, sakura, "1年1組")
	codes := apptest.ClassCodes(t, w, sakuraID)
	loginOf := func(role authz.Role, schoolName string) demo.Login {
		for _, l := range logins {
			if l.Role == role && l.School == schoolName {
				return l
			}
		}
		t.Fatalf("no demo %s at %s", role, schoolName)
		return demo.Login{}
	}
	client := func(l demo.Login) *apptest.StaffClient {
		c := apptest.NewStaffClient(t, w.App.URL())
		c.Secret = l.TOTPSecret
		c.SignIn(l.Login, demo.Password)
		return c
	}
	admin := client(loginOf(authz.SchoolAdmin, sakura))
	info, err := s.LINE.Client.BotInfo(context.Background(), w.Ch.API())
	if err != nil {
		t.Fatal(err)
	}
	friendURL := line.FriendURLPrefix + info.BasicID
	cat, err := i18n.Load(web.Catalog)
	if err != nil {
		t.Fatal(err)
	}
	loc := cat.Localizer("ja")
	sc, err := s.Schools.Get(apptest.SignedInAs(t, w, loginOf(authz.SchoolAdmin, sakura).Login), sakuraID)
	if err != nil {
		t.Fatal(err)
	}
	contact := loc.T("codes.sheet.note_contact")
	if sc.Phone != "" {
		contact = loc.T("codes.sheet.note_contact_phone", map[string]any{"Phone": sc.Phone})
	}
	// meant is the page of one class, in the order it is printed.
	meant := func(label, code string) string {
		return strings.Join([]string{sakura, loc.T("codes.sheet.title"), loc.T("codes.sheet.greeting"),
			loc.T("codes.sheet.lead", map[string]any{"School": sakura}),
			loc.T("codes.sheet.class"), label, loc.T("codes.sheet.code"), code, loc.T("codes.sheet.steps"),
			"1.", loc.T("codes.sheet.step1"), "2.", loc.T("codes.sheet.step2"), "3.", loc.T("codes.sheet.step3"), "4.", loc.T("codes.sheet.step4"),
			loc.T("codes.sheet.url"), friendURL, loc.T("codes.sheet.search", map[string]any{"ID": info.BasicID}),
			loc.T("codes.sheet.notes"), "・", loc.T("codes.sheet.note_secret"), "・", loc.T("codes.sheet.note_nocode"), "・", contact}, "")
	}
	labels := map[int64]string{}
	var order []int64
	rows, err := s.Pool.Query(context.Background(), `SELECT id, grade::text || '年' || name FROM class WHERE school_id = $1 AND year = $2 ORDER BY grade, length(name), name`, sakuraID, sc.CurrentYear)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id int64
		var label string
		if err := rows.Scan(&id, &label); err != nil {
			t.Fatal(err)
		}
		labels[id] = label
		order = append(order, id)
	}
	rows.Close()

	// Every class: the page links the sheets, which come as one PDF, a page a class.
	page := admin.Get("/admin/schools/" + apptest.Itoa(sakuraID) + "/codes")
	href, ok := page.Doc.Find(`[data-testid="code-sheets-all"]`).Attr("href")
	if page.Status != http.StatusOK || !ok {
		t.Fatalf("codes page: %d, link %q", page.Status, href)
	}
	r := admin.Get(href)
	if r.Status != http.StatusOK || r.Header.Get("Content-Type") != "application/pdf" || r.Header.Get("Cache-Control") != "private, no-store" {
		t.Fatalf("sheets: %d %v %s", r.Status, r.Header, r.Body[:min(200, len(r.Body))])
	}
	path, pages := pdfText(t, t.TempDir(), []byte(r.Body))
	if len(pages) != len(order) {
		t.Fatalf("%d pages, want one per class (%d)", len(pages), len(order))
	}
	for i, classID := range order {
		if got, want := squeezed(pages[i]), squeezed(meant(labels[classID], codes[classID])); got != want {
			t.Errorf("page %d (%s) reads\n%s\nwant\n%s", i+1, labels[classID], got, want)
		}
	}
	if got := readPrintedQR(t, path); got != friendURL {
		t.Errorf("the printed QR code reads %q, want %q", got, friendURL)
	}

	// One class: its row links its own sheet.
	one, ok := page.Doc.Find(`[data-testid="code-sheet"][href$="?class=` + apptest.Itoa(class11) + `"]`).Attr("href")
	if !ok {
		t.Fatalf("no sheet link for 1年1組: %s", apptest.Text(page))
	}
	r = admin.Get(one)
	_, pages = pdfText(t, t.TempDir(), []byte(r.Body))
	if r.Status != http.StatusOK || len(pages) != 1 || squeezed(pages[0]) != squeezed(meant("1年1組", codes[class11])) {
		t.Fatalf("1年1組's sheet: %d, %d pages: %q", r.Status, len(pages), pages)
	}

	var printed []string
	events, err := s.Pool.Query(context.Background(), `SELECT object_kind || ' ' || (detail->>'classes') FROM audit_event WHERE action = $1 AND school_id = $2 ORDER BY seq`, registration.AuditCodeSheet, sakuraID)
	if err != nil {
		t.Fatal(err)
	}
	for events.Next() {
		var e string
		if err := events.Scan(&e); err != nil {
			t.Fatal(err)
		}
		printed = append(printed, e)
	}
	events.Close()
	if want := []string{"school " + apptest.Itoa(int64(len(order))), "class 1"}; strings.Join(printed, ",") != strings.Join(want, ",") {
		t.Errorf("audit of the prints: %q, want %q", printed, want)
	}

	// Those who may not see the codes may not print them.
	for _, c := range []struct {
		who  demo.Login
		want int
	}{
		{loginOf(authz.Teacher, sakura), http.StatusForbidden},
		{loginOf(authz.SchoolAdmin, demo.Schools[1].Name), http.StatusNotFound},
	} {
		if r := client(c.who).Get(href); r.Status != c.want || r.Header.Get("Content-Type") == "application/pdf" {
			t.Errorf("%s prints the sheets: %d, want %d", c.who.Login, r.Status, c.want)
		}
	}

	// A class without a code yet has no sheet: the codes page says why.
	fresh, err := s.Schools.CreateClass(apptest.SignedInAs(t, w, loginOf(authz.SchoolAdmin, sakura).Login), sakuraID, school.Class{Year: sc.CurrentYear, Grade: 6, Name: "2組"})
	if err != nil {
		t.Fatal(err)
	}
	r = admin.Get(href + "?class=" + apptest.Itoa(fresh.ID))
	if got := r.Doc.Find(`[data-testid="codes-error"]`).Text(); r.Status != http.StatusUnprocessableEntity || got != "この学級の登録コードはまだ発行されていません。先にコードを発行してください。" {
		t.Errorf("sheet of a class without a code: %d %q", r.Status, got)
	}

	// In Chromium: the codes tab, its links, and the PDF behind the first.
	acc, err := s.Staff.Bootstrap(context.Background(), staff.NewStaff{BoardID: sc.BoardID, SchoolID: sakuraID, Role: authz.SchoolAdmin, Login: "sheets.admin", Name: "印刷 担当"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Staff.SetPasswordFromLink(context.Background(), acc.Token, stafftest.Password, stafftest.Password, staff.Client{}); err != nil {
		t.Fatal(err)
	}
	ctx := browsertest.New(t, 1366, 900)
	apptest.BrowserSignIn(t, ctx, w.App.URL(), "sheets.admin")
	err = chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`[data-testid="to-console"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="tab-codes"]`)),
		chromedp.Click(chromedp.CSS(`[data-testid="tab-codes"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="code-sheets-all"]`)),
	)
	if err != nil {
		t.Fatal(err)
	}
	browsertest.Screenshot(t, ctx, "codes-sheets")
	links, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('[data-testid="code-sheet"]').length`))
	if err != nil || links != len(order) { // the new 6年2組 has no code, so no sheet
		t.Errorf("%d sheet links for %d classes (%v)", links, len(order), err)
	}
	answer, err := chromedp.Run(ctx, chromedp.Evaluate[string](`fetch(document.querySelector('[data-testid="code-sheets-all"]').href)
		.then(r => r.status + ' ' + r.headers.get('content-type'))`, chromedp.EvalAwaitPromise))
	if err != nil || answer != "200 application/pdf" {
		t.Errorf("the link answers %q (%v)", answer, err)
	}
}

// TestCodeSheetsNeedTheChannel: a school whose LINE official account is not set gets
// no sheets (they would have no address to add the account at); the codes page says
// so, and nothing is recorded as printed.
func TestCodeSheetsNeedTheChannel(t *testing.T) {
	t.Parallel()
	a := apptest.StartApp(t, pgtest.NewDBURL(t), nil)
	w := stafftest.Build(t, a.Pool(), a.Services().Vault)
	if err := a.Services().Registration.NewCode(w.Ctx(t, w.AdminA), w.Board.ID, w.SchoolA.ID, w.ClassA11.ID); err != nil {
		t.Fatal(err)
	}
	c := apptest.NewStaffClient(t, a.URL())
	c.SignIn("admin.a", stafftest.Password)
	r := c.Get("/admin/schools/" + apptest.Itoa(w.SchoolA.ID) + "/codes/sheets")
	if got := r.Doc.Find(`[data-testid="codes-error"]`).Text(); r.Status != http.StatusUnprocessableEntity || got != "LINE公式アカウントがまだ設定されていません。" {
		t.Errorf("sheets without a channel: %d %q", r.Status, got)
	}
	var n int
	if err := a.Pool().QueryRow(context.Background(), `SELECT count(*) FROM audit_event WHERE action = $1`, registration.AuditCodeSheet).Scan(&n); err != nil || n != 0 {
		t.Errorf("%d prints recorded (%v)", n, err)
	}
}
