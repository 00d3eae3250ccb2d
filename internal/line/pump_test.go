package line

import (
	"slices"
	"testing"
)

// TestPumpHandsSkippedEventsAgainOnce: IDs a worker's batch skipped (their users held
// by another transaction) are handed again when another worker's batch ends, not when
// the skipping worker's own ends, before the fresh IDs and on their own; skipped a
// second time, they are left to the poll's search.
func TestPumpHandsSkippedEventsAgainOnce(t *testing.T) {
	t.Parallel()
	p := &pump{wake: make(chan struct{}, PumpWorkers)}
	p.hand([]int64{1})
	ids, second, _ := p.take(PumpBatch)
	if !slices.Equal(ids, []int64{1}) || second {
		t.Fatalf("worker 0 took %v (second %v), want [1]", ids, second)
	}
	p.hand([]int64{2})
	ids1, _, _ := p.take(PumpBatch) // worker 1 holds event 2's user meanwhile
	p.skipped(0, []int64{1})
	p.done(0)
	if p.inHand() {
		t.Fatal("the skipping worker's own end handed its skipped IDs again")
	}
	p.hand([]int64{3})
	p.done(1) // the holder ends
	if !p.inHand() {
		t.Fatal("another worker's end did not hand the skipped IDs again")
	}
	ids, second, _ = p.take(PumpBatch)
	if !slices.Equal(ids, []int64{1}) || !second {
		t.Fatalf("took %v (second %v) after the holder ended, want [1] handed a second time", ids, second)
	}
	p.done(2)
	ids, second, _ = p.take(PumpBatch)
	if !slices.Equal(ids, []int64{3}) || second {
		t.Fatalf("took %v (second %v), want the fresh [3]", ids, second)
	}
	p.done(3)
	if !slices.Equal(ids1, []int64{2}) {
		t.Fatalf("worker 1 took %v, want [2]", ids1)
	}
}

// TestPumpLooksOnlyWhenAsked: a worker that finds nothing in hand searches the oldest
// pending events only when the poll (or a full batch found so) asked for a look, and
// one look is taken once; IDs beyond what the pump holds ask for one too.
func TestPumpLooksOnlyWhenAsked(t *testing.T) {
	t.Parallel()
	p := &pump{wake: make(chan struct{}, PumpWorkers)}
	if ids, _, search := p.take(PumpBatch); ids != nil || search {
		t.Fatalf("unasked: took %v, search %v", ids, search)
	}
	p.done(0)
	p.lookAgain()
	if _, _, search := p.take(PumpBatch); !search {
		t.Fatal("the asked look was not taken")
	}
	p.done(0)
	if _, _, search := p.take(PumpBatch); search {
		t.Fatal("one look was taken twice")
	}
	p.done(0)
	p.ids = make([]int64, pumpHeld)
	p.hand([]int64{1})
	p.ids = nil
	if _, _, search := p.take(PumpBatch); !search {
		t.Fatal("IDs beyond the pump's memory did not ask for a look")
	}
	p.done(0)
}

// TestPumpGathersWhileABatchRuns: IDs handed while no worker is in a batch wake one; while
// one is, they wait for it (it takes them all when its batch ends) until pumpSpill of
// them wait, which wakes another.
func TestPumpGathersWhileABatchRuns(t *testing.T) {
	t.Parallel()
	p := &pump{wake: make(chan struct{}, PumpWorkers)}
	woken := func() int { return len(p.wake) }
	p.hand([]int64{1})
	if woken() != 1 {
		t.Fatalf("%d workers woken with none in a batch, want 1", woken())
	}
	<-p.wake
	if ids, _, _ := p.take(PumpBatch); !slices.Equal(ids, []int64{1}) {
		t.Fatalf("took %v, want [1]", ids)
	}
	var next []int64
	for id := int64(2); id < 2+pumpSpill-1; id++ {
		p.hand([]int64{id})
		next = append(next, id)
	}
	if woken() != 0 {
		t.Fatalf("%d workers woken for %d IDs while a batch runs, want none", woken(), len(next))
	}
	p.hand([]int64{100})
	next = append(next, 100)
	if woken() != 1 {
		t.Fatalf("%d workers woken for %d IDs waiting, want 1", woken(), len(next))
	}
	p.done(0)
	if ids, _, _ := p.take(PumpBatch); !slices.Equal(ids, next) {
		t.Fatalf("the next batch took %v, want all that waited: %v", ids, next)
	}
	p.done(0)
}
