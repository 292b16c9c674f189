// Command timeline runs the partner timeline service: a read model of
// every producer's events, per partner, in order.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/partnerhub/onboarding/pkg/config"
	"github.com/partnerhub/onboarding/pkg/logging"
	"github.com/partnerhub/onboarding/services/timeline/internal/service"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var cfg service.Config
	if err := config.Load(&cfg); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	log := logging.New(service.Name, cfg.LogLevel)
	svc, err := service.New(ctx, cfg, log)
	if err != nil {
		log.Error("start failed", "err", err)
		os.Exit(1)
	}
	if err := svc.Run(ctx); err != nil {
		log.Error("stopped with error", "err", err)
		os.Exit(1)
	}
}
