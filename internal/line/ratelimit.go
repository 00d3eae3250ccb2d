package line

import (
	"context"
	"strings"
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
	mu       sync.Mutex
	m        map[string]*rate.Limiter
	override map[string]rate.Limit
}

// SetLimit replaces LINE's published limit of an endpoint ("multicast", "push", …) for
// every channel, for channels on a stricter plan and for tests against a simulator set
// the same way. Buckets already made keep their rate until the next call.
func (c *Client) SetLimit(endpoint string, perSecond float64) {
	l := &c.limits
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.override == nil {
		l.override = map[string]rate.Limit{}
	}
	l.override[endpoint] = rate.Limit(perSecond)
	for key, b := range l.m {
		if strings.HasSuffix(key, "/"+endpoint) {
			b.SetLimit(bucketRate(rate.Limit(perSecond)))
		}
	}
}

// wait blocks until the channel may call the endpoint, or ctx ends.
func (l *limiters) wait(ctx context.Context, channel, endpoint string) error {
	return l.limiter(channel, endpoint).Wait(ctx)
}

// limiter returns the bucket of a channel's endpoint, creating it on first use.
func (l *limiters) limiter(channel, endpoint string) *rate.Limiter {
	l.mu.Lock()
	lim, ok := l.override[endpoint]
	if !ok {
		lim, ok = defaultLimits[endpoint]
	}
	if !ok {
		endpoint, lim = "other", defaultLimits["other"]
	}
	key := channel + "/" + endpoint
	if l.m == nil {
		l.m = map[string]*rate.Limiter{}
	}
	b, ok := l.m[key]
	if !ok {
		b = rate.NewLimiter(bucketRate(lim), 1)
		l.m[key] = b
	}
	l.mu.Unlock()
	return b
}

// bucketRate is the token rate that keeps a bucket of burst 1 within a limit of n
// calls in any one-second window, LINE's windows read as strictly as possible (a
// sliding window): a bucket lets through at most burst + rate·T calls in T.
func bucketRate(n rate.Limit) rate.Limit {
	if n <= 1 {
		return n / 2
	}
	return n - 1
}
