package linesim

import (
	"fmt"
	"time"
)

// TapResult is what tapping an action did.
type TapResult struct {
	// URI is set for a uri action: LINE opens it in its in-app browser and sends no
	// event, so the caller (the phone page) opens it (a LIFF URL as the page it leads
	// to, OpenURI).
	URI string
	// Status is the webhook's HTTP status, 0 when no event was sent.
	Status int
}

// Tap does what LINE does when the user taps a rich menu area, quick reply item or
// template button with action a. Date pickers get the action's initial value, else
// the current time; TapDatetime chooses a value.
func (s *Sim) Tap(channelID, userID string, a Action) (TapResult, error) {
	return s.TapDatetime(channelID, userID, a, "")
}

// TapDatetime taps a, choosing value (in the picker's format: 2006-01-02, 15:04 or
// 2006-01-02T15:04) when a is a datetimepicker.
func (s *Sim) TapDatetime(channelID, userID string, a Action, value string) (TapResult, error) {
	switch a.Type {
	case "postback":
		st, err := s.postback(channelID, userID, a.Data, nil, firstNonEmpty(a.DisplayText, a.Text))
		return TapResult{Status: st}, err
	case "message":
		st, err := s.SendText(channelID, userID, a.Text)
		return TapResult{Status: st}, err
	case "uri":
		return TapResult{URI: s.OpenURI(a.URI)}, nil
	case "datetimepicker":
		layout, key := "2006-01-02T15:04", "datetime"
		switch a.Mode {
		case "date":
			layout, key = "2006-01-02", "date"
		case "time":
			layout, key = "15:04", "time"
		}
		if value == "" {
			value = a.Initial
		}
		if value == "" {
			value = s.now().In(jst).Format(layout)
		}
		if _, err := time.Parse(layout, value); err != nil {
			return TapResult{}, fmt.Errorf("linesim: %s value %q: %w", a.Mode, value, err)
		}
		st, err := s.postback(channelID, userID, a.Data, map[string]string{key: value}, "")
		return TapResult{Status: st}, err
	case "richmenuswitch":
		// Aliases are not simulated, so LINE's answer is the one for an unknown alias.
		st, err := s.postback(channelID, userID, a.Data,
			map[string]string{"newRichMenuAliasId": a.RichMenuAliasID, "status": "RICHMENU_ALIAS_ID_NOTFOUND"}, "")
		return TapResult{Status: st}, err
	}
	return TapResult{}, fmt.Errorf("%w: %s", ErrUnsupported, a.Type)
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}
