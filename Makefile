# renraku — `make help` lists the targets.
SHELL := /bin/bash
GO ?= go
PKGS ?= ./...
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
# The race detector is built with cgo: keep it on even where the environment turns it off.
TESTENV = $(if $(RACE),CGO_ENABLED=1)

.DEFAULT_GOAL := help

.PHONY: help
help: ## Show this help
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  \033[36m%-10s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: run
run: ## Start the dev mode: local PostgreSQL, demo data, URLs and logins printed
	@scripts/ensure-deps.sh postgres pdf
	@$(GO) build -o bin/renraku ./cmd/renraku
	@exec bin/renraku dev

# RACE runs every test under the race detector: the end-to-end tests move a running
# app's clock and share logs and simulators with its workers, and the feature packages
# run River workers and goroutines of their own. Measured on 2 cores it fits the
# 15-minute budget whole (docs/PERFORMANCE.md); `make test RACE=` runs without it.
# The detector needs cgo, so a C compiler and libc headers (ensure-deps: cc).
RACE ?= -race

.PHONY: test
test: ## Run every test under -race (starts a throwaway PostgreSQL unless DATABASE_URL is set)
	@scripts/ensure-deps.sh postgres browser pdf $(if $(RACE),cc)
	@if [ -n "$$DATABASE_URL" ]; then \
		$(TESTENV) $(GO) test $(RACE) -count=1 -timeout 14m $(PKGS); \
	else \
		$(TESTENV) $(GO) run ./cmd/pgrun -- $(GO) test $(RACE) -count=1 -timeout 14m $(PKGS); \
	fi

FUZZTIME ?= 60s

.PHONY: fuzz
fuzz: ## Run every fuzz target for FUZZTIME each (default 60s); fails if any finds a crash
	@scripts/ensure-deps.sh postgres
	@if [ -n "$$DATABASE_URL" ]; then \
		GO=$(GO) FUZZTIME=$(FUZZTIME) scripts/fuzz.sh $(PKGS); \
	else \
		$(GO) run ./cmd/pgrun -- env GO=$(GO) FUZZTIME=$(FUZZTIME) scripts/fuzz.sh $(PKGS); \
	fi

.PHONY: generate
generate: ## Regenerate templ views (commit the generated files)
	$(GO) tool templ generate -path web
	$(GO) tool templ generate -path internal

.PHONY: verify
verify: ## Check formatting, vet, go.mod tidy, generated files current, migrations well-formed and landed ones unchanged
	@$(GO) mod tidy -diff >/dev/null || { echo "go.mod is not tidy: run go mod tidy"; $(GO) mod tidy -diff; exit 1; }
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { echo "gofmt needed:"; gofmt -l $$(git ls-files '*.go'); exit 1; }
	$(GO) vet $(PKGS)
	@$(MAKE) --no-print-directory generate >/dev/null
	@git diff --exit-code -- '*_templ.go' || { echo "generated templ files were stale: commit the regenerated ones"; exit 1; }
	$(GO) test -count=1 -run 'TestMigrationFiles|TestLandedMigrationsUnchanged|TestEveryLanguageHasEveryMessage|TestCodeUsesOnlyKnownMessages' ./internal/schema/ ./internal/i18n/

.PHONY: lint
lint: verify ## verify plus staticcheck
	$(GO) run $(STATICCHECK) $(PKGS)

.PHONY: bench
bench: ## Run the benchmarks (record results in docs/PERFORMANCE.md)
	@scripts/ensure-deps.sh postgres
	@if [ -n "$$DATABASE_URL" ]; then \
		$(GO) test -run '^$$' -bench . -benchmem $(PKGS); \
	else \
		$(GO) run ./cmd/pgrun -- $(GO) test -run '^$$' -bench . -benchmem $(PKGS); \
	fi

.PHONY: clean
clean: ## Remove build output (keeps the dev database in .data)
	rm -rf bin
