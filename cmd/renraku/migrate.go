package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/renraku/renraku/internal/schema"
)

// runMigrate applies (up), reverts (down [N], all when N is omitted) or shows (status)
// the embedded migrations.
func runMigrate(ctx context.Context, env *Env, args []string) error {
	cfg, rest, err := loadConfig(env, "migrate", args, nil)
	if err != nil {
		return err
	}
	if len(rest) == 0 {
		return errors.New("migrate: say up, down [N] or status")
	}
	// Migrations run as the schema's owner; the server's own role may not alter it.
	if cfg.MigrationURL() == "" {
		return errors.New("migrate: neither RENRAKU_OWNER_DATABASE_URL nor DATABASE_URL is set (the dev mode migrates its own database)")
	}
	m, err := schema.NewMigrator(cfg.MigrationURL())
	if err != nil {
		return err
	}
	defer m.Close()
	switch rest[0] {
	case "up":
		if err := m.Up(); err != nil {
			return err
		}
	case "down":
		steps := 0
		if len(rest) > 1 {
			steps, err = strconv.Atoi(rest[1])
			if err != nil || steps < 1 {
				return errors.New("migrate down: N must be a positive number of steps")
			}
		}
		if err := m.Down(steps); err != nil {
			return err
		}
	case "status":
	default:
		return fmt.Errorf("migrate: unknown action %q (up, down [N] or status)", rest[0])
	}
	st, err := m.Status()
	if err != nil {
		return err
	}
	state := "current"
	if err := st.Err(); err != nil {
		state = err.Error()
	}
	fmt.Fprintf(env.Stdout, "schema version %d of %d: %s\n", st.Current, st.Latest, state)
	return nil
}
