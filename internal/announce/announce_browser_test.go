package announce_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/renraku/renraku/internal/apptest"
	"github.com/renraku/renraku/internal/browsertest"
	"github.com/renraku/renraku/internal/demo"
	"github.com/renraku/renraku/internal/linesim"
)

// TestAnnouncementInBrowsers: a homeroom teacher writes an announcement with a PDF in
// Chromium, checks the LINE preview and sends it, and watches it finish; the parent
// opens the handout from LINE on a phone-sized Chromium; the teacher then sees it read.
func TestAnnouncementInBrowsers(t *testing.T) {
	t.Parallel()
	browsertest.RequireJapaneseFont(t)
	w := apptest.StartLineWorld(t)
	s := w.App.Services()
	ctx := context.Background()
	if _, err := demo.SeedStaff(ctx, s); err != nil {
		t.Fatal(err)
	}
	sakuraID, class11, _ := apptest.SchoolAndClass(t, w, demo.Schools[0].Name, "1年1組")
	code := apptest.ClassCodes(t, w, sakuraID)[class11]
	parent, _ := apptest.RegisteredParent(t, w, "森 真理", "森 ひなた", code)
	// The registration's events are processed before the teacher signs in: a live
	// notice arriving while she clicks through would refresh the home page's work
	// queue under her (a node chromedp found replaced before it clicks it).
	apptest.WaitQuiet(t, w.App.Pool())
	pdf := filepath.Join(t.TempDir(), "12月の学年だより.pdf")
	if err := os.WriteFile(pdf, apptest.SamplePDF("学年だより"), 0o600); err != nil {
		t.Fatal(err)
	}

	teacher := browsertest.New(t, 1280, 900)
	err := chromedp.Do(teacher,
		chromedp.Navigate(w.App.URL()+"/staff/login"),
		chromedp.SendKeys(chromedp.CSS(`#f-login`), "sakura.tannin11"),
		chromedp.SendKeys(chromedp.CSS(`#f-password`), demo.Password),
		chromedp.Click(chromedp.CSS(`[data-testid="signin-submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="to-announcements"]`)),
		chromedp.Click(chromedp.CSS(`[data-testid="to-announcements"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="compose"]`)),
		chromedp.Click(chromedp.CSS(`[data-testid="compose"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="compose-page"]`)),
		chromedp.SendKeys(chromedp.CSS(`#f-title`), "12月の学年だより"),
		chromedp.SendKeys(chromedp.CSS(`#f-body`), "12月の行事と持ち物をお知らせします。詳しくはプリントをご覧ください。"),
		chromedp.SetUploadFiles(chromedp.CSS(`#f-files`), []string{pdf}),
	)
	if err != nil {
		t.Fatal(err)
	}
	// The teacher's only class is chosen for them.
	checked, err := chromedp.Run(teacher, chromedp.Evaluate[bool](`document.querySelector('[data-testid="audience"] input[name="class"]').checked`))
	if err != nil || !checked {
		t.Fatalf("the teacher's class is not preselected (%v)", err)
	}
	browsertest.Screenshot(t, teacher, "announce-compose")
	err = chromedp.Do(teacher,
		chromedp.Click(chromedp.CSS(`[data-testid="compose-submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="line-preview"]`)),
	)
	if err != nil {
		t.Fatal(err)
	}
	preview, err := chromedp.Run(teacher, chromedp.Text(chromedp.CSS(`[data-testid="line-preview"]`)))
	if err != nil || !strings.Contains(preview, "【お知らせ】みどり市立さくら小学校　12月の学年だより") || !strings.Contains(preview, "プリントを見る") {
		t.Errorf("LINE preview: %q (%v)", preview, err)
	}
	browsertest.Screenshot(t, teacher, "announce-preview")
	err = chromedp.Do(teacher,
		chromedp.Click(chromedp.CSS(`[data-testid="send"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="progress"]`)),
		// The progress refreshes itself until the final report.
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="final-report"]`)),
	)
	if err != nil {
		t.Fatal(err)
	}
	report, err := chromedp.Run(teacher, chromedp.Text(chromedp.CSS(`[data-testid="final-report"]`)))
	if err != nil || !strings.Contains(report, "送信済 1人") {
		t.Errorf("report: %q (%v)", report, err)
	}
	browsertest.Screenshot(t, teacher, "announce-report")

	// The parent taps プリントを見る in LINE and opens the link on the phone.
	apptest.WaitBotText(t, w, parent.ID, "【お知らせ】みどり市立さくら小学校　12月の学年だより", 1)
	var button linesim.Action
	for _, it := range w.Sim.Chat(w.Ch.LineChannelID, parent.ID) {
		for _, a := range it.Actions {
			if a.Label == "プリントを見る" {
				button = a
			}
		}
	}
	if _, err := w.Sim.Tap(w.Ch.LineChannelID, parent.ID, button); err != nil {
		t.Fatal(err)
	}
	link := apptest.LinkIn(t, w, parent.ID, "お知らせと配布プリントはこちらから", 1)
	phone := browsertest.New(t, 390, 844)
	err = chromedp.Do(phone,
		chromedp.Navigate(link),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="parent-announcement"]`)),
	)
	if err != nil {
		t.Fatal(err)
	}
	body, err := chromedp.Run(phone, chromedp.Text(chromedp.CSS(`[data-testid="parent-announcement"]`)))
	if err != nil {
		t.Fatalf("reading the parent's page: %v", err)
	}
	status, err := chromedp.Run(phone, chromedp.Evaluate[int](`fetch(document.querySelector('[data-testid="parent-handout"]').href).then(r => r.status)`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(body, "12月の行事と持ち物") || !strings.Contains(body, "12月の学年だより.pdf") || status != 200 {
		t.Errorf("parent page: %q, handout %d", body, status)
	}
	browsertest.Screenshot(t, phone, "announce-parent")

	var opened string
	deadline := time.Now().Add(10 * time.Second)
	for opened != "1" && time.Now().Before(deadline) {
		if err := chromedp.Do(teacher, chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(`[data-testid="count-opened"]`))); err != nil {
			t.Fatal(err)
		}
		got, err := chromedp.Run(teacher, chromedp.Text(chromedp.CSS(`[data-testid="count-opened"]`)))
		if err != nil {
			t.Fatalf("reading 既読: %v", err)
		}
		opened = strings.TrimSpace(got)
	}
	if opened != "1" {
		t.Errorf("既読 = %q after the parent opened it", opened)
	}
}

// TestAnnouncementDraftEditInBrowser: a homeroom teacher writes a draft with two PDFs in
// Chromium, opens it again with 編集する, finds everything filled in, changes the title
// and body, removes a handout and saves; the announcement's page shows the change.
func TestAnnouncementDraftEditInBrowser(t *testing.T) {
	t.Parallel()
	browsertest.RequireJapaneseFont(t)
	w := apptest.StartLineWorld(t)
	if _, err := demo.SeedStaff(context.Background(), w.App.Services()); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	var pdfs []string
	for _, name := range []string{"持ち物.pdf", "日程.pdf"} {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, apptest.SamplePDF(name), 0o600); err != nil {
			t.Fatal(err)
		}
		pdfs = append(pdfs, p)
	}
	teacher := browsertest.New(t, 1280, 900)
	err := chromedp.Do(teacher,
		chromedp.Navigate(w.App.URL()+"/staff/login"),
		chromedp.SendKeys(chromedp.CSS(`#f-login`), "sakura.tannin11"),
		chromedp.SendKeys(chromedp.CSS(`#f-password`), demo.Password),
		chromedp.Click(chromedp.CSS(`[data-testid="signin-submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="to-announcements"]`)),
		chromedp.Navigate(w.App.URL()+"/staff/announcements/new"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="compose-page"]`)),
		chromedp.SendKeys(chromedp.CSS(`#f-title`), "遠足のお知らせ"),
		chromedp.SendKeys(chromedp.CSS(`#f-body`), "10月20日に遠足に行きます。"),
		chromedp.SetUploadFiles(chromedp.CSS(`#f-files`), pdfs),
		chromedp.Click(chromedp.CSS(`[data-testid="compose-submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="line-preview"]`)),
		chromedp.Click(chromedp.CSS(`[data-testid="edit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="edit-handouts"]`)),
	)
	if err != nil {
		t.Fatal(err)
	}
	title, err := chromedp.Run(teacher, chromedp.Value(chromedp.CSS(`#f-title`)))
	if err != nil {
		t.Fatalf("reading the edit form's title: %v", err)
	}
	body, err := chromedp.Run(teacher, chromedp.Value(chromedp.CSS(`#f-body`)))
	if err != nil {
		t.Fatalf("reading the edit form's body: %v", err)
	}
	checked, err := chromedp.Run(teacher, chromedp.Evaluate[bool](`document.querySelector('[data-testid="audience"] input[name="class"]').checked`))
	if err != nil {
		t.Fatalf("reading the edit form's audience: %v", err)
	}
	files, err := chromedp.Run(teacher, chromedp.Text(chromedp.CSS(`[data-testid="edit-handouts"]`)))
	if err != nil {
		t.Fatalf("reading the edit form's handouts: %v", err)
	}
	if title != "遠足のお知らせ" || body != "10月20日に遠足に行きます。" || !checked || !strings.Contains(files, "持ち物.pdf") || !strings.Contains(files, "日程.pdf") {
		t.Fatalf("the edit form is not filled in: title %q, body %q, class %v, files %q", title, body, checked, files)
	}
	browsertest.Screenshot(t, teacher, "announce-edit")
	err = chromedp.Do(teacher,
		chromedp.Clear(chromedp.CSS(`#f-title`)),
		chromedp.SendKeys(chromedp.CSS(`#f-title`), "遠足のお知らせ（訂正）"),
		chromedp.Clear(chromedp.CSS(`#f-body`)),
		chromedp.SendKeys(chromedp.CSS(`#f-body`), "遠足は10月21日に変わりました。"),
		chromedp.Click(chromedp.CSS(`[data-testid="edit-handout"]:first-child input[name="remove"]`)),
		chromedp.Click(chromedp.CSS(`[data-testid="compose-submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="line-preview"]`)),
	)
	if err != nil {
		t.Fatal(err)
	}
	page, err := chromedp.Run(teacher, chromedp.Text(chromedp.CSS(`body`)))
	if err != nil {
		t.Fatalf("reading the page after saving: %v", err)
	}
	preview, err := chromedp.Run(teacher, chromedp.Text(chromedp.CSS(`[data-testid="line-preview"]`)))
	if err != nil {
		t.Fatalf("reading the LINE preview after saving: %v", err)
	}
	if !strings.Contains(preview, "【お知らせ】みどり市立さくら小学校　遠足のお知らせ（訂正）") || !strings.Contains(preview, "10月21日") ||
		!strings.Contains(page, "日程.pdf") || strings.Contains(page, "持ち物.pdf") || !strings.Contains(page, "お知らせを保存しました") {
		t.Errorf("after saving: preview %q, page %q", preview, page)
	}
	browsertest.Screenshot(t, teacher, "announce-edited")
}
