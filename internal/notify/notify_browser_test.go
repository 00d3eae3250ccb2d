package notify_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"

	"github.com/renraku/renraku/internal/apptest"
	"github.com/renraku/renraku/internal/browsertest"
	"github.com/renraku/renraku/internal/demo"
	"github.com/renraku/renraku/internal/live"
	"github.com/renraku/renraku/internal/notify"
)

// shown is a notification as the service worker's registration lists it.
type shown struct {
	Title string `json:"title"`
	Body  string `json:"body"`
	Tag   string `json:"tag"`
	Link  string `json:"link"`
}

// TestDesktopNotificationInChromium: the homeroom teacher saves their choices on the
// account page, lets this browser notify them (the permission granted through the
// DevTools protocol, as a person's click on 許可 would), and with renraku open a
// parent's new message, sent through the LINE simulator, shows a desktop notification
// that names what and where, and no one.
func TestDesktopNotificationInChromium(t *testing.T) {
	t.Parallel()
	browsertest.RequireJapaneseFont(t)
	wd := newWorld(t)
	base := wd.w.App.URL()
	b := browsertest.New(t, 1280, 900)
	if err := chromedp.Do(b, chromedp.Navigate(base+"/staff/login")); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.CallBrowser(b, browser.SetPermission, browser.SetPermissionParams{
		Permission: &browser.PermissionDescriptor{Name: string(browser.PermissionTypeNotifications)}, Setting: browser.PermissionSettingGranted,
		Origin: base, BrowserContextID: chromedp.FromContext(b).BrowserContextID,
	}); err != nil {
		t.Fatalf("grant notifications: %v", err)
	}
	now := time.Now().In(notify.Tokyo)
	m := now.Hour()*60 + now.Minute()
	start, end := notify.Clock((m+1440-120)%1440), notify.Clock((m+120)%1440)
	err := chromedp.Do(b,
		chromedp.SendKeys(chromedp.CSS(`#f-login`), "sakura.tannin11"),
		chromedp.SendKeys(chromedp.CSS(`#f-password`), demo.Password),
		chromedp.Click(chromedp.CSS(`[data-testid="signin-submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="nav-account"]`)),
		chromedp.Navigate(base+"/staff/account"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="notifications"]`)),
		// The state the script found: not yet on this device.
		chromedp.WaitVisible(chromedp.CSS(`#notify-state[data-state="off"]`)),
	)
	if err != nil {
		t.Fatal(err)
	}
	browsertest.Screenshot(t, b, "notify-account-before")

	// Own hours around now, every day; registrations switched off.
	if _, err := chromedp.Run(b, chromedp.Evaluate[bool](`(() => {
		document.querySelector('[data-testid="notify-hours-own"]').checked = true;
		document.querySelector('#f-start').value = '`+start+`';
		document.querySelector('#f-end').value = '`+end+`';
		document.querySelectorAll('[data-testid="notify-days"] input').forEach(i => { i.checked = true; });
		document.querySelector('[data-testid="notify-kind-registration"]').checked = false;
		return true;
	})()`)); err != nil {
		t.Fatal(err)
	}
	err = chromedp.Do(b,
		chromedp.Click(chromedp.CSS(`[data-testid="notify-submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="flash"]`)),
	)
	if err != nil {
		t.Fatal(err)
	}
	flash, _ := chromedp.Run(b, chromedp.Text(chromedp.CSS(`[data-testid="flash"]`)))
	if !strings.Contains(flash, "通知の設定を保存しました") {
		t.Errorf("flash: %q", flash)
	}
	tanninID := staffID(t, wd, "sakura.tannin11")
	if n := apptest.Count(t, wd.w, `SELECT count(*) FROM notify_pref WHERE staff_id = $1 AND NOT registration AND message
		AND to_char(window_start, 'HH24:MI') = $2 AND to_char(window_end, 'HH24:MI') = $3 AND window_days = '0123456'`, tanninID, start, end); n != 1 {
		t.Fatalf("the choices were not stored as made")
	}

	// This device: notifications on. (Headless Chromium has no push service, so the
	// page subscribes to desktop notifications only; Web Push is tested with pushsim.)
	err = chromedp.Do(b,
		chromedp.Click(chromedp.CSS(`[data-testid="notify-enable"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#notify-state[data-state="on"]`)),
		chromedp.Navigate(base+"/staff/"),
		chromedp.WaitReady(chromedp.CSS(`html[data-notify="listening"]`)),
	)
	if err != nil {
		t.Fatalf("enable notifications: %v", err)
	}

	// The parent writes again, through LINE: the message's live event reaches the
	// notifications, and the open page shows one.
	if _, err := wd.w.Sim.SendText(wd.w.Ch.LineChannelID, wd.parent.ID, "持ち物を教えてください"); err != nil {
		t.Fatal(err)
	}
	waitCtx, cancel := context.WithTimeout(b, 30*time.Second)
	defer cancel()
	got, err := chromedp.Run(waitCtx, chromedp.Poll[[]shown](`navigator.serviceWorker.ready
		.then(r => r.getNotifications())
		.then(ns => ns.length ? ns.map(n => ({title: n.title, body: n.body, tag: n.tag, link: n.data && n.data.link})) : null)`,
		chromedp.WithPollingInterval(100*time.Millisecond)))
	if err != nil {
		t.Fatalf("no desktop notification: %v", err)
	}
	want := shown{Title: "新しい連絡があります", Body: "1年1組 担任", Tag: string(live.Message), Link: "/staff/inbox/" + apptest.Itoa(wd.conv)}
	if len(got) != 1 || got[0] != want {
		t.Errorf("notifications %+v, want %+v", got, want)
	}
	for _, n := range got {
		noPersonalData(t, "desktop notification", n.Title, n.Body, n.Link)
		if strings.Contains(n.Title+n.Body+n.Link, "持ち物") {
			t.Errorf("the desktop notification carries the message: %+v", n)
		}
	}
	browsertest.Screenshot(t, b, "notify-home-after")
	if err := chromedp.Do(b, chromedp.Navigate(base+"/staff/account"), chromedp.WaitVisible(chromedp.CSS(`#notify-state[data-state="on"]`))); err != nil {
		t.Fatal(err)
	}
	browsertest.Screenshot(t, b, "notify-account-on")
}
