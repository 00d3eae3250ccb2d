package main

import (
	"context"
	"fmt"
	"os"
	"runtime/pprof"

	"github.com/renraku/renraku/internal/app"
)

// runServe runs the production server until SIGINT/SIGTERM. It never migrates: a
// schema that is behind stops it with the command that fixes it.
func runServe(ctx context.Context, env *Env, args []string) error {
	cfg, _, err := loadConfig(env, "serve", args, nil)
	if err != nil {
		return err
	}
	if err := cfg.RequireServe(); err != nil {
		return err
	}
	log := newLogger(env, cfg)
	if path := env.Getenv("RENRAKU_CPU_PROFILE"); path != "" {
		// A diagnostic for benchmarks: the CPU profile of the whole run, written on exit.
		f, err := os.Create(path)
		if err != nil {
			return err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer func() { pprof.StopCPUProfile(); _ = f.Close() }()
	}
	a := app.New(cfg, log)
	if err := a.Start(ctx); err != nil {
		_ = a.Close(context.Background())
		return fmt.Errorf("serve: %w", err)
	}
	return waitAndClose(ctx, a)
}

// waitAndClose blocks until ctx ends or the app fails, then shuts it down.
func waitAndClose(ctx context.Context, a *app.App) error {
	var runErr error
	select {
	case <-ctx.Done():
	case runErr = <-a.Err():
	}
	if err := a.Close(context.Background()); err != nil && runErr == nil {
		runErr = err
	}
	return runErr
}
