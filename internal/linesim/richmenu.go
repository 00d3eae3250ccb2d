package linesim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image"
	_ "image/jpeg" // rich menu images are PNG or JPEG
	_ "image/png"
	"mime"
	"net/http"
)

// Rich menu limits from LINE's reference.
const (
	MaxRichMenuImageBytes = 1 << 20
	maxRichMenuAreas      = 20
	maxRichMenus          = 1000
	maxChatBarText        = 14
	maxRichMenuName       = 300
)

// RichMenu is a rich menu as the parent's LINE shows it.
type RichMenu struct {
	ID            string
	Width, Height int
	Selected      bool
	Name          string
	ChatBarText   string
	Areas         []RichMenuArea
	Image         []byte // nil until uploaded
	ImageType     string
}

// RichMenuArea is a tappable rectangle in rich menu image pixels.
type RichMenuArea struct {
	X, Y, Width, Height int
	Action              Action
}

type richMenu struct {
	id          string
	width       int
	height      int
	selected    bool
	name        string
	chatBarText string
	areas       []richMenuArea
	image       []byte
	imageType   string
}

type bounds struct {
	X      int `json:"x"`
	Y      int `json:"y"`
	Width  int `json:"width"`
	Height int `json:"height"`
}

type richMenuArea struct {
	Bounds bounds          `json:"bounds"`
	Action json.RawMessage `json:"action"`
}

type richMenuJSON struct {
	RichMenuID  string         `json:"richMenuId"`
	Size        map[string]int `json:"size"`
	Selected    bool           `json:"selected"`
	Name        string         `json:"name"`
	ChatBarText string         `json:"chatBarText"`
	Areas       []richMenuArea `json:"areas"`
}

func (m *richMenu) json() richMenuJSON {
	areas := m.areas
	if areas == nil {
		areas = []richMenuArea{}
	}
	return richMenuJSON{m.id, map[string]int{"width": m.width, "height": m.height}, m.selected, m.name, m.chatBarText, areas}
}

func (m *richMenu) public() RichMenu {
	out := RichMenu{ID: m.id, Width: m.width, Height: m.height, Selected: m.selected, Name: m.name,
		ChatBarText: m.chatBarText, Image: m.image, ImageType: m.imageType}
	for _, a := range m.areas {
		var act Action
		_ = json.Unmarshal(a.Action, &act)
		out.Areas = append(out.Areas, RichMenuArea{a.Bounds.X, a.Bounds.Y, a.Bounds.Width, a.Bounds.Height, act})
	}
	return out
}

// validRichMenuSize follows LINE's rule: width 800–2500, height at least 250, and
// width/height at least 1.45 (2500×1686 and 2500×843 are the templates).
func validRichMenuSize(w, h int) bool {
	return w >= 800 && w <= 2500 && h >= 250 && float64(w)/float64(h) >= 1.45
}

func (s *Sim) handleRichMenuCreate(c *call) response {
	var req struct {
		Size *struct {
			Width  int `json:"width"`
			Height int `json:"height"`
		} `json:"size"`
		Selected    bool    `json:"selected"`
		Name        *string `json:"name"`
		ChatBarText *string `json:"chatBarText"`
		Areas       []struct {
			Bounds *bounds         `json:"bounds"`
			Action json.RawMessage `json:"action"`
		} `json:"areas"`
	}
	if r := c.decodeJSON(&req); r != nil {
		return *r
	}
	v := validator{allowHTTP: s.opts.AllowHTTPURLs}
	if req.Size == nil {
		v.add("size", "must be specified")
	} else if !validRichMenuSize(req.Size.Width, req.Size.Height) {
		v.add("size", "invalid rich menu size: width must be 800-2500, height at least 250, width/height at least 1.45")
	}
	switch {
	case req.Name == nil || *req.Name == "":
		v.add("name", "must be specified")
	case utf16Len(*req.Name) > maxRichMenuName:
		v.add("name", fmt.Sprintf("Length must be between 0 and %d", maxRichMenuName))
	}
	switch {
	case req.ChatBarText == nil || *req.ChatBarText == "":
		v.add("chatBarText", "must be specified")
	case utf16Len(*req.ChatBarText) > maxChatBarText:
		v.add("chatBarText", fmt.Sprintf("Length must be between 0 and %d", maxChatBarText))
	}
	if req.Areas == nil {
		v.add("areas", "must be specified")
	} else if len(req.Areas) > maxRichMenuAreas {
		v.add("areas", fmt.Sprintf("Size must be between 0 and %d", maxRichMenuAreas))
	}
	m := &richMenu{id: newRichMenuID(), selected: req.Selected}
	for i, a := range req.Areas {
		p := fmt.Sprintf("areas[%d]", i)
		b := a.Bounds
		switch {
		case b == nil:
			v.add(p+".bounds", "must be specified")
		case req.Size != nil && (b.X < 0 || b.Y < 0 || b.Width <= 0 || b.Height <= 0 ||
			b.X+b.Width > req.Size.Width || b.Y+b.Height > req.Size.Height):
			v.add(p+".bounds", "must be within the rich menu size")
		}
		act, ok := decodeObject(a.Action)
		if !ok {
			v.add(p+".action", "must be specified")
		} else {
			v.action(p+".action", act, false, true)
		}
		if b != nil {
			m.areas = append(m.areas, richMenuArea{Bounds: *b, Action: append(json.RawMessage(nil), a.Action...)})
		}
	}
	if len(v.details) > 0 {
		return bodyErrors(v.details)
	}
	if len(c.ch.menus) >= maxRichMenus {
		return errResp(http.StatusBadRequest, "The number of rich menus has reached the upper limit")
	}
	m.width, m.height, m.name, m.chatBarText = req.Size.Width, req.Size.Height, *req.Name, *req.ChatBarText
	c.ch.menus[m.id] = m
	c.ch.menuOrder = append(c.ch.menuOrder, m.id)
	return jsonResp(http.StatusOK, map[string]string{"richMenuId": m.id})
}

// menu finds the path's rich menu or says why not. Callers hold s.mu.
func (c *call) menu() (*richMenu, *response) {
	id := c.r.PathValue("richMenuId")
	m, ok := c.ch.menus[id]
	if !richMenuRE.MatchString(id) || !ok {
		r := errResp(http.StatusNotFound, msgNotFound)
		return nil, &r
	}
	return m, nil
}

func (s *Sim) handleRichMenuList(c *call) response {
	list := make([]richMenuJSON, 0, len(c.ch.menuOrder))
	for _, id := range c.ch.menuOrder {
		list = append(list, c.ch.menus[id].json())
	}
	return jsonResp(http.StatusOK, map[string]any{"richmenus": list})
}

func (s *Sim) handleRichMenuGet(c *call) response {
	m, r := c.menu()
	if r != nil {
		return *r
	}
	return jsonResp(http.StatusOK, m.json())
}

func (s *Sim) handleRichMenuDelete(c *call) response {
	m, r := c.menu()
	if r != nil {
		return *r
	}
	delete(c.ch.menus, m.id)
	for i, id := range c.ch.menuOrder {
		if id == m.id {
			c.ch.menuOrder = append(c.ch.menuOrder[:i:i], c.ch.menuOrder[i+1:]...)
			break
		}
	}
	if c.ch.defaultMenu == m.id {
		c.ch.defaultMenu = ""
	}
	for u, id := range c.ch.userMenus {
		if id == m.id {
			delete(c.ch.userMenus, u)
		}
	}
	return jsonResp(http.StatusOK, map[string]any{})
}

func (s *Sim) handleRichMenuUpload(c *call) response {
	m, r := c.menu()
	if r != nil {
		return *r
	}
	ct := c.r.Header.Get("Content-Type")
	mt, _, _ := mime.ParseMediaType(ct)
	if mt != "image/png" && mt != "image/jpeg" {
		return errResp(http.StatusUnsupportedMediaType, fmt.Sprintf("The content type, '%s', is not supported", ct))
	}
	if len(c.body) > MaxRichMenuImageBytes {
		return errResp(http.StatusBadRequest, "The image file is larger than 1 MB")
	}
	if m.image != nil {
		return errResp(http.StatusBadRequest, "An image has already been uploaded to the richmenu")
	}
	cfg, format, err := image.DecodeConfig(bytes.NewReader(c.body))
	if err != nil || "image/"+format != mt {
		return errResp(http.StatusBadRequest, "The image is not a valid "+mt)
	}
	if cfg.Width != m.width || cfg.Height != m.height {
		return errResp(http.StatusBadRequest, fmt.Sprintf("The image is %d×%d; the rich menu is %d×%d", cfg.Width, cfg.Height, m.width, m.height))
	}
	m.image, m.imageType = append([]byte(nil), c.body...), mt
	return jsonResp(http.StatusOK, map[string]any{})
}

func (s *Sim) handleRichMenuDownload(c *call) response {
	m, r := c.menu()
	if r != nil {
		return *r
	}
	if m.image == nil {
		return errResp(http.StatusNotFound, msgNotFound)
	}
	return response{status: http.StatusOK, raw: m.image, contentType: m.imageType}
}

const msgNoImage = "must upload richmenu image before applying it to user"

func (s *Sim) handleSetDefault(c *call) response {
	m, r := c.menu()
	if r != nil {
		return *r
	}
	if m.image == nil {
		return errResp(http.StatusBadRequest, msgNoImage)
	}
	c.ch.defaultMenu = m.id
	return jsonResp(http.StatusOK, map[string]any{})
}

func (s *Sim) handleGetDefault(c *call) response {
	if c.ch.defaultMenu == "" {
		return errResp(http.StatusNotFound, "no default richmenu")
	}
	return jsonResp(http.StatusOK, map[string]string{"richMenuId": c.ch.defaultMenu})
}

func (s *Sim) handleCancelDefault(c *call) response {
	c.ch.defaultMenu = ""
	return jsonResp(http.StatusOK, map[string]any{})
}

func (c *call) pathUser() (string, *response) {
	id := c.r.PathValue("userId")
	if !ValidUserID(id) {
		r := errResp(http.StatusBadRequest, "The value for the 'userId' parameter is invalid")
		return "", &r
	}
	return id, nil
}

func (s *Sim) handleLink(c *call) response {
	u, r := c.pathUser()
	if r != nil {
		return *r
	}
	m, r := c.menu()
	if r != nil {
		return *r
	}
	if m.image == nil {
		return errResp(http.StatusBadRequest, msgNoImage)
	}
	c.ch.userMenus[u] = m.id
	return jsonResp(http.StatusOK, map[string]any{})
}

func (s *Sim) handleGetLinked(c *call) response {
	u, r := c.pathUser()
	if r != nil {
		return *r
	}
	id, ok := c.ch.userMenus[u]
	if !ok {
		return errResp(http.StatusNotFound, "the user has no richmenu")
	}
	return jsonResp(http.StatusOK, map[string]string{"richMenuId": id})
}

func (s *Sim) handleUnlink(c *call) response {
	u, r := c.pathUser()
	if r != nil {
		return *r
	}
	delete(c.ch.userMenus, u)
	return jsonResp(http.StatusOK, map[string]any{})
}

// CurrentRichMenu returns the rich menu the user sees on the channel: their own link,
// else the channel's default.
func (s *Sim) CurrentRichMenu(channelID, userID string) (RichMenu, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.channels[channelID]
	if !ok {
		return RichMenu{}, false
	}
	id, ok := c.userMenus[userID]
	if !ok {
		id = c.defaultMenu
	}
	m, ok := c.menus[id]
	if !ok {
		return RichMenu{}, false
	}
	return m.public(), true
}

// RichMenus returns a channel's rich menus in creation order.
func (s *Sim) RichMenus(channelID string) []RichMenu {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.channels[channelID]
	if !ok {
		return nil
	}
	out := make([]RichMenu, 0, len(c.menuOrder))
	for _, id := range c.menuOrder {
		out = append(out, c.menus[id].public())
	}
	return out
}

// RichMenuImage returns a rich menu's uploaded image.
func (s *Sim) RichMenuImage(channelID, richMenuID string) (data []byte, contentType string, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.channels[channelID]
	if !ok {
		return nil, "", false
	}
	m, ok := c.menus[richMenuID]
	if !ok || m.image == nil {
		return nil, "", false
	}
	return m.image, m.imageType, true
}
