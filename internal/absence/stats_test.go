package absence_test

import (
	"testing"

	"github.com/renraku/renraku/internal/absence"
)

func TestClosureAlert(t *testing.T) {
	t.Parallel()
	n := func(v int) *int { return &v }
	set := absence.Settings{AlertPercent: 20, AlertMin: 2}
	tests := []struct {
		name       string
		schoolDay  bool
		enrolment  *int
		closure    int
		percent    int
		hasPercent bool
		alert      bool
	}{
		// The defect: one feverish child, the only one registered, was 100 %.
		{"one pupil of thirty", true, n(30), 1, 3, true, false},
		{"enrolment not set", true, nil, 1, 0, false, false},
		{"enrolment not set, many absent", true, nil, 9, 0, false, false},
		{"enrolment 0", true, n(0), 1, 0, false, false},
		{"a fifth of thirty", true, n(30), 6, 20, true, true},
		{"just under a fifth", true, n(30), 5, 16, true, false},
		{"a fifth of thirty on a Sunday", false, n(30), 6, 20, true, false},
		{"a fifth of five is one pupil, below the minimum", true, n(5), 1, 20, true, false},
		{"two of five", true, n(5), 2, 40, true, true},
		{"none absent", true, n(30), 0, 0, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			percent, has, alert := absence.ClosureAlert(set, tt.schoolDay, tt.enrolment, tt.closure)
			if percent != tt.percent || has != tt.hasPercent || alert != tt.alert {
				t.Errorf("ClosureAlert = %d%%, %v, alert %v; want %d%%, %v, alert %v", percent, has, alert, tt.percent, tt.hasPercent, tt.alert)
			}
		})
	}
}
