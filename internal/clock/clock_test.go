package clock_test

import (
	"sync"
	"testing"
	"time"

	"github.com/renraku/renraku/internal/clock"
)

func TestZeroClockReadsSystemTime(t *testing.T) {
	t.Parallel()
	var c clock.Clock
	before := time.Now()
	got := c.Now()
	if got.Before(before) || got.After(time.Now()) {
		t.Fatalf("zero clock read %v, outside the system time around it", got)
	}
}

func TestSetStopsTheClockAndResetRestartsIt(t *testing.T) {
	t.Parallel()
	var c clock.Clock
	at := time.Date(2031, time.March, 2, 9, 0, 0, 0, time.UTC)
	c.Set(at)
	if got := c.Now(); !got.Equal(at) {
		t.Fatalf("after Set: %v, want %v", got, at)
	}
	if got := c.Now(); !got.Equal(at) {
		t.Fatalf("the stopped clock moved: %v", got)
	}
	c.Reset()
	if got := c.Now(); got.Equal(at) {
		t.Fatalf("after Reset the clock still reads %v", got)
	}
}

// TestConcurrentSetAndNow is for the race detector: tests move a running app's clock
// while its workers read it.
func TestConcurrentSetAndNow(t *testing.T) {
	t.Parallel()
	var c clock.Clock
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Go(func() {
			for j := range 100 {
				if i%2 == 0 {
					c.Set(time.Unix(int64(j), 0))
				} else {
					_ = c.Now()
				}
			}
		})
	}
	wg.Wait()
}
