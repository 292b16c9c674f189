package cli

import (
	"context"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/partnerhub/onboarding/services/partnerctl/internal/demo"
)

func newDemoCmd(g *globals) *cobra.Command {
	cfg := demo.Defaults(repoRootOrCwd())
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Drive one Japanese company through the whole onboarding on a running stack",
		Long: `Register a reseller and a distributor, confirm their e-mail from the mail catcher,
approve their review tasks as a verifier, accept their agreements as their administrators,
then have the distributor invite the reseller and the reseller authorise it — printing every
event as it passes on JetStream. Start the stack first with 'make run'. Exits 1 naming the
step that failed.`,
		Example: `  make run            # in one terminal
  partnerctl demo     # in another (or: make demo)`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg.Out = g.stdout
			ctx, cancel := context.WithTimeout(cmd.Context(), 2*time.Minute)
			defer cancel()
			_, err := demo.Run(ctx, cfg)
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.NATSURL, "nats", cfg.NATSURL, "NATS URL of the stack")
	f.StringVar(&cfg.MailDir, "mail-dir", cfg.MailDir, "where the notifier's mail catcher writes .eml files")
	f.StringVar(&cfg.Registration, "registration", cfg.Registration, "registration base URL")
	f.StringVar(&cfg.EmailOwnership, "email-ownership", cfg.EmailOwnership, "email-ownership base URL")
	f.StringVar(&cfg.Verification, "verification", cfg.Verification, "verification base URL")
	f.StringVar(&cfg.Agreements, "agreements", cfg.Agreements, "agreements base URL")
	f.StringVar(&cfg.Relationships, "relationships", cfg.Relationships, "relationships base URL")
	f.DurationVar(&cfg.Timeout, "step-timeout", cfg.Timeout, "how long one step may take")
	return cmd
}

func repoRootOrCwd() string {
	dir, _ := os.Getwd()
	for d := dir; ; {
		if _, err := os.Stat(filepath.Join(d, "go.work")); err == nil {
			return d
		}
		parent := filepath.Dir(d)
		if parent == d {
			return dir
		}
		d = parent
	}
}
