// Command renraku is the school–parent messaging service. Its subcommands run the
// production server, the all-in-one dev mode, migrations and operator tasks.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"sort"
	"syscall"

	"github.com/renraku/renraku/internal/config"
	"github.com/renraku/renraku/internal/logging"
)

// command is one subcommand. run gets the arguments after its name.
type command struct {
	summary string
	run     func(ctx context.Context, env *Env, args []string) error
}

var commands = map[string]command{
	"serve":     {"run the production server", runServe},
	"dev":       {"run everything on this machine: local PostgreSQL, demo data, URLs printed", runDev},
	"migrate":   {"migrate up|down [N]|status: apply or revert database migrations", runMigrate},
	"version":   {"print the version", runVersion},
	"admin":     {"admin create-board|create-school|set-channel|create-staff: bootstrap from the command line", runAdmin},
	"line":      {"line richmenu sync|quota --school N: LINE channel tasks", runLine},
	"keys":      {"keys generate --out F|rotate|status|retire --key-id N: the encryption keyset; keys vapid [--replace]: the Web Push key pair", runKeys},
	"audit":     {"audit verify [--head H] | head: check the audit log's chain (against a kept head); print the signed head to keep", runAudit},
	"retention": {"retention run --board N [--dry-run]: apply the board's retention periods now", runRetention},
	"backup":    {"backup --out FILE: the database as a pg_dump archive (the keyset is kept separately)", runBackup},
	"restore":   {"restore --in FILE: load a backup into an empty database and check it", runRestore},
}

// Env is what every subcommand gets from the process: its streams and environment, so
// tests can run subcommands in-process.
type Env struct {
	Stdout, Stderr io.Writer
	Getenv         func(string) string
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	err := Run(ctx, &Env{Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv}, os.Args[1:])
	stop()
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "renraku:", err)
		}
		os.Exit(1)
	}
}

// Run dispatches to the subcommand named by args[0].
func Run(ctx context.Context, env *Env, args []string) error {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(env.Stderr)
		if len(args) == 0 {
			return errors.New("a subcommand is required")
		}
		return nil
	}
	c, ok := commands[args[0]]
	if !ok {
		usage(env.Stderr)
		return fmt.Errorf("unknown subcommand %q", args[0])
	}
	return c.run(ctx, env, args[1:])
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: renraku <subcommand> [flags]")
	var names []string
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-10s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(w, "Run `renraku <subcommand> -h` for its flags. Settings come from the environment (see README).")
}

// loadConfig parses the common settings plus a subcommand's own flags.
func loadConfig(env *Env, name string, args []string, own func(fs *flag.FlagSet)) (*config.Config, []string, error) {
	fs := flag.NewFlagSet("renraku "+name, flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	if own != nil {
		own(fs)
	}
	return config.Load(env.Getenv, fs, args)
}

func newLogger(env *Env, cfg *config.Config) *slog.Logger {
	return logging.New(env.Stderr, cfg.LogLevel)
}

// version is set at build time with -ldflags "-X main.version=…"; otherwise the VCS
// revision recorded by the Go toolchain is used.
var version = ""

func versionString() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		rev, dirty := "", ""
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				if s.Value == "true" {
					dirty = "-dirty"
				}
			}
		}
		if len(rev) > 12 {
			rev = rev[:12]
		}
		if rev != "" {
			return "dev-" + rev + dirty
		}
	}
	return "dev"
}
