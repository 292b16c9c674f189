# Partner onboarding backend. `make run` starts the stack, `make test` runs
# every test. See README.md.
SHELL := /bin/bash
GO    ?= go
# Every module of the workspace (pkg, each service, the launcher).
MODULES := $(shell $(GO) list -m -f '{{.Dir}}' 2>/dev/null)
PKGS    := $(addsuffix /...,$(MODULES))

.PHONY: run test lint bench build fmt help demo fuzz

help: ## list targets
	@grep -E '^[a-z]+:.*##' Makefile | awk -F':.*## ' '{printf "  make %-6s %s\n", $$1, $$2}'

run: ## start every service with an embedded JetStream (or NATS_URL) and local Postgres
	$(GO) run ./deploy/local

demo: ## drive one company through the whole onboarding on the stack `make run` started
	$(GO) run ./services/partnerctl/cmd/partnerctl demo

test: ## unit, adapter, component, contract and end-to-end tests (real Postgres and JetStream), then a short fuzz run
	$(GO) test -count=1 -p 2 -timeout 8m $(PKGS)
	@$(MAKE) --no-print-directory fuzz

# Every HTTP request decoder and the CloudEvent decoder has a fuzz target
# (package:target). Plain `go test` runs their seed corpora (and any crasher
# saved under testdata/fuzz); `make fuzz` also mutates for FUZZTIME each.
FUZZ_TARGETS := \
	pkg/ce:FuzzDecode \
	pkg/httpx:FuzzPathAndQuery \
	pkg/jsonx:FuzzFindMismatchAgreesWithEncodingJSON \
	pkg/jsonx:FuzzDuplicateMember \
	pkg/ids:FuzzParseAnswersACanonicalForm \
	pkg/events:FuzzForPartnerSide \
	services/registration/internal/app:FuzzSubmitRegistration \
	services/registration/internal/app:FuzzAddProgramsAndLocations \
	services/registration/internal/app:FuzzRequestProfileChange \
	services/registration/internal/adapters/http:FuzzRequestDecoders \
	services/email-ownership/internal/adapters/http:FuzzRequestDecoders \
	services/verification/internal/adapters/http:FuzzRequestDecoders \
	services/agreements/internal/adapters/http:FuzzRequestDecoders \
	services/relationships/internal/adapters/http:FuzzRequestDecoders \
	services/timeline/internal/adapters/http:FuzzRequestDecoders
FUZZTIME ?= 3s

# Two targets run at a time (FUZZ_JOBS): each spends most of its run building
# and linking its instrumented test binary, one core's work, not fuzzing.
FUZZ_JOBS ?= 2

fuzz: ## run each fuzz target for FUZZTIME (default 3s): never a 500 or a panic, always a 4xx with a code
	@printf '%s\n' $(FUZZ_TARGETS) | GO=$(GO) xargs -P $(FUZZ_JOBS) -I{} .ci/fuzz {} $(FUZZTIME)

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

# `make bench` runs the whole-onboarding benchmark (BENCH_* variables: see
# services/partnerctl/internal/bench/bench_test.go); BENCH_ALL=1 adds every
# module's micro-benchmarks. BENCH_KRATOS=<kratos binary, built outside the
# repository> adds the peer comparison with Ory Kratos (README, "Performance
# and scaling").
BENCH_PKGS := $(if $(BENCH_ALL),$(PKGS),./services/partnerctl/internal/bench/)
BENCH_RE   := $(if $(BENCH_ALL),.,^BenchmarkOnboarding$$)

bench: ## whole-onboarding benchmark on a private stack, with same-run baselines (BENCH_ALL=1: every benchmark)
	$(GO) test -run '^$$' -bench '$(BENCH_RE)' -benchtime 1x -timeout 20m $(BENCH_PKGS)

fmt:
	gofmt -w $(MODULES)
