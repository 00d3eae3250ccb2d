package web

import (
	"encoding/json"
	"io"
	"net/http"
	"time"
)

// liveData is what a staff page's stream says of an event: IDs only, never a name, a
// class or a message.
type liveData struct {
	Conversation int64 `json:"conversation"`
	Staff        int64 `json:"staff"`
	// Change is what a conversation_state event changed (read, state, handover).
	Change string `json:"change,omitempty"`
}

// liveEvents streams server-sent events to an open staff page: one event per change
// the person may see (a parent's message, a reply, an absence report, a registration,
// a delivery that finished …), whichever instance made it (PostgreSQL LISTEN/NOTIFY),
// as "event: <kind>" with data {"conversation":ID,"staff":ID}. The page then fetches
// what it shows again. /staff/inbox/events is the same stream (the inbox list listens
// to its "message" events).
func (s *Server) liveEvents(w http.ResponseWriter, r *http.Request) {
	if err := s.Inbox.Watch(r.Context()); err != nil {
		s.fail(w, r, err)
		return
	}
	rc := http.NewResponseController(w)
	_ = rc.SetWriteDeadline(time.Time{})
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	events, cancel := s.Live.Subscribe()
	defer cancel()
	_, _ = io.WriteString(w, ": ok\n\n")
	if err := rc.Flush(); err != nil {
		return
	}
	keepAlive := time.NewTicker(25 * time.Second)
	defer keepAlive.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-keepAlive.C:
			_, _ = io.WriteString(w, ": keep-alive\n\n")
		case e, open := <-events:
			if !open {
				return // the server is shutting down
			}
			if !s.Inbox.MaySee(r.Context(), e) {
				continue
			}
			data, err := json.Marshal(liveData{Conversation: e.Conversation, Staff: e.Staff, Change: e.Change})
			if err != nil {
				continue
			}
			_, _ = io.WriteString(w, "event: "+string(e.Kind)+"\ndata: "+string(data)+"\n\n")
		}
		if err := rc.Flush(); err != nil {
			return
		}
	}
}
