package linesim

import (
	"errors"
	"fmt"
	"maps"
	"net/http"
	"sort"
	"sync"
	"time"
)

// Options configures a Sim. The zero value is usable.
type Options struct {
	// Now is the simulator's clock; tests replace it to expire reply tokens, retry keys
	// and rate-limit windows without sleeping. Default time.Now.
	Now func() time.Time
	// HTTPClient sends webhooks. Default: a client with a 10-second timeout (LINE itself
	// gives up after about 2 seconds; Delivery.Duration shows how long each took).
	HTTPClient *http.Client
	// ReplyTokenTTL is how long a reply token stays usable after its event was sent.
	// Default one minute: LINE promises no more.
	ReplyTokenTTL time.Duration
	// RetryKeyTTL is how long an accepted X-Line-Retry-Key blocks repeats. Default 24 h.
	RetryKeyTTL time.Duration
	// RateLimits overrides DefaultRateLimits() per endpoint (Endpoint… constants). A
	// limit with Requests 0 switches the endpoint's limit off.
	RateLimits map[string]RateLimit
	// AllowHTTPURLs accepts http:// media and thumbnail URLs, which LINE refuses; dev
	// mode on http://localhost needs it to show the app's own images.
	AllowHTTPURLs bool
	// HTMXPath is where the phone page loads htmx from. Default "/static/htmx.min.js".
	HTMXPath string
}

// ChannelConfig describes one Messaging API channel and, optionally, the LINE Login
// channel of the same provider whose ID tokens the LIFF verify endpoint accepts.
type ChannelConfig struct {
	ID          string // channel ID (digits)
	Secret      string // signs webhooks
	AccessToken string // bearer token the Messaging API accepts
	BotUserID   string // the webhook's destination; generated when empty
	WebhookURL  string
	// Name is the account's display name on the phone page.
	Name string
	// MonthlyQuota is the monthly message limit; 0 means no limit (quota type "none").
	MonthlyQuota int64
	// RateLimits overrides the simulator-wide limits for this channel only.
	RateLimits map[string]RateLimit

	LoginChannelID     string
	LoginChannelSecret string
	// LIFFApps are the LINE Login channel's LIFF apps: LIFF ID → endpoint URL.
	LIFFApps map[string]string
}

// User is a simulated LINE user (a parent). IDs are per provider in LINE; the
// simulator has one provider, so a User is the same person on every channel.
type User struct {
	ID            string
	DisplayName   string
	Language      string // "ja", "en", …
	PictureURL    string
	StatusMessage string
}

// Errors returned by the simulator's Go methods (not by its HTTP API, which answers as
// LINE does).
var (
	ErrUnknownChannel = errors.New("linesim: unknown channel")
	ErrUnknownUser    = errors.New("linesim: unknown user")
	ErrNoWebhookURL   = errors.New("linesim: channel has no webhook URL")
	ErrWebhookStatus  = errors.New("linesim: webhook answered non-2xx")
	ErrBlocked        = errors.New("linesim: user has blocked the channel")
	ErrAlreadyFriend  = errors.New("linesim: user already follows the channel")
	ErrNotFriend      = errors.New("linesim: user does not follow the channel")
	ErrUnknownEvent   = errors.New("linesim: unknown webhook event")
	ErrUnsupported    = errors.New("linesim: action not supported by the simulator")
)

// Sim is an in-memory LINE platform: Messaging API, LINE Login's ID-token verify
// endpoint, a webhook sender and the parents' side of the chats. All methods are safe
// for concurrent use.
type Sim struct {
	opts Options
	now  func() time.Time
	http *http.Client

	mu       sync.Mutex
	changed  chan struct{} // closed and replaced on every change: WaitChat's broadcast
	channels map[string]*channel
	byToken  map[string]*channel
	logins   map[string]string // LINE Login channel ID → secret
	users    map[string]*User
	userSeq  []string // users in the order they were added

	msgIDs      *messageIDs
	replyTokens map[string]*replyToken
	contents    map[string]content
	events      map[string]*sentEvent
	deliveries  []Delivery
	calls       []APICall
	faults      map[string][]fault
	limiters    map[limiterKey]*window
	holds       map[string]*hold
}

type channel struct {
	cfg          ChannelConfig
	friends      map[string]*friendship
	chats        map[string][]ChatItem
	retryKeys    map[string]acceptedKey
	menus        map[string]*richMenu
	menuOrder    []string
	defaultMenu  string
	userMenus    map[string]string
	usage        int64
	usageMonth   string
	rateOverride map[string]RateLimit
}

type friendship struct {
	following bool
	blocked   bool
}

type replyToken struct {
	channelID string
	userID    string
	expires   time.Time
	used      bool
}

type content struct {
	channelID   string
	data        []byte
	contentType string
}

type acceptedKey struct {
	requestID string
	at        time.Time
	sent      []sentMessage
}

// New returns an empty simulator.
func New(opts Options) *Sim {
	s := &Sim{
		opts:        opts,
		now:         opts.Now,
		http:        opts.HTTPClient,
		changed:     make(chan struct{}),
		channels:    map[string]*channel{},
		byToken:     map[string]*channel{},
		logins:      map[string]string{},
		users:       map[string]*User{},
		msgIDs:      newMessageIDs(),
		replyTokens: map[string]*replyToken{},
		contents:    map[string]content{},
		events:      map[string]*sentEvent{},
		faults:      map[string][]fault{},
		limiters:    map[limiterKey]*window{},
	}
	if s.now == nil {
		s.now = time.Now
	}
	// SetRateLimit writes to the map: keep the caller's untouched.
	s.opts.RateLimits = maps.Clone(opts.RateLimits)
	if s.opts.RateLimits == nil {
		s.opts.RateLimits = map[string]RateLimit{}
	}
	if s.http == nil {
		// A transport of its own: httptest servers closing elsewhere in the process
		// close http.DefaultTransport's idle connections, which broke a webhook in
		// flight ("CloseIdleConnections called"). Its connections are kept for the
		// next webhook (net/http keeps 2 a host by default, and closing the others
		// made a burst of webhooks open a connection each).
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConnsPerHost = 256
		t.MaxIdleConns = 256
		s.http = &http.Client{Timeout: 10 * time.Second, Transport: t}
	}
	if s.opts.ReplyTokenTTL <= 0 {
		s.opts.ReplyTokenTTL = time.Minute
	}
	if s.opts.RetryKeyTTL <= 0 {
		s.opts.RetryKeyTTL = 24 * time.Hour
	}
	if s.opts.HTMXPath == "" {
		s.opts.HTMXPath = "/static/htmx.min.js"
	}
	return s
}

// notify wakes WaitChat callers. Callers hold s.mu.
func (s *Sim) notify() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// AddChannel registers a channel (replacing one with the same ID).
func (s *Sim) AddChannel(cfg ChannelConfig) error {
	if !numericRE.MatchString(cfg.ID) {
		return fmt.Errorf("linesim: channel ID %s is not numeric", describe(cfg.ID))
	}
	if cfg.Secret == "" || cfg.AccessToken == "" {
		return errors.New("linesim: a channel needs a secret and an access token")
	}
	if cfg.BotUserID == "" {
		cfg.BotUserID = NewUserID()
	}
	if cfg.LoginChannelID != "" && (!numericRE.MatchString(cfg.LoginChannelID) || cfg.LoginChannelSecret == "") {
		return errors.New("linesim: a LINE Login channel needs a numeric ID and a secret")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if old, ok := s.channels[cfg.ID]; ok {
		delete(s.byToken, old.cfg.AccessToken)
	}
	s.channels[cfg.ID] = &channel{
		cfg:          cfg,
		friends:      map[string]*friendship{},
		chats:        map[string][]ChatItem{},
		retryKeys:    map[string]acceptedKey{},
		menus:        map[string]*richMenu{},
		userMenus:    map[string]string{},
		rateOverride: cfg.RateLimits,
	}
	s.byToken[cfg.AccessToken] = s.channels[cfg.ID]
	if cfg.LoginChannelID != "" {
		s.logins[cfg.LoginChannelID] = cfg.LoginChannelSecret
	}
	s.notify()
	return nil
}

// Channels returns the registered channels, ordered by ID.
func (s *Sim) Channels() []ChannelConfig {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]ChannelConfig, 0, len(s.channels))
	for _, c := range s.channels {
		out = append(out, c.cfg)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// SetWebhookURL changes where a channel's webhooks go, as the console's setting does.
func (s *Sim) SetWebhookURL(channelID, url string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.channels[channelID]
	if !ok {
		return ErrUnknownChannel
	}
	c.cfg.WebhookURL = url
	return nil
}

// SetMonthlyQuota changes a channel's monthly message limit (0: none), as changing
// the plan does.
func (s *Sim) SetMonthlyQuota(channelID string, limit int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.channels[channelID]
	if !ok {
		return ErrUnknownChannel
	}
	c.cfg.MonthlyQuota = limit
	return nil
}

// AddUser registers a simulated user. An empty ID gets a random valid one; the
// registered user is returned.
func (s *Sim) AddUser(u User) (User, error) {
	if u.ID == "" {
		u.ID = NewUserID()
	}
	if !ValidUserID(u.ID) {
		return User{}, fmt.Errorf("linesim: user ID %s is not U + 32 hex digits", describe(u.ID))
	}
	if u.DisplayName == "" {
		u.DisplayName = "LINE User"
	}
	if u.Language == "" {
		u.Language = "ja"
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.users[u.ID]; !ok {
		s.userSeq = append(s.userSeq, u.ID)
	}
	cp := u
	s.users[u.ID] = &cp
	s.notify()
	return u, nil
}

// Users returns the simulated users in the order they were added.
func (s *Sim) Users() []User {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]User, 0, len(s.userSeq))
	for _, id := range s.userSeq {
		out = append(out, *s.users[id])
	}
	return out
}

// UserByID returns a simulated user.
func (s *Sim) UserByID(id string) (User, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[id]
	if !ok {
		return User{}, false
	}
	return *u, true
}

// Friendship tells whether user follows channel now and whether they blocked it.
func (s *Sim) Friendship(channelID, userID string) (following, blocked bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, ok := s.channels[channelID]; ok {
		if f, ok := c.friends[userID]; ok {
			return f.following, f.blocked
		}
	}
	return false, false
}

// following reports whether messages to userID on c are delivered. Callers hold s.mu.
func (c *channel) following(userID string) bool {
	f, ok := c.friends[userID]
	return ok && f.following
}

// monthKey is the quota month. LINE's plans run by calendar month in Japan time.
func monthKey(t time.Time) string {
	return t.In(jst).Format("2006-01")
}

var jst = time.FixedZone("JST", 9*60*60)

// currentUsage returns the month's consumption, resetting it when a month began.
// Callers hold s.mu.
func (c *channel) currentUsage(now time.Time) int64 {
	if m := monthKey(now); m != c.usageMonth {
		c.usageMonth, c.usage = m, 0
	}
	return c.usage
}

// addUsage counts n messages in the current month. Callers hold s.mu.
func (c *channel) addUsage(now time.Time, n int64) {
	c.currentUsage(now)
	c.usage += n
}
