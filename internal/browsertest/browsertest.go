// Package browsertest starts a real headless Chromium for the UI tests, as a person
// would use the pages: fill, click, read what is shown, take screenshots.
//
// `make test` installs Debian's chromium and a Japanese font when missing. A test that
// needs the browser fails (never skips) when it is absent, so a CI run cannot pass
// without having looked at the pages.
package browsertest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// ExecPath finds the browser: RENRAKU_CHROMIUM, else chromium or google-chrome on PATH.
func ExecPath() string {
	if p := os.Getenv("RENRAKU_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// New returns a chromedp context on a fresh headless browser with an empty profile and
// a phone-or-PC sized window (width × height). The browser ends with the test.
func New(t testing.TB, width, height int) context.Context {
	t.Helper()
	path := ExecPath()
	if path == "" {
		t.Fatal("no Chromium found: `make test` installs Debian's chromium package (or set RENRAKU_CHROMIUM)")
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(width, height),
		// The machine has no network beyond loopback: keep Chromium from trying.
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-features", "Translate,MediaRouter,OptimizationHints"),
		chromedp.Flag("disable-dev-shm-usage", true),
		// Japanese first, as on a school PC in Japan.
		chromedp.Flag("lang", "ja-JP"),
		chromedp.Flag("accept-lang", "ja-JP,ja"),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(func() {
		cancelTimeout()
		cancelCtx()
		cancelAlloc()
	})
	// Headless windows are at least 500 px wide; emulate the exact viewport so phone
	// layouts (LINE's in-app browser is about 360 px) are what the test sees.
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(int64(width), int64(height))); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// Screenshot captures the whole page as PNG. It is written to RENRAKU_SCREENSHOT_DIR
// (for a person to look at) when set, else to the test's temporary folder, and the
// path is returned.
func Screenshot(t testing.TB, ctx context.Context, name string) string {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100) /* 100 means PNG */)
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	dir := os.Getenv("RENRAKU_SCREENSHOT_DIR")
	if dir == "" {
		dir = t.TempDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name+".png")
	if err := os.WriteFile(p, png, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// RequireJapaneseFont fails the test when no font covers Japanese, since screenshots
// would then show empty boxes instead of text.
func RequireJapaneseFont(t testing.TB) {
	t.Helper()
	out, err := exec.Command("fc-list", ":lang=ja", "family").Output()
	if err != nil || strings.TrimSpace(string(out)) == "" {
		t.Fatal("no Japanese font installed: `make test` installs fonts-ipafont-gothic")
	}
}
