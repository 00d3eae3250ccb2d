package staff_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/renraku/renraku/internal/apptest"
	"github.com/renraku/renraku/internal/config"
	"github.com/renraku/renraku/internal/pgtest"
	"github.com/renraku/renraku/internal/staff/stafftest"
)

func sessionCookie(c *apptest.StaffClient) string {
	for _, ck := range c.HTTP.Jar.Cookies(apptest.MustURL(c.Base)) {
		if ck.Name == "renraku_staff" {
			return ck.Value
		}
	}
	return ""
}

func TestSessionRotationCSRFAndSignOutEverywhere(t *testing.T) {
	t.Parallel()
	a := apptest.StartApp(t, pgtest.NewDBURL(t), nil)
	stafftest.Build(t, a.Pool(), a.Services().Vault)

	c := apptest.NewStaffClient(t, a.URL())
	before := sessionCookie(c)
	if before == "" {
		t.Fatal("no session cookie before sign-in")
	}
	c.SignIn("teacher.a", stafftest.Password)
	after := sessionCookie(c)
	if after == "" || after == before {
		t.Fatalf("session token not rotated at sign-in")
	}
	// The pre-sign-in token (which an attacker could have planted) is worthless now.
	planted := apptest.NewStaffClient(t, a.URL())
	planted.HTTP.Jar.SetCookies(apptest.MustURL(a.URL()), []*http.Cookie{{Name: "renraku_staff", Value: before, Path: "/"}})
	if r := planted.Get("/staff/"); apptest.Classify(r) != apptest.Login {
		t.Fatalf("old session token still signed in: %d %s", r.Status, r.Location)
	}

	// CSRF: without the token, with a wrong one, and cross-site with the right one.
	form := url.Values{"current": {stafftest.Password}, "password": {"tsukushi-no-oka-99"}, "confirm": {"tsukushi-no-oka-99"}}
	noToken := url.Values{}
	for k, v := range form {
		noToken[k] = v
	}
	noToken.Set("csrf", "")
	if r := c.Post("/staff/account/password", noToken); r.Status != http.StatusForbidden {
		t.Errorf("no CSRF token: %d", r.Status)
	}
	noToken.Set("csrf", "forged")
	if r := c.Post("/staff/account/password", noToken); r.Status != http.StatusForbidden {
		t.Errorf("wrong CSRF token: %d", r.Status)
	}
	req := apptest.MustRequest(t, http.MethodPost, a.URL()+"/staff/account/signout-all", strings.NewReader(url.Values{"csrf": {c.CSRF}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	req.Header.Set("Origin", "https://evil.example")
	if r := c.Do(req); r.Status != http.StatusForbidden {
		t.Errorf("cross-site post: %d", r.Status)
	}
	if r := c.Get("/staff/"); r.Status != http.StatusOK {
		t.Fatalf("refused posts changed the session: %d", r.Status)
	}
	// The password did not change: signing in with the old one still works.
	again := apptest.NewStaffClient(t, a.URL())
	again.Secret = c.Secret
	again.SignIn("teacher.a", stafftest.Password)

	// Sign out everywhere ends the other session too.
	if r := again.Post("/staff/account/signout-all", nil); r.Status != http.StatusSeeOther {
		t.Fatalf("sign out everywhere: %d", r.Status)
	}
	for name, cl := range map[string]*apptest.StaffClient{"this": again, "other": c} {
		if r := cl.Get("/staff/"); apptest.Classify(r) != apptest.Login {
			t.Errorf("%s session still signed in after sign out everywhere: %d", name, r.Status)
		}
	}

	var signIns, signOuts int
	err := a.Pool().QueryRow(context.Background(), `SELECT count(*) FILTER (WHERE action = 'staff.sign_in'), count(*) FILTER (WHERE action = 'staff.sign_out_all') FROM audit_event`).Scan(&signIns, &signOuts)
	if err != nil || signIns < 2 || signOuts != 1 {
		t.Errorf("audit: %d sign-ins, %d sign-outs everywhere (%v)", signIns, signOuts, err)
	}
}

func TestSessionTimeouts(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		idle, max time.Duration
		// requests are made at these offsets after sign-in; the last must be signed out.
		at []time.Duration
	}{
		{"idle", 1500 * time.Millisecond, time.Hour, []time.Duration{500 * time.Millisecond, 2500 * time.Millisecond}},
		{"absolute", time.Hour, 2500 * time.Millisecond, []time.Duration{800 * time.Millisecond, 1600 * time.Millisecond, 3200 * time.Millisecond}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a := apptest.StartApp(t, pgtest.NewDBURL(t), nil, func(c *config.Config) { c.SessionIdle, c.SessionMax = tt.idle, tt.max })
			stafftest.Build(t, a.Pool(), a.Services().Vault)
			c := apptest.NewStaffClient(t, a.URL())
			c.SignIn("teacher.a", stafftest.Password)
			start := time.Now()
			for i, off := range tt.at {
				time.Sleep(time.Until(start.Add(off)))
				r := c.Get("/staff/")
				lastOne := i == len(tt.at)-1
				if got := apptest.Classify(r); lastOne && got != apptest.Login {
					t.Errorf("request at %v: still signed in", off)
				} else if !lastOne && got != apptest.OK {
					t.Errorf("request at %v: %s, want signed in", off, got)
				}
			}
		})
	}
}
