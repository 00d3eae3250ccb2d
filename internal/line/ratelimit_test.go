package line

import (
	"context"
	"testing"
	"time"
)

// TestLimiterStaysInsideLINEsWindow: calls made as fast as the bucket admits them
// never number more than LINE's limit within any one-second window (LINE's limits read
// as a sliding window), yet come close to it; another channel has its own budget.
func TestLimiterStaysInsideLINEsWindow(t *testing.T) {
	t.Parallel()
	var l limiters
	b := l.limiter("1234567", "multicast")
	start := time.Now()
	var admitted []time.Time
	for us := 0; us < 3_000_000; us += 50 {
		at := start.Add(time.Duration(us) * time.Microsecond)
		for b.AllowN(at, 1) {
			admitted = append(admitted, at)
		}
	}
	for i := 200; i < len(admitted); i++ {
		if admitted[i].Sub(admitted[i-200]) < time.Second {
			t.Fatalf("201 multicasts within %v", admitted[i].Sub(admitted[i-200]))
		}
	}
	if len(admitted) < 590 {
		t.Fatalf("only %d calls in 3 s at 200/s", len(admitted))
	}
	if !l.limiter("7654321", "multicast").Allow() {
		t.Fatal("another channel shares the budget")
	}
	if err := l.wait(context.Background(), "7654321", "push"); err != nil {
		t.Fatal(err)
	}
}
