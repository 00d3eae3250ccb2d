package inbox

import (
	"encoding/json"
	"sync"
)

// Channel is the PostgreSQL notification channel of new parent messages. Its payload
// carries IDs only (no personal data), so every app instance can tell its open inboxes
// without reading anything else.
const Channel = "renraku_inbox"

// Event is a new parent message, as notified.
type Event struct {
	Conversation int64  `json:"conversation"`
	Board        int64  `json:"board"`
	School       int64  `json:"school"`
	Target       string `json:"target"`
	Class        int64  `json:"class"`
	Club         int64  `json:"club"`
	Year         int    `json:"year"`
}

// Hub fans notifications out to the open inboxes of this instance.
type Hub struct {
	mu     sync.Mutex
	subs   map[chan Event]struct{}
	closed bool
}

// NewHub returns an empty hub.
func NewHub() *Hub { return &Hub{subs: map[chan Event]struct{}{}} }

// Subscribe returns a channel of events and its cancel function.
// After Close the channel is closed at once.
func (h *Hub) Subscribe() (<-chan Event, func()) {
	ch := make(chan Event, 16)
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		close(ch)
		return ch, func() {}
	}
	h.subs[ch] = struct{}{}
	return ch, func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		if _, ok := h.subs[ch]; ok {
			delete(h.subs, ch)
			close(ch)
		}
	}
}

// Close ends every open stream (their channels close), so a shutting-down server is
// not held up by open inboxes; browsers reconnect to another instance.
func (h *Hub) Close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	for ch := range h.subs {
		delete(h.subs, ch)
		close(ch)
	}
}

func (h *Hub) publish(e Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for ch := range h.subs {
		select {
		case ch <- e:
		default: // a slow browser misses one nudge; its next refresh catches up
		}
	}
}

// Notify publishes one notification of Channel (its JSON payload) to the open inboxes.
// Payloads that do not parse are ignored.
func (h *Hub) Notify(payload string) {
	var e Event
	if json.Unmarshal([]byte(payload), &e) == nil {
		h.publish(e)
	}
}
