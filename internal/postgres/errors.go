package postgres

import (
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/renraku/renraku/internal/apperr"
)

// classify maps storage errors onto apperr kinds: no rows → NotFound, unique violation →
// Conflict; anything else stays internal. what names the thing, for the log.
func classify(err error, what string) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return apperr.E(apperr.NotFound, "error.not_found.title", fmt.Errorf("%s: %w", what, err))
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "23505" {
		return apperr.E(apperr.Conflict, "", fmt.Errorf("%s: %w", what, err))
	}
	if errors.As(err, &pe) && pe.Code == "23503" {
		// Still referred to (a class with registered children, say).
		return apperr.E(apperr.Conflict, "error.in_use", fmt.Errorf("%s: %w", what, err))
	}
	return fmt.Errorf("%s: %w", what, err)
}
