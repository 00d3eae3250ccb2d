// Command richmenu draws the rich menu images (internal/line/richmenu/*.png) by
// rendering HTML in headless Chromium at LINE's exact sizes. Run it after changing the
// menus in internal/line/richmenu.go, and commit the PNGs:
//
//	go run ./scripts/richmenu
package main

import (
	"context"
	"fmt"
	"html"
	"log"
	"os"
	"path/filepath"
	"strings"

	"github.com/chromedp/chromedp"

	"github.com/renraku/renraku/internal/browsertest"
	"github.com/renraku/renraku/internal/line/menu"
)

const page = `<!DOCTYPE html><html lang="ja"><head><meta charset="utf-8"><style>
html, body { margin: 0; width: %dpx; height: %dpx; overflow: hidden; background: #fff;
  font-family: "IPAPGothic", "IPAGothic", "Noto Sans CJK JP", sans-serif; }
.grid { display: grid; grid-template-columns: repeat(%d, 1fr); grid-auto-rows: 1fr; width: 100%%; height: 100%%; }
.cell { display: flex; flex-direction: column; align-items: center; justify-content: center; gap: 40px;
  border: 6px solid #fff; background: %s; color: #fff; font-weight: bold; text-align: center; }
.cell:nth-child(2n) { background: %s; }
.mark { width: 170px; height: 170px; border-radius: 50%%; background: rgba(255,255,255,.25);
  display: flex; align-items: center; justify-content: center; font-size: 110px; }
.label { font-size: %dpx; line-height: 1.25; padding: 0 40px; text-wrap: balance; }
</style></head><body><div class="grid">%s</div></body></html>`

func main() {
	out := filepath.Join("internal", "line", "richmenu")
	if err := os.MkdirAll(out, 0o755); err != nil {
		log.Fatal(err)
	}
	path := browsertest.ExecPath()
	if path == "" {
		log.Fatal("richmenu: Chromium not found (apt-get install chromium fonts-ipafont-gothic)")
	}
	fonts := map[string]int{menu.Guest: 150, menu.Member: 100}
	for _, m := range menu.Layouts {
		var cells strings.Builder
		for _, b := range m.Buttons {
			fmt.Fprintf(&cells, `<div class="cell"><div class="mark">%s</div><div class="label">%s</div></div>`,
				html.EscapeString(b.Mark), html.EscapeString(b.Label))
		}
		doc := fmt.Sprintf(page, m.Width, m.Height, m.Columns, "#06c755", "#04a845", fonts[m.Kind], cells.String())
		png, err := render(path, doc, int(m.Width), int(m.Height))
		if err != nil {
			log.Fatal(err)
		}
		if len(png) > 1<<20 {
			log.Fatalf("richmenu: %s image is %d bytes, over LINE's 1 MB", m.Kind, len(png))
		}
		file := filepath.Join(out, m.Kind+".png")
		if err := os.WriteFile(file, png, 0o644); err != nil {
			log.Fatal(err)
		}
		fmt.Printf("wrote %s (%d×%d, %d bytes)\n", file, m.Width, m.Height, len(png))
	}
}

func render(execPath, doc string, w, h int) ([]byte, error) {
	tmp, err := os.CreateTemp("", "richmenu-*.html")
	if err != nil {
		return nil, err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.WriteString(doc); err != nil {
		return nil, err
	}
	tmp.Close()
	actx, cancel := chromedp.NewExecAllocator(context.Background(), chromedp.ExecPath(execPath), chromedp.Headless,
		chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun, chromedp.Flag("disable-background-networking", true))
	defer cancel()
	ctx, cancel2 := chromedp.NewContext(actx)
	defer cancel2()
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(int64(w), int64(h)), chromedp.Navigate("file://"+tmp.Name())); err != nil {
		return nil, err
	}
	return chromedp.Run(ctx, chromedp.FullScreenshot(100))
}
