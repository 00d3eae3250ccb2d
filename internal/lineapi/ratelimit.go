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
// strictly as possible, that is any one-second window (a sliding window).
const window = time.Second

// slot is one call in a sliding window: LINE has counted it by the time it answers.
type slot struct {
	at   time.Time     // when the answer came (set before done is closed)
	done chan struct{} // closed once answered
	once sync.Once
}

func (s *slot) answered(at time.Time) {
	s.once.Do(func() {
		s.at = at
		close(s.done)
	})
}

// slidingWindow admits at most n calls in any window, counted where LINE counts them:
// the times of the last n calls are kept, and a call waits until the oldest of them
// has been answered a window ago. LINE counts a call before it answers, so calls that
// leave in order but arrive closer together (a slow network, a loaded machine) still
// stay inside LINE's window, with no fixed margin: the headroom LINE asks for is the
// round trip. Unlike a token bucket it uses the whole limit (n calls at once, then n
// more a window after their answers) and never more.
type slidingWindow struct {
	mu   sync.Mutex
	n    int
	ring []*slot // the last n admissions, oldest at next once full
	next int
}

func newSlidingWindow(n int) *slidingWindow {
	return &slidingWindow{n: max(n, 1), ring: make([]*slot, 0, max(n, 1))}
}

// claim admits a call at now and returns its slot; otherwise the time to try again at,
// or the earlier call whose answer it must wait for.
func (w *slidingWindow) claim(now time.Time) (s *slot, retryAt time.Time, pending <-chan struct{}) {
	w.mu.Lock()
	defer w.mu.Unlock()
	s = &slot{done: make(chan struct{})}
	if len(w.ring) < w.n {
		w.ring = append(w.ring, s)
		return s, time.Time{}, nil
	}
	old := w.ring[w.next]
	select {
	case <-old.done:
	default:
		return nil, time.Time{}, old.done
	}
	if free := old.at.Add(window); free.After(now) {
		return nil, free, nil
	}
	w.ring[w.next] = s
	w.next = (w.next + 1) % w.n
	return s, time.Time{}, nil
}

// acquire waits until a call may go, or ctx ends; answered must be called once the
// call has its answer (or has failed).
func (w *slidingWindow) acquire(ctx context.Context) (answered func(), err error) {
	for {
		s, at, pending := w.claim(time.Now())
		if s != nil {
			return func() { s.answered(time.Now()) }, nil
		}
		if pending == nil {
			t := time.NewTimer(time.Until(at))
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				return nil, ctx.Err()
			}
			continue
		}
		select {
		case <-pending:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// setLimit changes n, keeping the recent admissions that still count.
func (w *slidingWindow) setLimit(n int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	n = max(n, 1)
	recent := append(append([]*slot{}, w.ring[w.next:]...), w.ring[:w.next]...)
	if len(recent) > n {
		recent = recent[len(recent)-n:]
	}
	w.n, w.ring, w.next = n, append(make([]*slot, 0, n), recent...), 0
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

// acquire blocks until the channel may call the endpoint, or ctx ends; the caller
// calls answered when the call has its answer.
func (l *limiters) acquire(ctx context.Context, channel, endpoint string) (answered func(), err error) {
	return l.limiter(channel, endpoint).acquire(ctx)
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
