package absence

import (
	"testing"
	"time"

	"github.com/renraku/renraku/internal/school"
)

func TestFirstDaySkipsTheCutoffWeekendsAndClosedDays(t *testing.T) {
	t.Parallel()
	at := func(month time.Month, day, hour, minute int) time.Time {
		return time.Date(2026, month, day, hour, minute, 0, 0, school.Tokyo)
	}
	date := func(month time.Month, day int) time.Time { return at(month, day, 0, 0) }
	// 2026-12-04 is a Friday.
	s := Settings{Cutoff: "08:00"}
	closed := Settings{Cutoff: "08:00", Closed: []time.Time{date(12, 7), date(12, 8)}}
	for _, tc := range []struct {
		name string
		s    Settings
		now  time.Time
		want time.Time
	}{
		{"Friday before the cut-off: today", s, at(12, 4, 7, 59), date(12, 4)},
		{"Friday at the cut-off: Monday", s, at(12, 4, 8, 0), date(12, 7)},
		{"Friday evening: Monday", s, at(12, 4, 21, 30), date(12, 7)},
		{"Saturday morning: Monday", s, at(12, 5, 6, 0), date(12, 7)},
		{"Sunday evening: Monday", s, at(12, 6, 20, 0), date(12, 7)},
		{"Thursday evening: Friday", s, at(12, 3, 19, 0), date(12, 4)},
		{"Friday evening, Monday and Tuesday closed: Wednesday", closed, at(12, 4, 21, 0), date(12, 9)},
		{"a closed Monday before the cut-off: Wednesday", closed, at(12, 7, 7, 0), date(12, 9)},
		{"no cut-off set: today", Settings{}, at(12, 3, 23, 0), date(12, 3)},
		{"every day closed: today", Settings{Cutoff: "08:00", Closed: everyDay(date(12, 3), 40)}, at(12, 3, 7, 0), date(12, 3)},
	} {
		if got := FirstDay(tc.s, tc.now); !got.Equal(tc.want) {
			t.Errorf("%s: %s, want %s", tc.name, got.Format("2006-01-02 Mon"), tc.want.Format("2006-01-02 Mon"))
		}
	}
}

func everyDay(from time.Time, n int) []time.Time {
	var out []time.Time
	for i := range n {
		out = append(out, from.AddDate(0, 0, i))
	}
	return out
}
