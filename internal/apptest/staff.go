package apptest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/chromedp/chromedp"

	"github.com/renraku/renraku/internal/authz"
	"github.com/renraku/renraku/internal/browsertest"
	"github.com/renraku/renraku/internal/demo"
	"github.com/renraku/renraku/internal/linesim"
	"github.com/renraku/renraku/internal/staff/stafftest"
)

// StaffClient is a browser without JavaScript: a cookie jar, no automatic redirects,
// and the session's CSRF token read from the pages like a form would.
type StaffClient struct {
	T    testing.TB
	Base string
	HTTP *http.Client
	CSRF string
	// Secret is the TOTP secret the client enrolled, if it did.
	Secret string
}

// NewStaffClient opens the sign-in page of the app at base, as a person arriving does.
func NewStaffClient(t *testing.T, base string) *StaffClient {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	c := &StaffClient{T: t, Base: base, HTTP: &http.Client{Jar: jar, Timeout: 20 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	c.Get("/staff/login")
	return c
}

// Response is what a StaffClient or ParentBrowser got back: the status, the redirect,
// the body and, for an HTML page, the parsed document.
type Response struct {
	Status   int
	Location string
	Header   http.Header
	Body     string
	Doc      *goquery.Document
}

// Do sends req with the client's cookies and keeps the page's CSRF token, if any.
func (c *StaffClient) Do(req *http.Request) Response {
	c.T.Helper()
	resp, err := c.HTTP.Do(req)
	if err != nil {
		c.T.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		c.T.Fatalf("%s %s: reading the answer: %v", req.Method, req.URL.Path, err)
	}
	r := Response{Status: resp.StatusCode, Location: resp.Header.Get("Location"), Header: resp.Header, Body: string(b)}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		if r.Doc, err = goquery.NewDocumentFromReader(strings.NewReader(r.Body)); err != nil {
			c.T.Fatalf("%s %s: parsing the page: %v", req.Method, req.URL.Path, err)
		}
		if tok, ok := r.Doc.Find(`input[name="csrf"]`).First().Attr("value"); ok && tok != "" {
			c.CSRF = tok
		}
	}
	return r
}

// Get requests the page at path.
func (c *StaffClient) Get(path string) Response {
	c.T.Helper()
	return c.Do(MustRequest(c.T, http.MethodGet, c.Base+path, nil))
}

// Post sends a form with the session's CSRF token (unless the form sets its own).
func (c *StaffClient) Post(path string, form url.Values) Response {
	c.T.Helper()
	if form == nil {
		form = url.Values{}
	}
	if _, ok := form["csrf"]; !ok {
		form.Set("csrf", c.CSRF)
	}
	req := MustRequest(c.T, http.MethodPost, c.Base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return c.Do(req)
}

// SignIn signs in with a password and, when asked, enrols or answers a second factor.
func (c *StaffClient) SignIn(login, password string) {
	c.T.Helper()
	r := c.Post("/staff/login", url.Values{"login": {login}, "password": {password}})
	if r.Status != http.StatusSeeOther {
		c.T.Fatalf("sign in %s: status %d: %s", login, r.Status, Text(r))
	}
	switch r.Location {
	case "/staff/totp":
		page := c.Get("/staff/totp")
		c.Secret = strings.TrimSpace(page.Doc.Find(`[data-testid="totp-secret"]`).Text())
		code := stafftest.MustCode(c.T, c.Secret, time.Now())
		if r := c.Post("/staff/totp", url.Values{"code": {code}}); r.Status != http.StatusOK || r.Doc.Find(`[data-testid="recovery-codes"]`).Length() == 0 {
			c.T.Fatalf("enrol %s: %d %s", login, r.Status, Text(r))
		}
	case "/staff/login/code":
		c.Get("/staff/login/code")
		// The code of the next step: the current one may have been used at enrolment.
		code := stafftest.MustCode(c.T, c.Secret, time.Now().Add(30*time.Second))
		if r := c.Post("/staff/login/code", url.Values{"code": {code}}); r.Status != http.StatusSeeOther {
			c.T.Fatalf("second factor %s: %d %s", login, r.Status, Text(r))
		}
	}
	if r := c.Get("/staff/account"); r.Status != http.StatusOK {
		c.T.Fatalf("after sign-in %s: account page %d", login, r.Status)
	}
}

// Text is the page's main text with its white space collapsed (or the whole body when
// the answer is not HTML), for assertions and failure messages.
func Text(r Response) string {
	if r.Doc == nil {
		return r.Body
	}
	return strings.Join(strings.Fields(r.Doc.Find("main").Text()), " ")
}

// Status requests a page whose answer may never end (server-sent events) and returns
// only its status and redirect.
func (c *StaffClient) Status(path string) Response {
	c.T.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := c.HTTP.Do(MustRequest(c.T, http.MethodGet, c.Base+path, nil).WithContext(ctx))
	if err != nil {
		c.T.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	return Response{Status: resp.StatusCode, Location: resp.Header.Get("Location")}
}

// MustRequest builds a request the test sends, stopping the test if it cannot.
func MustRequest(t testing.TB, method, url string, body io.Reader) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatalf("building %s %s: %v", method, url, err)
	}
	return req
}

// MultipartBody encodes fields, then files under the form field fileField, as a browser
// posts a form with file inputs; it returns the body and its Content-Type.
func MultipartBody(t testing.TB, fields url.Values, fileField string, files map[string][]byte) (*bytes.Buffer, string) {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	err := func() error {
		for k, vs := range fields {
			for _, v := range vs {
				if err := mw.WriteField(k, v); err != nil {
					return err
				}
			}
		}
		for name, data := range files {
			fw, err := mw.CreateFormFile(fileField, name)
			if err != nil {
				return err
			}
			if _, err := fw.Write(data); err != nil {
				return err
			}
		}
		return mw.Close()
	}()
	if err != nil {
		t.Fatalf("encoding the form: %v", err)
	}
	return &body, mw.FormDataContentType()
}

// Upload posts a roster file of kind to path, as the roster page's upload form does.
func (c *StaffClient) Upload(path, kind string, file []byte) Response {
	c.T.Helper()
	body, contentType := MultipartBody(c.T, url.Values{"csrf": {c.CSRF}, "kind": {kind}}, "file", map[string][]byte{"名簿.csv": file})
	req := MustRequest(c.T, http.MethodPost, c.Base+path, body)
	req.Header.Set("Content-Type", contentType)
	return c.Do(req)
}

// PostMultipart posts fields, and file (when not nil) as the form's "file", as the
// roster page's forms do.
func (c *StaffClient) PostMultipart(path string, fields map[string]string, file []byte) Response {
	c.T.Helper()
	form := url.Values{"csrf": {c.CSRF}}
	for k, v := range fields {
		form.Set(k, v)
	}
	var files map[string][]byte
	if file != nil {
		files = map[string][]byte{"template.csv": file}
	}
	body, contentType := MultipartBody(c.T, form, "file", files)
	req := MustRequest(c.T, http.MethodPost, c.Base+path, body)
	req.Header.Set("Content-Type", contentType)
	return c.Do(req)
}

// SamplePDF is a small, well-formed PDF with a marker in it.
func SamplePDF(marker string) []byte {
	return []byte("%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\n% " +
		marker + "\ntrailer << /Root 1 0 R >>\n%%EOF\n")
}

// Compose posts the compose form with files, as a browser does.
func (c *StaffClient) Compose(fields url.Values, files map[string][]byte) Response {
	c.T.Helper()
	return c.ComposeTo("/staff/announcements", fields, files)
}

// ComposeTo posts a compose form (new or edit) to path.
func (c *StaffClient) ComposeTo(path string, fields url.Values, files map[string][]byte) Response {
	c.T.Helper()
	form := url.Values{"csrf": {c.CSRF}}
	for k, vs := range fields {
		form[k] = append(form[k], vs...)
	}
	body, contentType := MultipartBody(c.T, form, "files", files)
	req := MustRequest(c.T, http.MethodPost, c.Base+path, body)
	req.Header.Set("Content-Type", contentType)
	return c.Do(req)
}

// Received counts the bot's messages to a user that contain want.
func Received(w *LineWorld, user, want string) int {
	n := 0
	for _, it := range w.Sim.Chat(w.Ch.LineChannelID, user) {
		if it.From == linesim.FromBot && strings.Contains(it.Text, want) {
			n++
		}
	}
	return n
}

// WaitReceived waits until every user has received want exactly once.
func WaitReceived(t *testing.T, w *LineWorld, want string, users ...linesim.User) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for _, u := range users {
		for Received(w, u.ID, want) == 0 && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
		if n := Received(w, u.ID, want); n != 1 {
			t.Fatalf("%s received %q %d times", u.DisplayName, want, n)
		}
	}
}

// WaitPage reloads a staff page until done says it shows what the test waits for.
func WaitPage(t *testing.T, c *StaffClient, path string, done func(Response) bool) {
	t.Helper()
	var r Response
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if r = c.Get(path); done(r) {
			return
		}
	}
	t.Fatalf("%s never showed what was waited for: %s", path, Text(r))
}

// BrowserSignIn signs in through the pages as a person would, setting up the
// authenticator app when asked (the test plays the app).
func BrowserSignIn(t *testing.T, ctx context.Context, base, login string) {
	t.Helper()
	BrowserSignInFrom(t, ctx, base+"/staff/login", login)
}

// BrowserSignInFrom is browserSignIn starting from the sign-in page at loginURL (with
// a next parameter, say); it ends wherever the pages send the person.
func BrowserSignInFrom(t *testing.T, ctx context.Context, loginURL, login string) {
	t.Helper()
	err := chromedp.Do(ctx,
		chromedp.Navigate(loginURL),
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
	code := stafftest.MustCode(t, strings.TrimSpace(secret), time.Now())
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

// SignedInAs returns a context acting as the staff member with login, for calling
// services directly.
func SignedInAs(t testing.TB, w *LineWorld, login string) context.Context {
	t.Helper()
	s := w.App.Services()
	st, err := s.Staff.FindByLogin(context.Background(), login)
	if err != nil {
		t.Fatal(err)
	}
	a, err := s.Staff.Actor(context.Background(), st.ID, st.SessionEpoch)
	if err != nil {
		t.Fatal(err)
	}
	return authz.WithActor(context.Background(), a)
}

// NewStaffClientSignedIn signs a demo login in over HTTP (with its second factor).
func NewStaffClientSignedIn(t *testing.T, w *LineWorld, logins []demo.Login, login string) *StaffClient {
	t.Helper()
	c := NewStaffClient(t, w.App.URL())
	for _, l := range logins {
		if l.Login == login {
			c.Secret = l.TOTPSecret
		}
	}
	c.SignIn(login, demo.Password)
	return c
}

// Outcome is what a persona gets from a route.
type Outcome string

// The outcomes of a request, as the authorisation tests see them.
const (
	OK        Outcome = "ok"        // 2xx, or a redirect that is not to the sign-in page
	Login     Outcome = "login"     // sent to sign in (303 to /staff/login, or 401)
	Forbidden Outcome = "forbidden" // 403
	NotFound  Outcome = "not found" // 404: the object is outside the persona's reach
	Public    Outcome = "public"    // not a staff route: anything but a 5xx
)

// Classify sorts an answer into the outcome an authorisation test expects.
func Classify(r Response) Outcome {
	switch {
	case r.Status == http.StatusUnauthorized || (r.Status == http.StatusSeeOther && strings.HasPrefix(r.Location, "/staff/login?next=")):
		// A page sends a visitor to sign in and come back; other requests get 401. (A
		// plain redirect to /staff/login is what signing out answers.)
		return Login
	case r.Status == http.StatusForbidden:
		return Forbidden
	case r.Status == http.StatusNotFound:
		return NotFound
	case r.Status < 400:
		return OK
	case r.Status == http.StatusUnprocessableEntity, r.Status == http.StatusConflict:
		// The request was authorised and its input or the state checked: the form came
		// back with the reason (a rollover's parents asked before February).
		return OK
	}
	return Outcome(fmt.Sprintf("status %d", r.Status))
}
