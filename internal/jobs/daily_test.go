package jobs

import (
	"testing"
	"time"
)

func TestDailyRunsAtTheHourInTokyo(t *testing.T) {
	t.Parallel()
	n := Daily(2)
	for in, want := range map[string]string{
		"2026-12-01T01:59:00+09:00": "2026-12-01T02:00:00+09:00",
		"2026-12-01T02:00:00+09:00": "2026-12-02T02:00:00+09:00",
		"2026-12-01T23:30:00+09:00": "2026-12-02T02:00:00+09:00",
		"2026-12-31T16:00:00Z":      "2027-01-01T02:00:00+09:00", // 01:00 on 1 January in Tokyo
	} {
		at, err := time.Parse(time.RFC3339, in)
		if err != nil {
			t.Fatalf("test input %q: %v", in, err)
		}
		w, err := time.Parse(time.RFC3339, want)
		if err != nil {
			t.Fatalf("test expectation %q: %v", want, err)
		}
		got := n.Next(at)
		if _, off := got.Zone(); !got.Equal(w) || off != 9*3600 {
			t.Errorf("Next(%s) = %s, want %s", in, got, want)
		}
	}
}
