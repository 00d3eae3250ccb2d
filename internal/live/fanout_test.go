package live

import (
	"context"
	"errors"
	"testing"
)

type recorder struct {
	got []Event
	err error
}

func (r *recorder) Publish(_ context.Context, e Event) error {
	r.got = append(r.got, e)
	return r.err
}

func TestFanout(t *testing.T) {
	a, b := &recorder{}, &recorder{}
	e := Event{Kind: Message, Board: 1, School: 2, Conversation: 3}
	if err := (Fanout{a, b}).Publish(context.Background(), e); err != nil {
		t.Fatal(err)
	}
	if len(a.got) != 1 || a.got[0] != e || len(b.got) != 1 || b.got[0] != e {
		t.Fatalf("published %v and %v, want one %v each", a.got, b.got, e)
	}
	failing, after := &recorder{err: errors.New("refused")}, &recorder{}
	if err := (Fanout{failing, after}).Publish(context.Background(), e); err == nil || len(after.got) != 0 {
		t.Fatalf("a failing publisher: err %v, the next one got %v", err, after.got)
	}
}
