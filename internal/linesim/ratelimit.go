package linesim

import (
	"maps"
	"time"
)

// RateLimit allows Requests calls per Per, per channel and endpoint. LINE counts in
// windows; a sliding window is the strictest reading of its table, so code that stays
// under it here stays under it on LINE.
type RateLimit struct {
	Requests int
	Per      time.Duration
}

// DefaultRateLimits returns LINE's published limits for the endpoints the simulator
// serves (a fresh map each call). Endpoints not listed (LINE Login's verify) have no
// published limit.
func DefaultRateLimits() map[string]RateLimit {
	return maps.Clone(defaultRateLimits)
}

var defaultRateLimits = map[string]RateLimit{
	EndpointReply:                 {2000, time.Second},
	EndpointPush:                  {2000, time.Second},
	EndpointMulticast:             {200, time.Second},
	EndpointProfile:               {2000, time.Second},
	EndpointBotInfo:               {2000, time.Second},
	EndpointQuota:                 {2000, time.Second},
	EndpointQuotaConsumption:      {2000, time.Second},
	EndpointContent:               {2000, time.Second},
	EndpointRichMenuCreate:        {100, time.Hour},
	EndpointRichMenuDelete:        {100, time.Hour},
	EndpointRichMenuGet:           {2000, time.Second},
	EndpointRichMenuList:          {2000, time.Second},
	EndpointRichMenuUpload:        {2000, time.Second},
	EndpointRichMenuDownload:      {2000, time.Second},
	EndpointRichMenuSetDefault:    {2000, time.Second},
	EndpointRichMenuGetDefault:    {2000, time.Second},
	EndpointRichMenuCancelDefault: {2000, time.Second},
	EndpointRichMenuLink:          {2000, time.Second},
	EndpointRichMenuGetLinked:     {2000, time.Second},
	EndpointRichMenuUnlink:        {2000, time.Second},
}

type limiterKey struct{ channelID, endpoint string }

// window remembers the times of the calls still inside the limit's period.
type window struct{ times []time.Time }

func (w *window) allow(now time.Time, l RateLimit) bool {
	cut := now.Add(-l.Per)
	i := 0
	for i < len(w.times) && !w.times[i].After(cut) {
		i++
	}
	w.times = w.times[i:]
	if len(w.times) >= l.Requests {
		return false
	}
	w.times = append(w.times, now)
	return true
}

// SetRateLimit changes an endpoint's limit for every channel without its own
// override; Requests 0 switches it off.
func (s *Sim) SetRateLimit(endpoint string, l RateLimit) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.opts.RateLimits[endpoint] = l
	for k := range s.limiters {
		if k.endpoint == endpoint {
			delete(s.limiters, k)
		}
	}
}

// rateLimit reports whether a call may proceed. Callers hold s.mu.
func (s *Sim) rateLimit(c *channel, endpoint string) bool {
	l, ok := c.rateOverride[endpoint]
	if !ok {
		l, ok = s.opts.RateLimits[endpoint]
	}
	if !ok {
		l, ok = defaultRateLimits[endpoint]
	}
	if !ok || l.Requests <= 0 || l.Per <= 0 {
		return true
	}
	k := limiterKey{c.cfg.ID, endpoint}
	w := s.limiters[k]
	if w == nil {
		w = &window{}
		s.limiters[k] = w
	}
	return w.allow(s.now(), l)
}
