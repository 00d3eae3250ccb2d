package absence_test

import (
	"testing"

	"github.com/renraku/renraku/internal/absence"
)

func TestNearClosureComesBeforeTheAlert(t *testing.T) {
	t.Parallel()
	set := absence.Settings{AlertPercent: 20, AlertMin: 3}
	n := func(v int) *int { return &v }
	tests := []struct {
		name      string
		schoolDay bool
		enrolment *int
		closure   int
		want      bool
	}{
		{"nobody absent", true, n(30), 0, false},
		{"one of 30", true, n(30), 1, false},
		{"5 of 30 (16%, 4/5 of 20%)", true, n(30), 5, true},
		{"6 of 30 raises the alert: not near but over", true, n(30), 6, false},
		{"2 of 10 is 20% but under the minimum of 3: near", true, n(10), 2, true},
		{"1 of 5 is 20% but two under the minimum", true, n(5), 1, false},
		{"no enrolment set", true, nil, 5, false},
		{"not a school day", false, n(30), 5, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := absence.NearClosure(set, tc.schoolDay, tc.enrolment, tc.closure); got != tc.want {
				t.Errorf("NearClosure = %v, want %v", got, tc.want)
			}
		})
	}
}
