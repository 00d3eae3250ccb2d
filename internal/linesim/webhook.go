package linesim

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"time"

	"github.com/line/line-bot-sdk-go/v8/linebot/webhook"
)

// Delivery is one webhook POST the simulator made (or could not make).
type Delivery struct {
	Time            time.Time
	ChannelID       string
	URL             string
	WebhookEventIDs []string
	Redelivery      bool
	Status          int    // 0 when no HTTP answer came
	Err             string // transport error
	// Duration is how long the receiver took. LINE counts more than about 2 seconds
	// as a failure even when the answer is 200.
	Duration time.Duration
	Body     []byte
}

type sentEvent struct {
	channelID string
	event     map[string]any
}

// replyable lists the event types LINE gives a reply token.
var replyable = map[string]bool{
	"message": true, "follow": true, "postback": true, "join": true, "memberJoined": true,
	"beacon": true, "accountLink": true, "things": true, "videoPlayComplete": true,
}

// eventObject marshals an SDK event the way LINE's JSON looks. The SDK's MarshalJSON
// methods (which add "type") are on pointer receivers, so values are copied into
// pointers first; nulls the SDK emits for absent optional fields are dropped, as LINE
// omits them.
func eventObject(ev any) (map[string]any, error) {
	v := reflect.ValueOf(ev)
	if v.Kind() != reflect.Pointer {
		p := reflect.New(v.Type())
		p.Elem().Set(v)
		ev = p.Interface()
	}
	b, err := json.Marshal(ev)
	if err != nil {
		return nil, fmt.Errorf("linesim: marshal event: %w", err)
	}
	m, ok := decodeObject(b)
	if !ok {
		return nil, fmt.Errorf("linesim: event is not a JSON object")
	}
	dropNulls(m)
	if m.str("type") == "" {
		return nil, fmt.Errorf("%w: %T has no type", ErrUnknownEvent, ev)
	}
	return m, nil
}

func dropNulls(v any) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if e == nil {
				delete(x, k)
				continue
			}
			dropNulls(e)
		}
	case jsonObject:
		dropNulls(map[string]any(x))
	case []any:
		for _, e := range x {
			dropNulls(e)
		}
	}
}

// stamp fills what LINE sets on every event and issues a reply token where LINE
// would. Callers hold s.mu.
func (s *Sim) stamp(ch *channel, m map[string]any) {
	now := s.now()
	o := jsonObject(m)
	if ts, _ := m["timestamp"].(json.Number); ts == "" || ts == "0" {
		m["timestamp"] = json.Number(fmt.Sprint(now.UnixMilli()))
	}
	if o.str("mode") == "" {
		m["mode"] = string(webhook.EventMode_ACTIVE)
	}
	if o.str("webhookEventId") == "" {
		m["webhookEventId"] = newULID(now)
	}
	if _, ok := m["deliveryContext"].(map[string]any); !ok {
		m["deliveryContext"] = map[string]any{"isRedelivery": false}
	}
	if o.str("replyToken") == "" {
		delete(m, "replyToken")
		src, _ := o.obj("source")
		if replyable[o.str("type")] && src.str("type") == "user" {
			m["replyToken"] = s.issueReplyToken(ch.cfg.ID, src.str("userId"))
		}
	}
	s.events[o.str("webhookEventId")] = &sentEvent{channelID: ch.cfg.ID, event: m}
}

// IssueReplyToken makes a reply token for an event of userID that a load generator
// builds and signs itself, as LINE gives one with each message event: the reply
// endpoint accepts it once, until it expires.
func (s *Sim) IssueReplyToken(channelID, userID string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.issueReplyToken(channelID, userID)
}

// issueReplyToken makes a token the reply endpoint accepts once, until it expires.
// Callers hold s.mu.
func (s *Sim) issueReplyToken(channelID, userID string) string {
	now := s.now()
	if len(s.replyTokens)%1024 == 1023 {
		for k, t := range s.replyTokens {
			if t.used || !now.Before(t.expires) {
				delete(s.replyTokens, k)
			}
		}
	}
	tok := newReplyToken()
	s.replyTokens[tok] = &replyToken{channelID: channelID, userID: userID, expires: now.Add(s.opts.ReplyTokenTTL)}
	return tok
}

// ExpireReplyTokens makes every outstanding reply token unusable, as if the minute
// had passed.
func (s *Sim) ExpireReplyTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, t := range s.replyTokens {
		t.expires = time.Time{}
	}
}

// post signs and sends events to a channel's webhook URL and records the attempt.
func (s *Sim) post(channelID string, events []map[string]any, redelivery bool) (int, error) {
	s.mu.Lock()
	ch, ok := s.channels[channelID]
	if !ok {
		s.mu.Unlock()
		return 0, ErrUnknownChannel
	}
	cfg := ch.cfg
	s.mu.Unlock()
	if cfg.WebhookURL == "" {
		return 0, ErrNoWebhookURL
	}
	if events == nil {
		events = []map[string]any{}
	}
	body, err := json.Marshal(struct {
		Destination string           `json:"destination"`
		Events      []map[string]any `json:"events"`
	}{cfg.BotUserID, events})
	if err != nil {
		return 0, fmt.Errorf("linesim: marshal webhook: %w", err)
	}
	mac := hmac.New(sha256.New, []byte(cfg.Secret))
	mac.Write(body)
	sig := base64.StdEncoding.EncodeToString(mac.Sum(nil))

	d := Delivery{Time: s.now(), ChannelID: channelID, URL: cfg.WebhookURL, Redelivery: redelivery, Body: body}
	for _, e := range events {
		d.WebhookEventIDs = append(d.WebhookEventIDs, jsonObject(e).str("webhookEventId"))
	}
	status, err := s.send(cfg.WebhookURL, sig, body, &d)

	s.mu.Lock()
	s.deliveries = append(s.deliveries, d)
	s.notify()
	s.mu.Unlock()
	return status, err
}

func (s *Sim) send(url, sig string, body []byte, d *Delivery) (int, error) {
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		d.Err = err.Error()
		return 0, fmt.Errorf("linesim: webhook request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set("User-Agent", "LineBotWebhook/2.0")
	req.Header.Set("X-Line-Signature", sig)
	start := time.Now() // wall time: the injected clock may stand still
	res, err := s.http.Do(req)
	d.Duration = time.Since(start)
	if err != nil {
		d.Err = err.Error()
		return 0, fmt.Errorf("linesim: webhook: %w", err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 1<<20))
	_ = res.Body.Close()
	d.Status = res.StatusCode
	if res.StatusCode/100 != 2 {
		return res.StatusCode, fmt.Errorf("%w: %d", ErrWebhookStatus, res.StatusCode)
	}
	return res.StatusCode, nil
}

// Deliveries returns every webhook attempt, oldest first.
func (s *Sim) Deliveries() []Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Delivery(nil), s.deliveries...)
}

// userOn looks up a channel and a user. Callers hold s.mu.
func (s *Sim) userOn(channelID, userID string) (*channel, *User, error) {
	ch, ok := s.channels[channelID]
	if !ok {
		return nil, nil, ErrUnknownChannel
	}
	u, ok := s.users[userID]
	if !ok {
		return nil, nil, ErrUnknownUser
	}
	return ch, u, nil
}

// emit stamps events built from SDK types and posts them. Callers hold s.mu; emit
// releases it before the HTTP request, so a receiver may call back into the API.
func (s *Sim) emit(ch *channel, evs ...any) (int, error) {
	objs := make([]map[string]any, 0, len(evs))
	for _, ev := range evs {
		m, err := eventObject(ev)
		if err != nil {
			s.mu.Unlock()
			return 0, err
		}
		s.stamp(ch, m)
		objs = append(objs, m)
	}
	s.notify()
	id := ch.cfg.ID
	s.mu.Unlock()
	return s.post(id, objs, false)
}

func userSource(userID string) *webhook.UserSource { return &webhook.UserSource{UserId: userID} }

// Follow makes user a friend of the channel (adding it, or unblocking it) and sends
// the follow event.
func (s *Sim) Follow(channelID, userID string) (int, error) {
	s.mu.Lock()
	ch, _, err := s.userOn(channelID, userID)
	if err != nil {
		s.mu.Unlock()
		return 0, err
	}
	f := ch.friends[userID]
	if f == nil {
		f = &friendship{}
		ch.friends[userID] = f
	}
	if f.following {
		s.mu.Unlock()
		return 0, ErrAlreadyFriend
	}
	unblocked := f.blocked
	f.following, f.blocked = true, false
	return s.emit(ch, &webhook.FollowEvent{Source: userSource(userID), Follow: &webhook.FollowDetail{IsUnblocked: unblocked}})
}

// Unfollow blocks the channel and sends the unfollow event.
func (s *Sim) Unfollow(channelID, userID string) (int, error) {
	s.mu.Lock()
	ch, _, err := s.userOn(channelID, userID)
	if err != nil {
		s.mu.Unlock()
		return 0, err
	}
	f := ch.friends[userID]
	if f == nil || !f.following {
		s.mu.Unlock()
		return 0, ErrNotFriend
	}
	f.following, f.blocked = false, true
	return s.emit(ch, &webhook.UnfollowEvent{Source: userSource(userID)})
}

// userMessage records what the user sent and builds its message event. Callers hold
// s.mu.
func (s *Sim) userMessage(channelID, userID string, build func(id string) (ChatItem, webhook.MessageContentInterface)) (*channel, *webhook.MessageEvent, error) {
	ch, _, err := s.userOn(channelID, userID)
	if err != nil {
		return nil, nil, err
	}
	if f := ch.friends[userID]; f != nil && f.blocked {
		return nil, nil, ErrBlocked
	}
	id := s.msgIDs.New()
	it, content := build(id)
	it.ID, it.From, it.Time, it.Delivered = id, FromUser, s.now(), true
	if it.Via == "" {
		it.Via = "message"
	}
	if b, err := json.Marshal(content); err == nil {
		it.JSON = b
	}
	ch.appendChat(userID, it)
	return ch, &webhook.MessageEvent{Source: userSource(userID), Message: content}, nil
}

func (s *Sim) sendMessage(channelID, userID string, build func(id string) (ChatItem, webhook.MessageContentInterface)) (int, error) {
	s.mu.Lock()
	ch, ev, err := s.userMessage(channelID, userID, build)
	if err != nil {
		s.mu.Unlock()
		return 0, err
	}
	return s.emit(ch, ev)
}

// SendText sends a text message from the user.
func (s *Sim) SendText(channelID, userID, text string) (int, error) {
	return s.sendMessage(channelID, userID, func(id string) (ChatItem, webhook.MessageContentInterface) {
		return ChatItem{Kind: "text", Text: text},
			&webhook.TextMessageContent{Id: id, Text: text, QuoteToken: newQuoteToken()}
	})
}

// SendImage sends an image from the user; the content endpoint serves data.
func (s *Sim) SendImage(channelID, userID string, data []byte, contentType string) (int, error) {
	return s.sendMessage(channelID, userID, func(id string) (ChatItem, webhook.MessageContentInterface) {
		s.contents[id] = content{channelID: channelID, data: append([]byte(nil), data...), contentType: contentType}
		return ChatItem{Kind: "image", HasContent: true},
			&webhook.ImageMessageContent{Id: id, ContentProvider: &webhook.ContentProvider{Type: webhook.ContentProviderTYPE_LINE}, QuoteToken: newQuoteToken()}
	})
}

// SendSticker sends a sticker from the user.
func (s *Sim) SendSticker(channelID, userID, packageID, stickerID string) (int, error) {
	return s.sendMessage(channelID, userID, func(id string) (ChatItem, webhook.MessageContentInterface) {
		return ChatItem{Kind: "sticker", PackageID: packageID, StickerID: stickerID},
			&webhook.StickerMessageContent{Id: id, PackageId: packageID, StickerId: stickerID,
				StickerResourceType: webhook.StickerMessageContentSTICKER_RESOURCE_TYPE_STATIC, QuoteToken: newQuoteToken()}
	})
}

// SendLocation sends a location from the user.
func (s *Sim) SendLocation(channelID, userID, title, address string, latitude, longitude float64) (int, error) {
	return s.sendMessage(channelID, userID, func(id string) (ChatItem, webhook.MessageContentInterface) {
		return ChatItem{Kind: "location", Title: title, Address: address, Latitude: latitude, Longitude: longitude},
			&webhook.LocationMessageContent{Id: id, Title: title, Address: address, Latitude: latitude, Longitude: longitude}
	})
}

// Postback sends a postback event, as tapping a postback action without display text
// does. params carries a date picker's choice (date, time or datetime).
func (s *Sim) Postback(channelID, userID, data string, params map[string]string) (int, error) {
	return s.postback(channelID, userID, data, params, "")
}

func (s *Sim) postback(channelID, userID, data string, params map[string]string, displayText string) (int, error) {
	s.mu.Lock()
	ch, _, err := s.userOn(channelID, userID)
	if err != nil {
		s.mu.Unlock()
		return 0, err
	}
	if f := ch.friends[userID]; f != nil && f.blocked {
		s.mu.Unlock()
		return 0, ErrBlocked
	}
	if displayText != "" {
		// LINE shows the display text as if the user had typed it; no message event.
		ch.appendChat(userID, ChatItem{ID: s.msgIDs.New(), From: FromUser, Time: s.now(), Kind: "text",
			Text: displayText, Delivered: true, Via: "postback"})
	}
	if len(params) == 0 {
		params = nil
	}
	return s.emit(ch, &webhook.PostbackEvent{Source: userSource(userID), Postback: &webhook.PostbackContent{Data: data, Params: params}})
}

// Send posts arbitrary events built with the SDK's webhook types (unsend, join, …).
// Missing timestamp, mode, webhookEventId, deliveryContext and, for the types LINE
// gives one, replyToken are filled in.
func (s *Sim) Send(channelID string, events ...webhook.EventInterface) (int, error) {
	s.mu.Lock()
	ch, ok := s.channels[channelID]
	if !ok {
		s.mu.Unlock()
		return 0, ErrUnknownChannel
	}
	evs := make([]any, len(events))
	for i, e := range events {
		evs[i] = e
	}
	return s.emit(ch, evs...)
}

// Redeliver sends an event again with deliveryContext.isRedelivery true, as LINE's
// webhook redelivery does after a failed attempt.
func (s *Sim) Redeliver(webhookEventID string) (int, error) {
	s.mu.Lock()
	se, ok := s.events[webhookEventID]
	if !ok {
		s.mu.Unlock()
		return 0, ErrUnknownEvent
	}
	m := make(map[string]any, len(se.event))
	for k, v := range se.event {
		m[k] = v
	}
	m["deliveryContext"] = map[string]any{"isRedelivery": true}
	id := se.channelID
	s.mu.Unlock()
	return s.post(id, []map[string]any{m}, true)
}

// VerifyWebhook sends an empty events array, as the console's Verify button does.
func (s *Sim) VerifyWebhook(channelID string) (int, error) {
	return s.post(channelID, nil, false)
}
