// Package clock is the time source of renraku's services. A service reads it from
// request handlers and job workers at once while a test moves it, so it is safe for
// concurrent use; the zero Clock reads the system time.
package clock

import (
	"sync"
	"time"
)

// Clock tells the time: the system's, or the time a test stopped it at. Its zero
// value is ready to use and reads the system time. A Clock must not be copied after
// first use (it holds a lock), so services keep it as a field and are used by pointer.
type Clock struct {
	mu      sync.RWMutex
	stopped bool
	at      time.Time
}

// Now returns the time the clock was set to, or the system time when it was never set
// (or was reset).
func (c *Clock) Now() time.Time {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.stopped {
		return c.at
	}
	return time.Now()
}

// Set stops the clock at t: every Now after it returns t until the next Set or Reset.
// Tests use it to put a running app at a date (the year's turn, an expired link).
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.stopped, c.at = true, t
}

// Reset makes the clock read the system time again.
func (c *Clock) Reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.stopped, c.at = false, time.Time{}
}
