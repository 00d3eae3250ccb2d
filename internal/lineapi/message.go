package lineapi

import (
	"errors"
	"fmt"
	"unicode/utf16"

	"github.com/line/line-bot-sdk-go/v8/linebot/messaging_api"
)

// Message is renraku's small message model: a text with optional quick replies, or a
// buttons template (up to four buttons) with alt text. The LINE feature stores messages
// encrypted in its outbox (as this JSON); the client turns them into the SDK's types
// only when it sends them.
type Message struct {
	Text       string   `json:"text"`
	AltText    string   `json:"altText,omitempty"`
	Title      string   `json:"title,omitempty"`
	Buttons    []Action `json:"buttons,omitempty"`
	QuickReply []Action `json:"quickReply,omitempty"`
}

// Action is a button, a quick-reply item or a rich-menu area's action.
type Action struct {
	Kind        string `json:"kind"` // postback, uri, message
	Label       string `json:"label"`
	Data        string `json:"data,omitempty"`        // postback
	DisplayText string `json:"displayText,omitempty"` // postback: shown as the user's message
	URI         string `json:"uri,omitempty"`         // uri
	Text        string `json:"text,omitempty"`        // message
}

// LINE's limits, counted as LINE counts them (UTF-16 code units).
const (
	MaxTextLength        = 5000
	MaxButtonsTextLength = 160
	MaxButtons           = 4
	MaxQuickReplyItems   = 13
	MaxPostbackData      = 300
	MaxLabelLength       = 20
	MaxMessagesPerSend   = 5
)

// UTF16Len is the length LINE uses for its text limits.
func UTF16Len(s string) int { return len(utf16.Encode([]rune(s))) }

// ErrInvalidMessage is returned for a message LINE would refuse.
var ErrInvalidMessage = errors.New("line: invalid message")

// Validate checks m against LINE's limits.
func (m Message) Validate() error {
	if m.Text == "" {
		return fmt.Errorf("%w: empty text", ErrInvalidMessage)
	}
	if len(m.Buttons) > 0 {
		if UTF16Len(m.Text) > MaxButtonsTextLength || len(m.Buttons) > MaxButtons || m.AltText == "" {
			return fmt.Errorf("%w: buttons template limits", ErrInvalidMessage)
		}
	} else if UTF16Len(m.Text) > MaxTextLength {
		return fmt.Errorf("%w: text longer than %d", ErrInvalidMessage, MaxTextLength)
	}
	if len(m.QuickReply) > MaxQuickReplyItems {
		return fmt.Errorf("%w: more than %d quick replies", ErrInvalidMessage, MaxQuickReplyItems)
	}
	for _, a := range append(append([]Action{}, m.Buttons...), m.QuickReply...) {
		if err := a.validate(); err != nil {
			return err
		}
	}
	return nil
}

func (a Action) validate() error {
	if a.Label == "" || UTF16Len(a.Label) > MaxLabelLength {
		return fmt.Errorf("%w: action label length", ErrInvalidMessage)
	}
	switch a.Kind {
	case "postback":
		if a.Data == "" || UTF16Len(a.Data) > MaxPostbackData {
			return fmt.Errorf("%w: postback data length", ErrInvalidMessage)
		}
	case "uri":
		if a.URI == "" {
			return fmt.Errorf("%w: uri action without URI", ErrInvalidMessage)
		}
	case "message":
		if a.Text == "" {
			return fmt.Errorf("%w: message action without text", ErrInvalidMessage)
		}
	default:
		return fmt.Errorf("%w: action kind %q", ErrInvalidMessage, a.Kind)
	}
	return nil
}

func (a Action) sdk() messaging_api.ActionInterface {
	switch a.Kind {
	case "uri":
		return &messaging_api.UriAction{Label: a.Label, Uri: a.URI}
	case "message":
		return &messaging_api.MessageAction{Label: a.Label, Text: a.Text}
	}
	return &messaging_api.PostbackAction{Label: a.Label, Data: a.Data, DisplayText: a.DisplayText}
}

// sdkMessages turns messages into the SDK's request types.
func sdkMessages(ms []Message) []messaging_api.MessageInterface {
	out := make([]messaging_api.MessageInterface, 0, len(ms))
	for _, m := range ms {
		var qr *messaging_api.QuickReply
		if len(m.QuickReply) > 0 {
			qr = &messaging_api.QuickReply{}
			for _, a := range m.QuickReply {
				qr.Items = append(qr.Items, messaging_api.QuickReplyItem{Type: "action", Action: a.sdk()})
			}
		}
		if len(m.Buttons) > 0 {
			t := &messaging_api.ButtonsTemplate{Title: m.Title, Text: m.Text}
			for _, a := range m.Buttons {
				t.Actions = append(t.Actions, a.sdk())
			}
			out = append(out, &messaging_api.TemplateMessage{AltText: m.AltText, Template: t, QuickReply: qr})
			continue
		}
		out = append(out, &messaging_api.TextMessage{Text: m.Text, QuickReply: qr})
	}
	return out
}

// TrimUTF16 shortens s to n UTF-16 units (LINE's count), ending with "…".
func TrimUTF16(s string, n int) string {
	if UTF16Len(s) <= n {
		return s
	}
	r := []rune(s)
	for UTF16Len(string(r))+1 > n {
		r = r[:len(r)-1]
	}
	return string(r) + "…"
}
