package app_test

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"testing"

	"github.com/renraku/renraku/internal/app"
	"github.com/renraku/renraku/internal/config"
	"github.com/renraku/renraku/internal/credential"
	"github.com/renraku/renraku/internal/logging"
)

// childEnv makes the test binary run the app instead of the tests: a process a test
// can kill outright (SIGKILL) to show that nothing is lost or sent twice.
const childEnv = "RENRAKU_TEST_APP_CHILD"

// TestMain makes password hashing cheap: the tests check behaviour, not Argon2's cost
// (docs/PERFORMANCE.md records the real figure).
func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == "1" {
		os.Exit(runChild())
	}
	credential.Params.Memory, credential.Params.Iterations, credential.Params.Parallelism = 64, 1, 1
	os.Exit(m.Run())
}

// runChild runs the app configured by the environment until the process is killed.
func runChild() int {
	cfg, _, err := config.Load(os.Getenv, flag.NewFlagSet("child", flag.ContinueOnError), nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	a := app.New(cfg, logging.New(os.Stderr, slog.LevelWarn))
	if err := a.Start(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Println("ready", a.URL())
	select {}
}
