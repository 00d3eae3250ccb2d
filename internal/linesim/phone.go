package linesim

import (
	_ "embed" // the phone page's stylesheet
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/a-h/templ"
)

//go:embed phone.css
var phoneCSS []byte

// phoneWidth is the rich menu's width on the page: a 360 px phone minus margins.
const phoneWidth = 340

// maxUploadImage bounds an image a developer sends from the phone page (LINE's own
// limit for a user's image is far larger; the simulator keeps images in memory).
const maxUploadImage = 10 << 20

// PhoneHandler serves the phone page under basePath: an overview of simulated parents
// and, per parent and channel, the chat as LINE shows it with the rich menu, quick
// replies and buttons, plus forms to add friend, block, type and send an image. Pages
// use plain forms (POST, then redirect) and htmx polling, no inline script, so they
// work under the app's Content-Security-Policy. Cross-origin form posts are refused.
func (s *Sim) PhoneHandler(basePath string) http.Handler {
	base := strings.TrimSuffix(basePath, "/")
	p := &phone{s: s, base: base}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", p.overview)
	mux.HandleFunc("POST /users", p.createUser)
	mux.HandleFunc("GET /phone", p.page)
	mux.HandleFunc("GET /phone/chat", p.chatFragment)
	mux.HandleFunc("GET /phone/menu", p.menuFragment)
	mux.HandleFunc("GET /phone/menu-tap", p.menuTap)
	mux.HandleFunc("POST /phone/follow", p.follow)
	mux.HandleFunc("POST /phone/block", p.block)
	mux.HandleFunc("POST /phone/text", p.text)
	mux.HandleFunc("POST /phone/sticker", p.sticker)
	mux.HandleFunc("POST /phone/image", p.image)
	mux.HandleFunc("POST /phone/tap", p.tap)
	mux.HandleFunc("POST /verify", p.verify)
	mux.HandleFunc("GET /phone.css", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/css; charset=utf-8")
		_, _ = w.Write(phoneCSS)
	})
	mux.HandleFunc("GET /richmenu/{channel}/{id}", p.richMenuImage)
	mux.HandleFunc("GET /content/{id}", p.content)
	h := http.NewCrossOriginProtection().Handler(mux)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Work both behind http.StripPrefix and mounted with the full path.
		if base != "" && strings.HasPrefix(r.URL.Path, base) {
			r2 := new(http.Request)
			*r2 = *r
			u := *r.URL
			u.Path = strings.TrimPrefix(r.URL.Path, base)
			u.RawPath = ""
			if u.Path == "" {
				u.Path = "/"
			}
			r2.URL = &u
			r = r2
		}
		w.Header().Set("Cache-Control", "no-store")
		h.ServeHTTP(w, r)
	})
}

type phone struct {
	s    *Sim
	base string
}

// View models: plain data for the templ components.

type channelView struct {
	ID, Name, WebhookURL string
	Selected             bool
	URL                  templ.SafeURL
}

type phoneLinkView struct {
	Channel   string
	URL       templ.SafeURL
	Following bool
	Blocked   bool
}

type userRowView struct {
	ID, Name, Language string
	Links              []phoneLinkView
}

type overviewView struct {
	Base     string
	HTMX     string
	Channels []channelView
	Users    []userRowView
	Flash    string
}

type tapForm struct {
	Msg, Kind, Col, Index string
}

type actionView struct {
	Label string
	// Kind is link (open a URI in a new tab), picker (a date or time input), tap (a
	// button posting to the tap handler) or inert (not simulated).
	Kind      string
	URI       templ.SafeURL
	InputType string
	Initial   string
	Form      tapForm
}

type cardView struct {
	Title, Text string
	ImageURL    templ.SafeURL
	Actions     []actionView
}

type itemView struct {
	ID, From, Time, Kind, Via string
	Text, Title, AltText      string
	ImageURL                  templ.SafeURL
	Sticker, Location         string
	Delivered                 bool
	Actions                   []actionView
	Columns                   []cardView
}

type areaView struct {
	Coords string
	Href   templ.SafeURL
	Label  string
	NewTab bool
}

type menuView struct {
	ImageURL      templ.SafeURL
	Width, Height int
	ChatBarText   string
	Areas         []areaView
}

type chatView struct {
	Base       string
	UserID     string
	ChannelID  string
	Items      []itemView
	QuickReply []actionView
}

type phoneView struct {
	Base      string
	HTMX      string
	User      User
	Channel   channelView
	Channels  []channelView
	Following bool
	Blocked   bool
	Chat      chatView
	Menu      *menuView
	ChatURL   string
	MenuURL   string
	Flash     string
}

func (p *phone) url(path string, q url.Values) templ.SafeURL {
	if len(q) == 0 {
		return templ.SafeURL(p.base + path)
	}
	return templ.SafeURL(p.base + path + "?" + q.Encode())
}

func who(userID, channelID string) url.Values {
	return url.Values{"user": {userID}, "ch": {channelID}}
}

func render(w http.ResponseWriter, r *http.Request, c templ.Component) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := c.Render(r.Context(), w); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
	}
}

func (p *phone) overview(w http.ResponseWriter, r *http.Request) {
	v := overviewView{Base: p.base, HTMX: p.s.opts.HTMXPath, Flash: r.URL.Query().Get("msg")}
	chs := p.s.Channels()
	for _, c := range chs {
		v.Channels = append(v.Channels, channelView{ID: c.ID, Name: channelName(c), WebhookURL: c.WebhookURL})
	}
	for _, u := range p.s.Users() {
		row := userRowView{ID: u.ID, Name: u.DisplayName, Language: u.Language}
		for _, c := range chs {
			following, blocked := p.s.Friendship(c.ID, u.ID)
			row.Links = append(row.Links, phoneLinkView{Channel: channelName(c), URL: p.url("/phone", who(u.ID, c.ID)),
				Following: following, Blocked: blocked})
		}
		v.Users = append(v.Users, row)
	}
	render(w, r, overviewPage(v))
}

func channelName(c ChannelConfig) string {
	if c.Name != "" {
		return c.Name
	}
	return "チャネル " + c.ID
}

func (p *phone) createUser(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimSpace(r.FormValue("name"))
	lang := r.FormValue("lang")
	if lang != "en" {
		lang = "ja"
	}
	if name == "" {
		name = "保護者"
	}
	u, err := p.s.AddUser(User{DisplayName: name, Language: lang})
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	chs := p.s.Channels()
	if len(chs) == 0 {
		http.Redirect(w, r, string(p.url("/", nil)), http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, string(p.url("/phone", who(u.ID, chs[0].ID))), http.StatusSeeOther)
}

// target reads the user and channel a phone request is about.
func (p *phone) target(w http.ResponseWriter, r *http.Request) (User, ChannelConfig, bool) {
	u, ok := p.s.UserByID(r.FormValue("user"))
	if !ok {
		http.Error(w, "unknown user", http.StatusNotFound)
		return User{}, ChannelConfig{}, false
	}
	for _, c := range p.s.Channels() {
		if c.ID == r.FormValue("ch") {
			return u, c, true
		}
	}
	http.Error(w, "unknown channel", http.StatusNotFound)
	return User{}, ChannelConfig{}, false
}

func (p *phone) page(w http.ResponseWriter, r *http.Request) {
	u, ch, ok := p.target(w, r)
	if !ok {
		return
	}
	following, blocked := p.s.Friendship(ch.ID, u.ID)
	v := phoneView{
		Base: p.base, HTMX: p.s.opts.HTMXPath, User: u, Following: following, Blocked: blocked,
		Channel: channelView{ID: ch.ID, Name: channelName(ch), WebhookURL: ch.WebhookURL},
		Chat:    p.chatView(u.ID, ch.ID),
		Menu:    p.menuView(u.ID, ch.ID),
		ChatURL: string(p.url("/phone/chat", who(u.ID, ch.ID))),
		MenuURL: string(p.url("/phone/menu", who(u.ID, ch.ID))),
		Flash:   r.URL.Query().Get("msg"),
	}
	for _, c := range p.s.Channels() {
		v.Channels = append(v.Channels, channelView{ID: c.ID, Name: channelName(c), Selected: c.ID == ch.ID,
			URL: p.url("/phone", who(u.ID, c.ID))})
	}
	render(w, r, phonePage(v))
}

func (p *phone) chatFragment(w http.ResponseWriter, r *http.Request) {
	u, ch, ok := p.target(w, r)
	if !ok {
		return
	}
	render(w, r, chatList(p.chatView(u.ID, ch.ID)))
}

func (p *phone) menuFragment(w http.ResponseWriter, r *http.Request) {
	u, ch, ok := p.target(w, r)
	if !ok {
		return
	}
	render(w, r, menuPanel(p.menuView(u.ID, ch.ID)))
}

func (p *phone) chatView(userID, channelID string) chatView {
	v := chatView{Base: p.base, UserID: userID, ChannelID: channelID}
	chat := p.s.Chat(channelID, userID)
	for _, it := range chat {
		v.Items = append(v.Items, p.itemView(it))
	}
	// LINE shows quick reply buttons only under the latest message.
	if n := len(chat); n > 0 && chat[n-1].From == FromBot && chat[n-1].Delivered {
		for i, a := range chat[n-1].QuickReply {
			v.QuickReply = append(v.QuickReply, p.actionView(a, tapForm{Msg: chat[n-1].ID, Kind: "quick", Index: strconv.Itoa(i)}))
		}
	}
	return v
}

func (p *phone) itemView(it ChatItem) itemView {
	v := itemView{ID: it.ID, From: string(it.From), Time: it.Time.In(jst).Format("15:04"), Kind: it.Kind, Via: it.Via,
		Text: it.Text, Title: it.Title, AltText: it.AltText, Delivered: it.Delivered}
	switch {
	case it.HasContent:
		v.ImageURL = p.url("/content/"+it.ID, nil)
	case it.ImageURL != "":
		v.ImageURL = externalURL(it.ImageURL)
	}
	if it.Kind == "sticker" {
		v.Sticker = fmt.Sprintf("スタンプ %s/%s", it.PackageID, it.StickerID)
	}
	if it.Kind == "location" {
		v.Location = fmt.Sprintf("%s %s (%.5f, %.5f)", it.Title, it.Address, it.Latitude, it.Longitude)
	}
	for i, a := range it.Actions {
		v.Actions = append(v.Actions, p.actionView(a, tapForm{Msg: it.ID, Kind: "button", Index: strconv.Itoa(i)}))
	}
	for c, card := range it.Columns {
		cv := cardView{Title: card.Title, Text: card.Text}
		if card.ImageURL != "" {
			cv.ImageURL = externalURL(card.ImageURL)
		}
		for i, a := range card.Actions {
			cv.Actions = append(cv.Actions, p.actionView(a, tapForm{Msg: it.ID, Kind: "column", Col: strconv.Itoa(c), Index: strconv.Itoa(i)}))
		}
		v.Columns = append(v.Columns, cv)
	}
	return v
}

// externalURL lets only web URLs into links and images.
func externalURL(s string) templ.SafeURL {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return ""
	}
	return templ.SafeURL(s)
}

func (p *phone) actionView(a Action, f tapForm) actionView {
	label := firstNonEmpty(a.Label, a.DisplayText, a.Text, a.Type)
	switch a.Type {
	case "uri":
		if u := externalURL(a.URI); u != "" {
			return actionView{Label: label, Kind: "link", URI: u}
		}
	case "datetimepicker":
		typ := map[string]string{"date": "date", "time": "time"}[a.Mode]
		if typ == "" {
			typ = "datetime-local"
		}
		return actionView{Label: label, Kind: "picker", InputType: typ, Initial: a.Initial, Form: f}
	case "postback", "message", "richmenuswitch":
		return actionView{Label: label, Kind: "tap", Form: f}
	}
	return actionView{Label: label, Kind: "inert"}
}

func (p *phone) menuView(userID, channelID string) *menuView {
	m, ok := p.s.CurrentRichMenu(channelID, userID)
	if !ok || m.Image == nil || m.Width == 0 {
		return nil
	}
	h := m.Height * phoneWidth / m.Width
	scale := func(n int) int { return n * phoneWidth / m.Width }
	v := &menuView{ImageURL: p.url("/richmenu/"+channelID+"/"+m.ID, nil), Width: phoneWidth, Height: h, ChatBarText: m.ChatBarText}
	for i, a := range m.Areas {
		av := areaView{
			Coords: fmt.Sprintf("%d,%d,%d,%d", scale(a.X), scale(a.Y), scale(a.X+a.Width), scale(a.Y+a.Height)),
			Label:  firstNonEmpty(a.Action.Label, a.Action.DisplayText, a.Action.Type),
		}
		if u := externalURL(a.Action.URI); a.Action.Type == "uri" && u != "" {
			av.Href, av.NewTab = u, true
		} else {
			q := who(userID, channelID)
			q.Set("menu", m.ID)
			q.Set("area", strconv.Itoa(i))
			av.Href = p.url("/phone/menu-tap", q)
		}
		v.Areas = append(v.Areas, av)
	}
	return v
}

// back returns to the phone page, with msg shown when something went wrong.
func (p *phone) back(w http.ResponseWriter, r *http.Request, userID, channelID string, err error) {
	q := who(userID, channelID)
	if err != nil {
		q.Set("msg", err.Error())
	}
	http.Redirect(w, r, string(p.url("/phone", q)), http.StatusSeeOther)
}

// webhookErr keeps the error of a simulated user action for the page to show: the
// state change happened even when the webhook failed, and the developer should see
// that the app refused or missed it.
func webhookErr(_ int, err error) error { return err }

func (p *phone) follow(w http.ResponseWriter, r *http.Request) {
	u, ch, ok := p.target(w, r)
	if !ok {
		return
	}
	p.back(w, r, u.ID, ch.ID, webhookErr(p.s.Follow(ch.ID, u.ID)))
}

func (p *phone) block(w http.ResponseWriter, r *http.Request) {
	u, ch, ok := p.target(w, r)
	if !ok {
		return
	}
	p.back(w, r, u.ID, ch.ID, webhookErr(p.s.Unfollow(ch.ID, u.ID)))
}

func (p *phone) text(w http.ResponseWriter, r *http.Request) {
	u, ch, ok := p.target(w, r)
	if !ok {
		return
	}
	text := r.FormValue("text")
	if strings.TrimSpace(text) == "" {
		p.back(w, r, u.ID, ch.ID, nil)
		return
	}
	p.back(w, r, u.ID, ch.ID, webhookErr(p.s.SendText(ch.ID, u.ID, text)))
}

func (p *phone) sticker(w http.ResponseWriter, r *http.Request) {
	u, ch, ok := p.target(w, r)
	if !ok {
		return
	}
	p.back(w, r, u.ID, ch.ID, webhookErr(p.s.SendSticker(ch.ID, u.ID, "446", "1988")))
}

func (p *phone) image(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxUploadImage+1<<20)
	if err := r.ParseMultipartForm(maxUploadImage); err != nil {
		http.Error(w, "image too large or not a form", http.StatusBadRequest)
		return
	}
	u, ch, ok := p.target(w, r)
	if !ok {
		return
	}
	f, _, err := r.FormFile("image")
	if err != nil {
		p.back(w, r, u.ID, ch.ID, errors.New("画像を選んでください"))
		return
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxUploadImage))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	ct := http.DetectContentType(data)
	if !strings.HasPrefix(ct, "image/") {
		p.back(w, r, u.ID, ch.ID, errors.New("画像ではありません"))
		return
	}
	p.back(w, r, u.ID, ch.ID, webhookErr(p.s.SendImage(ch.ID, u.ID, data, ct)))
}

// tap finds the tapped action in the chat (a button, carousel column button or quick
// reply item) and performs it.
func (p *phone) tap(w http.ResponseWriter, r *http.Request) {
	u, ch, ok := p.target(w, r)
	if !ok {
		return
	}
	it, ok := p.s.ChatItemByID(ch.ID, u.ID, r.FormValue("msg"))
	if !ok || it.From != FromBot {
		http.Error(w, "unknown message", http.StatusNotFound)
		return
	}
	var list []Action
	switch r.FormValue("kind") {
	case "quick":
		list = it.QuickReply
	case "button":
		list = it.Actions
	case "column":
		if c, err := strconv.Atoi(r.FormValue("col")); err == nil && c >= 0 && c < len(it.Columns) {
			list = it.Columns[c].Actions
		}
	}
	i, err := strconv.Atoi(r.FormValue("i"))
	if err != nil || i < 0 || i >= len(list) {
		http.Error(w, "unknown action", http.StatusNotFound)
		return
	}
	p.perform(w, r, u.ID, ch.ID, list[i], r.FormValue("value"))
}

// menuTap taps a rich menu area. Image map areas are links, so this is a GET; it is
// refused when a browser says the request came from another site.
func (p *phone) menuTap(w http.ResponseWriter, r *http.Request) {
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" && site != "none" {
		http.Error(w, "cross-site tap refused", http.StatusForbidden)
		return
	}
	u, ch, ok := p.target(w, r)
	if !ok {
		return
	}
	m, ok := p.s.CurrentRichMenu(ch.ID, u.ID)
	i, err := strconv.Atoi(r.FormValue("area"))
	if !ok || m.ID != r.FormValue("menu") || err != nil || i < 0 || i >= len(m.Areas) {
		p.back(w, r, u.ID, ch.ID, errors.New("リッチメニューが変わりました"))
		return
	}
	p.perform(w, r, u.ID, ch.ID, m.Areas[i].Action, "")
}

func (p *phone) perform(w http.ResponseWriter, r *http.Request, userID, channelID string, a Action, value string) {
	if a.Type == "datetimepicker" && a.Mode == "datetime" && value == "" {
		value = a.Initial
	}
	res, err := p.s.TapDatetime(channelID, userID, a, value)
	if err == nil && res.URI != "" {
		if u := externalURL(res.URI); u != "" {
			http.Redirect(w, r, string(u), http.StatusSeeOther)
			return
		}
	}
	p.back(w, r, userID, channelID, err)
}

func (p *phone) verify(w http.ResponseWriter, r *http.Request) {
	q := url.Values{}
	if status, err := p.s.VerifyWebhook(r.FormValue("ch")); err != nil {
		q.Set("msg", fmt.Sprintf("Webhook の検証に失敗しました (%d): %v", status, err))
	} else {
		q.Set("msg", "Webhook の検証に成功しました")
	}
	http.Redirect(w, r, string(p.url("/", q)), http.StatusSeeOther)
}

func (p *phone) richMenuImage(w http.ResponseWriter, r *http.Request) {
	data, ct, ok := p.s.RichMenuImage(r.PathValue("channel"), r.PathValue("id"))
	if !ok {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", ct)
	_, _ = w.Write(data)
}

func (p *phone) content(w http.ResponseWriter, r *http.Request) {
	data, ct, ok := p.s.MessageContent(r.PathValue("id"))
	if !ok {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	_, _ = w.Write(data)
}
