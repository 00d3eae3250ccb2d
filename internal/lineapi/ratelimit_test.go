package lineapi

import (
	"context"
	"testing"
	"time"
)

// TestSlidingWindowStaysInsideLINEsWindow: calls made as fast as the window admits
// them never number more than the limit within any second (LINE's limits read as a
// sliding window), yet use the whole limit; another channel has its own budget.
func TestSlidingWindowStaysInsideLINEsWindow(t *testing.T) {
	t.Parallel()
	for _, n := range []int{1, 2, 20, 200} {
		w := newSlidingWindow(n)
		start := time.Now()
		var admitted []time.Time
		for len(admitted) < 5*n {
			admitted = append(admitted, w.reserve(start))
		}
		for i := n; i < len(admitted); i++ {
			if admitted[i].Sub(admitted[i-n]) < time.Second {
				t.Fatalf("n=%d: %d calls within %v", n, n+1, admitted[i].Sub(admitted[i-n]))
			}
		}
		// 5n calls take four windows (the first n go at once), plus the margins.
		if took := admitted[len(admitted)-1].Sub(start); took > 4*(window+windowMargin) {
			t.Errorf("n=%d: %d calls took %v", n, len(admitted), took)
		}
	}
	var l limiters
	for range 200 {
		l.limiter("1234567", "multicast").reserve(time.Now())
	}
	if at := l.limiter("7654321", "multicast").reserve(time.Now()); time.Until(at) > 0 {
		t.Fatal("another channel shares the budget")
	}
	if err := l.wait(context.Background(), "7654321", "push"); err != nil {
		t.Fatal(err)
	}
}
