package app_test

import (
	"bytes"
	"context"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"github.com/renraku/renraku/internal/staff/stafftest"
)

// staffClient is a browser without JavaScript: a cookie jar, no automatic redirects,
// and the session's CSRF token read from the pages like a form would.
type staffClient struct {
	t    testing.TB
	base string
	http *http.Client
	csrf string
	// secret is the TOTP secret the client enrolled, if it did.
	secret string
}

func newStaffClient(t *testing.T, base string) *staffClient {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	c := &staffClient{t: t, base: base, http: &http.Client{Jar: jar, Timeout: 20 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	c.get("/staff/login")
	return c
}

type response struct {
	status   int
	location string
	header   http.Header
	body     string
	doc      *goquery.Document
}

func (c *staffClient) do(req *http.Request) response {
	c.t.Helper()
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatalf("%s %s: reading the answer: %v", req.Method, req.URL.Path, err)
	}
	r := response{status: resp.StatusCode, location: resp.Header.Get("Location"), header: resp.Header, body: string(b)}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		if r.doc, err = goquery.NewDocumentFromReader(strings.NewReader(r.body)); err != nil {
			c.t.Fatalf("%s %s: parsing the page: %v", req.Method, req.URL.Path, err)
		}
		if tok, ok := r.doc.Find(`input[name="csrf"]`).First().Attr("value"); ok && tok != "" {
			c.csrf = tok
		}
	}
	return r
}

func (c *staffClient) get(path string) response {
	c.t.Helper()
	return c.do(mustRequest(c.t, http.MethodGet, c.base+path, nil))
}

// post sends a form with the session's CSRF token (unless the form sets its own).
func (c *staffClient) post(path string, form url.Values) response {
	c.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	if _, ok := form["csrf"]; !ok {
		form.Set("csrf", c.csrf)
	}
	req := mustRequest(c.t, http.MethodPost, c.base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return c.do(req)
}

// signIn signs in with a password and, when asked, enrols or answers a second factor.
func (c *staffClient) signIn(login, password string) {
	c.t.Helper()
	r := c.post("/staff/login", url.Values{"login": {login}, "password": {password}})
	if r.status != http.StatusSeeOther {
		c.t.Fatalf("sign in %s: status %d: %s", login, r.status, text(r))
	}
	switch r.location {
	case "/staff/totp":
		page := c.get("/staff/totp")
		c.secret = strings.TrimSpace(page.doc.Find(`[data-testid="totp-secret"]`).Text())
		code := stafftest.MustCode(c.t, c.secret, time.Now())
		if r := c.post("/staff/totp", url.Values{"code": {code}}); r.status != http.StatusOK || r.doc.Find(`[data-testid="recovery-codes"]`).Length() == 0 {
			c.t.Fatalf("enrol %s: %d %s", login, r.status, text(r))
		}
	case "/staff/login/code":
		c.get("/staff/login/code")
		// The code of the next step: the current one may have been used at enrolment.
		code := stafftest.MustCode(c.t, c.secret, time.Now().Add(30*time.Second))
		if r := c.post("/staff/login/code", url.Values{"code": {code}}); r.status != http.StatusSeeOther {
			c.t.Fatalf("second factor %s: %d %s", login, r.status, text(r))
		}
	}
	if r := c.get("/staff/account"); r.status != http.StatusOK {
		c.t.Fatalf("after sign-in %s: account page %d", login, r.status)
	}
}

func text(r response) string {
	if r.doc == nil {
		return r.body
	}
	return strings.Join(strings.Fields(r.doc.Find("main").Text()), " ")
}

// status requests a page whose answer may never end (server-sent events) and returns
// only its status and redirect.
func (c *staffClient) status(path string) response {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := c.http.Do(mustRequest(c.t, http.MethodGet, c.base+path, nil).WithContext(ctx))
	if err != nil {
		c.t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	return response{status: resp.StatusCode, location: resp.Header.Get("Location")}
}

// mustRequest builds a request the test sends, stopping the test if it cannot.
func mustRequest(t testing.TB, method, url string, body io.Reader) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatalf("building %s %s: %v", method, url, err)
	}
	return req
}

// multipartBody encodes fields, then files under the form field fileField, as a browser
// posts a form with file inputs; it returns the body and its Content-Type.
func multipartBody(t testing.TB, fields url.Values, fileField string, files map[string][]byte) (*bytes.Buffer, string) {
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
