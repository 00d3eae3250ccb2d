package apperr_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/renraku/renraku/internal/apperr"
)

func TestKindOf(t *testing.T) {
	t.Parallel()
	base := apperr.E(apperr.NotFound, "error.not_found.title", errors.New("no row"))
	tests := []struct {
		name string
		err  error
		kind apperr.Kind
		msg  string
	}{
		{"direct", base, apperr.NotFound, "error.not_found.title"},
		{"wrapped", fmt.Errorf("load thread: %w", base), apperr.NotFound, "error.not_found.title"},
		{"plain error is internal", errors.New("boom"), apperr.Internal, ""},
		{"nil is internal", nil, apperr.Internal, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := apperr.KindOf(tt.err); got != tt.kind {
				t.Errorf("kind = %v, want %v", got, tt.kind)
			}
			if got := apperr.MessageIDOf(tt.err); got != tt.msg {
				t.Errorf("message = %q, want %q", got, tt.msg)
			}
		})
	}
}
