package lineapi

import (
	"context"
	"sync"
	"time"
)

// LINE's documented per-channel rate limits for the endpoints renraku calls often,
// in calls per second. Staying under them in-process avoids 429s; a 429 that still
// happens (several instances share one channel's budget) is retried with back-off by
// the job.
var defaultLimits = map[string]int{
	"push":      2000,
	"reply":     2000,
	"multicast": 200,
	"other":     2000,
}

// window is the span LINE counts calls in. LINE's table gives calls per second; read as
// strictly as possible, that is any one-second window (a sliding window). The margin
// covers calls that leave in order but arrive a little closer together.
const (
	window       = time.Second
	windowMargin = 100 * time.Millisecond
)

// slidingWindow admits at most n calls in any window: the times of the last n calls
// are kept, and a call waits until the oldest of them is a window old. Unlike a token
// bucket it uses the whole limit (n calls at once, then n more a window later) and never
// more.
type slidingWindow struct {
	mu   sync.Mutex
	n    int
	last []time.Time // ring of the last n admissions
	next int
}

func newSlidingWindow(n int) *slidingWindow {
	return &slidingWindow{n: max(n, 1), last: make([]time.Time, 0, max(n, 1))}
}

// reserve admits a call at now or later and returns when it may go.
func (w *slidingWindow) reserve(now time.Time) time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	at := now
	if len(w.last) >= w.n {
		if free := w.last[w.next].Add(window + windowMargin); free.After(at) {
			at = free
		}
		w.last[w.next] = at
		w.next = (w.next + 1) % w.n
		return at
	}
	w.last = append(w.last, at)
	return at
}

// setLimit changes n, keeping the recent admissions that still count.
func (w *slidingWindow) setLimit(n int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	n = max(n, 1)
	var recent []time.Time
	for i := range w.last {
		recent = append(recent, w.last[(w.next+i)%len(w.last)])
	}
	if len(recent) > n {
		recent = recent[len(recent)-n:]
	}
	w.n, w.last, w.next = n, append(make([]time.Time, 0, n), recent...), 0
	if len(w.last) == n {
		w.next = 0
	}
}

// limiters keeps one window per channel and endpoint.
type limiters struct {
	mu       sync.Mutex
	m        map[string]*slidingWindow
	override map[string]int
}

// SetLimit replaces LINE's published limit of an endpoint ("multicast", "push", …) for
// every channel, for channels on a stricter plan and for tests against a simulator set
// the same way.
func (c *Client) SetLimit(endpoint string, perSecond int) {
	l := &c.limits
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.override == nil {
		l.override = map[string]int{}
	}
	l.override[endpoint] = perSecond
	for key, w := range l.m {
		if len(key) > len(endpoint) && key[len(key)-len(endpoint)-1:] == "/"+endpoint {
			w.setLimit(perSecond)
		}
	}
}

// wait blocks until the channel may call the endpoint, or ctx ends.
func (l *limiters) wait(ctx context.Context, channel, endpoint string) error {
	at := l.limiter(channel, endpoint).reserve(time.Now())
	d := time.Until(at)
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// limiter returns the window of a channel's endpoint, creating it on first use.
func (l *limiters) limiter(channel, endpoint string) *slidingWindow {
	l.mu.Lock()
	defer l.mu.Unlock()
	lim, ok := l.override[endpoint]
	if !ok {
		lim, ok = defaultLimits[endpoint]
	}
	if !ok {
		endpoint, lim = "other", defaultLimits["other"]
	}
	key := channel + "/" + endpoint
	if l.m == nil {
		l.m = map[string]*slidingWindow{}
	}
	w, ok := l.m[key]
	if !ok {
		w = newSlidingWindow(lim)
		l.m[key] = w
	}
	return w
}
