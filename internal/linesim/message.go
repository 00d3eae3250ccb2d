package linesim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
)

type sendRequest struct {
	ReplyToken           string            `json:"replyToken"`
	To                   json.RawMessage   `json:"to"`
	Messages             []json.RawMessage `json:"messages"`
	NotificationDisabled bool              `json:"notificationDisabled"`
}

const msgFailedToSend = "Failed to send messages"

func invalidProperty(name string) response {
	return errResp(http.StatusBadRequest, fmt.Sprintf("The property, '%s', in the request body is invalid (line: -, column: -)", name))
}

// quotable lists the message types whose sent copies get a quote token.
var quotable = map[string]bool{"text": true, "textV2": true, "sticker": true, "image": true, "video": true}

// deliver records messages in a chat and returns what the API answers for them.
// Callers hold s.mu.
func (s *Sim) deliver(ch *channel, userID string, msgs []json.RawMessage, via, requestID string, delivered bool) []sentMessage {
	sent := make([]sentMessage, 0, len(msgs))
	for _, raw := range msgs {
		it := decodeChatItem(raw)
		it.ID, it.From, it.Time, it.Delivered, it.Via, it.RequestID = s.msgIDs.New(), FromBot, s.now(), delivered, via, requestID
		ch.appendChat(userID, it)
		sm := sentMessage{ID: it.ID}
		var t struct {
			Type string `json:"type"`
		}
		_ = json.Unmarshal(raw, &t)
		if quotable[t.Type] {
			sm.QuoteToken = newQuoteToken()
		}
		sent = append(sent, sm)
	}
	return sent
}

func (s *Sim) validateMessages(msgs []json.RawMessage) *response {
	v := validator{allowHTTP: s.opts.AllowHTTPURLs}
	v.messages(msgs)
	if len(v.details) > 0 {
		r := bodyErrors(v.details)
		return &r
	}
	return nil
}

func (s *Sim) handleReply(c *call) response {
	if c.r.Header.Get("X-Line-Retry-Key") != "" {
		return errResp(http.StatusBadRequest, "X-Line-Retry-Key is not supported by this API")
	}
	var req sendRequest
	if r := c.decodeJSON(&req); r != nil {
		return *r
	}
	if r := s.validateMessages(req.Messages); r != nil {
		return *r
	}
	rt := s.replyTokens[req.ReplyToken]
	if rt == nil || rt.channelID != c.ch.cfg.ID || rt.used || !s.now().Before(rt.expires) {
		return errResp(http.StatusBadRequest, msgInvalidReply)
	}
	rt.used = true
	sent := s.deliver(c.ch, rt.userID, req.Messages, "reply", c.requestID, c.ch.following(rt.userID))
	chat := c.ch.chats[rt.userID]
	for i := len(chat) - len(sent); i < len(chat); i++ {
		chat[i].ReplyToken = req.ReplyToken
	}
	return jsonResp(http.StatusOK, map[string]any{"sentMessages": sent})
}

// readRetryKey reads X-Line-Retry-Key. The SDK sends the header empty when no key is
// given, so empty means absent.
func (c *call) readRetryKey() *response {
	k := c.r.Header.Get("X-Line-Retry-Key")
	if k == "" {
		return nil
	}
	if !uuidRE.MatchString(k) {
		r := errResp(http.StatusBadRequest, "The value of X-Line-Retry-Key is invalid. It must be a UUID")
		return &r
	}
	c.retryKey = strings.ToLower(k)
	return nil
}

// acceptedBefore answers 409 when the call's retry key was accepted within the TTL.
// Callers hold s.mu.
func (s *Sim) acceptedBefore(c *call, withSent bool) *response {
	if c.retryKey == "" {
		return nil
	}
	acc, ok := c.ch.retryKeys[c.retryKey]
	if !ok || s.now().Sub(acc.at) >= s.opts.RetryKeyTTL {
		return nil
	}
	body := errorBody{Message: msgRetryAccepted}
	if withSent {
		body.SentMessages = acc.sent
	}
	return &response{status: http.StatusConflict, body: body, header: map[string]string{"x-line-accepted-request-id": acc.requestID}}
}

// accept records the call's retry key as used. Callers hold s.mu.
func (s *Sim) accept(c *call, sent []sentMessage) {
	if c.retryKey == "" {
		return
	}
	now := s.now()
	if len(c.ch.retryKeys)%1024 == 1023 {
		for k, a := range c.ch.retryKeys {
			if now.Sub(a.at) >= s.opts.RetryKeyTTL {
				delete(c.ch.retryKeys, k)
			}
		}
	}
	c.ch.retryKeys[c.retryKey] = acceptedKey{requestID: c.requestID, at: now, sent: sent}
}

// overQuota reports whether sending n more counted messages would pass the monthly
// limit. Callers hold s.mu.
func (s *Sim) overQuota(ch *channel, n int64) bool {
	return ch.cfg.MonthlyQuota > 0 && ch.currentUsage(s.now())+n > ch.cfg.MonthlyQuota
}

func (s *Sim) handlePush(c *call) response {
	if r := c.readRetryKey(); r != nil {
		return *r
	}
	var req sendRequest
	if r := c.decodeJSON(&req); r != nil {
		return *r
	}
	var to string
	if len(req.To) == 0 || string(req.To) == "null" {
		return bodyErrors([]errorDetail{{Message: "must be specified", Property: "to"}})
	}
	if json.Unmarshal(req.To, &to) != nil || !ValidUserID(to) {
		return invalidProperty("to")
	}
	if r := s.validateMessages(req.Messages); r != nil {
		return *r
	}
	if r := s.acceptedBefore(c, true); r != nil {
		return *r
	}
	if s.users[to] == nil {
		return errResp(http.StatusBadRequest, msgFailedToSend)
	}
	// LINE accepts a push to someone who blocked the account (or never added it) and
	// drops it; only messages that reach someone count toward the quota.
	delivered := c.ch.following(to)
	var n int64
	if delivered {
		n = 1
	}
	if s.overQuota(c.ch, n) {
		return errResp(http.StatusTooManyRequests, msgMonthlyLimit)
	}
	sent := s.deliver(c.ch, to, req.Messages, "push", c.requestID, delivered)
	c.ch.addUsage(s.now(), n)
	s.accept(c, sent)
	return jsonResp(http.StatusOK, map[string]any{"sentMessages": sent})
}

func (s *Sim) handleMulticast(c *call) response {
	if r := c.readRetryKey(); r != nil {
		return *r
	}
	var req sendRequest
	if r := c.decodeJSON(&req); r != nil {
		return *r
	}
	var to []string
	if len(req.To) > 0 && string(req.To) != "null" && json.Unmarshal(req.To, &to) != nil {
		return invalidProperty("to")
	}
	if len(to) < 1 || len(to) > MaxMulticastTo {
		return bodyErrors([]errorDetail{{Message: fmt.Sprintf("Size must be between 1 and %d", MaxMulticastTo), Property: "to"}})
	}
	var bad []errorDetail
	for i, u := range to {
		if !ValidUserID(u) {
			bad = append(bad, errorDetail{Message: "invalid user ID", Property: fmt.Sprintf("to[%d]", i)})
		}
	}
	if len(bad) > 0 {
		return bodyErrors(bad)
	}
	if r := s.validateMessages(req.Messages); r != nil {
		return *r
	}
	if r := s.acceptedBefore(c, false); r != nil {
		return *r
	}
	seen := map[string]bool{}
	var recipients []string
	var n int64
	for _, u := range to {
		// Unknown IDs are dropped silently: multicast does not report recipients.
		if seen[u] || s.users[u] == nil {
			continue
		}
		seen[u] = true
		recipients = append(recipients, u)
		if c.ch.following(u) {
			n++
		}
	}
	if s.overQuota(c.ch, n) {
		return errResp(http.StatusTooManyRequests, msgMonthlyLimit)
	}
	for _, u := range recipients {
		s.deliver(c.ch, u, req.Messages, "multicast", c.requestID, c.ch.following(u))
	}
	c.ch.addUsage(s.now(), n)
	s.accept(c, nil)
	return jsonResp(http.StatusOK, map[string]any{})
}

func (s *Sim) handleProfile(c *call) response {
	id := c.r.PathValue("userId")
	if !ValidUserID(id) {
		return errResp(http.StatusBadRequest, "The value for the 'userId' parameter is invalid")
	}
	u := s.users[id]
	if u == nil || !c.ch.following(id) {
		return errResp(http.StatusNotFound, msgNotFound)
	}
	type profile struct {
		DisplayName   string `json:"displayName"`
		UserID        string `json:"userId"`
		PictureURL    string `json:"pictureUrl,omitempty"`
		StatusMessage string `json:"statusMessage,omitempty"`
		Language      string `json:"language,omitempty"`
	}
	return jsonResp(http.StatusOK, profile{u.DisplayName, u.ID, u.PictureURL, u.StatusMessage, u.Language})
}

func (s *Sim) handleQuota(c *call) response {
	if c.ch.cfg.MonthlyQuota <= 0 {
		return jsonResp(http.StatusOK, map[string]any{"type": "none"})
	}
	return jsonResp(http.StatusOK, map[string]any{"type": "limited", "value": c.ch.cfg.MonthlyQuota})
}

func (s *Sim) handleConsumption(c *call) response {
	return jsonResp(http.StatusOK, map[string]any{"totalUsage": c.ch.currentUsage(s.now())})
}

func (s *Sim) handleContent(c *call) response {
	ct, ok := s.contents[c.r.PathValue("messageId")]
	if !ok || ct.channelID != c.ch.cfg.ID {
		return errResp(http.StatusNotFound, msgNotFound)
	}
	return response{status: http.StatusOK, raw: ct.data, contentType: ct.contentType}
}

// QuotaUsage returns a channel's message consumption this month.
func (s *Sim) QuotaUsage(channelID string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.channels[channelID]
	if !ok {
		return 0
	}
	return c.currentUsage(s.now())
}
