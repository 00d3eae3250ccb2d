package line

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"testing"
	"unicode/utf8"
)

// TestRecorderWritesTogether: outcomes that arrive while one is written are written
// next in one write; every caller returns after the write that carried its outcome,
// with that write's error, and each outcome is written exactly once.
func TestRecorderWritesTogether(t *testing.T) {
	t.Parallel()
	var rc recorder
	first := make(chan struct{})
	release := make(chan struct{})
	var mu sync.Mutex
	var writes [][]int64
	failing := errors.New("database gone")
	write := func(_ context.Context, us []OutboundUpdate) error {
		mu.Lock()
		n := len(writes)
		ids := make([]int64, len(us))
		for i, u := range us {
			ids[i] = u.ID
		}
		writes = append(writes, ids)
		mu.Unlock()
		if n == 0 {
			close(first)
			<-release // the others arrive meanwhile
			return nil
		}
		return failing
	}
	errs := make([]error, 9)
	var wg sync.WaitGroup
	wg.Go(func() { errs[0] = rc.record(OutboundUpdate{ID: 1}, write) })
	<-first
	for i := 1; i < len(errs); i++ {
		wg.Go(func() { errs[i] = rc.record(OutboundUpdate{ID: int64(i + 1)}, write) })
	}
	// Wait until all eight wait for the write under way.
	for {
		rc.mu.Lock()
		n := len(rc.pending)
		rc.mu.Unlock()
		if n == len(errs)-1 {
			break
		}
		runtime.Gosched()
	}
	close(release)
	wg.Wait()

	if len(writes) != 2 || len(writes[0]) != 1 || len(writes[1]) != 8 {
		t.Fatalf("writes %v, want [1] then the other eight together", writes)
	}
	seen := map[int64]bool{}
	for _, w := range writes {
		for _, id := range w {
			if seen[id] {
				t.Errorf("outcome %d written twice", id)
			}
			seen[id] = true
		}
	}
	if errs[0] != nil {
		t.Errorf("first caller: %v, want its write's nil", errs[0])
	}
	for i, err := range errs[1:] {
		if !errors.Is(err, failing) {
			t.Errorf("caller %d: %v, want the second write's error", i+2, err)
		}
	}
	if rc.writing || len(rc.pending) > 0 {
		t.Errorf("recorder left writing=%v with %d pending", rc.writing, len(rc.pending))
	}
}

// TestTruncateKeepsCharactersWhole: LINE's error text is cut to the column's limit at
// a character's start (PostgreSQL refuses broken UTF-8).
func TestTruncateKeepsCharactersWhole(t *testing.T) {
	t.Parallel()
	s := "aあいう" // 1 + 3×3 bytes
	for n := 0; n <= len(s); n++ {
		got := truncate(s, n)
		if len(got) > n || !utf8.ValidString(got) || len(got) < n-2 {
			t.Errorf("truncate(%q, %d) = %q", s, n, got)
		}
	}
}
