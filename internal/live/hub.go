package live

import (
	"encoding/json"
	"sync"
)

// Channel is the PostgreSQL notification channel of live events. Its payload is an
// Event as JSON (IDs only), so every app instance can tell its open pages without
// reading anything else.
const Channel = "renraku_live"

// Hub fans the events this instance hears (Notify) out to its open pages' streams.
type Hub struct {
	mu     sync.Mutex
	subs   map[chan Event]struct{}
	closed bool
}

// NewHub returns an empty hub.
func NewHub() *Hub { return &Hub{subs: map[chan Event]struct{}{}} }

// Subscribe returns a channel of events and its cancel function. After Close the
// channel is closed at once.
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
// not held up by open pages; browsers reconnect to another instance.
func (h *Hub) Close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	for ch := range h.subs {
		delete(h.subs, ch)
		close(ch)
	}
}

// Send hands an event to every open stream. A stream whose buffer is full misses it
// (a slow browser misses one nudge; its next refresh catches up) rather than holding
// up the others.
func (h *Hub) Send(e Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for ch := range h.subs {
		select {
		case ch <- e:
		default:
		}
	}
}

// Notify sends one notification of Channel (its JSON payload). Payloads that do not
// parse, or name no kind, are ignored.
func (h *Hub) Notify(payload string) {
	var e Event
	if json.Unmarshal([]byte(payload), &e) == nil && e.Kind != "" {
		h.Send(e)
	}
}
