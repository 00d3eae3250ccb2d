package web

import (
	"context"
	"errors"
	"io"
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/renraku/renraku/internal/apperr"
)

// WebhookIngester stores LINE webhook requests (line.Service satisfies it).
type WebhookIngester interface {
	Ingest(ctx context.Context, lineChannelID, signature string, body []byte) (int, error)
}

// lineWebhook answers LINE: 200 only after the events are stored; 400, 401, 404 or 413
// with nothing stored. The body is never logged.
func (s *Server) lineWebhook(w http.ResponseWriter, r *http.Request) {
	// limitBodies caps the body at line.MaxWebhookBody.
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			s.Log.Warn("line webhook refused", "request_id", RequestIDFrom(r.Context()), "reason", "too large")
			http.Error(w, "request body too large", http.StatusRequestEntityTooLarge)
			return
		}
		http.Error(w, "cannot read body", http.StatusBadRequest)
		return
	}
	n, err := s.LINE.Ingest(r.Context(), chi.URLParam(r, "channelID"), r.Header.Get("X-Line-Signature"), body)
	if err != nil {
		kind := s.kindOf(err)
		status := statusOf(kind)
		if kind == apperr.Invalid {
			status = http.StatusBadRequest
		}
		level := s.Log.Warn
		if status >= 500 {
			level = s.Log.Error
		}
		level("line webhook refused", "request_id", RequestIDFrom(r.Context()), "status", status, "err", err)
		w.Header().Set("Content-Type", "application/json")
		if status == http.StatusServiceUnavailable {
			w.Header().Set("Retry-After", retryAfter)
		}
		w.WriteHeader(status)
		_, _ = io.WriteString(w, `{"message":"`+http.StatusText(status)+`"}`)
		return
	}
	s.Log.Debug("line webhook stored", "request_id", RequestIDFrom(r.Context()), "events", n)
	w.Header().Set("Content-Type", "application/json")
	_, _ = io.WriteString(w, "{}")
}
