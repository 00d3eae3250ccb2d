package web

import (
	"encoding/json"
	"io"
	"net/http"
	"time"
)

// keepAliveEvery is how often an idle event stream sends a comment, so that proxies
// and browsers keep it open.
const keepAliveEvery = 25 * time.Second

// streamEvents answers r with server-sent events until the request ends or events is
// closed (the server shutting down): for each value, frame gives the event's name and
// its data (as JSON), or false to skip it. subscribe runs after the status is written
// and before the first flush, so a page that sees its stream open is already
// subscribed.
func streamEvents[T any](w http.ResponseWriter, r *http.Request, subscribe func() (<-chan T, func()), frame func(T) (string, any, bool)) {
	rc := http.NewResponseController(w)
	_ = rc.SetWriteDeadline(time.Time{})
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	events, cancel := subscribe()
	defer cancel()
	_, _ = io.WriteString(w, ": ok\n\n")
	if err := rc.Flush(); err != nil {
		return
	}
	keepAlive := time.NewTicker(keepAliveEvery)
	defer keepAlive.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-keepAlive.C:
			_, _ = io.WriteString(w, ": keep-alive\n\n")
		case v, open := <-events:
			if !open {
				return
			}
			name, data, ok := frame(v)
			if !ok {
				continue
			}
			b, err := json.Marshal(data)
			if err != nil {
				continue
			}
			_, _ = io.WriteString(w, "event: "+name+"\ndata: "+string(b)+"\n\n")
		}
		if err := rc.Flush(); err != nil {
			return
		}
	}
}
