package platform

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"slices"
	"syscall"

	"github.com/KimMachineGun/automemlimit/memlimit"

	"github.com/partnerhub/onboarding/pkg/config"
	"github.com/partnerhub/onboarding/pkg/logging"
)

// Platform returns the platform part of a service's configuration; a
// service Config that embeds Config has it too, which is what Main needs.
func (c Config) Platform() Config { return c }

// Runner is a built service.
type Runner interface {
	Run(ctx context.Context) error
}

// Exit codes of every service process.
const (
	ExitOK     = 0
	ExitFailed = 1 // could not start, or stopped with an error
	ExitConfig = 2 // the configuration is invalid (every problem listed)
)

// Main is the whole main function of a service: it loads C from the
// environment, builds the service with build and runs it until SIGINT or
// SIGTERM, then exits with ExitOK, ExitFailed or ExitConfig. The process
// runs with the stack's runtime settings (TuneRuntime), its threads with
// TimerSlack (for which it executes its binary once more first).
func Main[C interface{ Platform() Config }, S Runner](name string, build func(context.Context, C, *slog.Logger) (S, error)) {
	slackErr = ExecWithTimerSlack(os.Getenv, os.Environ())
	TuneRuntime(os.Getenv)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := Exec(ctx, name, build, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// GCPercent is the garbage collector's target (GOGC) of every process of
// the stack unless the environment sets GOGC. A service's live heap is a
// few MiB, so at Go's default of 100 it collected every few MiB it
// allocated, and the collector took 9–12 % of its CPU under load. At 400
// the services took 8–14 % less CPU per onboarding, and their peak RSS went
// from 35–45 to 60–90 MiB (README, "Performance and scaling"). The memory
// limit (MemoryLimitRatio) keeps a process inside its container whatever
// this says.
const GCPercent = 400

// MemoryLimitRatio is the share of the container's memory limit (cgroup v1
// or v2) the Go runtime keeps the process under (GOMEMLIMIT), unless the
// environment sets GOMEMLIMIT, or AUTOMEMLIMIT (another ratio, or "off").
// Near the limit the collector runs as often as it must.
const MemoryLimitRatio = 0.9

// TuneRuntime applies the runtime settings of every process of the stack
// (services through Main, the development launcher that hosts the
// broker), each unless the environment sets its own:
//
//   - one processor (GOMAXPROCS=1). A service is scaled by instances that
//     share its partitions, not by threads, and its work is short handlers
//     waiting on Postgres and NATS. With a P per core, every wake-up of a
//     goroutine also woke an idle thread to look for work (spinning), and
//     on a host whose cores several services share that cost CPU without
//     doing any (README, "Performance and scaling"). A Kubernetes CPU limit
//     of one core gives the same setting.
//   - GOGC=GCPercent, within GOMEMLIMIT = MemoryLimitRatio of the
//     container's memory limit (no limit outside a container). The limit is
//     read by automemlimit, a small, widely used library that knows both
//     cgroup versions and their mount layouts, where our own reader would
//     have known one.
func TuneRuntime(getenv func(string) string) {
	if getenv("GOMAXPROCS") == "" {
		runtime.GOMAXPROCS(1)
	}
	if getenv("GOGC") == "" {
		debug.SetGCPercent(GCPercent)
	}
	// An error (no cgroup here) leaves the limit as it was: none.
	_, _ = memlimit.Set(memlimit.WithRatio(MemoryLimitRatio), memlimit.WithProvider(memlimit.FromCgroup))
}

// slackErr is why Main could not give the process TimerSlack, logged once
// the service's logger exists.
var slackErr error

// runtimeAttrs are the runtime settings the process runs with, for its
// start-up log line.
func runtimeAttrs() []any {
	gc := debug.SetGCPercent(-1)
	debug.SetGCPercent(gc)
	attrs := []any{"gomaxprocs", runtime.GOMAXPROCS(0), "gogc", gc}
	if limit := debug.SetMemoryLimit(-1); limit != math.MaxInt64 {
		attrs = append(attrs, "gomemlimit_bytes", limit)
	}
	if slacks, err := threadTimerSlacks(); err == nil && len(slacks) > 0 {
		attrs = append(attrs, "timer_slack_ns", slices.Min(slacks))
	}
	return attrs
}

// Exec is Main without the process: the exit code instead of exiting, logs
// to stdout, configuration problems to stderr.
func Exec[C interface{ Platform() Config }, S Runner](ctx context.Context, name string, build func(context.Context, C, *slog.Logger) (S, error), stdout, stderr io.Writer) int {
	var cfg C
	if err := config.Load(&cfg); err != nil {
		fmt.Fprintln(stderr, err)
		return ExitConfig
	}
	log := logging.NewTo(stdout, name, cfg.Platform().LogLevel)
	// Whatever logs through the default logger (asynchronous NATS errors,
	// libraries) writes the service's JSON too.
	slog.SetDefault(log)
	log.Info("runtime", runtimeAttrs()...)
	if slackErr != nil {
		log.Warn("running with the kernel's timer slack", "err", slackErr)
	}
	svc, err := build(ctx, cfg, log)
	if err != nil && ctx.Err() != nil {
		// Stopped (SIGTERM) while it waited for a dependency: asked for,
		// not a failure.
		log.Info("stopped before it was ready", "while", err.Error())
		return ExitOK
	}
	if err != nil {
		log.Error("start failed", "err", err)
		return ExitFailed
	}
	if err := svc.Run(ctx); err != nil {
		log.Error("stopped with error", "err", err)
		return ExitFailed
	}
	return ExitOK
}
