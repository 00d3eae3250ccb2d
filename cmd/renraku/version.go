package main

import (
	"context"
	"fmt"
	"runtime"

	"github.com/renraku/renraku/internal/schema"
)

func runVersion(ctx context.Context, env *Env, args []string) error {
	fmt.Fprintf(env.Stdout, "renraku %s (%s, schema %d)\n", versionString(), runtime.Version(), schema.Latest())
	return nil
}
