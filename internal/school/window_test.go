package school_test

import (
	"testing"
	"time"

	"github.com/renraku/renraku/internal/school"
)

func tokyo(s string) time.Time {
	t, err := time.ParseInLocation("2006-01-02 15:04", s, school.Tokyo)
	if err != nil {
		panic(err)
	}
	return t
}

// TestWindowEndCountsSchoolDays checks the response window: school days after the day a
// message arrived, skipping weekends, national holidays and the school's closed days.
func TestWindowEndCountsSchoolDays(t *testing.T) {
	t.Parallel()
	closedTue := func(d time.Time) bool { return d.Equal(tokyo("2026-06-02 00:00")) }
	tests := []struct {
		name   string
		since  string
		days   int
		closed func(time.Time) bool
		want   string
	}{
		{"Monday morning, two days: Tuesday and Wednesday", "2026-06-01 08:00", 2, nil, "2026-06-04 00:00"},
		{"Monday just before midnight counts as Monday", "2026-06-01 23:59", 2, nil, "2026-06-04 00:00"},
		{"Friday evening: the weekend does not count", "2026-06-05 17:00", 2, nil, "2026-06-10 00:00"},
		{"Saturday, one day: Monday", "2026-06-06 10:00", 1, nil, "2026-06-09 00:00"},
		{"Golden Week's holidays do not count", "2026-05-01 17:00", 2, nil, "2026-05-09 00:00"},
		{"a closed day of the school does not count", "2026-06-01 08:00", 2, closedTue, "2026-06-05 00:00"},
		{"ten days span two weekends", "2026-06-01 08:00", 10, nil, "2026-06-16 00:00"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := school.WindowEnd(tokyo(tc.since), tc.days, tc.closed)
			if !got.Equal(tokyo(tc.want)) {
				t.Errorf("WindowEnd(%s, %d) = %s, want %s", tc.since, tc.days, got.In(school.Tokyo).Format("2006-01-02 15:04"), tc.want)
			}
		})
	}
}

func TestOverdueFromTheWindowsEnd(t *testing.T) {
	t.Parallel()
	since := tokyo("2026-06-01 08:00")
	tests := []struct {
		name string
		now  string
		want bool
	}{
		{"the same day", "2026-06-01 17:00", false},
		{"the last minute of the second school day", "2026-06-03 23:59", false},
		{"the third school day begins", "2026-06-04 00:00", true},
		{"a week later", "2026-06-08 09:00", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := school.Overdue(since, tokyo(tc.now), 2, nil); got != tc.want {
				t.Errorf("Overdue at %s = %v, want %v", tc.now, got, tc.want)
			}
		})
	}
}
