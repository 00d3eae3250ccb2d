package main

import (
	"context"
	"fmt"
	"github.com/renraku/renraku/internal/schema"
	"path/filepath"

	"github.com/renraku/renraku/internal/app"
	"github.com/renraku/renraku/internal/demo"
	"github.com/renraku/renraku/internal/pgembed"
)

// runDev runs everything on one machine: a project-local PostgreSQL (kept in
// RENRAKU_DATA_DIR between runs) unless DATABASE_URL is set, migrations, demo data and
// the app, then prints what to open.
func runDev(ctx context.Context, env *Env, args []string) error {
	cfg, _, err := loadConfig(env, "dev", args, nil)
	if err != nil {
		return err
	}
	log := newLogger(env, cfg)

	if cfg.DatabaseURL == "" {
		fmt.Fprintln(env.Stderr, "dev: starting the local PostgreSQL in", filepath.Join(cfg.DataDir, "postgres"))
		cl, err := pgembed.Start(ctx, pgembed.Options{Dir: filepath.Join(cfg.DataDir, "postgres")})
		if err != nil {
			return fmt.Errorf("dev: %w", err)
		}
		defer cl.Stop()
		cfg.DatabaseURL = cl.URL
	}

	m, err := schema.NewMigrator(cfg.DatabaseURL)
	if err != nil {
		return err
	}
	upErr := m.Up()
	m.Close()
	if upErr != nil {
		return fmt.Errorf("dev: %w", upErr)
	}

	a := app.New(cfg, log)
	if err := a.Start(ctx); err != nil {
		_ = a.Close(context.Background())
		return fmt.Errorf("dev: %w", err)
	}
	if err := demo.Seed(ctx, a.Pool()); err != nil {
		_ = a.Close(context.Background())
		return fmt.Errorf("dev: %w", err)
	}
	printBanner(env, a)
	return waitAndClose(ctx, a)
}

func printBanner(env *Env, a *app.App) {
	base := a.BaseURL().String()
	fmt.Fprintf(env.Stdout, `
renraku dev is running. Press Ctrl-C to stop (the local database keeps its data).

  Start page        %s/
  Health            %s/healthz   %s/readyz
  Metrics           %s
  Demo board        %s (%d schools)

`, base, base, base, a.MetricsURL(), demo.BoardName, len(demo.Schools))
}
