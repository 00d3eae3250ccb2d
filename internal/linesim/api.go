package linesim

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"time"
)

// Endpoint names, used by FailNext, Calls and the rate limits.
const (
	EndpointReply                 = "reply"
	EndpointPush                  = "push"
	EndpointMulticast             = "multicast"
	EndpointProfile               = "profile"
	EndpointQuota                 = "quota"
	EndpointQuotaConsumption      = "quota/consumption"
	EndpointContent               = "content"
	EndpointRichMenuCreate        = "richmenu/create"
	EndpointRichMenuGet           = "richmenu/get"
	EndpointRichMenuList          = "richmenu/list"
	EndpointRichMenuDelete        = "richmenu/delete"
	EndpointRichMenuUpload        = "richmenu/upload"
	EndpointRichMenuDownload      = "richmenu/download"
	EndpointRichMenuSetDefault    = "richmenu/default/set"
	EndpointRichMenuGetDefault    = "richmenu/default/get"
	EndpointRichMenuCancelDefault = "richmenu/default/cancel"
	EndpointRichMenuLink          = "richmenu/user/link"
	EndpointRichMenuGetLinked     = "richmenu/user/get"
	EndpointRichMenuUnlink        = "richmenu/user/unlink"
	EndpointVerifyIDToken         = "oauth2/verify"
	EndpointBotInfo               = "bot/info"
)

// LINE's error texts, verbatim where LINE documents them.
const (
	msgAuthFailed    = "Authentication failed. Confirm that the access token in the authorization header is valid."
	msgAuthMissing   = "Authorization header required. Must follow the scheme, 'Authorization: Bearer <ACCESS TOKEN>'"
	msgBackend       = "An error occurred in the backend server."
	msgRateLimit     = "The API rate limit has been exceeded. Try again later."
	msgMonthlyLimit  = "You have reached your monthly limit."
	msgInvalidReply  = "Invalid reply token"
	msgRetryAccepted = "The retry key is already accepted"
	msgNotFound      = "Not found"
	msgTooLarge      = "Request Entity Too Large"
)

// maxRequestBody is LINE's request size limit (413 above it).
const maxRequestBody = 2 << 20

// errorDetail is one entry of an error body's details.
type errorDetail struct {
	Message  string `json:"message,omitempty"`
	Property string `json:"property,omitempty"`
}

type errorBody struct {
	Message      string        `json:"message"`
	Details      []errorDetail `json:"details,omitempty"`
	SentMessages []sentMessage `json:"sentMessages,omitempty"`
}

type sentMessage struct {
	ID         string `json:"id"`
	QuoteToken string `json:"quoteToken,omitempty"`
}

// APICall is one request the simulator answered, for tests that check what the app
// called and how often.
type APICall struct {
	Time      time.Time
	Endpoint  string
	ChannelID string // empty when authentication failed
	Method    string
	Path      string
	Status    int
	RequestID string
	RetryKey  string
}

type fault struct {
	status      int
	afterEffect bool
}

// response is what a handler produces; the middleware writes it after releasing the
// lock.
type response struct {
	status      int
	body        any
	raw         []byte
	contentType string
	header      map[string]string
}

func jsonResp(status int, body any) response { return response{status: status, body: body} }

func errResp(status int, msg string, details ...errorDetail) response {
	return response{status: status, body: errorBody{Message: msg, Details: details}}
}

// bodyErrors is LINE's answer to a request body that fails validation.
func bodyErrors(details []errorDetail) response {
	return errResp(http.StatusBadRequest, fmt.Sprintf("The request body has %d error(s)", len(details)), details...)
}

func faultResp(endpoint string, status int) response {
	if endpoint == EndpointVerifyIDToken {
		return jsonResp(status, loginError{Error: "server_error", Description: http.StatusText(status)})
	}
	switch status {
	case http.StatusInternalServerError:
		return errResp(status, msgBackend)
	case http.StatusTooManyRequests:
		return errResp(status, msgRateLimit)
	case http.StatusUnauthorized:
		return errResp(status, msgAuthFailed)
	case http.StatusConflict:
		return errResp(status, msgRetryAccepted)
	}
	return errResp(status, http.StatusText(status))
}

// call is one API request being handled.
type call struct {
	r         *http.Request
	body      []byte
	ch        *channel
	requestID string
	endpoint  string
	retryKey  string
	// lost is set when a FailNextAfterAccept fault applies: the handler does its work,
	// then the caller sees this status instead.
	lost int
}

type handlerFunc func(c *call) response

type route struct {
	pattern  string
	endpoint string
	auth     bool
	fn       handlerFunc
}

// Handler serves LINE's Messaging API (api.line.me and api-data.line.me paths) and
// LINE Login's ID-token verify endpoint, relative to wherever it is mounted: strip the
// mount prefix (http.StripPrefix) and point the SDK's endpoint and blob endpoint at the
// prefix.
func (s *Sim) Handler() http.Handler {
	mux := http.NewServeMux()
	routes := []route{
		{"POST /v2/bot/message/reply", EndpointReply, true, s.handleReply},
		{"POST /v2/bot/message/push", EndpointPush, true, s.handlePush},
		{"POST /v2/bot/message/multicast", EndpointMulticast, true, s.handleMulticast},
		{"GET /v2/bot/profile/{userId}", EndpointProfile, true, s.handleProfile},
		{"GET /v2/bot/info", EndpointBotInfo, true, s.handleBotInfo},
		{"GET /v2/bot/message/quota", EndpointQuota, true, s.handleQuota},
		{"GET /v2/bot/message/quota/consumption", EndpointQuotaConsumption, true, s.handleConsumption},
		{"GET /v2/bot/message/{messageId}/content", EndpointContent, true, s.handleContent},
		{"POST /v2/bot/richmenu", EndpointRichMenuCreate, true, s.handleRichMenuCreate},
		{"GET /v2/bot/richmenu/list", EndpointRichMenuList, true, s.handleRichMenuList},
		{"GET /v2/bot/richmenu/{richMenuId}", EndpointRichMenuGet, true, s.handleRichMenuGet},
		{"DELETE /v2/bot/richmenu/{richMenuId}", EndpointRichMenuDelete, true, s.handleRichMenuDelete},
		{"POST /v2/bot/richmenu/{richMenuId}/content", EndpointRichMenuUpload, true, s.handleRichMenuUpload},
		{"GET /v2/bot/richmenu/{richMenuId}/content", EndpointRichMenuDownload, true, s.handleRichMenuDownload},
		{"POST /v2/bot/user/all/richmenu/{richMenuId}", EndpointRichMenuSetDefault, true, s.handleSetDefault},
		{"GET /v2/bot/user/all/richmenu", EndpointRichMenuGetDefault, true, s.handleGetDefault},
		{"DELETE /v2/bot/user/all/richmenu", EndpointRichMenuCancelDefault, true, s.handleCancelDefault},
		{"POST /v2/bot/user/{userId}/richmenu/{richMenuId}", EndpointRichMenuLink, true, s.handleLink},
		{"GET /v2/bot/user/{userId}/richmenu", EndpointRichMenuGetLinked, true, s.handleGetLinked},
		{"DELETE /v2/bot/user/{userId}/richmenu", EndpointRichMenuUnlink, true, s.handleUnlink},
		{"POST /oauth2/v2.1/verify", EndpointVerifyIDToken, false, s.handleVerifyIDToken},
	}
	for _, rt := range routes {
		mux.Handle(rt.pattern, s.serve(rt))
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("x-line-request-id", newUUID())
		writeResponse(w, errResp(http.StatusNotFound, msgNotFound))
	})
	return mux
}

func (s *Sim) serve(rt route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c := &call{r: r, requestID: newUUID(), endpoint: rt.endpoint}
		w.Header().Set("x-line-request-id", c.requestID)

		// The body is read before the lock is taken: a slow client must not stall
		// the simulator.
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxRequestBody))
		var res response
		switch {
		case err != nil:
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				res = errResp(http.StatusRequestEntityTooLarge, msgTooLarge)
			} else {
				res = errResp(http.StatusBadRequest, "The request body could not be read")
			}
			s.mu.Lock()
		default:
			c.body = body
			s.mu.Lock()
			res = s.dispatch(rt, c)
		}
		s.calls = append(s.calls, APICall{
			Time: s.now(), Endpoint: rt.endpoint, ChannelID: channelID(c.ch), Method: r.Method,
			Path: r.URL.Path, Status: res.status, RequestID: c.requestID, RetryKey: c.retryKey,
		})
		s.notify()
		gate := s.holdGate(rt.endpoint)
		s.mu.Unlock()
		if gate != nil {
			select {
			case <-gate:
			case <-r.Context().Done():
			}
		}
		writeResponse(w, res)
	})
}

func channelID(c *channel) string {
	if c == nil {
		return ""
	}
	return c.cfg.ID
}

// dispatch runs authentication, fault injection and rate limiting, then the handler.
// Callers hold s.mu.
func (s *Sim) dispatch(rt route, c *call) response {
	if rt.auth {
		auth := c.r.Header.Get("Authorization")
		if auth == "" {
			return errResp(http.StatusUnauthorized, msgAuthMissing)
		}
		token, ok := strings.CutPrefix(auth, "Bearer ")
		ch := s.byToken[token]
		if !ok || token == "" || ch == nil {
			return errResp(http.StatusUnauthorized, msgAuthFailed)
		}
		c.ch = ch
	}
	if q := s.faults[rt.endpoint]; len(q) > 0 {
		f := q[0]
		s.faults[rt.endpoint] = q[1:]
		if !f.afterEffect {
			return faultResp(rt.endpoint, f.status)
		}
		c.lost = f.status
	}
	if c.ch != nil && !s.rateLimit(c.ch, rt.endpoint) {
		return errResp(http.StatusTooManyRequests, msgRateLimit)
	}
	res := rt.fn(c)
	if c.lost != 0 && res.status/100 == 2 {
		return faultResp(rt.endpoint, c.lost)
	}
	return res
}

func writeResponse(w http.ResponseWriter, res response) {
	for k, v := range res.header {
		w.Header().Set(k, v)
	}
	switch {
	case res.raw != nil:
		w.Header().Set("Content-Type", res.contentType)
		w.WriteHeader(res.status)
		_, _ = w.Write(res.raw)
	default:
		b, err := json.Marshal(res.body)
		if err != nil {
			b, res.status = []byte(`{"message":"`+msgBackend+`"}`), http.StatusInternalServerError
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(res.status)
		_, _ = w.Write(b)
	}
}

// FailNext makes the next n calls to endpoint answer status with LINE's body for it,
// without doing anything: a backend failure before acceptance.
func (s *Sim) FailNext(endpoint string, n int, status int) {
	s.addFaults(endpoint, n, fault{status: status})
}

// FailNextAfterAccept makes the next n calls to endpoint take effect and then answer
// status, as when LINE delivered a message but the answer was lost: the case the
// retry key exists for.
func (s *Sim) FailNextAfterAccept(endpoint string, n int, status int) {
	s.addFaults(endpoint, n, fault{status: status, afterEffect: true})
}

func (s *Sim) addFaults(endpoint string, n int, f fault) {
	if f.status == 0 {
		f.status = http.StatusInternalServerError
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.faults[endpoint] = append(s.faults[endpoint], f)
	}
}

// Calls returns the API calls answered so far, oldest first.
func (s *Sim) Calls() []APICall {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]APICall(nil), s.calls...)
}

// CallCount returns how many calls endpoint has answered, whatever their status.
func (s *Sim) CallCount(endpoint string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, c := range s.calls {
		if c.Endpoint == endpoint {
			n++
		}
	}
	return n
}

// decodeJSON decodes the body into v, refusing what LINE refuses before looking at
// the content: another Content-Type (415) and malformed JSON (400 with a position).
func (c *call) decodeJSON(v any) *response {
	mt, _, err := mime.ParseMediaType(c.r.Header.Get("Content-Type"))
	if err != nil || mt != "application/json" {
		r := errResp(http.StatusUnsupportedMediaType, fmt.Sprintf("The content type, '%s', is not supported", c.r.Header.Get("Content-Type")))
		return &r
	}
	if err := json.Unmarshal(c.body, v); err != nil {
		var syn *json.SyntaxError
		var typ *json.UnmarshalTypeError
		var r response
		switch {
		case errors.As(err, &syn):
			line, col := position(c.body, syn.Offset)
			r = errResp(http.StatusBadRequest, fmt.Sprintf("The request body could not be parsed as JSON (line: %d, column: %d)", line, col))
		case errors.As(err, &typ):
			line, col := position(c.body, typ.Offset)
			r = errResp(http.StatusBadRequest, fmt.Sprintf("The property, '%s', in the request body is invalid (line: %d, column: %d)", typ.Field, line, col))
		default:
			r = errResp(http.StatusBadRequest, "The request body could not be parsed as JSON (line: 1, column: 1)")
		}
		return &r
	}
	return nil
}

// position converts a byte offset into the 1-based line and column LINE reports.
func position(b []byte, off int64) (line, col int) {
	off = min(max(off, 0), int64(len(b)))
	prefix := b[:off]
	line = bytes.Count(prefix, []byte("\n")) + 1
	col = int(off) - (bytes.LastIndexByte(prefix, '\n') + 1) + 1
	return line, col
}
