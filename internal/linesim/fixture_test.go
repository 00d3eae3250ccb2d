package linesim_test

import (
	"bytes"
	"context"
	"encoding/json"
	"image"
	"image/png"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/line/line-bot-sdk-go/v8/linebot/messaging_api"
	"github.com/line/line-bot-sdk-go/v8/linebot/webhook"

	"github.com/renraku/renraku/internal/linesim"
)

// clock is a settable time source for Options.Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// receiver is a bot server: it verifies and parses webhooks with the SDK, as the app
// does, and hands the parsed requests to the test.
type receiver struct {
	srv    *httptest.Server
	got    chan *webhook.CallbackRequest
	mu     sync.Mutex
	status int
	errs   []error
}

func newReceiver(t *testing.T, secret string) *receiver {
	t.Helper()
	rc := &receiver{got: make(chan *webhook.CallbackRequest, 64), status: http.StatusOK}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cb, err := webhook.ParseRequest(secret, r)
		rc.mu.Lock()
		status := rc.status
		if err != nil {
			rc.errs = append(rc.errs, err)
			status = http.StatusBadRequest
		}
		rc.mu.Unlock()
		if err == nil {
			rc.got <- cb
		}
		w.WriteHeader(status)
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) answer(status int) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.status = status
}

// next returns the next webhook request the receiver parsed.
func (rc *receiver) next(t *testing.T) *webhook.CallbackRequest {
	t.Helper()
	select {
	case cb := <-rc.got:
		return cb
	case <-time.After(5 * time.Second):
		rc.mu.Lock()
		defer rc.mu.Unlock()
		t.Fatalf("no webhook arrived (parse errors: %v)", rc.errs)
		return nil
	}
}

// fixture is a simulator with one channel, served over HTTP, and a bot server.
type fixture struct {
	sim   *linesim.Sim
	srv   *httptest.Server
	clock *clock
	ch    linesim.ChannelConfig
	rc    *receiver
}

const (
	testChannelID     = "1234567890"
	testLoginID       = "2000000001"
	testToken         = "test-access-token"
	testSecret        = "test-channel-secret"
	testLoginSecret   = "test-login-secret"
	testOtherLoginID  = "2000000002"
	testOtherLoginSec = "other-login-secret"
)

func newFixture(t *testing.T, opts linesim.Options) *fixture {
	t.Helper()
	f := &fixture{clock: &clock{t: time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)}}
	opts.Now = f.clock.Now
	f.sim = linesim.New(opts)
	f.rc = newReceiver(t, testSecret)
	f.ch = linesim.ChannelConfig{ID: testChannelID, Secret: testSecret, AccessToken: testToken,
		WebhookURL: f.rc.srv.URL, Name: "テスト小学校", LoginChannelID: testLoginID, LoginChannelSecret: testLoginSecret}
	if err := f.sim.AddChannel(f.ch); err != nil {
		t.Fatal(err)
	}
	if err := f.sim.AddChannel(linesim.ChannelConfig{ID: "1234567891", Secret: "s2", AccessToken: "other-token",
		LoginChannelID: testOtherLoginID, LoginChannelSecret: testOtherLoginSec}); err != nil {
		t.Fatal(err)
	}
	f.ch = f.sim.Channels()[0]
	mux := http.NewServeMux()
	mux.Handle("/_sim/line/", http.StripPrefix("/_sim/line", f.sim.Handler()))
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fixture) baseURL() string { return f.srv.URL + "/_sim/line" }

func (f *fixture) api(t *testing.T, token string) *messaging_api.MessagingApiAPI {
	t.Helper()
	api, err := messaging_api.NewMessagingApiAPI(token, messaging_api.WithEndpoint(f.baseURL()),
		messaging_api.WithHTTPClient(&http.Client{Timeout: 5 * time.Second}))
	if err != nil {
		t.Fatal(err)
	}
	return api
}

func (f *fixture) blob(t *testing.T) *messaging_api.MessagingApiBlobAPI {
	t.Helper()
	b, err := messaging_api.NewMessagingApiBlobAPI(testToken, messaging_api.WithBlobEndpoint(f.baseURL()),
		messaging_api.WithBlobHTTPClient(&http.Client{Timeout: 5 * time.Second}))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// mustFriend adds a user who follows the test channel, consuming the follow webhook.
func (f *fixture) mustFriend(t *testing.T, name string) (linesim.User, *webhook.CallbackRequest) {
	t.Helper()
	u, err := f.sim.AddUser(linesim.User{DisplayName: name, Language: "ja", PictureURL: "https://example.com/p.png"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.sim.Follow(testChannelID, u.ID); err != nil {
		t.Fatal(err)
	}
	return u, f.rc.next(t)
}

// errorBody reads LINE's error JSON from a failed SDK call's response.
func errorBody(t *testing.T, res *http.Response) messaging_api.ErrorResponse {
	t.Helper()
	if res == nil {
		t.Fatal("no response")
	}
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	var er messaging_api.ErrorResponse
	if err := json.Unmarshal(b, &er); err != nil {
		t.Fatalf("error body %q is not LINE's JSON: %v", b, err)
	}
	return er
}

// mustAnswer stops the test when an SDK call got no HTTP response at all. The SDK also
// returns an error for every status other than 2xx; the tests expect those and check
// res.StatusCode instead.
func mustAnswer(t *testing.T, res *http.Response, err error) {
	t.Helper()
	if res == nil {
		t.Fatalf("no answer from the simulator: %v", err)
	}
}

func textMessage(s string) messaging_api.MessageInterface { return &messaging_api.TextMessage{Text: s} }

func mustPNG(t *testing.T, w, h int) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, image.NewGray(image.Rect(0, 0, w, h))); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func waitCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func replyToken(t *testing.T, cb *webhook.CallbackRequest) string {
	t.Helper()
	if len(cb.Events) != 1 {
		t.Fatalf("got %d events, want 1", len(cb.Events))
	}
	switch e := cb.Events[0].(type) {
	case webhook.FollowEvent:
		return e.ReplyToken
	case webhook.MessageEvent:
		return e.ReplyToken
	case webhook.PostbackEvent:
		return e.ReplyToken
	}
	t.Fatalf("event %T has no reply token", cb.Events[0])
	return ""
}

var cmpSortStrings = cmpopts.SortSlices(func(a, b string) bool { return a < b })
