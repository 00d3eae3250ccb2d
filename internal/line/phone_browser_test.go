package line_test

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/renraku/renraku/internal/app"
	"github.com/renraku/renraku/internal/apptest"
	"github.com/renraku/renraku/internal/browsertest"
	"github.com/renraku/renraku/internal/config"
	"github.com/renraku/renraku/internal/demo"
	"github.com/renraku/renraku/internal/linesim"
	"github.com/renraku/renraku/internal/logging"
	"github.com/renraku/renraku/internal/pgtest"
	"github.com/renraku/renraku/internal/vault/vaulttest"
	"github.com/renraku/renraku/web/view"
)

// TestPhonePageFollowInChromium plays a parent on the simulator's phone page, mounted
// in the app as in dev mode: create a parent, add the school as a friend, and read the
// welcome reply in the chat.
func TestPhonePageFollowInChromium(t *testing.T) {
	t.Parallel()
	browsertest.RequireJapaneseFont(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	simURL := apptest.MustURL("http://" + addr + "/_sim/line")
	keyset, key := vaulttest.Keyset(t)
	cfg := &config.Config{DatabaseURL: pgtest.NewDBURL(t), Addr: addr, ShutdownTimeout: 5 * time.Second,
		KeysetFile: keyset, MasterKey: key, LineAPIURL: simURL, LineDataAPIURL: simURL}
	sim := linesim.New(linesim.Options{HTMXPath: view.HTMXPath, AllowHTTPURLs: true})
	a := app.New(cfg, logging.New(&apptest.SyncBuffer{}, slog.LevelInfo))
	a.Mounts = map[string]http.Handler{
		"/_sim/line":  http.StripPrefix("/_sim/line", sim.Handler()),
		"/_sim/phone": sim.PhoneHandler("/_sim/phone"),
	}
	if err := a.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Close(context.Background()) })
	if _, err := demo.Seed(context.Background(), a.Services(), sim, a.URL()); err != nil {
		t.Fatal(err)
	}

	ctx := browsertest.New(t, 360, 740)
	err = chromedp.Do(ctx,
		chromedp.Navigate(a.URL()+"/_sim/phone/"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="create-user"]`)),
		chromedp.SendKeys(chromedp.CSS(`[data-testid="create-user"] input[name="name"]`), "山田花子"),
		// Creating a parent opens their phone.
		chromedp.Submit(chromedp.CSS(`[data-testid="create-user"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="follow"]`)),
		chromedp.Click(chromedp.CSS(`[data-testid="follow"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="chat"]`)),
	)
	if err != nil {
		t.Fatal(err)
	}
	// The reply arrives through the job queue; the chat refreshes itself (htmx).
	deadline := time.Now().Add(20 * time.Second)
	var chat string
	for time.Now().Before(deadline) {
		chat, err = chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`[data-testid="chat"]`)))
		if err == nil && strings.Contains(chat, "友だち追加ありがとうございます") {
			break
		}
		time.Sleep(300 * time.Millisecond)
	}
	if !strings.Contains(chat, "友だち追加ありがとうございます") {
		t.Fatalf("welcome reply not shown; chat: %q", chat)
	}
	browsertest.Screenshot(t, ctx, "phone-welcome")
}
