package staff_test

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/renraku/renraku/internal/apptest"
	"github.com/renraku/renraku/internal/authz"
	"github.com/renraku/renraku/internal/browsertest"
	"github.com/renraku/renraku/internal/pgtest"
	"github.com/renraku/renraku/internal/staff/stafftest"
)

// TestSignInNextStaysOnSite: a sign-in link carrying a hostile next (a tab, a vertical
// tab, an encoded backslash …) ends on the staff home of our own host in Chromium,
// which is lenient with what it follows, while a good next is kept.
func TestSignInNextStaysOnSite(t *testing.T) {
	t.Parallel()
	a := apptest.StartApp(t, pgtest.NewDBURL(t), nil)
	w := stafftest.Build(t, a.Pool(), a.Services().Vault)
	// Teachers of this school sign in with a password alone, so the sign-in goes
	// straight to next.
	if _, err := a.Pool().Exec(context.Background(), `UPDATE school SET teacher_totp = false WHERE id = $1`, w.SchoolA.ID); err != nil {
		t.Fatal(err)
	}
	base := a.URL()
	for _, tc := range []struct{ next, want string }{
		{"/%09/evil.example", "/staff/"},
		{"/%0B/evil.example", "/staff/"},
		{"/%5C/evil.example", "/staff/"},
		{"/%2F/evil.example", "/staff/"},
		{"/staff/account", "/staff/account"},
	} {
		ctx := browsertest.New(t, 1024, 768)
		err := chromedp.Do(ctx,
			chromedp.Navigate(base+"/staff/login?next="+url.QueryEscape(tc.next)),
			chromedp.WaitVisible(chromedp.CSS(`[data-testid="signin"]`)),
			chromedp.SendKeys(chromedp.CSS(`#f-login`), "teacher.a"),
			chromedp.SendKeys(chromedp.CSS(`#f-password`), stafftest.Password),
			chromedp.Click(chromedp.CSS(`[data-testid="signin-submit"]`)),
			chromedp.WaitNotPresent(chromedp.CSS(`[data-testid="signin"]`)),
		)
		if err != nil {
			t.Fatalf("next=%q: %v", tc.next, err)
		}
		loc, err := chromedp.Run(ctx, chromedp.Location())
		if err != nil {
			t.Fatal(err)
		}
		if u, err := url.Parse(loc); err != nil || u.Host != apptest.MustURL(base).Host || u.Path != tc.want {
			t.Fatalf("next=%q ended at %q, want %s%s", tc.next, loc, base, tc.want)
		}
	}
}

func TestConsoleClassAndDutyInChromium(t *testing.T) {
	t.Parallel()
	browsertest.RequireJapaneseFont(t)
	a := apptest.StartApp(t, pgtest.NewDBURL(t), nil)
	w := stafftest.Build(t, a.Pool(), a.Services().Vault)
	second := w.MustCreateStaff(t, authz.Teacher, w.SchoolA.ID, "second.teacher", "二番 先生")
	base := a.URL()

	// The school administrator signs in, creates 3年2組 and makes teacher.a its homeroom
	// teacher.
	admin := browsertest.New(t, 1280, 900)
	apptest.BrowserSignIn(t, admin, base, "admin.a")
	err := chromedp.Do(admin,
		chromedp.Click(chromedp.CSS(`[data-testid="to-console"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="school-settings"]`)),
		chromedp.Click(chromedp.CSS(`[data-testid="tab-structure"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="classes"]`)),
		chromedp.SetValue(chromedp.CSS(`[data-testid="classes"] #f-grade`), "3"),
		chromedp.SendKeys(chromedp.CSS(`[data-testid="classes"] #f-name`), "2組"),
		chromedp.Click(chromedp.CSS(`[data-testid="class-add"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="flash"]`)),
	)
	if err != nil {
		t.Fatal(err)
	}
	classes, err := chromedp.Run(admin, chromedp.Text(chromedp.CSS(`[data-testid="classes"] ul`)))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(classes, "3年2組") {
		t.Fatalf("class list after adding: %q", classes)
	}
	browsertest.Screenshot(t, admin, "console-structure")

	// A duplicate is refused on the field, and nothing else changes.
	err = chromedp.Do(admin,
		chromedp.SetValue(chromedp.CSS(`[data-testid="classes"] #f-grade`), "3"),
		chromedp.SendKeys(chromedp.CSS(`[data-testid="classes"] #f-name`), "2組"),
		chromedp.Click(chromedp.CSS(`[data-testid="class-add"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="error-name"]`)),
	)
	if err != nil {
		t.Fatal(err)
	}
	msg, err := chromedp.Run(admin, chromedp.Text(chromedp.CSS(`[data-testid="error-name"]`)))
	if err != nil || !strings.Contains(msg, "同じ年度・学年に同じ名前の学級があります") {
		t.Errorf("duplicate class message = %q (%v)", msg, err)
	}

	err = chromedp.Do(admin,
		chromedp.Click(chromedp.CSS(`[data-testid="tab-staff"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="staff-list"]`)),
		chromedp.Click(chromedp.CSS(`a[href="/admin/staff/`+apptest.Itoa(w.TeacherA.ID)+`"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="duties"]`)),
		chromedp.SetValue(chromedp.CSS(`#f-duty`), "homeroom"),
	)
	if err != nil {
		t.Fatal(err)
	}
	value, err := chromedp.Run(admin, chromedp.Evaluate[string](`[...document.querySelectorAll('#f-class option')].find(o => o.textContent === '3年2組').value`))
	if err != nil {
		t.Fatal(err)
	}
	err = chromedp.Do(admin,
		chromedp.SetValue(chromedp.CSS(`#f-class`), value),
		chromedp.Click(chromedp.CSS(`[data-testid="duty-add"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="flash"]`)),
	)
	if err != nil {
		t.Fatal(err)
	}
	duties, err := chromedp.Run(admin, chromedp.Text(chromedp.CSS(`[data-testid="duties"] ul`)))
	if err != nil || !strings.Contains(duties, "3年2組 担任") {
		t.Fatalf("duties after assigning: %q (%v)", duties, err)
	}
	browsertest.Screenshot(t, admin, "console-staff-duty")

	// The console works on a phone: the staff list fits the width.
	err = chromedp.Do(admin,
		chromedp.EmulateViewport(360, 740),
		chromedp.Navigate(base+"/admin/schools/"+apptest.Itoa(w.SchoolA.ID)+"/staff"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="staff-list"]`)),
	)
	if err != nil {
		t.Fatal(err)
	}
	overflow, err := chromedp.Run(admin, chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth`))
	if err != nil || overflow {
		t.Errorf("staff list wider than a phone (%v)", err)
	}
	browsertest.Screenshot(t, admin, "console-staff-phone")

	// The teacher signs in on a phone and sees the class among their duties, and opens it.
	teacher := browsertest.New(t, 360, 740)
	apptest.BrowserSignIn(t, teacher, base, "teacher.a")
	home, err := chromedp.Run(teacher, chromedp.Text(chromedp.CSS(`[data-testid="duties"]`)))
	if err != nil {
		t.Fatalf("teacher home: %v", err)
	}
	if !strings.Contains(home, "3年2組 担任") {
		t.Fatalf("teacher's duties = %q", home)
	}
	err = chromedp.Do(teacher,
		chromedp.Click(chromedp.CSS(`[data-testid="duties"] a`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="class-label"]`)),
	)
	if err != nil {
		t.Fatal(err)
	}
	label, err := chromedp.Run(teacher, chromedp.Text(chromedp.CSS(`[data-testid="class-label"]`)))
	if err != nil || label != "3年2組" {
		t.Errorf("class page = %q (%v)", label, err)
	}
	classURL, err := chromedp.Run(teacher, chromedp.Evaluate[string](`location.pathname`))
	if err != nil {
		t.Fatalf("the class page's path: %v", err)
	}
	browsertest.Screenshot(t, teacher, "teacher-class")

	// A second teacher of the same school does not see it, not even by its URL.
	other := browsertest.New(t, 360, 740)
	apptest.BrowserSignIn(t, other, base, second.Login.Reveal())
	if _, err := chromedp.Run(other, chromedp.Text(chromedp.CSS(`[data-testid="no-duties"]`))); err != nil {
		t.Fatalf("second teacher's home: %v", err)
	}
	err = chromedp.Do(other, chromedp.Navigate(base+classURL), chromedp.WaitVisible(chromedp.CSS(`[data-testid="error"]`)))
	if err != nil {
		t.Fatal(err)
	}
	body, err := chromedp.Run(other, chromedp.Text(chromedp.CSS(`main`)))
	if err != nil {
		t.Fatalf("reading the refusal page: %v", err)
	}
	if strings.Contains(body, "3年2組") {
		t.Errorf("second teacher saw the class: %q", body)
	}
	browsertest.Screenshot(t, other, "second-teacher-refused")
}
