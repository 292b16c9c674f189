// Command partnerctl is the command line of PartnerHub onboarding for
// operators and integrators; the commands live in internal/cli. Ctrl-C
// cancels the context: a running 'events tail' then exits 0.
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
