#!/usr/bin/env bash
# Runs every native Go fuzz target of the module (func FuzzX(f *testing.F)) for
# FUZZTIME each, one after another: `go test -fuzz` takes one target per package per
# run. Targets are found with `go test -list`, so a new one is fuzzed without anyone
# adding it here. Exits non-zero if any target fails (a crasher is then written to the
# package's testdata/fuzz/FuzzX/ — commit it with the fix). Needs DATABASE_URL (the
# Makefile's `fuzz` target starts a throwaway PostgreSQL when it is unset).
#
#   FUZZTIME=60s FUZZMINIMIZETIME=50x GO=go scripts/fuzz.sh [packages...]
set -euo pipefail

GO=${GO:-go}
FUZZTIME=${FUZZTIME:-60s}
# Minimising a new interesting input runs it over and over (Go's default allows 60s
# per input); with a database behind every run that would eat the whole FUZZTIME.
FUZZMINIMIZETIME=${FUZZMINIMIZETIME:-50x}
pkgs=("$@")
[ ${#pkgs[@]} -gt 0 ] || pkgs=(./...)

# `go test -list` prints each package's matching names, then "ok  <package> …"; a
# package that does not build fails the whole run here.
list=$("$GO" test -run '^$' -list '^Fuzz' "${pkgs[@]}")
targets=()
names=()
while read -r first second _; do
  case "$first" in
    Fuzz*) names+=("$first") ;;
    ok)
      for n in "${names[@]}"; do targets+=("$second $n"); done
      names=()
      ;;
    *) names=() ;;
  esac
done <<<"$list"

if [ ${#targets[@]} -eq 0 ]; then
  echo "fuzz: no fuzz targets found" >&2
  exit 1
fi

failed=()
for t in "${targets[@]}"; do
  read -r pkg name <<<"$t"
  echo "== $name ($pkg) for $FUZZTIME"
  if ! "$GO" test -run '^$' -fuzz "^${name}\$" -fuzztime "$FUZZTIME" -fuzzminimizetime "$FUZZMINIMIZETIME" "$pkg"; then
    failed+=("$name ($pkg)")
  fi
done

if [ ${#failed[@]} -gt 0 ]; then
  printf 'fuzz: FAILED %s\n' "${failed[@]}" >&2
  exit 1
fi
echo "fuzz: ${#targets[@]} targets passed"
