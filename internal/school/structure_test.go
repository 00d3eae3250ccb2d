package school_test

import (
	"testing"

	"github.com/renraku/renraku/internal/school"
)

func TestParseEnrolment(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		in   string
		want string // "" for not set, "!" for refused
	}{
		{"", ""}, {"  ", ""}, {"30", "30"}, {" 30 ", "30"}, {"３０", "30"}, {"30人", "30"}, {"0", "0"}, {"999", "999"},
		{"1000", "!"}, {"-1", "!"}, {"3.5", "!"}, {"三十", "!"}, {"30人人", "!"}, {"0x1e", "!"}, {"+3", "!"},
	} {
		n, ok := school.ParseEnrolment(c.in)
		got := school.EnrolmentText(n)
		if !ok {
			got = "!"
		}
		if got != c.want {
			t.Errorf("ParseEnrolment(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}
