package worklist_test

import (
	"testing"
	"time"

	"github.com/renraku/renraku/internal/school"
	"github.com/renraku/renraku/internal/worklist"
)

func TestAgeInTheLargestUnitThatFits(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 6, 3, 8, 15, 0, 0, school.Tokyo)
	tests := []struct {
		name string
		ago  time.Duration
		n    int
		unit string
	}{
		{"a few seconds", 20 * time.Second, 0, "now"},
		{"one minute", time.Minute, 1, "minutes"},
		{"35 minutes (written at 7:40)", 35 * time.Minute, 35, "minutes"},
		{"59 minutes 59 seconds", time.Hour - time.Second, 59, "minutes"},
		{"one hour", time.Hour, 1, "hours"},
		{"23 hours", 23*time.Hour + 59*time.Minute, 23, "hours"},
		{"a day", 24 * time.Hour, 1, "days"},
		{"two days and a half", 60 * time.Hour, 2, "days"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			n, unit := worklist.Age(now.Add(-tc.ago), now)
			if n != tc.n || unit != tc.unit {
				t.Errorf("Age(%v ago) = %d %s, want %d %s", tc.ago, n, unit, tc.n, tc.unit)
			}
		})
	}
}

func TestPastCutoffHighlightsTodaysListsAfterTheCutoff(t *testing.T) {
	t.Parallel()
	at := func(hhmm string) time.Time {
		t, _ := time.ParseInLocation("2006-01-02 15:04", "2026-06-03 "+hhmm, school.Tokyo)
		return t
	}
	tests := []struct {
		name   string
		cutoff string
		now    time.Time
		want   bool
	}{
		{"before the cut-off", "08:15", at("08:14"), false},
		{"at the cut-off", "08:15", at("08:15"), true},
		{"after the cut-off", "08:15", at("10:00"), true},
		{"early in the morning", "08:15", at("06:00"), false},
		{"read in UTC, judged in Tokyo", "08:15", at("08:30").UTC(), true},
		{"no cut-off set", "", at("10:00"), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := worklist.PastCutoff(tc.cutoff, tc.now); got != tc.want {
				t.Errorf("PastCutoff(%q, %s) = %v, want %v", tc.cutoff, tc.now, got, tc.want)
			}
		})
	}
}

func TestTotalCountsItemsNotFigures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		q    worklist.Queue
		want int
	}{
		{"empty", worklist.Queue{}, 0},
		{"registrations, reports and conversations count each item", worklist.Queue{Lines: []worklist.Line{
			{Kind: worklist.KindRegistrations, Count: 2}, {Kind: worklist.KindAbsences, Count: 3}, {Kind: worklist.KindConversations, Count: 1}}}, 6},
		{"an announcement with failures is one item however many failed", worklist.Queue{Lines: []worklist.Line{
			{Kind: worklist.KindDeliveries, Count: 40}}}, 1},
		{"overdue conversations are among the conversations; quota and closure are figures", worklist.Queue{Lines: []worklist.Line{
			{Kind: worklist.KindConversations, Count: 2}, {Kind: worklist.KindOverdue, Count: 1}, {Kind: worklist.KindQuota},
			{Kind: worklist.KindClosure, Closure: 5}}}, 2},
		{"a board: overdue conversations and schools with failed deliveries", worklist.Queue{Schools: []worklist.SchoolRow{
			{Overdue: 2, Failed: 7}, {Overdue: 0}, {Overdue: 1}}}, 4},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := worklist.Total(tc.q); got != tc.want {
				t.Errorf("Total = %d, want %d", got, tc.want)
			}
		})
	}
}
