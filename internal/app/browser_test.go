package app_test

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/renraku/renraku/internal/apptest"
	"github.com/renraku/renraku/internal/browsertest"
	"github.com/renraku/renraku/internal/pgtest"
)

func TestLandingPageInChromium(t *testing.T) {
	t.Parallel()
	browsertest.RequireJapaneseFont(t)
	a := apptest.StartApp(t, pgtest.NewDBURL(t), nil)

	tests := []struct {
		name          string
		width, height int
	}{
		{"phone", 360, 740},
		{"pc", 1280, 800},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := browsertest.New(t, tt.width, tt.height)
			if err := chromedp.Do(ctx, chromedp.Navigate(a.URL()+"/"), chromedp.WaitVisible(chromedp.CSS("h1"))); err != nil {
				t.Fatal(err)
			}
			h1, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("h1")))
			if err != nil {
				t.Fatal(err)
			}
			if h1 != "学校と保護者の連絡を、LINEで安全に。" {
				t.Errorf("h1 = %q", h1)
			}
			// The page must fit the width: no sideways scrolling on a phone.
			overflow, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth`))
			if err != nil {
				t.Fatal(err)
			}
			if overflow {
				t.Error("page is wider than the window")
			}
			// htmx loaded from our origin under the CSP.
			hasHTMX, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`typeof window.htmx === "object"`))
			if err != nil {
				t.Fatal(err)
			}
			if !hasHTMX {
				t.Error("htmx did not load")
			}
			browsertest.Screenshot(t, ctx, "landing-"+tt.name)

			// A person switches to English.
			if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`a[hreflang="en"]`)), chromedp.WaitVisible(chromedp.CSS(`html[lang="en"]`))); err != nil {
				t.Fatal(err)
			}
			btn, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(".card .button")))
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(btn, "Staff sign-in") {
				t.Errorf("after switching: button = %q", btn)
			}
		})
	}
}
