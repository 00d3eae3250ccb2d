package benchkit

import (
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/renraku/renraku/internal/demo"
)

// Client is a member of staff's browser: a cookie jar, no automatic redirects, and the
// session's CSRF token, read from the pages while signing in (it stays the same after;
// not reading it later keeps the client's work out of the measured time).
type Client struct {
	base      string
	http      *http.Client
	signingIn bool
	mu        sync.Mutex
	csrf      string
}

var csrfInput = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

var transport = &http.Transport{MaxIdleConnsPerHost: 16}

func (c *Client) do(req *http.Request) (int, string, error) {
	res, err := c.http.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if m := csrfInput.FindSubmatch(b); c.signingIn && m != nil {
		c.mu.Lock()
		c.csrf = string(m[1])
		c.mu.Unlock()
	}
	return res.StatusCode, string(b), err
}

// Get fetches a page and returns its status and body.
func (c *Client) Get(path string) (int, string, error) {
	req, _ := http.NewRequest(http.MethodGet, c.base+path, nil)
	return c.do(req)
}

// Post sends a form with the session's CSRF token.
func (c *Client) Post(path string, form url.Values) (int, string, error) {
	c.mu.Lock()
	f := url.Values{"csrf": {c.csrf}}
	c.mu.Unlock()
	for k, v := range form {
		f[k] = v
	}
	req, _ := http.NewRequest(http.MethodPost, c.base+path, strings.NewReader(f.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return c.do(req)
}

// SignIn signs a demo account in through the sign-in form, with its second factor when
// it has one (the code of the next time step: the current one was used at enrolment).
func SignIn(base, login, totpSecret string) (*Client, error) {
	jar, _ := cookiejar.New(nil)
	c := &Client{base: base, signingIn: true, http: &http.Client{Jar: jar, Timeout: 60 * time.Second, Transport: transport,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	defer func() { c.signingIn = false }()
	if _, _, err := c.Get("/staff/login"); err != nil {
		return nil, err
	}
	if status, _, err := c.Post("/staff/login", url.Values{"login": {login}, "password": {demo.Password}}); err != nil || status != http.StatusSeeOther {
		return nil, fmt.Errorf("sign in %s: status %d: %v", login, status, err)
	}
	if totpSecret != "" {
		if _, _, err := c.Get("/staff/login/code"); err != nil {
			return nil, err
		}
		code, _ := totp.GenerateCode(totpSecret, time.Now().Add(30*time.Second))
		if status, _, err := c.Post("/staff/login/code", url.Values{"code": {code}}); err != nil || status != http.StatusSeeOther {
			return nil, fmt.Errorf("second factor %s: status %d: %v", login, status, err)
		}
	}
	if status, _, err := c.Get("/staff/account"); err != nil || status != http.StatusOK {
		return nil, fmt.Errorf("after sign-in %s: account page %d: %v", login, status, err)
	}
	return c, nil
}
