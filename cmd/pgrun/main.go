// Command pgrun runs a command with a throwaway PostgreSQL server: it starts a local
// cluster from the system's binaries, exports DATABASE_URL to the command, and removes
// the cluster when the command ends. `make test` uses it when DATABASE_URL is not set.
// The cluster runs with fsync off unless -durable is given.
//
//	pgrun [-keep] [-durable] -- go test ./...
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"

	"github.com/renraku/renraku/internal/pgembed"
)

func main() {
	os.Exit(run())
}

func run() int {
	keep := flag.Bool("keep", false, "keep the cluster's folder after the command ends (for debugging)")
	durable := flag.Bool("durable", false, "keep fsync, synchronous_commit and full_page_writes on (for benchmarks measured both ways)")
	var settings settingList
	flag.Var(&settings, "c", "a server setting name=value, as postgres -c (repeatable), e.g. -c shared_preload_libraries=pg_stat_statements")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: pgrun [-keep] [-durable] -- command [args...]")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() == 0 {
		flag.Usage()
		return 2
	}
	dir, err := os.MkdirTemp("", "renraku-pgrun-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "pgrun:", err)
		return 1
	}
	if !*keep {
		defer os.RemoveAll(dir)
	}
	// The child gets Ctrl-C through the terminal's process group; we only wait for it.
	signal.Ignore(syscall.SIGINT)
	signal.Ignore(syscall.SIGTERM)

	cl, err := pgembed.Start(context.Background(), pgembed.Options{Dir: dir, Throwaway: !*durable, Settings: settings})
	if err != nil {
		fmt.Fprintln(os.Stderr, "pgrun:", err)
		return 1
	}
	defer cl.Stop()

	cmd := exec.Command(flag.Arg(0), flag.Args()[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.Env = append(os.Environ(), "DATABASE_URL="+cl.URL, "RENRAKU_PG_BIN="+cl.BinDir)
	if err := cmd.Run(); err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			if ee.ExitCode() >= 0 {
				return ee.ExitCode()
			}
			return 1
		}
		fmt.Fprintln(os.Stderr, "pgrun:", err)
		return 1
	}
	return 0
}

// settingList collects repeated -c flags.
type settingList []string

func (l *settingList) String() string { return strings.Join(*l, " ") }

func (l *settingList) Set(v string) error {
	if !strings.Contains(v, "=") {
		return fmt.Errorf("want name=value, got %q", v)
	}
	*l = append(*l, v)
	return nil
}
