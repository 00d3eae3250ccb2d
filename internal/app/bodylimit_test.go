package app_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"

	"github.com/renraku/renraku/internal/apptest"
	"github.com/renraku/renraku/internal/pgtest"
	"github.com/renraku/renraku/internal/staff/stafftest"
)

// TestBodiesLimitedBeforeParsing: a body too large for its route is refused with 413
// before anything reads it. A 2 MB sign-in is never hashed (no failed sign-in is
// recorded), whether its size is declared or streamed; and every route that takes a
// body, walked from the router as the authorisation matrix does, refuses one byte over
// 64 KiB unless it is one of the upload routes.
func TestBodiesLimitedBeforeParsing(t *testing.T) {
	t.Parallel()
	a := apptest.StartApp(t, pgtest.NewDBURL(t), nil)
	stafftest.Build(t, a.Pool(), a.Services().Vault)
	ctx := context.Background()

	c := apptest.NewStaffClient(t, a.URL())
	huge := url.Values{"csrf": {c.CSRF}, "login": {"teacher.a"}, "password": {strings.Repeat("p", 2<<20)}}.Encode()
	for _, chunked := range []bool{false, true} {
		var body io.Reader = strings.NewReader(huge)
		if chunked {
			// No Content-Length: the limit must hold while the body is read.
			body = io.MultiReader(strings.NewReader(huge))
		}
		req := apptest.MustRequest(t, http.MethodPost, a.URL()+"/staff/login", body)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r := c.Do(req)
		if r.Status != http.StatusRequestEntityTooLarge {
			t.Fatalf("2 MB sign-in (chunked %v): status %d", chunked, r.Status)
		}
		if !strings.Contains(r.Body, "送信された内容が大きすぎます") {
			t.Fatalf("2 MB sign-in (chunked %v): no Japanese message: %s", chunked, apptest.Text(r))
		}
	}
	var failed int
	if err := a.Pool().QueryRow(ctx, `SELECT count(*) FROM audit_event WHERE action = 'staff.sign_in_failed'`).Scan(&failed); err != nil || failed != 0 {
		t.Fatalf("the oversized sign-in reached the password check: %d failed sign-ins recorded, %v", failed, err)
	}
	// A sign-in of ordinary size still works afterwards.
	c.SignIn("teacher.a", stafftest.Password)

	uploads := map[string]bool{
		"POST /line/webhook/{channelID}":                  true,
		"POST /staff/announcements":                       true,
		"POST /staff/announcements/{announcementID}/edit": true,
		"POST /staff/surveys":                             true,
		"POST /staff/surveys/{surveyID}/edit":             true,
		"POST /admin/schools/{schoolID}/roster/import":    true,
	}
	over := strings.Repeat("x", 64<<10+1)
	var walked int
	err := chi.Walk(a.Handler().(chi.Routes), func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		if method == http.MethodGet || method == http.MethodHead {
			return nil
		}
		walked++
		path := route
		for strings.Contains(path, "{") {
			i := strings.Index(path, "{")
			j := strings.Index(path[i:], "}")
			path = path[:i] + "1" + path[i+j+1:]
		}
		req := apptest.MustRequest(t, method, a.URL()+path, strings.NewReader("csrf="+c.CSRF+"&x="+over))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r := c.Do(req)
		if uploads[method+" "+route] {
			if r.Status == http.StatusRequestEntityTooLarge {
				t.Errorf("%s %s: an upload route refused 64 KiB", method, route)
			}
			return nil
		}
		if r.Status != http.StatusRequestEntityTooLarge {
			t.Errorf("%s %s: %d for a body over 64 KiB, want 413", method, route, r.Status)
		}
		return nil
	})
	if err != nil || walked < 40 {
		t.Fatalf("walked %d routes: %v", walked, err)
	}
}
