package retention

import (
	"testing"
	"time"

	"github.com/renraku/renraku/internal/school"
)

func TestNightlyRunsAtTwoInTokyo(t *testing.T) {
	t.Parallel()
	n := nightly{hour: RunHour}
	for in, want := range map[string]string{
		"2026-12-01T01:59:00+09:00": "2026-12-01T02:00:00+09:00",
		"2026-12-01T02:00:00+09:00": "2026-12-02T02:00:00+09:00",
		"2026-12-01T23:30:00+09:00": "2026-12-02T02:00:00+09:00",
		"2026-12-31T16:00:00Z":      "2027-01-01T02:00:00+09:00", // 01:00 on 1 January in Tokyo
	} {
		at, _ := time.Parse(time.RFC3339, in)
		w, _ := time.Parse(time.RFC3339, want)
		if got := n.Next(at); !got.Equal(w) || got.Location() != school.Tokyo {
			t.Errorf("Next(%s) = %s, want %s", in, got, want)
		}
	}
}
