package live_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/renraku/renraku/internal/live"
)

// TestHub fans a notification out to every open stream, ignores payloads that are not
// events, forgets a cancelled stream and ends every stream on Close.
func TestHub(t *testing.T) {
	t.Parallel()
	h := live.NewHub()
	a, cancelA := h.Subscribe()
	b, cancelB := h.Subscribe()
	defer cancelA()

	h.Notify(`{"kind":"message","board":1,"school":2,"conversation":3}`)
	want := live.Event{Kind: live.Message, Board: 1, School: 2, Conversation: 3}
	for name, ch := range map[string]<-chan live.Event{"a": a, "b": b} {
		select {
		case got := <-ch:
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("stream %s (-want +got):\n%s", name, diff)
			}
		default:
			t.Errorf("stream %s got nothing", name)
		}
	}

	// Not JSON, or no kind: nothing is sent.
	h.Notify(`not json`)
	h.Notify(`{"board":1}`)
	select {
	case e := <-a:
		t.Errorf("a bad payload was sent: %+v", e)
	default:
	}

	// A cancelled stream is closed and gets nothing more.
	cancelB()
	if _, open := <-b; open {
		t.Error("a cancelled stream is still open")
	}
	cancelB() // twice is harmless

	// A full buffer drops the event for that stream only.
	for range 100 {
		h.Send(live.Event{Kind: live.Reply})
	}

	h.Close()
	n := 0
	for range a {
		n++
	}
	if n == 0 || n > 100 {
		t.Errorf("a received %d events before Close ended it", n)
	}
	c, cancelC := h.Subscribe()
	defer cancelC()
	if _, open := <-c; open {
		t.Error("a stream opened after Close is open")
	}
}
