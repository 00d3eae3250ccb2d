package main

import (
	"context"
	"errors"
	"flag"
	"fmt"

	"github.com/renraku/renraku/internal/app"
)

// runLine runs LINE platform tasks: `line richmenu sync --school N` creates the guest
// and member rich menus on the school's channel (idempotent); `line quota --school N`
// shows the month's message quota and use.
func runLine(ctx context.Context, env *Env, args []string) error {
	if len(args) == 0 {
		return errors.New("line: say `richmenu sync` or `quota`")
	}
	var sub string
	if args[0] == "richmenu" {
		if len(args) < 2 || args[1] != "sync" {
			return errors.New("line richmenu: say sync")
		}
		sub, args = "richmenu sync", args[2:]
	} else {
		sub, args = args[0], args[1:]
	}
	var schoolRef string
	cfg, _, err := loadConfig(env, "line "+sub, args, func(fs *flag.FlagSet) {
		fs.StringVar(&schoolRef, "school", "", "school name or ID")
	})
	if err != nil {
		return err
	}
	if schoolRef == "" {
		return errors.New("line: --school is required")
	}
	deps, err := app.OpenTools(ctx, cfg, newLogger(env, cfg))
	if err != nil {
		return err
	}
	defer deps.Close()
	ch, err := deps.SchoolChannel(ctx, schoolRef)
	if err != nil {
		return err
	}
	switch sub {
	case "richmenu sync":
		n, err := deps.LINE.SyncRichMenus(ctx, ch)
		if err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "rich menus of channel %s in sync (%d created)\n", ch.LineChannelID, n)
	case "quota":
		q, err := deps.LINE.Client.Quota(ctx, ch.API())
		if err != nil {
			return err
		}
		if q.Limited {
			fmt.Fprintf(env.Stdout, "channel %s: %d of %d messages used this month\n", ch.LineChannelID, q.Used, q.Limit)
		} else {
			fmt.Fprintf(env.Stdout, "channel %s: %d messages used this month (no limit)\n", ch.LineChannelID, q.Used)
		}
	default:
		return fmt.Errorf("line: unknown command %q", sub)
	}
	return nil
}
