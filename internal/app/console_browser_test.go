package app_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/pquerna/otp/totp"

	"github.com/renraku/renraku/internal/authz"
	"github.com/renraku/renraku/internal/browsertest"
	"github.com/renraku/renraku/internal/pgtest"
	"github.com/renraku/renraku/internal/staff/stafftest"
)

// browserSignIn signs in through the pages as a person would, setting up the
// authenticator app when asked (the test plays the app).
func browserSignIn(t *testing.T, ctx context.Context, base, login string) {
	t.Helper()
	err := chromedp.Do(ctx,
		chromedp.Navigate(base+"/staff/login"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="signin"]`)),
		chromedp.SendKeys(chromedp.CSS(`#f-login`), login),
		chromedp.SendKeys(chromedp.CSS(`#f-password`), stafftest.Password),
		chromedp.Click(chromedp.CSS(`[data-testid="signin-submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="enrol"]`)),
	)
	if err != nil {
		t.Fatalf("sign in %s: %v", login, err)
	}
	browsertest.Screenshot(t, ctx, "enrol-"+login)
	secret, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`[data-testid="totp-secret"]`)))
	if err != nil {
		t.Fatal(err)
	}
	code, _ := totp.GenerateCode(strings.TrimSpace(secret), time.Now())
	err = chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.CSS(`#f-code`), code),
		chromedp.Click(chromedp.CSS(`[data-testid="enrol-submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="recovery-codes"]`)),
		chromedp.Click(chromedp.CSS(`[data-testid="continue"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="staff-home"]`)),
	)
	if err != nil {
		t.Fatalf("enrol %s: %v", login, err)
	}
}

func TestConsoleClassAndDutyInChromium(t *testing.T) {
	t.Parallel()
	browsertest.RequireJapaneseFont(t)
	a := startApp(t, pgtest.NewDBURL(t), nil)
	w := stafftest.Build(t, a.Pool(), a.Services().Vault)
	second := w.MustCreateStaff(t, authz.Teacher, w.SchoolA.ID, "second.teacher", "二番 先生")
	base := a.URL()

	// The school administrator signs in, creates 3年2組 and makes teacher.a its homeroom
	// teacher.
	admin := browsertest.New(t, 1280, 900)
	browserSignIn(t, admin, base, "admin.a")
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
	msg, _ := chromedp.Run(admin, chromedp.Text(chromedp.CSS(`[data-testid="error-name"]`)))
	if !strings.Contains(msg, "同じ年度・学年に同じ名前の学級があります") {
		t.Errorf("duplicate class message = %q", msg)
	}

	err = chromedp.Do(admin,
		chromedp.Click(chromedp.CSS(`[data-testid="tab-staff"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="staff-list"]`)),
		chromedp.Click(chromedp.CSS(`a[href="/admin/staff/`+id(w.TeacherA.ID)+`"]`)),
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
	duties, _ := chromedp.Run(admin, chromedp.Text(chromedp.CSS(`[data-testid="duties"] ul`)))
	if !strings.Contains(duties, "3年2組 担任") {
		t.Fatalf("duties after assigning: %q", duties)
	}
	browsertest.Screenshot(t, admin, "console-staff-duty")

	// The console works on a phone: the staff list fits the width.
	err = chromedp.Do(admin,
		chromedp.EmulateViewport(360, 740),
		chromedp.Navigate(base+"/admin/schools/"+id(w.SchoolA.ID)+"/staff"),
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
	browserSignIn(t, teacher, base, "teacher.a")
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
	label, _ := chromedp.Run(teacher, chromedp.Text(chromedp.CSS(`[data-testid="class-label"]`)))
	if label != "3年2組" {
		t.Errorf("class page = %q", label)
	}
	classURL, _ := chromedp.Run(teacher, chromedp.Evaluate[string](`location.pathname`))
	browsertest.Screenshot(t, teacher, "teacher-class")

	// A second teacher of the same school does not see it, not even by its URL.
	other := browsertest.New(t, 360, 740)
	browserSignIn(t, other, base, second.Login.Reveal())
	if _, err := chromedp.Run(other, chromedp.Text(chromedp.CSS(`[data-testid="no-duties"]`))); err != nil {
		t.Fatalf("second teacher's home: %v", err)
	}
	err = chromedp.Do(other, chromedp.Navigate(base+classURL), chromedp.WaitVisible(chromedp.CSS(`[data-testid="error"]`)))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := chromedp.Run(other, chromedp.Text(chromedp.CSS(`main`)))
	if strings.Contains(body, "3年2組") {
		t.Errorf("second teacher saw the class: %q", body)
	}
	browsertest.Screenshot(t, other, "second-teacher-refused")
}
