package app_test

import (
	"os"
	"testing"

	"github.com/renraku/renraku/internal/credential"
)

// TestMain makes password hashing cheap: the tests check behaviour, not Argon2's cost
// (docs/PERFORMANCE.md records the real figure).
func TestMain(m *testing.M) {
	credential.Params.Memory, credential.Params.Iterations, credential.Params.Parallelism = 64, 1, 1
	os.Exit(m.Run())
}
