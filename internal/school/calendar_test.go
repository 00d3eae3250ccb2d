package school_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/renraku/renraku/internal/school"
)

// The Cabinet Office's lists of national holidays (内閣府「国民の祝日について」).
var holidays = map[int][]string{
	2025: {"01-01", "01-13", "02-11", "02-23", "02-24", "03-20", "04-29", "05-03", "05-04", "05-05", "05-06",
		"07-21", "08-11", "09-15", "09-23", "10-13", "11-03", "11-23", "11-24"},
	2026: {"01-01", "01-12", "02-11", "02-23", "03-20", "04-29", "05-03", "05-04", "05-05", "05-06",
		"07-20", "08-11", "09-21", "09-22", "09-23", "10-12", "11-03", "11-23"},
}

func TestIsHolidayMatchesTheCabinetOfficeList(t *testing.T) {
	t.Parallel()
	for y, want := range holidays {
		var got []string
		for d := time.Date(y, 1, 1, 0, 0, 0, 0, school.Tokyo); d.Year() == y; d = d.AddDate(0, 0, 1) {
			if school.IsHoliday(d) {
				got = append(got, d.Format("01-02"))
			}
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%d holidays (-want +got):\n%s", y, diff)
		}
	}
}

func TestIsSchoolDay(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name string
		day  string
		want bool
	}{
		{"a Wednesday", "2026-06-10", true},
		{"a Saturday", "2026-06-13", false},
		{"a Sunday", "2026-06-14", false},
		{"a holiday on a Monday", "2026-07-20", false},
		{"a substitute holiday", "2026-05-06", false},
		{"the Friday after a holiday week", "2026-05-08", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			d, err := time.ParseInLocation("2006-01-02", c.day, school.Tokyo)
			if err != nil {
				t.Fatalf("the case's day %q: %v", c.day, err)
			}
			if got := school.IsSchoolDay(d); got != c.want {
				t.Errorf("IsSchoolDay(%s) = %v", c.day, got)
			}
		})
	}
}
