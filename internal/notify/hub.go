package notify

import (
	"encoding/json"
	"sync"
)

// Signal is a desktop notification for one person's open pages, as it travels on
// Channel.
type Signal struct {
	Staff int64 `json:"staff"`
	Notification
}

// Hub hands the signals this instance hears on Channel to the open pages of the person
// they are for. Every instance LISTENs, so a page on any of them hears a notification
// sent by a job on another.
type Hub struct {
	mu     sync.Mutex
	subs   map[int64]map[chan Notification]struct{}
	closed bool
}

// NewHub returns an empty hub.
func NewHub() *Hub { return &Hub{subs: map[int64]map[chan Notification]struct{}{}} }

// Subscribe returns the notifications of staffID and its cancel function. After Close
// the channel is closed at once.
func (h *Hub) Subscribe(staffID int64) (<-chan Notification, func()) {
	ch := make(chan Notification, 8)
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		close(ch)
		return ch, func() {}
	}
	if h.subs[staffID] == nil {
		h.subs[staffID] = map[chan Notification]struct{}{}
	}
	h.subs[staffID][ch] = struct{}{}
	return ch, func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		if _, ok := h.subs[staffID][ch]; ok {
			delete(h.subs[staffID], ch)
			if len(h.subs[staffID]) == 0 {
				delete(h.subs, staffID)
			}
			close(ch)
		}
	}
}

// Close ends every open stream, so a shutting-down server is not held up by them.
func (h *Hub) Close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	for id, chs := range h.subs {
		for ch := range chs {
			close(ch)
		}
		delete(h.subs, id)
	}
}

// Notify hands one payload of Channel to the person's open pages; a payload that does
// not parse is ignored, and a page too slow to take it misses it.
func (h *Hub) Notify(payload string) {
	var sg Signal
	if json.Unmarshal([]byte(payload), &sg) != nil || sg.Staff == 0 {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for ch := range h.subs[sg.Staff] {
		select {
		case ch <- sg.Notification:
		default:
		}
	}
}
