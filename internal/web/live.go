package web

import (
	"net/http"

	"github.com/renraku/renraku/internal/live"
)

// liveData is what a staff page's stream says of an event: IDs only, never a name, a
// class or a message.
type liveData struct {
	Conversation int64 `json:"conversation"`
	Staff        int64 `json:"staff"`
	// Change is what a conversation_state event changed (read, state, handover).
	Change string `json:"change,omitempty"`
	// Survey is the survey a survey_answer event's answer belongs to.
	Survey int64 `json:"survey,omitempty"`
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
	streamEvents(w, r, s.Live.Subscribe, func(e live.Event) (string, any, bool) {
		if !s.Inbox.MaySee(r.Context(), e) {
			return "", nil, false
		}
		return string(e.Kind), liveData{Conversation: e.Conversation, Staff: e.Staff, Change: e.Change, Survey: e.Survey}, true
	})
}
