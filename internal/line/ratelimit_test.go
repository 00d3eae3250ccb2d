package line

import (
	"context"
	"testing"
)

// TestLimiterPacesMulticast: of 60 multicast calls at 200/s (burst 20) made at once,
// only the burst is admitted without waiting; another channel has its own budget.
func TestLimiterPacesMulticast(t *testing.T) {
	t.Parallel()
	var l limiters
	admitted := 0
	for i := 0; i < 60; i++ {
		if l.limiter("1234567", "multicast").Allow() {
			admitted++
		}
	}
	if admitted < 20 || admitted > 21 {
		t.Fatalf("admitted %d calls at once, want the burst of 20", admitted)
	}
	if !l.limiter("7654321", "multicast").Allow() {
		t.Fatal("another channel shares the budget")
	}
	if err := l.wait(context.Background(), "7654321", "push"); err != nil {
		t.Fatal(err)
	}
}
