package platform

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"syscall"

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
// SIGTERM, then exits with ExitOK, ExitFailed or ExitConfig.
//
// A service process runs Go code on one processor (GOMAXPROCS=1) unless
// the environment sets GOMAXPROCS. A service is scaled by instances that
// share its partitions, not by threads, and its work is short handlers
// waiting on Postgres and NATS. With a P per core, every wake-up of a
// goroutine also woke an idle thread to look for work (spinning), and on a
// host whose cores several services share that cost CPU without doing
// any (README, "Performance and scaling"). A Kubernetes CPU limit of one
// core gives the same setting.
func Main[C interface{ Platform() Config }, S Runner](name string, build func(context.Context, C, *slog.Logger) (S, error)) {
	OneProcessor(os.Getenv)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := Exec(ctx, name, build, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// OneProcessor runs the process's Go code on one processor unless getenv
// finds GOMAXPROCS set (the runtime has applied it then): what every
// process of the stack does at start (services through Main, the
// development launcher that hosts the broker).
func OneProcessor(getenv func(string) string) {
	if getenv("GOMAXPROCS") == "" {
		runtime.GOMAXPROCS(1)
	}
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
	svc, err := build(ctx, cfg, log)
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
