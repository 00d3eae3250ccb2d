package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/renraku/renraku/internal/postgres"
)

func TestUnreachable(t *testing.T) {
	t.Parallel()
	// A real connection failure: nothing listens on this socket.
	_, dialErr := pgx.Connect(context.Background(), "postgres://x@/db?host=/nonexistent-renraku-socket&port=1&sslmode=disable")
	if dialErr == nil {
		t.Fatal("connected to nothing")
	}
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"cannot connect", fmt.Errorf("find session: %w", dialErr), true},
		{"connection lost", fmt.Errorf("query: %w", io.ErrUnexpectedEOF), true},
		{"connection closed", fmt.Errorf("exec: %w", pgconn.ErrConnClosed), true},
		{"socket error", &net.OpError{Op: "read", Net: "unix", Err: errors.New("connection reset by peer")}, true},
		{"server shutting down", &pgconn.PgError{Code: "57P01"}, true},
		{"server starting", &pgconn.PgError{Code: "57P03"}, true},
		{"connection exception", &pgconn.PgError{Code: "08006"}, true},
		{"unique violation", &pgconn.PgError{Code: "23505"}, false},
		{"syntax error", &pgconn.PgError{Code: "42601"}, false},
		{"no rows", pgx.ErrNoRows, false},
		{"cancelled", context.Canceled, false},
		{"other", errors.New("boom"), false},
		{"nil", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := postgres.Unreachable(tt.err); got != tt.want {
				t.Errorf("Unreachable(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
}
