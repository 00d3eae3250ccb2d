package linesim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"unicode/utf16"
)

// LINE's limits on message objects. Text lengths count UTF-16 code units, as LINE
// counts them: an emoji outside the BMP is two.
const (
	MaxMessagesPerRequest = 5
	MaxTextLength         = 5000
	MaxQuickReplyItems    = 13
	MaxPostbackData       = 300
	MaxActionLabel        = 20
	MaxAltText            = 400
	MaxMulticastTo        = 500
)

// utf16Len is the length LINE applies its text limits to.
func utf16Len(s string) int { return len(utf16.Encode([]rune(s))) }

// jsonObject is a decoded JSON object; numbers stay json.Number so nothing is lost.
type jsonObject map[string]any

func decodeObject(raw []byte) (jsonObject, bool) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil || m == nil {
		return nil, false
	}
	return m, true
}

func (o jsonObject) str(k string) string {
	s, _ := o[k].(string)
	return s
}

func (o jsonObject) obj(k string) (jsonObject, bool) {
	m, ok := o[k].(map[string]any)
	return m, ok
}

func (o jsonObject) list(k string) ([]any, bool) {
	l, ok := o[k].([]any)
	return l, ok
}

func (o jsonObject) has(k string) bool {
	v, ok := o[k]
	return ok && v != nil
}

// validator collects LINE-style error details for one request body.
type validator struct {
	details   []errorDetail
	allowHTTP bool
}

func (v *validator) add(prop, msg string) {
	v.details = append(v.details, errorDetail{Message: msg, Property: prop})
}

// text checks a string property: required (1..max) or optional (0..max).
func (v *validator) text(o jsonObject, p, k string, required bool, max int) {
	val, present := o[k]
	if !present || val == nil {
		if required {
			v.add(p+"."+k, "must be specified")
		}
		return
	}
	s, ok := val.(string)
	switch {
	case !ok:
		v.add(p+"."+k, "must be a string")
	case s == "" && required:
		v.add(p+"."+k, "May not be empty")
	case utf16Len(s) > max:
		v.add(p+"."+k, fmt.Sprintf("Length must be between 0 and %d", max))
	}
}

func (v *validator) number(o jsonObject, p, k string) {
	if _, ok := o[k].(json.Number); !ok {
		v.add(p+"."+k, "must be specified")
	}
}

// url checks a media URL: LINE fetches these itself and requires HTTPS.
func (v *validator) url(o jsonObject, p, k string, required bool) {
	s := o.str(k)
	if s == "" {
		if required {
			v.add(p+"."+k, "must be specified")
		}
		return
	}
	u, err := url.Parse(s)
	switch {
	case err != nil || u.Host == "":
		v.add(p+"."+k, "invalid URL")
	case u.Scheme != "https" && !(v.allowHTTP && u.Scheme == "http"):
		v.add(p+"."+k, "must be an HTTPS URL")
	case len(s) > 2000:
		v.add(p+"."+k, "Length must be between 0 and 2000")
	}
}

// messages validates a send request's messages array.
func (v *validator) messages(msgs []json.RawMessage) {
	if len(msgs) < 1 || len(msgs) > MaxMessagesPerRequest {
		v.add("messages", fmt.Sprintf("Size must be between 1 and %d", MaxMessagesPerRequest))
		return
	}
	for i, raw := range msgs {
		v.message(fmt.Sprintf("messages[%d]", i), raw)
	}
}

func (v *validator) message(p string, raw json.RawMessage) {
	m, ok := decodeObject(raw)
	if !ok {
		v.add(p, "must be an object")
		return
	}
	switch m.str("type") {
	case "text":
		v.text(m, p, "text", true, MaxTextLength)
	case "textV2":
		v.text(m, p, "text", true, MaxTextLength)
	case "sticker":
		v.text(m, p, "packageId", true, 100)
		v.text(m, p, "stickerId", true, 100)
	case "image", "video":
		v.url(m, p, "originalContentUrl", true)
		v.url(m, p, "previewImageUrl", true)
	case "audio":
		v.url(m, p, "originalContentUrl", true)
		v.number(m, p, "duration")
	case "location":
		v.text(m, p, "title", true, 100)
		v.text(m, p, "address", true, 100)
		v.number(m, p, "latitude")
		v.number(m, p, "longitude")
	case "imagemap":
		v.url(m, p, "baseUrl", true)
		v.text(m, p, "altText", true, MaxAltText)
		if acts, ok := m.list("actions"); !ok || len(acts) < 1 || len(acts) > 50 {
			v.add(p+".actions", "Size must be between 1 and 50")
		}
	case "template":
		v.text(m, p, "altText", true, MaxAltText)
		t, ok := m.obj("template")
		if !ok {
			v.add(p+".template", "must be specified")
			break
		}
		v.template(p+".template", t)
	case "flex":
		v.text(m, p, "altText", true, MaxAltText)
		c, ok := m.obj("contents")
		if !ok || (c.str("type") != "bubble" && c.str("type") != "carousel") {
			v.add(p+".contents", "must be a bubble or carousel container")
			break
		}
		v.flexActions(p+".contents", c)
	case "coupon":
		v.text(m, p, "couponId", true, 100)
	case "":
		v.add(p+".type", "must be specified")
	default:
		v.add(p+".type", "Invalid message type")
	}
	if m.has("quickReply") {
		v.quickReply(p+".quickReply", m)
	}
}

func (v *validator) quickReply(p string, m jsonObject) {
	qr, ok := m.obj("quickReply")
	if !ok {
		v.add(p, "must be an object")
		return
	}
	items, ok := qr.list("items")
	if !ok || len(items) < 1 || len(items) > MaxQuickReplyItems {
		v.add(p+".items", fmt.Sprintf("Size must be between 1 and %d", MaxQuickReplyItems))
		return
	}
	for i, it := range items {
		ip := fmt.Sprintf("%s.items[%d]", p, i)
		item, ok := it.(map[string]any)
		if !ok || jsonObject(item).str("type") != "action" {
			v.add(ip+".type", "must be action")
			continue
		}
		a, ok := jsonObject(item).obj("action")
		if !ok {
			v.add(ip+".action", "must be specified")
			continue
		}
		switch a.str("type") {
		case "postback", "message", "uri", "datetimepicker", "camera", "cameraRoll", "location", "clipboard":
			v.action(ip+".action", a, true, false)
		default:
			v.add(ip+".action.type", "Invalid action type")
		}
	}
}

func (v *validator) template(p string, t jsonObject) {
	switch t.str("type") {
	case "buttons":
		max := 160
		if t.has("title") || t.has("thumbnailImageUrl") {
			max = 60
		}
		v.text(t, p, "text", true, max)
		v.text(t, p, "title", false, 40)
		v.url(t, p, "thumbnailImageUrl", false)
		v.actions(p, t, 1, 4)
		if d, ok := t.obj("defaultAction"); ok {
			v.action(p+".defaultAction", d, false, false)
		}
	case "confirm":
		v.text(t, p, "text", true, 240)
		v.actions(p, t, 2, 2)
	case "carousel":
		cols, ok := t.list("columns")
		if !ok || len(cols) < 1 || len(cols) > 10 {
			v.add(p+".columns", "Size must be between 1 and 10")
			return
		}
		n := -1
		for i, c := range cols {
			cp := fmt.Sprintf("%s.columns[%d]", p, i)
			col, ok := c.(map[string]any)
			if !ok {
				v.add(cp, "must be an object")
				continue
			}
			co := jsonObject(col)
			max := 120
			if co.has("title") || co.has("thumbnailImageUrl") {
				max = 60
			}
			v.text(co, cp, "text", true, max)
			v.text(co, cp, "title", false, 40)
			v.url(co, cp, "thumbnailImageUrl", false)
			v.actions(cp, co, 1, 3)
			acts, _ := co.list("actions")
			if n >= 0 && len(acts) != n {
				v.add(cp+".actions", "must have the same number of actions as the other columns")
			}
			n = len(acts)
		}
	case "image_carousel":
		cols, ok := t.list("columns")
		if !ok || len(cols) < 1 || len(cols) > 10 {
			v.add(p+".columns", "Size must be between 1 and 10")
			return
		}
		for i, c := range cols {
			cp := fmt.Sprintf("%s.columns[%d]", p, i)
			col, ok := c.(map[string]any)
			if !ok {
				v.add(cp, "must be an object")
				continue
			}
			v.url(col, cp, "imageUrl", true)
			a, ok := jsonObject(col).obj("action")
			if !ok {
				v.add(cp+".action", "must be specified")
				continue
			}
			v.action(cp+".action", a, false, false)
		}
	default:
		v.add(p+".type", "Invalid template type")
	}
}

func (v *validator) actions(p string, o jsonObject, lo, hi int) {
	acts, ok := o.list("actions")
	if !ok || len(acts) < lo || len(acts) > hi {
		v.add(p+".actions", fmt.Sprintf("Size must be between %d and %d", lo, hi))
		return
	}
	for i, a := range acts {
		ap := fmt.Sprintf("%s.actions[%d]", p, i)
		m, ok := a.(map[string]any)
		if !ok {
			v.add(ap, "must be an object")
			continue
		}
		v.action(ap, m, true, false)
	}
}

// flexActions validates every action inside a Flex container; the layout itself is
// not checked (renraku does not send Flex).
func (v *validator) flexActions(p string, o jsonObject) {
	for k, val := range o {
		switch x := val.(type) {
		case map[string]any:
			if k == "action" {
				v.action(p+"."+k, x, false, false)
			} else {
				v.flexActions(p+"."+k, x)
			}
		case []any:
			for i, e := range x {
				if m, ok := e.(map[string]any); ok {
					v.flexActions(fmt.Sprintf("%s.%s[%d]", p, k, i), m)
				}
			}
		}
	}
}

// action validates one action object. Rich menus may also use richmenuswitch.
func (v *validator) action(p string, a jsonObject, labelRequired, inRichMenu bool) {
	v.text(a, p, "label", labelRequired, MaxActionLabel)
	switch a.str("type") {
	case "postback":
		v.text(a, p, "data", true, MaxPostbackData)
		v.text(a, p, "displayText", false, 300)
		v.text(a, p, "text", false, 300)
		if a.has("displayText") && a.has("text") {
			v.add(p, "displayText and text cannot both be specified")
		}
	case "message":
		v.text(a, p, "text", true, 300)
	case "uri":
		v.text(a, p, "uri", true, 1000)
		if s := a.str("uri"); s != "" {
			u, err := url.Parse(s)
			if err != nil || !map[string]bool{"http": true, "https": true, "line": true, "tel": true}[u.Scheme] {
				v.add(p+".uri", "invalid URI scheme")
			}
		}
	case "datetimepicker":
		v.text(a, p, "data", true, MaxPostbackData)
		switch a.str("mode") {
		case "date", "time", "datetime":
		default:
			v.add(p+".mode", "must be one of date, time, datetime")
		}
	case "camera", "cameraRoll", "location":
	case "clipboard":
		v.text(a, p, "clipboardText", true, 1000)
	case "richmenuswitch":
		if !inRichMenu {
			v.add(p+".type", "Invalid action type")
			return
		}
		v.text(a, p, "richMenuAliasId", true, 32)
		v.text(a, p, "data", true, MaxPostbackData)
	case "":
		v.add(p+".type", "must be specified")
	default:
		v.add(p+".type", "Invalid action type")
	}
}
