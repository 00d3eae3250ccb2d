package line

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/renraku/renraku/internal/audit"
	"github.com/renraku/renraku/internal/clock"
	"github.com/renraku/renraku/internal/jobs"
	"github.com/renraku/renraku/internal/lineapi"
	"github.com/renraku/renraku/internal/txn"
)

// Service is the LINE feature's use cases: channel administration, ingesting
// webhooks, processing events in order, the outbox and rich menus. Features register
// their handlers on it at start-up. It reaches LINE only through Client.
type Service struct {
	Tx     Transactor
	Locks  Locker
	Store  Store
	Client *lineapi.Client
	Audit  *audit.Log
	Log    *slog.Logger
	// Jobs is set once the job client exists (it needs this service's workers first).
	Jobs *jobs.Queue
	// Clock is the service's time (its zero value reads the system time; tests may
	// set it on a running app while workers read it).
	Clock clock.Clock
	// Texts supplies the built-in replies in a friend's language.
	Texts func(lang, id string) string

	// channels keeps channels by renraku's ID while their changes are heard
	// (FindChannel).
	channels channelCache
	// chanCache keeps channels for the webhook by LINE's channel ID (ingestChannel).
	chanMu    sync.Mutex
	chanCache map[string]cachedChannel
	// group is the webhook's group commit (ingester).
	groupOnce sync.Once
	group     *groupCommit
	// recorder writes the outcomes of concurrent sends together.
	recorder recorder
	// sendSem bounds the batched sends in flight (sendSlots).
	sendSemOnce sync.Once
	sendSem     chan struct{}
	// pump is the instance's event pump while it runs (StartPump).
	pumpMu sync.Mutex
	pump   *pump

	mu        sync.RWMutex
	handlers  map[string]Handler
	postbacks map[string]Handler
	aheads    map[string]AheadFunc

	// quotas keeps each channel's quota figures for the work queues a little while
	// (QuotaFresh): an open home page fetches its queue again on every live event, and
	// LINE need not be asked each time.
	quotaMu sync.Mutex
	quotas  map[int64]cachedQuota
}

// cachedQuota is a channel's quota figures as LINE gave them at a time.
type cachedQuota struct {
	quota lineapi.Quota
	at    time.Time
}

// NewService returns a Service with the built-in handlers (follow bookkeeping and
// welcome, polite replies to messages and unknown postbacks). texts translates a
// catalogue message ID into a friend's language.
func NewService(tx Transactor, store Store, client *lineapi.Client, log *slog.Logger, al *audit.Log, texts func(lang, id string) string) *Service {
	s := &Service{Tx: tx, Locks: tx, Jobs: &jobs.Queue{}, Store: store, Client: client, Log: log, Audit: al, Texts: texts,
		handlers: map[string]Handler{}, postbacks: map[string]Handler{}, aheads: map[string]AheadFunc{}}
	s.Handle("follow", s.welcome)
	s.Handle("message", s.defaultMessage)
	s.Handle("postback", s.dispatchPostback)
	return s
}

// Locker serialises work on one key across instances.
type Locker interface {
	// TryLock runs fn holding the lock on key, or returns false at once when another
	// holds it.
	TryLock(ctx context.Context, key int64, fn func(ctx context.Context) error) (bool, error)
	// TryXactLocks takes, without waiting, each key's lock for the rest of the
	// transaction ctx carries, and reports which it got.
	TryXactLocks(ctx context.Context, keys []int64) ([]bool, error)
}

// Savepointer undoes a part of a transaction alone.
type Savepointer interface {
	// Savepoint runs fn in a savepoint of the transaction ctx carries: when fn fails,
	// what it did is undone and the transaction goes on.
	Savepoint(ctx context.Context, fn func(ctx context.Context) error) error
}

// Transactor is the transactions and the locks the LINE service needs.
type Transactor interface {
	txn.Transactor
	Locker
	Savepointer
}

// Router is where features register their handlers of LINE events at start-up
// (*Service is one).
type Router interface {
	Handle(eventType string, h Handler)
	HandlePostback(name string, h Handler)
	HandlePostbackAhead(name string, fn AheadFunc)
}

// AheadFunc reads ahead, together, what the handler of a postback will read for each
// of a batch's events (one round trip for the batch instead of one per event), and
// keeps it for the handler (KeepAhead, TakeAhead). It runs in the batch's transaction
// before any of its events is handled, so it sees nothing the batch's events change: it
// is for each user's first event in the batch (a user's later events read for
// themselves), and for what other users' events do not change or the handler checks
// again. It runs only for a batch done in one go: a handler finds nothing kept when its
// batch is done again event by event, and reads as it would alone. A failure fails the
// batch (done again event by event).
type AheadFunc func(ctx context.Context, evs []Ahead) error

// Ahead is an event a read-ahead is for: its ID, the friend it comes from (following)
// and the postback's arguments (see PostbackData).
type Ahead struct {
	EventID int64
	Friend  Friend
	Args    string
}

// HandlePostbackAhead sets the read-ahead of the postbacks whose action is name.
func (s *Service) HandlePostbackAhead(name string, fn AheadFunc) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.aheads[name] = fn
}

func (s *Service) postbackAhead(name string) AheadFunc {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.aheads[name]
}

// Handle sets the handler for an event type, replacing any earlier one.
func (s *Service) Handle(eventType string, h Handler) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.handlers[eventType] = h
}

// HandlePostback sets the handler for postbacks whose action is name (see
// PostbackData).
func (s *Service) HandlePostback(name string, h Handler) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.postbacks[name] = h
}

func (s *Service) handler(eventType string) Handler {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.handlers[eventType]
}

func (s *Service) postbackHandler(name string) Handler {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.postbacks[name]
}

// PostbackVersion prefixes every postback renraku makes, so their format can change
// without misreading old buttons still in users' chats.
const PostbackVersion = "v1"

// PostbackData builds the data string of a postback action: "v1|name|args".
func PostbackData(name, args string) string {
	return PostbackVersion + "|" + name + "|" + args
}

// ParsePostbackData splits data made by PostbackData. ok is false for anything else.
func ParsePostbackData(data string) (name, args string, ok bool) {
	parts := strings.SplitN(data, "|", 3)
	if len(parts) != 3 || parts[0] != PostbackVersion || parts[1] == "" {
		return "", "", false
	}
	return parts[1], parts[2], true
}
