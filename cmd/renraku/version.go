package main

import (
	"context"
	"fmt"
	"github.com/renraku/renraku/internal/schema"
	"runtime"
)

func runVersion(ctx context.Context, env *Env, args []string) error {
	fmt.Fprintf(env.Stdout, "renraku %s (%s, schema %d)\n", versionString(), runtime.Version(), schema.Latest())
	return nil
}
