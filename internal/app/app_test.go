package app_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/renraku/renraku/internal/apptest"
	"github.com/renraku/renraku/internal/schema"

	"github.com/PuerkitoBio/goquery"
	"github.com/jackc/pgx/v5"

	"github.com/renraku/renraku/internal/app"
	"github.com/renraku/renraku/internal/config"
	"github.com/renraku/renraku/internal/demo"
	"github.com/renraku/renraku/internal/logging"
	"github.com/renraku/renraku/internal/pgtest"
	"github.com/renraku/renraku/internal/staff"
	"github.com/renraku/renraku/internal/staff/stafftest"
	"github.com/renraku/renraku/internal/vault/vaulttest"
)

func TestLandingPageEndToEnd(t *testing.T) {
	t.Parallel()
	// The app's goroutines (river's among them) keep logging while the test reads.
	var logs apptest.SyncBuffer
	a := apptest.StartApp(t, pgtest.NewDBURL(t), &logs)

	resp, body := apptest.Get(t, a.URL()+"/?token=should-not-be-logged")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status = %d", resp.StatusCode)
	}
	for _, want := range []string{"学校と保護者の連絡を、LINEで安全に。", "教職員サインイン", `lang="ja"`} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	wantHeaders := map[string]string{
		"Content-Type":           "text/html; charset=utf-8",
		"X-Content-Type-Options": "nosniff",
		"Referrer-Policy":        "no-referrer",
		"X-Frame-Options":        "DENY",
	}
	for k, v := range wantHeaders {
		if got := resp.Header.Get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	csp := resp.Header.Get("Content-Security-Policy")
	for _, want := range []string{"script-src 'self'", "frame-ancestors 'none'", "object-src 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
	if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
		t.Errorf("CSP allows inline code: %q", csp)
	}
	if resp.Header.Get("X-Request-Id") == "" {
		t.Error("no X-Request-Id")
	}
	if resp.Header.Get("Strict-Transport-Security") != "" {
		t.Error("HSTS sent over plain http without an https base URL")
	}
	if strings.Contains(body, "<script>") || strings.Contains(body, " onclick=") || strings.Contains(body, "style=") {
		t.Error("page has inline script or style, which the CSP blocks")
	}

	if strings.Contains(logs.String(), "should-not-be-logged") {
		t.Error("query string reached the log")
	}
	if !strings.Contains(logs.String(), `"route":"/"`) {
		t.Errorf("request log line missing: %s", logs.String())
	}
}

func TestLanguageSwitch(t *testing.T) {
	t.Parallel()
	a := apptest.StartApp(t, pgtest.NewDBURL(t), nil)
	tests := []struct {
		name   string
		url    string
		header []string
		want   string
	}{
		{"default japanese", "/", nil, "教職員サインイン"},
		{"accept-language english", "/", []string{"Accept-Language", "en-US,en;q=0.8"}, "Staff sign-in"},
		{"explicit english", "/?lang=en", nil, "Staff sign-in"},
		{"cookie japanese beats header", "/", []string{"Accept-Language", "en", "Cookie", "lang=ja"}, "教職員サインイン"},
		{"unsupported language", "/?lang=xx", []string{"Accept-Language", "ko"}, "教職員サインイン"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, body := apptest.Get(t, a.URL()+tt.url, tt.header...)
			if !strings.Contains(body, tt.want) {
				t.Errorf("page lacks %q", tt.want)
			}
		})
	}
}

func TestNotFoundPageInJapanese(t *testing.T) {
	t.Parallel()
	a := apptest.StartApp(t, pgtest.NewDBURL(t), nil)
	resp, body := apptest.Get(t, a.URL()+"/no/such/page")
	if resp.StatusCode != http.StatusNotFound || !strings.Contains(body, "ページが見つかりません") {
		t.Fatalf("status %d, body %q", resp.StatusCode, body)
	}
}

func TestStaticAssets(t *testing.T) {
	t.Parallel()
	a := apptest.StartApp(t, pgtest.NewDBURL(t), nil)
	resp, body := apptest.Get(t, a.URL()+"/static/vendor/htmx-2.0.11.min.js")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "htmx") {
		t.Fatalf("htmx: status %d", resp.StatusCode)
	}
	if !strings.Contains(resp.Header.Get("Cache-Control"), "immutable") {
		t.Errorf("vendored asset cache = %q", resp.Header.Get("Cache-Control"))
	}
	if resp, _ := apptest.Get(t, a.URL()+"/static/"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("directory listing status = %d, want 404", resp.StatusCode)
	}
}

func TestMetricsOnlyOnInternalListener(t *testing.T) {
	t.Parallel()
	a := apptest.StartApp(t, pgtest.NewDBURL(t), nil)
	apptest.Get(t, a.URL()+"/")
	resp, body := apptest.Get(t, a.MetricsURL())
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `renraku_http_requests_total{code="200",method="GET",route="/"}`) {
		t.Fatalf("metrics: status %d\n%s", resp.StatusCode, body)
	}
	if resp, _ := apptest.Get(t, a.URL()+"/metrics"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("public /metrics status = %d, want 404", resp.StatusCode)
	}
}

func TestReadiness(t *testing.T) {
	t.Parallel()
	dbURL := pgtest.NewDBURL(t)
	a := apptest.StartApp(t, dbURL, nil)
	ready := func() int {
		resp, _ := apptest.Get(t, a.URL()+"/readyz")
		return resp.StatusCode
	}
	if got := ready(); got != http.StatusOK {
		t.Fatalf("fresh app: readyz = %d", got)
	}
	if resp, _ := apptest.Get(t, a.URL()+"/healthz"); resp.StatusCode != http.StatusOK {
		t.Fatalf("healthz = %d", resp.StatusCode)
	}

	// Schema behind: revert the newest migration under the running app (as the
	// schema's owner: the app's own role may not).
	m, err := schema.NewMigrator(pgtest.OwnerURL(t, dbURL))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if err := m.Down(1); err != nil {
		t.Fatal(err)
	}
	if got := ready(); got != http.StatusServiceUnavailable {
		t.Errorf("schema behind: readyz = %d, want 503", got)
	}
	if err := m.Up(); err != nil {
		t.Fatal(err)
	}
	if got := ready(); got != http.StatusOK {
		t.Errorf("schema current again: readyz = %d, want 200", got)
	}

	// Database unreachable: terminate the app's connections and forbid new ones.
	dbName := dbURL[strings.LastIndex(dbURL, "/")+1:]
	if i := strings.Index(dbName, "?"); i >= 0 {
		dbName = dbName[:i]
	}
	admin, err := pgx.Connect(context.Background(), pgtest.AdminURL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(context.Background())
	mustExec(t, admin, "ALTER DATABASE "+pgx.Identifier{dbName}.Sanitize()+" WITH ALLOW_CONNECTIONS false")
	mustExec(t, admin, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", dbName)
	if got := ready(); got != http.StatusServiceUnavailable {
		t.Errorf("database unreachable: readyz = %d, want 503", got)
	}
	mustExec(t, admin, "ALTER DATABASE "+pgx.Identifier{dbName}.Sanitize()+" WITH ALLOW_CONNECTIONS true")
	// The pool drops connections broken by the outage as it meets them: readiness
	// returns within a few probes, as a load balancer would observe it.
	got := 0
	for i := 0; i < 20 && got != http.StatusOK; i++ {
		got = ready()
		time.Sleep(100 * time.Millisecond)
	}
	if got != http.StatusOK {
		t.Errorf("database back: readyz = %d, want 200", got)
	}
}

func TestStartRefusesSchemaBehind(t *testing.T) {
	t.Parallel()
	keyset, masterKey := vaulttest.Keyset(t)
	cfg := &config.Config{DatabaseURL: pgtest.NewEmptyDBURL(t), Addr: "127.0.0.1:0", ShutdownTimeout: time.Second,
		KeysetFile: keyset, MasterKey: masterKey}
	a := app.New(cfg, logging.New(io.Discard, slog.LevelInfo))
	err := a.Start(context.Background())
	_ = a.Close(context.Background())
	if err == nil || !strings.Contains(err.Error(), "renraku migrate up") {
		t.Fatalf("err = %v, want one naming `renraku migrate up`", err)
	}
}

// TestStartRefusesOwnerRole: a server connected as a role that could rewrite the audit
// log (here the schema's owner, a superuser) does not start unless told to accept it;
// as the server's role (every other test) it starts.
func TestStartRefusesOwnerRole(t *testing.T) {
	t.Parallel()
	ownerURL := pgtest.OwnerURL(t, pgtest.NewDBURL(t))
	keyset, masterKey := vaulttest.Keyset(t)
	cfg := &config.Config{DatabaseURL: ownerURL, Addr: "127.0.0.1:0", ShutdownTimeout: time.Second,
		KeysetFile: keyset, MasterKey: masterKey}
	a := app.New(cfg, logging.New(io.Discard, slog.LevelInfo))
	err := a.Start(context.Background())
	_ = a.Close(context.Background())
	if !errors.Is(err, schema.ErrOwnerRole) || !strings.Contains(err.Error(), "RENRAKU_ALLOW_OWNER_ROLE") {
		t.Fatalf("err = %v, want a refusal naming RENRAKU_ALLOW_OWNER_ROLE", err)
	}
	var logs apptest.SyncBuffer
	apptest.StartApp(t, ownerURL, &logs, func(c *config.Config) { c.AllowOwnerRole = true })
	if !bytes.Contains(logs.Bytes(), []byte("RENRAKU_ALLOW_OWNER_ROLE")) {
		t.Errorf("no warning when running as the owner:\n%s", logs.Bytes())
	}
}

func mustExec(t *testing.T, c *pgx.Conn, sql string, args ...any) {
	t.Helper()
	if _, err := c.Exec(context.Background(), sql, args...); err != nil {
		t.Fatal(err)
	}
}

// TestAuditUpkeepUnderServerRole: as the server's role, the audit jobs work: the
// retention job completes (through the database's audit_retain), the chain's signed
// head is written to the log for the operator to keep, and an event a stopped process
// left pending (committed, not sealed) is sealed into the chain at start.
func TestAuditUpkeepUnderServerRole(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	var logs apptest.SyncBuffer
	url := pgtest.NewDBURL(t)
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	mustExec(t, conn, `INSERT INTO audit_pending (occurred_at, actor_kind, action, detail) VALUES (now(), 'system', 'test.left_pending', '{"n":1}')`)
	_ = conn.Close(ctx)
	a := apptest.StartApp(t, url, &logs)
	pool := a.Services().Pool
	deadline := time.Now().Add(60 * time.Second)
	for {
		var done int
		if err := pool.QueryRow(ctx, `SELECT count(*) FROM river_job WHERE kind IN ('audit.retention', 'audit.head', 'audit.seal') AND state = 'completed'`).Scan(&done); err != nil {
			t.Fatal(err)
		}
		if done >= 3 {
			break
		}
		if time.Now().After(deadline) {
			var states []string
			rows, err := pool.Query(ctx, `SELECT kind || ':' || state || ':' || coalesce(errors::text, '') FROM river_job WHERE kind LIKE 'audit.%'`)
			if err != nil {
				t.Fatalf("audit jobs not completed; listing them: %v", err)
			}
			for rows.Next() {
				var s string
				if err := rows.Scan(&s); err != nil {
					t.Fatalf("audit jobs not completed; reading their states: %v", err)
				}
				states = append(states, s)
			}
			if err := rows.Err(); err != nil {
				t.Fatalf("audit jobs not completed; listing them: %v", err)
			}
			t.Fatalf("audit jobs not completed: %v", states)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if !bytes.Contains(logs.Bytes(), []byte("audit-head-v1:")) {
		t.Fatalf("no signed head in the log:\n%s", logs.Bytes())
	}
	var sealed, pending int
	if err := pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM audit_event WHERE action = 'test.left_pending'), (SELECT count(*) FROM audit_pending)`).Scan(&sealed, &pending); err != nil {
		t.Fatal(err)
	}
	if sealed != 1 || pending != 0 {
		t.Fatalf("the event left pending: %d in the chain, %d still pending", sealed, pending)
	}
	rep, err := a.Services().Audit.Verify(ctx, pool)
	if err != nil || !rep.OK {
		t.Fatalf("chain: %v (%v)", rep, err)
	}
}

// TestNotFoundUnderEveryPrefix: a mistyped address under the staff, admin and parent
// prefixes answers the translated 404 page, never 500, whether or not someone is
// signed in (the not-found page used to read a staff session that was never loaded).
func TestNotFoundUnderEveryPrefix(t *testing.T) {
	t.Parallel()
	a := apptest.StartApp(t, pgtest.NewDBURL(t), nil)
	stafftest.Build(t, a.Pool(), a.Services().Vault)
	anonymous := apptest.NewStaffClient(t, a.URL())
	teacher := apptest.NewStaffClient(t, a.URL())
	teacher.SignIn("teacher.a", stafftest.Password)
	admin := apptest.NewStaffClient(t, a.URL())
	admin.SignIn("admin.a", stafftest.Password)
	for _, c := range []struct {
		name string
		c    *apptest.StaffClient
	}{{"signed out", anonymous}, {"teacher", teacher}, {"school administrator", admin}} {
		for _, path := range []string{"/staff/no-such-page", "/staff/clubs/absences", "/admin/no-such-page", "/admin/schools/x/nothing", "/p/no-such-page", "/_sim/phone"} {
			r := c.c.Get(path)
			if r.Status != http.StatusNotFound || !strings.Contains(r.Body, "ページが見つかりません") {
				t.Errorf("%s, GET %s: %d %q", c.name, path, r.Status, apptest.Text(r))
			}
		}
	}
}

// TestHeldReadiness: while the app holds readiness (the dev mode seeding its demo),
// /readyz answers 503 although the app serves; released, it answers 200.
func TestHeldReadiness(t *testing.T) {
	t.Parallel()
	cfg := &config.Config{DatabaseURL: pgtest.NewDBURL(t), Addr: "127.0.0.1:0", ShutdownTimeout: 5 * time.Second}
	keyset, key := vaulttest.Keyset(t)
	cfg.KeysetFile, cfg.MasterKey = keyset, key
	a := app.New(cfg, logging.New(io.Discard, slog.LevelInfo))
	a.HoldReady()
	if err := a.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Close(context.Background()) })
	if resp, _ := apptest.Get(t, a.URL()+"/readyz"); resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("held: /readyz %d", resp.StatusCode)
	}
	if resp, _ := apptest.Get(t, a.URL()+"/healthz"); resp.StatusCode != http.StatusOK {
		t.Fatalf("held: /healthz %d", resp.StatusCode)
	}
	a.ReleaseReady()
	if resp, _ := apptest.Get(t, a.URL()+"/readyz"); resp.StatusCode != http.StatusOK {
		t.Fatalf("released: /readyz %d", resp.StatusCode)
	}
}

// TestDemoSeedResumesAfterInterruption: a first `make run` stopped while it seeded the
// demo left an administrator without a password, and every later start failed
// ("demo: enrol … staff.password.wrong"). Seeding again now finishes the account.
func TestDemoSeedResumesAfterInterruption(t *testing.T) {
	t.Parallel()
	w, _ := apptest.StartDemoWorld(t)
	ctx := context.Background()
	// The state an interruption leaves: the account made, its link never used.
	if _, err := pgtest.Owner(t, w.App.Pool()).Exec(ctx, `UPDATE staff SET password_hash = NULL, totp_secret_enc = NULL, recovery_hashes = '{}'`); err != nil {
		t.Fatal(err)
	}
	logins, err := demo.SeedStaff(ctx, w.App.Services())
	if err != nil {
		t.Fatalf("seeding again after an interruption: %v", err)
	}
	for _, l := range logins {
		if _, err := w.App.Services().Staff.PasswordSignIn(ctx, l.Login, demo.Password, staff.Client{}); err != nil {
			t.Errorf("%s cannot sign in after the resumed seed: %v", l.Login, err)
		}
	}
}

// TestClubAbsencesLinkOnlyForThoseWhoCanUseIt: 部活動の欠席・早退 is linked from the home
// page of advisors and school administrators only, and the link works for each: an
// advisor sees their club, an administrator chooses among the school's clubs.
func TestClubAbsencesLinkOnlyForThoseWhoCanUseIt(t *testing.T) {
	t.Parallel()
	a := apptest.StartApp(t, pgtest.NewDBURL(t), nil)
	w := stafftest.Build(t, a.Pool(), a.Services().Vault)
	for _, tc := range []struct {
		login string
		link  bool
	}{{"advisor.a", true}, {"admin.a", true}, {"homeroom.a11", false}, {"teacher.a", false}, {"board.admin", false}} {
		c := apptest.NewStaffClient(t, a.URL())
		c.SignIn(tc.login, stafftest.Password)
		home := c.Get("/staff/")
		if got := home.Doc.Find(`[data-testid="to-club-absences"]`).Length() == 1; got != tc.link {
			t.Errorf("%s: link shown %v, want %v", tc.login, got, tc.link)
		}
		if !tc.link {
			continue
		}
		page := c.Get("/staff/absences/club")
		if page.Status != http.StatusOK || !strings.Contains(page.Body, w.ClubA.Name) {
			t.Errorf("%s: club absences %d %s", tc.login, page.Status, apptest.Text(page))
		}
	}
}

// TestEveryHomeLinkWorks: every link on each person's home page answers without an
// error, and a board administrator's home is about the board's schools (no school
// year, no class lists, a link to each school's console page).
func TestEveryHomeLinkWorks(t *testing.T) {
	t.Parallel()
	a := apptest.StartApp(t, pgtest.NewDBURL(t), nil)
	w := stafftest.Build(t, a.Pool(), a.Services().Vault)
	for _, login := range []string{"board.admin", "admin.a", "homeroom.a11", "advisor.a", "teacher.a"} {
		c := apptest.NewStaffClient(t, a.URL())
		c.SignIn(login, stafftest.Password)
		home := c.Get("/staff/")
		if home.Status != http.StatusOK {
			t.Fatalf("%s: home %d", login, home.Status)
		}
		home.Doc.Find(`main a[href^="/"]`).Each(func(_ int, s *goquery.Selection) {
			href, _ := s.Attr("href")
			if r := c.Get(href); r.Status >= 400 {
				t.Errorf("%s: the home page's link %s (%q) answers %d", login, href, strings.TrimSpace(s.Text()), r.Status)
			}
		})
		if login != "board.admin" {
			continue
		}
		if got := apptest.Text(home); strings.Contains(got, "0年度") || strings.Contains(got, "学校の管理者に確認") {
			t.Errorf("board home reads as a teacher's: %s", got)
		}
		for _, sc := range []string{w.SchoolA.Name, w.SchoolB.Name} {
			if home.Doc.Find(`[data-testid="board-schools"] a:contains("`+sc+`")`).Length() != 1 {
				t.Errorf("board home lacks a link to %s", sc)
			}
		}
	}
}
