package lineapi

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"
)

// TestSlidingWindowStaysInsideLINEsWindow drives the window on a virtual clock with
// calls whose answers take 0–300 ms: each call leaves only once the call n before it
// was answered a window ago, so however late LINE counts a call (at the latest when it
// answers) no n+1 calls fall within one second; yet the whole limit is used (n calls
// at once). Another channel has its own budget.
func TestSlidingWindowStaysInsideLINEsWindow(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{1, 2, 20, 200} {
		w := newSlidingWindow(n)
		now := time.Unix(0, 0)
		type call struct{ left, answered time.Time }
		var calls []call
		var open []*slot // admitted, not yet answered, with their answer times
		var due []time.Time
		for len(calls) < 5*n {
			s, retryAt, pending := w.claim(now)
			switch {
			case s != nil:
				answer := now.Add(time.Duration(rng.IntN(300)) * time.Millisecond)
				calls = append(calls, call{now, answer})
				open, due = append(open, s), append(due, answer)
				continue
			case pending != nil:
				// Answer the earliest open call: the clock moves to its answer.
				i := 0
				for j := range due {
					if due[j].Before(due[i]) {
						i = j
					}
				}
				now = maxTime(now, due[i])
				open[i].answered(due[i])
				open, due = append(open[:i], open[i+1:]...), append(due[:i], due[i+1:]...)
			default:
				now = retryAt
			}
		}
		for i := 0; i < n; i++ {
			if !calls[i].left.Equal(time.Unix(0, 0)) {
				t.Errorf("n=%d: call %d of the first window waited", n, i)
			}
		}
		for i := n; i < len(calls); i++ {
			if calls[i].left.Sub(calls[i-n].answered) < window {
				t.Fatalf("n=%d: call %d left %v after call %d was answered", n, i, calls[i].left.Sub(calls[i-n].answered), i-n)
			}
		}
	}
	var l limiters
	for range 200 {
		if _, err := l.acquire(context.Background(), "1234567", "multicast"); err != nil {
			t.Fatal(err)
		}
	}
	if s, _, _ := l.limiter("7654321", "multicast").claim(time.Now()); s == nil {
		t.Fatal("another channel shares the budget")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := l.acquire(ctx, "1234567", "multicast"); err == nil {
		t.Fatal("a call waiting on unanswered calls did not end with its context")
	}
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// TestSlidingWindowSetLimit keeps the recent calls when the limit changes.
func TestSlidingWindowSetLimit(t *testing.T) {
	t.Parallel()
	w := newSlidingWindow(3)
	now := time.Unix(0, 0)
	for range 3 {
		s, _, _ := w.claim(now)
		s.answered(now)
	}
	w.setLimit(2)
	if s, retryAt, _ := w.claim(now); s != nil || !retryAt.Equal(now.Add(window)) {
		t.Fatalf("after lowering the limit a call went at once (retry at %v)", retryAt)
	}
	w.setLimit(5)
	if s, _, _ := w.claim(now); s == nil {
		t.Fatal("after raising the limit the call still waits")
	}
}
