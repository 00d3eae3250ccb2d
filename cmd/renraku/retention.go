package main

import (
	"context"
	"errors"
	"flag"
	"fmt"

	"github.com/renraku/renraku/internal/app"
)

// runRetention applies a board's retention periods now (the daily job does the same),
// or with --dry-run says what would be deleted.
func runRetention(ctx context.Context, env *Env, args []string) error {
	if len(args) == 0 || args[0] != "run" {
		return errors.New("retention: say run --board N [--dry-run]")
	}
	var boardRef string
	var dry bool
	cfg, _, err := loadConfig(env, "retention run", args[1:], func(fs *flag.FlagSet) {
		fs.StringVar(&boardRef, "board", "", "board (name or ID)")
		fs.BoolVar(&dry, "dry-run", false, "count what would be deleted; delete nothing")
	})
	if err != nil {
		return err
	}
	if boardRef == "" {
		return errors.New("retention run: say --board N")
	}
	tools, err := app.OpenTools(ctx, cfg, newLogger(env, cfg))
	if err != nil {
		return err
	}
	defer tools.Close()
	b, err := tools.Schools.FindBoard(ctx, boardRef)
	if err != nil {
		return err
	}
	items, err := tools.Retention.ApplyByOperator(ctx, b.ID, dry)
	if err != nil {
		return err
	}
	verb := "deleted"
	if dry {
		verb = "would delete (dry run)"
	}
	fmt.Fprintf(env.Stdout, "%s: %s\n", b.Name, verb)
	for _, it := range items {
		fmt.Fprintf(env.Stdout, "  %-15s %6d  (%s)\n", it.Category, it.Count, it.Policy)
	}
	return nil
}
