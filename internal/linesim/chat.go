package linesim

import (
	"context"
	"encoding/json"
	"strings"
	"time"
)

// Direction says who sent a chat item.
type Direction string

// The two sides of a one-to-one chat.
const (
	FromUser Direction = "user" // the parent, to the school's account
	FromBot  Direction = "bot"  // the school's account (the app), to the parent
)

// Action is a LINE action object (button, quick reply item, rich menu area), decoded
// from the JSON the app sent. The JSON names are LINE's, so Action round-trips.
type Action struct {
	Type            string `json:"type"`
	Label           string `json:"label,omitempty"`
	Data            string `json:"data,omitempty"`
	DisplayText     string `json:"displayText,omitempty"`
	Text            string `json:"text,omitempty"`
	URI             string `json:"uri,omitempty"`
	Mode            string `json:"mode,omitempty"`
	Initial         string `json:"initial,omitempty"`
	Max             string `json:"max,omitempty"`
	Min             string `json:"min,omitempty"`
	RichMenuAliasID string `json:"richMenuAliasId,omitempty"`
	ClipboardText   string `json:"clipboardText,omitempty"`
}

// Card is one column of a carousel template.
type Card struct {
	Title    string
	Text     string
	ImageURL string
	Actions  []Action
}

// ChatItem is one speech bubble as the parent's LINE would show it, with the message
// JSON it came from.
type ChatItem struct {
	ID   string // LINE's message ID
	From Direction
	Time time.Time
	// Kind is LINE's message type: text, image, video, audio, sticker, location,
	// template, flex, imagemap.
	Kind       string
	Text       string // text; template or flex body text
	Title      string // template title
	AltText    string // template, flex and imagemap alt text (the notification text)
	ImageURL   string // image preview or template thumbnail; empty for a user's image
	Columns    []Card // carousel templates
	Actions    []Action
	QuickReply []Action
	// PackageID and StickerID identify a sticker.
	PackageID, StickerID string
	// Address, Latitude and Longitude describe a location.
	Address             string
	Latitude, Longitude float64
	// HasContent is true for a user's image, whose bytes MessageContent returns.
	HasContent bool
	// Delivered is false for a bot message to a user who blocked the account or never
	// followed it: LINE accepted it, the user never saw it.
	Delivered bool
	// Via is reply, push or multicast for bot messages; message or postback for the
	// user's.
	Via       string
	RequestID string
	// ReplyToken is the token a reply used, which names the event it answered (each
	// event gets its own): tests count the answers to every event.
	ReplyToken string
	JSON       json.RawMessage
}

// decodeChatItem turns a validated message object into what the chat shows.
func decodeChatItem(raw json.RawMessage) ChatItem {
	it := ChatItem{JSON: append(json.RawMessage(nil), raw...)}
	var m struct {
		Type               string          `json:"type"`
		Text               string          `json:"text"`
		AltText            string          `json:"altText"`
		OriginalContentURL string          `json:"originalContentUrl"`
		PreviewImageURL    string          `json:"previewImageUrl"`
		PackageID          string          `json:"packageId"`
		StickerID          string          `json:"stickerId"`
		Title              string          `json:"title"`
		Address            string          `json:"address"`
		Latitude           float64         `json:"latitude"`
		Longitude          float64         `json:"longitude"`
		Template           json.RawMessage `json:"template"`
		Contents           json.RawMessage `json:"contents"`
		QuickReply         *struct {
			Items []struct {
				Action Action `json:"action"`
			} `json:"items"`
		} `json:"quickReply"`
	}
	_ = json.Unmarshal(raw, &m) // validated before
	it.Kind = m.Type
	switch m.Type {
	case "text", "textV2":
		it.Kind, it.Text = "text", m.Text
	case "image", "video":
		it.ImageURL = m.PreviewImageURL
	case "sticker":
		it.PackageID, it.StickerID = m.PackageID, m.StickerID
	case "location":
		it.Title, it.Address, it.Latitude, it.Longitude = m.Title, m.Address, m.Latitude, m.Longitude
	case "imagemap":
		it.AltText = m.AltText
	case "template":
		it.AltText = m.AltText
		decodeTemplate(&it, m.Template)
	case "flex":
		it.AltText = m.AltText
		var texts []string
		walkFlex(m.Contents, &texts, &it.Actions)
		it.Text = strings.Join(texts, "\n")
	}
	if m.QuickReply != nil {
		for _, qi := range m.QuickReply.Items {
			it.QuickReply = append(it.QuickReply, qi.Action)
		}
	}
	return it
}

func decodeTemplate(it *ChatItem, raw json.RawMessage) {
	var t struct {
		Type              string   `json:"type"`
		Title             string   `json:"title"`
		Text              string   `json:"text"`
		ThumbnailImageURL string   `json:"thumbnailImageUrl"`
		Actions           []Action `json:"actions"`
		Columns           []struct {
			Title             string   `json:"title"`
			Text              string   `json:"text"`
			ThumbnailImageURL string   `json:"thumbnailImageUrl"`
			ImageURL          string   `json:"imageUrl"`
			Actions           []Action `json:"actions"`
			Action            *Action  `json:"action"`
		} `json:"columns"`
	}
	_ = json.Unmarshal(raw, &t)
	it.Title, it.Text, it.ImageURL, it.Actions = t.Title, t.Text, t.ThumbnailImageURL, t.Actions
	for _, c := range t.Columns {
		card := Card{Title: c.Title, Text: c.Text, ImageURL: c.ThumbnailImageURL, Actions: c.Actions}
		if c.ImageURL != "" {
			card.ImageURL = c.ImageURL
		}
		if c.Action != nil {
			card.Actions = []Action{*c.Action}
		}
		it.Columns = append(it.Columns, card)
	}
}

// walkFlex collects a Flex container's texts and button actions, enough for a test
// or the phone page to read and tap it.
func walkFlex(raw json.RawMessage, texts *[]string, actions *[]Action) {
	var node map[string]json.RawMessage
	if json.Unmarshal(raw, &node) != nil {
		var list []json.RawMessage
		if json.Unmarshal(raw, &list) == nil {
			for _, e := range list {
				walkFlex(e, texts, actions)
			}
		}
		return
	}
	var typ, text string
	_ = json.Unmarshal(node["type"], &typ)
	switch typ {
	case "text", "span":
		_ = json.Unmarshal(node["text"], &text)
		if text != "" && typ == "text" {
			*texts = append(*texts, text)
		}
	case "button":
		var a Action
		if json.Unmarshal(node["action"], &a) == nil {
			*actions = append(*actions, a)
		}
		return
	}
	for _, k := range []string{"header", "hero", "body", "footer", "contents"} {
		if v, ok := node[k]; ok {
			walkFlex(v, texts, actions)
		}
	}
}

// appendChat adds an item to a chat. Callers hold s.mu.
func (c *channel) appendChat(userID string, it ChatItem) {
	c.chats[userID] = append(c.chats[userID], it)
}

// Chat returns the chat between a channel's account and a user, oldest first.
func (s *Sim) Chat(channelID, userID string) []ChatItem {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.chatLocked(channelID, userID)
}

func (s *Sim) chatLocked(channelID, userID string) []ChatItem {
	c, ok := s.channels[channelID]
	if !ok {
		return nil
	}
	return append([]ChatItem(nil), c.chats[userID]...)
}

// ChatItemByID finds one item of a chat.
func (s *Sim) ChatItemByID(channelID, userID, messageID string) (ChatItem, bool) {
	for _, it := range s.Chat(channelID, userID) {
		if it.ID == messageID {
			return it, true
		}
	}
	return ChatItem{}, false
}

// WaitChat blocks until cond holds for the chat or ctx ends; it returns the chat it
// last saw. The app answers webhooks asynchronously, so tests wait for its reply
// instead of sleeping.
func (s *Sim) WaitChat(ctx context.Context, channelID, userID string, cond func([]ChatItem) bool) ([]ChatItem, error) {
	for {
		s.mu.Lock()
		chat := s.chatLocked(channelID, userID)
		changed := s.changed
		s.mu.Unlock()
		if cond(chat) {
			return chat, nil
		}
		select {
		case <-ctx.Done():
			return chat, ctx.Err()
		case <-changed:
		}
	}
}

// MessageContent returns what a user sent as an image (or other media), as the data
// API's content endpoint does.
func (s *Sim) MessageContent(messageID string) (data []byte, contentType string, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.contents[messageID]
	if !ok {
		return nil, "", false
	}
	return c.data, c.contentType, true
}
