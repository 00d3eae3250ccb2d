package app_test

// Fuzz targets for what parents and LINE send the app: the webhook, the absence and
// registration forms, and LIFF's ID-token check. Each starts one app (with the LINE
// simulator) per fuzz target, not per input, and checks for every input: the app never
// answers 5xx, and a refused request changes nothing stored. Seed corpora are in
// testdata/fuzz/<target>; `make fuzz` runs each target for a while.

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/renraku/renraku/internal/absence"
	"github.com/renraku/renraku/internal/apptest"
	"github.com/renraku/renraku/internal/demo"
	"github.com/renraku/renraku/internal/line"
	"github.com/renraku/renraku/internal/linesim"
	"github.com/renraku/renraku/internal/registration"
)

// tableDigest returns a digest of every row of each table (a name or a parenthesised
// SELECT), to compare before and after a request.
func tableDigest(t *testing.T, w *apptest.LineWorld, tables ...string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, tb := range tables {
		var d string
		err := w.App.Pool().QueryRow(context.Background(),
			`SELECT count(*)::text || ':' || coalesce(md5(string_agg(x::text, ',' ORDER BY x::text)), '') FROM `+tb+` x`).Scan(&d)
		if err != nil {
			t.Fatal(err)
		}
		out[tb] = d
	}
	return out
}

func sameDigest(t *testing.T, what string, before, after map[string]string) {
	t.Helper()
	for tb, d := range before {
		if after[tb] != d {
			t.Fatalf("%s changed table %s (%s → %s)", what, tb, d, after[tb])
		}
	}
}

// fuzzPost sends one request and returns its status and body. A request the client
// refuses to send (a header with a control character) is skipped: no server sees it.
func fuzzPost(t *testing.T, c *http.Client, u, contentType string, body []byte, header http.Header) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		t.Skip("not a request:", err)
	}
	for k, vs := range header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := c.Do(req)
	if err != nil {
		if strings.Contains(err.Error(), "invalid header") || strings.Contains(err.Error(), "invalid ") && strings.Contains(err.Error(), "field") {
			t.Skip("the client refuses to send it:", err)
		}
		t.Fatalf("POST: %v", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("POST: reading the answer: %v", err)
	}
	return resp.StatusCode, string(b)
}

func noClientRedirects(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// storedEvents are the stored events as ingest wrote them (processing, which goes on
// meanwhile, marks them done and wipes their payload).
const storedEvents = `(SELECT id, channel_id, webhook_event_id, event_type, user_key, occurred_at, redelivered FROM line_event)`

// FuzzWebhook posts bodies to the LINE webhook, signed with the channel's secret (the
// path every event takes once LINE vouches for it) or with the fuzzed channel ID and
// signature headers. Never a 5xx; a refused request stores no event; an accepted one
// stores every event it carries.
func FuzzWebhook(f *testing.F) {
	w := apptest.StartLineWorld(f)
	client := &http.Client{Timeout: 20 * time.Second, CheckRedirect: noClientRedirects}
	secret := []byte(w.Ch.Secret.Reveal())
	var chID int64
	if err := w.App.Pool().QueryRow(context.Background(), `SELECT id FROM line_channel WHERE line_channel_id = $1`, w.Ch.LineChannelID).Scan(&chID); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, signed bool, channel, signatures string, body []byte) {
		// Accepted events are processed meanwhile; River records a panic in a job's
		// errors with its stack trace. It surfaces at the next input, not the culprit:
		// the message names the event type to start from.
		var panicked string
		err := w.App.Pool().QueryRow(context.Background(), `SELECT coalesce(string_agg(DISTINCT e.event_type, ','), '')
			FROM river_job j JOIN line_event e ON e.id = (j.args->>'event_id')::bigint
			WHERE j.kind = 'line.process_event' AND EXISTS (SELECT 1 FROM unnest(j.errors) a WHERE coalesce(a->>'trace', '') <> '')`).Scan(&panicked)
		if err != nil {
			t.Fatal(err)
		}
		if panicked != "" {
			t.Fatalf("processing an earlier accepted event panicked (event types %s)", panicked)
		}
		header := http.Header{}
		if signed {
			m := hmac.New(sha256.New, secret)
			m.Write(body)
			channel = w.Ch.LineChannelID
			header.Set("X-Line-Signature", base64.StdEncoding.EncodeToString(m.Sum(nil)))
		} else {
			channel = strings.ReplaceAll(channel, "{channel}", w.Ch.LineChannelID)
			// Several lines are several X-Line-Signature headers.
			for _, s := range strings.Split(signatures, "\n") {
				header.Add("X-Line-Signature", s)
			}
		}
		before := tableDigest(t, w, storedEvents)
		status, _ := fuzzPost(t, client, w.App.URL()+"/line/webhook/"+url.PathEscape(channel), "application/json", body, header)
		if status >= 500 {
			t.Fatalf("webhook answered %d", status)
		}
		if status != http.StatusOK {
			sameDigest(t, "a refused webhook ("+strconv.Itoa(status)+")", before, tableDigest(t, w, storedEvents))
			return
		}
		// Accepted: every event it names is stored for the channel.
		var cb struct {
			Events []struct {
				WebhookEventID string `json:"webhookEventId"`
			} `json:"events"`
		}
		if err := json.Unmarshal(body, &cb); err != nil {
			t.Fatalf("accepted a body that is not JSON: %v", err)
		}
		ids := map[string]bool{}
		for _, e := range cb.Events {
			ids[e.WebhookEventID] = true
		}
		for id := range ids {
			var n int
			if err := w.App.Pool().QueryRow(context.Background(), `SELECT count(*) FROM line_event WHERE channel_id = $1 AND webhook_event_id = $2`, chID, id).Scan(&n); err != nil {
				t.Fatal(err)
			}
			if n != 1 {
				t.Fatalf("accepted event %q stored %d times", id, n)
			}
		}
	})
}

// parentWorld is an app with a registered parent (child in 1年1組 of the demo school,
// verified by the class code) and their browser, for the parent-page targets.
type parentWorld struct {
	*apptest.LineWorld
	client  *http.Client
	user    linesim.User
	userID  string
	childID int64
}

func startParentWorld(f *testing.F, liff bool) *parentWorld {
	f.Helper()
	return startParentWorldBehind(f, liff, nil)
}

func startParentWorldBehind(f *testing.F, liff bool, wrap func(http.Handler) http.Handler) *parentWorld {
	f.Helper()
	w := apptest.StartLineWorldBehind(f, wrap)
	ctx := context.Background()
	if _, err := demo.SeedStaff(ctx, w.App.Services()); err != nil {
		f.Fatal(err)
	}
	s := w.App.Services()
	sakuraID, class11, _ := apptest.SchoolAndClass(f, w, demo.Schools[0].Name, "1年1組")
	kocho := apptest.SignedInAs(f, w, "sakura.kocho")
	sakura, err := s.Schools.Get(kocho, sakuraID)
	if err != nil {
		f.Fatal(err)
	}
	codes, err := s.Registration.Codes(kocho, sakura.BoardID, sakuraID, 0)
	if err != nil {
		f.Fatal(err)
	}
	var code string
	for _, c := range codes {
		if c.ClassID == class11 {
			code = registration.FormatCode(c.Code.Reveal())
		}
	}
	u, b := apptest.RegisteredParent(f, w, "保護者 花子", "試験 はな", code)
	pw := &parentWorld{LineWorld: w, client: b.C.HTTP, user: u, userID: u.ID}
	if err := w.App.Pool().QueryRow(ctx, `SELECT id FROM child ORDER BY id DESC LIMIT 1`).Scan(&pw.childID); err != nil {
		f.Fatal(err)
	}
	if liff {
		apptest.WithLIFF(f, w)
	}
	return pw
}

// updateLink taps 「自分の情報を更新する」 and returns the update link it brings.
func (pw *parentWorld) updateLink(f *testing.F) string {
	f.Helper()
	if _, err := pw.Sim.Postback(pw.Ch.LineChannelID, pw.userID, line.PostbackData("menu.profile", ""), nil); err != nil {
		f.Fatal(err)
	}
	return apptest.LinkIn(f, pw.LineWorld, pw.userID, "登録内容を確認・変更できます", 1)
}

// placeholders replaces the seeds' placeholders with this run's values, so that seeds
// stay valid inputs whatever the day and IDs: {child}, {school}, {class}, {today},
// {tomorrow}, {key} (a fresh form key).
func (pw *parentWorld) placeholders(t *testing.T, body []byte) ([]byte, bool) {
	t.Helper()
	sakuraID, class11, club := apptest.SchoolAndClass(t, pw.LineWorld, demo.Schools[0].Name, "1年1組")
	today := absence.Today(time.Now())
	key := make([]byte, 12)
	if _, err := rand.Read(key); err != nil {
		t.Fatalf("generating a form key: %v", err)
	}
	fresh := bytes.Contains(body, []byte("{key}"))
	r := strings.NewReplacer("{child}", strconv.FormatInt(pw.childID, 10), "{school}", strconv.FormatInt(sakuraID, 10),
		"{class}", strconv.FormatInt(class11, 10), "{club}", strconv.FormatInt(club, 10),
		"{today}", today.Format("2006-01-02"), "{tomorrow}", today.AddDate(0, 0, 1).Format("2006-01-02"),
		"{key}", hex.EncodeToString(key))
	return []byte(r.Replace(string(body))), fresh
}

// FuzzAbsenceForm posts bodies (of any content type) to a parent's absence form. Never
// a 5xx; a refused form stores nothing; an accepted one stores the report it describes.
func FuzzAbsenceForm(f *testing.F) {
	pw := startParentWorld(f, false)
	link := apptest.AbsenceLink(f, pw.LineWorld, pw.user, 1)
	if r := getWith(f, pw.client, link); r != http.StatusOK {
		f.Fatalf("absence page: %d", r)
	}
	// The world takes a good report: refusals below are the input's doing.
	today := absence.Today(time.Now()).Format("2006-01-02")
	good := url.Values{"child": {strconv.FormatInt(pw.childID, 10)}, "kind": {"absent"}, "from": {today}, "reason": {"family"}, "key": {"setup-key-0123456789"}}
	if r := newParentBrowserWith(f, pw.client).Post(link, good); !strings.Contains(r.Body, `data-testid="absence-done"`) {
		f.Fatalf("a good report: %d %s", r.Status, apptest.Text(r))
	}
	f.Fuzz(func(t *testing.T, contentType string, body []byte) {
		body, _ = pw.placeholders(t, body)
		before := tableDigest(t, pw.LineWorld, "absence_report")
		status, page := fuzzPost(t, pw.client, link, contentType, body, http.Header{"Origin": {pw.App.URL()}})
		if status >= 500 {
			t.Fatalf("absence form answered %d", status)
		}
		if !strings.Contains(page, `data-testid="absence-done"`) {
			sameDigest(t, "a refused absence form ("+strconv.Itoa(status)+")", before, tableDigest(t, pw.LineWorld, "absence_report"))
			return
		}
		form, err := url.ParseQuery(string(body))
		if err != nil {
			return // accepted through a content type whose fields are not checked here
		}
		var n int
		err = pw.App.Pool().QueryRow(context.Background(), `SELECT count(*) FROM absence_report WHERE child_id = $1 AND kind = $2 AND date_from = $3::date AND status = 'sent'`,
			pw.childID, form.Get("kind"), strings.TrimSpace(form.Get("from"))).Scan(&n)
		if err != nil || n == 0 {
			t.Fatalf("accepted report (%s from %q) not stored: %v", form.Get("kind"), form.Get("from"), err)
		}
	})
}

// newParentBrowserWith is a parentBrowser on an existing client (its cookies).
func newParentBrowserWith(t testing.TB, c *http.Client) *apptest.ParentBrowser {
	return &apptest.ParentBrowser{T: t, C: &apptest.StaffClient{T: t, HTTP: c}}
}

func getWith(t testing.TB, c *http.Client, u string) int {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode
}

// registrationTables are what a registration writes.
var registrationTables = []string{"guardian", "child", "child_club", "guardianship", "deletion_record"}

// FuzzRegistrationForm posts bodies to the registered parent's update link. Never a
// 5xx; a refused form changes no registration; an accepted one stores the guardian
// with as many children as the form has.
func FuzzRegistrationForm(f *testing.F) {
	pw := startParentWorld(f, false)
	link := pw.updateLink(f)
	if r := getWith(f, pw.client, link); r != http.StatusOK {
		f.Fatalf("update page: %d", r)
	}
	sakuraID, class11, _ := apptest.SchoolAndClass(f, pw.LineWorld, demo.Schools[0].Name, "1年1組")
	good := url.Values{"consent": {"yes"}, "name": {"保護者 花子"}, "relationship": {"mother"}, "child.0.name": {"試験 はな"},
		"child.0.school": {strconv.FormatInt(sakuraID, 10)}, "child.0.class": {strconv.FormatInt(class11, 10)}, "op": {"save"}}
	if r := newParentBrowserWith(f, pw.client).Post(link, good); !strings.Contains(r.Body, `data-testid="registration-done"`) {
		f.Fatalf("the registration again: %d %s", r.Status, apptest.Text(r))
	}
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, contentType string, body []byte) {
		body, _ = pw.placeholders(t, body)
		// Wrong class codes are counted on purpose even though the form is refused;
		// forgetting them keeps the fuzzer from being locked out.
		if _, err := pw.App.Pool().Exec(ctx, `DELETE FROM signin_throttle`); err != nil {
			t.Fatal(err)
		}
		before := tableDigest(t, pw.LineWorld, registrationTables...)
		status, page := fuzzPost(t, pw.client, link, contentType, body, http.Header{"Origin": {pw.App.URL()}})
		if status >= 500 {
			t.Fatalf("registration form answered %d", status)
		}
		if !strings.Contains(page, `data-testid="registration-done"`) {
			sameDigest(t, "a refused registration ("+strconv.Itoa(status)+")", before, tableDigest(t, pw.LineWorld, registrationTables...))
			return
		}
		form, err := url.ParseQuery(string(body))
		if err != nil || !strings.HasPrefix(contentType, "application/x-www-form-urlencoded") {
			return
		}
		// The world's only guardian is the fuzzed parent.
		var children int
		if err := pw.App.Pool().QueryRow(ctx, `SELECT count(*) FROM guardianship`).Scan(&children); err != nil {
			t.Fatal(err)
		}
		if want := childBlocks(form); children != want {
			t.Fatalf("accepted form with %d children stored %d", want, children)
		}
	})
}

// childBlocks counts the child blocks of a registration form as the page numbers them.
func childBlocks(form url.Values) int {
	seen := map[int]bool{}
	for k := range form {
		if rest, ok := strings.CutPrefix(k, "child."); ok {
			n, _, _ := strings.Cut(rest, ".")
			if i, err := strconv.Atoi(n); err == nil && i >= 0 && i < 50 {
				seen[i] = true
			}
		}
	}
	return len(seen)
}

// liffAnswer is what the stand-in for LINE's verify endpoint answers (nil: the
// simulator answers).
type liffAnswer struct {
	mu     sync.Mutex
	status int
	body   []byte
}

func (a *liffAnswer) set(status int, body []byte) {
	a.mu.Lock()
	a.status, a.body = status, body
	a.mu.Unlock()
}

func (a *liffAnswer) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.mu.Lock()
		status, body := a.status, a.body
		a.mu.Unlock()
		if status == 0 || r.URL.Path != "/oauth2/v2.1/verify" {
			next.ServeHTTP(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = w.Write(body)
	})
}

// FuzzLIFFVerify posts ID tokens to a registration link's LIFF check, and has LINE's
// verify endpoint answer either as the simulator does (checking the fuzzed token) or
// with a fuzzed status and body. Never a 500: 503 exactly when LINE failed (an answer
// that is neither its refusal nor its JSON), so the parent knows to try again; the link is bound to a LIFF-
// proved browser only when LINE's answer names the link's user for the login channel.
func FuzzLIFFVerify(f *testing.F) {
	ans := &liffAnswer{}
	pw := startParentWorldBehind(f, true, ans.wrap)
	link := pw.updateLink(f)
	other := pw.NewParent(f, "別の利用者")
	f.Fuzz(func(t *testing.T, idToken string, fake bool, status int, answer []byte) {
		valid := idToken == "{valid}"
		switch idToken {
		case "{valid}":
			idToken = pw.Sim.IssueIDToken(apptest.LoginChannelID, pw.userID, time.Hour)
		case "{expired}":
			idToken = pw.Sim.IssueIDToken(apptest.LoginChannelID, pw.userID, -time.Hour)
		case "{other}":
			idToken = pw.Sim.IssueIDToken(apptest.LoginChannelID, other.ID, time.Hour)
		}
		proved, lineFailed := false, false
		if fake {
			if status < 200 || status > 599 {
				status = 200 + (status%400+400)%400
			}
			answer = bytes.ReplaceAll(bytes.ReplaceAll(answer, []byte("{sub}"), []byte(pw.userID)), []byte("{aud}"), []byte(apptest.LoginChannelID))
			var claims struct {
				Sub, Aud any
			}
			// The app reads 16 KiB of LINE's answer, more than LINE ever sends.
			readable := len(answer) <= 16<<10 && json.Unmarshal(answer, &claims) == nil
			proved = status == http.StatusOK && readable && claims.Sub == pw.userID && claims.Aud == apptest.LoginChannelID
			// Anything but LINE's refusal (400) or LINE's JSON is LINE failing.
			lineFailed = status != http.StatusOK && status != http.StatusBadRequest || status == http.StatusOK && !readable
			ans.set(status, answer)
		} else {
			ans.set(0, nil)
			proved = valid
		}
		before := tableDigest(t, pw.LineWorld, "parent_link")
		form := url.Values{"id_token": {idToken}}.Encode()
		code, _ := fuzzPost(t, pw.client, link+"/liff", "application/x-www-form-urlencoded", []byte(form), http.Header{"Origin": {pw.App.URL()}})
		if lineFailed != (code == http.StatusServiceUnavailable) || code >= 500 && code != http.StatusServiceUnavailable {
			t.Fatalf("LIFF check answered %d to LINE's answer %d %q", code, status, answer)
		}
		if (code == http.StatusNoContent) != proved {
			t.Fatalf("LIFF check answered %d to a token LINE's answer (%d %q) proves: %v", code, status, answer, proved)
		}
		if !proved {
			sameDigest(t, "a refused LIFF check ("+strconv.Itoa(code)+")", before, tableDigest(t, pw.LineWorld, "parent_link"))
		}
	})
}
