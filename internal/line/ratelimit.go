package line

import (
	"context"
	"sync"

	"golang.org/x/time/rate"
)

// LINE's documented per-channel rate limits for the endpoints renraku calls often.
// Staying under them in-process avoids 429s; a 429 that still happens (several
// instances share one channel's budget) is retried with back-off by the job.
var defaultLimits = map[string]rate.Limit{
	"push":      2000,
	"reply":     2000,
	"multicast": 200,
	"other":     2000,
}

// limiters keeps one token bucket per channel and endpoint.
type limiters struct {
	mu sync.Mutex
	m  map[string]*rate.Limiter
}

// wait blocks until the channel may call the endpoint, or ctx ends.
func (l *limiters) wait(ctx context.Context, channel, endpoint string) error {
	return l.limiter(channel, endpoint).Wait(ctx)
}

// limiter returns the bucket of a channel's endpoint, creating it on first use.
func (l *limiters) limiter(channel, endpoint string) *rate.Limiter {
	lim, ok := defaultLimits[endpoint]
	if !ok {
		endpoint, lim = "other", defaultLimits["other"]
	}
	key := channel + "/" + endpoint
	l.mu.Lock()
	if l.m == nil {
		l.m = map[string]*rate.Limiter{}
	}
	b, ok := l.m[key]
	if !ok {
		burst := int(lim) / 10
		b = rate.NewLimiter(lim, max(burst, 1))
		l.m[key] = b
	}
	l.mu.Unlock()
	return b
}
