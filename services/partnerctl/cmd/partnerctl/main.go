// Command partnerctl is the operator's command line for PartnerHub
// onboarding; for now it manages development keys and mints dev tokens.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/partnerhub/onboarding/services/partnerctl/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}
