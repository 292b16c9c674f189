# Partner onboarding backend. `make run` starts the stack, `make test` runs
# every test. See README.md.
SHELL := /bin/bash
GO    ?= go
# Every module of the workspace (pkg, each service, the launcher).
MODULES := $(shell $(GO) list -m -f '{{.Dir}}' 2>/dev/null)
PKGS    := $(addsuffix /...,$(MODULES))

.PHONY: run test lint bench build fmt help demo

help: ## list targets
	@grep -E '^[a-z]+:.*##' Makefile | awk -F':.*## ' '{printf "  make %-6s %s\n", $$1, $$2}'

run: ## start every service with an embedded JetStream (or NATS_URL) and local Postgres
	$(GO) run ./deploy/local

demo: ## drive one company through the whole onboarding on the stack `make run` started
	$(GO) run ./services/partnerctl/cmd/partnerctl demo

test: ## unit, adapter, component, contract and end-to-end tests (real Postgres and JetStream)
	$(GO) test -count=1 -p 2 -timeout 8m $(PKGS)

lint: ## gofmt and go vet over every module
	@out=$$(gofmt -l $(MODULES)); if [ -n "$$out" ]; then echo "not gofmt-ed:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)

build: ## build every binary into bin/
	@mkdir -p bin
	@for d in services/*/cmd/*; do n=$$(basename $$d); echo "build $$n"; $(GO) build -o bin/$$n ./$$d || exit 1; done

# `make bench` runs the whole-onboarding benchmark (BENCH_* variables: see
# services/partnerctl/internal/bench/bench_test.go); BENCH_ALL=1 adds every
# module's micro-benchmarks.
BENCH_PKGS := $(if $(BENCH_ALL),$(PKGS),./services/partnerctl/internal/bench/)
BENCH_RE   := $(if $(BENCH_ALL),.,^BenchmarkOnboarding$$)

bench: ## whole-onboarding benchmark on a private stack, with same-run baselines (BENCH_ALL=1: every benchmark)
	$(GO) test -run '^$$' -bench '$(BENCH_RE)' -benchtime 1x -timeout 20m $(BENCH_PKGS)

fmt:
	gofmt -w $(MODULES)
