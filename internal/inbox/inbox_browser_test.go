package inbox_test

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/renraku/renraku/internal/app"
	"github.com/renraku/renraku/internal/apptest"
	"github.com/renraku/renraku/internal/browsertest"
	"github.com/renraku/renraku/internal/demo"
	"github.com/renraku/renraku/internal/logging"
)

// TestInboxIsLiveAcrossInstances opens a teacher's inbox on a second app instance while
// LINE's webhooks go to the first: the parent's new message appears without reload.
func TestInboxIsLiveAcrossInstances(t *testing.T) {
	t.Parallel()
	browsertest.RequireJapaneseFont(t)
	w := apptest.StartLineWorld(t)
	s := w.App.Services()
	ctx := context.Background()
	if _, err := demo.SeedStaff(ctx, s); err != nil {
		t.Fatal(err)
	}
	sakuraID, class11, _ := apptest.SchoolAndClass(t, w, demo.Schools[0].Name, "1年1組")
	if _, err := s.Pool.Exec(ctx, `UPDATE school SET office_open = '00:00', office_close = '23:59', office_days = '0123456' WHERE id = $1`, sakuraID); err != nil {
		t.Fatal(err)
	}
	code := apptest.ClassCodes(t, w, sakuraID)[class11]
	p1, _ := apptest.RegisteredParent(t, w, "中村 光", "中村 空", code)

	// A second instance on the same database.
	cfg := *w.App.Config()
	cfg.Addr, cfg.MetricsAddr = "127.0.0.1:0", ""
	second := app.New(&cfg, logging.New(io.Discard, slog.LevelError))
	if err := second.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = second.Close(context.Background()) })

	browser := browsertest.New(t, 1280, 800)
	err := chromedp.Do(browser,
		chromedp.Navigate(second.URL()+"/staff/login"),
		chromedp.SendKeys(chromedp.CSS(`#f-login`), "sakura.tannin11"),
		chromedp.SendKeys(chromedp.CSS(`#f-password`), demo.Password),
		chromedp.Click(chromedp.CSS(`[data-testid="signin-submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="to-inbox"]`)),
		chromedp.Click(chromedp.CSS(`[data-testid="to-inbox"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="inbox-empty"]`)),
		chromedp.Sleep(500*time.Millisecond), // the event stream connects
	)
	if err != nil {
		t.Fatal(err)
	}

	apptest.Pick(t, w, p1, "1年1組 担任", 1)
	if _, err := w.Sim.SendText(w.Ch.LineChannelID, p1.ID, "連絡帳を忘れました"); err != nil {
		t.Fatal(err)
	}
	waitCtx, cancel := context.WithTimeout(browser, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(waitCtx, chromedp.WaitVisible(chromedp.CSS(`[data-testid="conversation"]`))); err != nil {
		t.Fatalf("the new conversation did not appear: %v", err)
	}
	item, err := chromedp.Run(browser, chromedp.Text(chromedp.CSS(`[data-testid="conversation"]`)))
	if err != nil || !strings.Contains(item, "中村 光") || !strings.Contains(item, "1年1組 担任") {
		t.Errorf("inbox item: %q (%v)", item, err)
	}
	browsertest.Screenshot(t, browser, "inbox-live")
	err = chromedp.Do(browser,
		chromedp.Click(chromedp.CSS(`[data-testid="conversation"] a`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="thread"]`)),
		chromedp.SendKeys(chromedp.CSS(`#f-body`), "承知しました。明日持ってきてください。"),
		chromedp.Click(chromedp.CSS(`[data-testid="reply-submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="delivery"]`)),
	)
	if err != nil {
		t.Fatal(err)
	}
	apptest.WaitBotText(t, w, p1.ID, "【みどり市立さくら小学校 1年1組 担任】\n承知しました", 1)
	browsertest.Screenshot(t, browser, "inbox-thread")
}
