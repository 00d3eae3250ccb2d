package lineapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/line/line-bot-sdk-go/v8/linebot/messaging_api"
)

// Client calls LINE's Messaging API through the SDK, at configurable base URLs (the
// simulator in dev and tests). One SDK client is made per call around a shared
// *http.Client with a timeout: the SDK's WithContext mutates the SDK client, so a shared
// one could not carry each call's context. Every call takes a context: a cancelled one
// ends the wait for the rate limit and the request.
type Client struct {
	APIURL     *url.URL
	DataAPIURL *url.URL
	HTTP       *http.Client

	limits limiters
}

// IdleConnsPerHost is how many connections to LINE's API a Client keeps open between
// calls: more than an instance has in flight at once (the batched replies and an
// alert's multicasts), so that a burst reuses them instead of opening a TLS connection
// a call (net/http keeps 2 by default).
const IdleConnsPerHost = 64

// NewClient returns a Client with a 15-second timeout per call.
func NewClient(apiURL, dataAPIURL *url.URL) *Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = IdleConnsPerHost
	t.MaxIdleConns = 2 * IdleConnsPerHost // the API and the data API
	return &Client{APIURL: apiURL, DataAPIURL: dataAPIURL, HTTP: &http.Client{Timeout: 15 * time.Second, Transport: t}}
}

// api returns an SDK client for one call, its requests made with ctx.
func (c *Client) api(ctx context.Context, ch Channel) (*messaging_api.MessagingApiAPI, error) {
	api, err := messaging_api.NewMessagingApiAPI(ch.AccessToken.Reveal(),
		messaging_api.WithEndpoint(c.APIURL.String()), messaging_api.WithHTTPClient(c.HTTP))
	if err != nil {
		return nil, err
	}
	return api.WithContext(ctx), nil
}

// blob returns an SDK client of the data API for one call, its requests made with ctx.
func (c *Client) blob(ctx context.Context, ch Channel) (*messaging_api.MessagingApiBlobAPI, error) {
	blob, err := messaging_api.NewMessagingApiBlobAPI(ch.AccessToken.Reveal(),
		messaging_api.WithBlobEndpoint(c.DataAPIURL.String()), messaging_api.WithBlobHTTPClient(c.HTTP))
	if err != nil {
		return nil, err
	}
	return blob.WithContext(ctx), nil
}

// APIError is LINE's answer to a failed call. Message is LINE's own text (no content of
// ours), safe to record.
type APIError struct {
	Status    int
	Message   string
	RequestID string
	// AcceptedRequestID is set on 409 for a retry key LINE already accepted.
	AcceptedRequestID string
}

func (e *APIError) Error() string {
	return fmt.Sprintf("line: %d %s", e.Status, e.Message)
}

// Temporary reports whether a retry may succeed (429 and 5xx).
func (e *APIError) Temporary() bool { return e.Status == http.StatusTooManyRequests || e.Status >= 500 }

// apiError converts an SDK call's result into an *APIError, or returns a transport
// error as it is. The SDK's own error text includes the response body; it is not used.
func apiError(res *http.Response, err error) error {
	if res == nil {
		if err == nil {
			return nil
		}
		return fmt.Errorf("line: transport: %w", err)
	}
	if res.StatusCode/100 == 2 {
		if err != nil { // a 2xx the SDK could not decode
			return fmt.Errorf("line: decode %d answer: %w", res.StatusCode, errors.Unwrap(err))
		}
		return nil
	}
	e := &APIError{Status: res.StatusCode, RequestID: res.Header.Get("x-line-request-id"),
		AcceptedRequestID: res.Header.Get("x-line-accepted-request-id")}
	if res.Body != nil {
		b, _ := io.ReadAll(io.LimitReader(res.Body, 4096))
		var er messaging_api.ErrorResponse
		if json.Unmarshal(b, &er) == nil {
			e.Message = er.Message
		}
	}
	if e.Message == "" {
		e.Message = http.StatusText(res.StatusCode)
	}
	if len(e.Message) > 200 {
		e.Message = e.Message[:200]
	}
	return e
}

// Reply answers an event with its reply token (free of charge).
func (c *Client) Reply(ctx context.Context, ch Channel, replyToken string, ms []Message) (requestID string, err error) {
	answered, err := c.limits.acquire(ctx, ch.ID, "reply")
	if err != nil {
		return "", err
	}
	defer answered()
	api, err := c.api(ctx, ch)
	if err != nil {
		return "", err
	}
	res, _, err := api.ReplyMessageWithHttpInfo(&messaging_api.ReplyMessageRequest{ReplyToken: replyToken, Messages: sdkMessages(ms)})
	if e := apiError(res, err); e != nil {
		return "", e
	}
	return res.Header.Get("x-line-request-id"), nil
}

// Push sends to one user (counted in the monthly quota). retryKey makes a retry safe.
func (c *Client) Push(ctx context.Context, ch Channel, userID, retryKey string, ms []Message) (requestID string, err error) {
	if !ValidUserID(userID) {
		return "", fmt.Errorf("%w: recipient is not a LINE user ID", ErrInvalidMessage)
	}
	answered, err := c.limits.acquire(ctx, ch.ID, "push")
	if err != nil {
		return "", err
	}
	defer answered()
	api, err := c.api(ctx, ch)
	if err != nil {
		return "", err
	}
	res, _, err := api.PushMessageWithHttpInfo(&messaging_api.PushMessageRequest{To: userID, Messages: sdkMessages(ms)}, retryKey)
	if e := apiError(res, err); e != nil {
		return "", e
	}
	return res.Header.Get("x-line-request-id"), nil
}

// MaxMulticastRecipients is LINE's limit per multicast request.
const MaxMulticastRecipients = 500

// Multicast sends the same messages to up to 500 users in one request.
func (c *Client) Multicast(ctx context.Context, ch Channel, userIDs []string, retryKey string, ms []Message) (requestID string, err error) {
	if len(userIDs) == 0 || len(userIDs) > MaxMulticastRecipients {
		return "", fmt.Errorf("%w: multicast needs 1–%d recipients", ErrInvalidMessage, MaxMulticastRecipients)
	}
	for _, u := range userIDs {
		if !ValidUserID(u) {
			return "", fmt.Errorf("%w: recipient is not a LINE user ID", ErrInvalidMessage)
		}
	}
	answered, err := c.limits.acquire(ctx, ch.ID, "multicast")
	if err != nil {
		return "", err
	}
	defer answered()
	api, err := c.api(ctx, ch)
	if err != nil {
		return "", err
	}
	res, _, err := api.MulticastWithHttpInfo(&messaging_api.MulticastRequest{To: userIDs, Messages: sdkMessages(ms)}, retryKey)
	if e := apiError(res, err); e != nil {
		return "", e
	}
	return res.Header.Get("x-line-request-id"), nil
}

// Batches splits recipients into multicast batches of at most 500.
func Batches(userIDs []string) [][]string {
	var out [][]string
	for len(userIDs) > 0 {
		n := min(len(userIDs), MaxMulticastRecipients)
		out = append(out, userIDs[:n])
		userIDs = userIDs[n:]
	}
	return out
}

// Language reads only the language of a user's profile; renraku never keeps or shows
// the display name, picture or status message.
func (c *Client) Language(ctx context.Context, ch Channel, userID string) (string, error) {
	if !ValidUserID(userID) {
		return "", fmt.Errorf("%w: not a LINE user ID", ErrInvalidMessage)
	}
	api, err := c.api(ctx, ch)
	if err != nil {
		return "", err
	}
	res, p, err := api.GetProfileWithHttpInfo(userID)
	if e := apiError(res, err); e != nil {
		return "", e
	}
	return strings.ToLower(p.Language), nil
}

// Quota is the channel's monthly message allowance and what it has used.
type Quota struct {
	Limited bool  // false: no monthly limit
	Limit   int64 // messages per month when Limited
	Used    int64
}

// Quota reads the channel's monthly quota and consumption.
func (c *Client) Quota(ctx context.Context, ch Channel) (Quota, error) {
	api, err := c.api(ctx, ch)
	if err != nil {
		return Quota{}, err
	}
	res, q, err := api.GetMessageQuotaWithHttpInfo()
	if e := apiError(res, err); e != nil {
		return Quota{}, e
	}
	res, u, err := api.GetMessageQuotaConsumptionWithHttpInfo()
	if e := apiError(res, err); e != nil {
		return Quota{}, e
	}
	out := Quota{Limited: string(q.Type) == "limited", Used: u.TotalUsage}
	if out.Limited {
		out.Limit = q.Value
	}
	return out, nil
}

// BotInfo is the official account as LINE describes it: the school's account, not a
// person.
type BotInfo struct {
	BasicID     string
	DisplayName string
}

// BotInfo calls "Get bot info", which needs only a valid access token: the console's
// connection test.
func (c *Client) BotInfo(ctx context.Context, ch Channel) (BotInfo, error) {
	api, err := c.api(ctx, ch)
	if err != nil {
		return BotInfo{}, err
	}
	res, info, err := api.GetBotInfoWithHttpInfo()
	if e := apiError(res, err); e != nil {
		return BotInfo{}, e
	}
	return BotInfo{BasicID: info.BasicId, DisplayName: info.DisplayName}, nil
}

// ErrIDTokenNotProved is LINE's answer (200) that does not name a user for the login
// channel: the token proves nothing, as a refusal would.
var ErrIDTokenNotProved = errors.New("line: verify answer without the expected subject and audience")

// VerifyIDToken asks LINE Login to verify a LIFF ID token issued for the login channel
// and returns the LINE user it names. LINE's refusal is an *APIError with status 400;
// an answer that is not LINE's JSON is a plain error (LINE is failing), and a
// well-formed one naming no user of the login channel is ErrIDTokenNotProved.
func (c *Client) VerifyIDToken(ctx context.Context, loginChannelID, idToken string) (string, error) {
	form := url.Values{"id_token": {idToken}, "client_id": {loginChannelID}}
	u := strings.TrimSuffix(c.APIURL.String(), "/") + "/oauth2/v2.1/verify"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, strings.NewReader(form.Encode()))
	if err != nil {
		return "", fmt.Errorf("line: verify request: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res, err := c.HTTP.Do(req)
	if err != nil {
		return "", fmt.Errorf("line: transport: %w", err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(res.Body, 16<<10))
	if res.StatusCode != http.StatusOK {
		var e struct {
			Description string `json:"error_description"`
		}
		_ = json.Unmarshal(b, &e)
		return "", &APIError{Status: res.StatusCode, Message: truncate(e.Description, 200)}
	}
	var claims struct {
		Sub any `json:"sub"`
		Aud any `json:"aud"`
	}
	if json.Unmarshal(b, &claims) != nil {
		// The decoder's message would quote the answer, which names the user.
		return "", errors.New("line: verify answer is not LINE's JSON")
	}
	sub, _ := claims.Sub.(string)
	if aud, _ := claims.Aud.(string); sub == "" || aud != loginChannelID {
		return "", ErrIDTokenNotProved
	}
	return sub, nil
}

// MaxContent bounds a downloaded message content (LINE allows 10 MB images).
const MaxContent = 20 << 20

// Content downloads the content of a user's message (an image) before LINE discards
// it, with its content type.
func (c *Client) Content(ctx context.Context, ch Channel, messageID string) ([]byte, string, error) {
	api, err := c.blob(ctx, ch)
	if err != nil {
		return nil, "", err
	}
	res, _, err := api.GetMessageContentWithHttpInfo(messageID)
	if res != nil && res.StatusCode/100 != 2 {
		return nil, "", apiError(res, nil)
	}
	if err != nil {
		return nil, "", fmt.Errorf("line: transport: %w", err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, MaxContent+1))
	if err != nil {
		return nil, "", fmt.Errorf("line: content: %w", err)
	}
	if len(b) > MaxContent {
		return nil, "", fmt.Errorf("line: content larger than %d bytes", MaxContent)
	}
	return b, res.Header.Get("Content-Type"), nil
}
