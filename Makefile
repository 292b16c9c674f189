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

# staticcheck, pinned: the release that supports Go 1.26. `go run mod@version`
# builds it from the module proxy on a fresh machine (about 45 s the first
# time, cached after), so lint needs nothing installed beside Go.
STATICCHECK ?= $(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2

lint: ## gofmt, go vet and staticcheck over every module
	@out=$$(gofmt -l $(MODULES)); if [ -n "$$out" ]; then echo "not gofmt-ed:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)
	$(STATICCHECK) $(PKGS)

build: ## build every binary into bin/
	@mkdir -p bin
	@for d in services/*/cmd/*; do n=$$(basename $$d); echo "build $$n"; $(GO) build -o bin/$$n ./$$d || exit 1; done

bench: ## benchmarks with a same-run raw baseline (not part of CI)
	$(GO) test -run '^$$' -bench . -benchtime 1x -timeout 20m $(PKGS)

fmt:
	gofmt -w $(MODULES)
