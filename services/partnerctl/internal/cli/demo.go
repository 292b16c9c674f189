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
	defaults := demo.Defaults(repoRootOrCwd())
	var nf natsFlags
	mailDir, stepTimeout := defaults.MailDir, defaults.Timeout
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Drive one Japanese company through the whole onboarding on a running stack",
		Long: `Register a reseller and a distributor, confirm their e-mail from the mail catcher,
approve their review tasks as a verifier, accept their agreements as their administrators,
then have the distributor invite the reseller and the reseller authorise it — printing every
event as it passes on JetStream. Start the stack first with 'make run'. Exits 1 naming the
step that failed.

Like every other command it finds the services with the global --<service>-url flags
(or PARTNERHUB_<SERVICE>_URL), NATS with --url (or NATS_URL) and the development key with
--keys (or PARTNERHUB_DEV_KEYS).`,
		Example: `  make run            # in one terminal
  partnerctl demo     # in another (or: make demo)

  # a stack elsewhere
  PARTNERHUB_REGISTRATION_URL=http://10.0.0.5:8081 partnerctl demo --url nats://10.0.0.5:4222`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg := defaults
			bc := nf.resolve()
			cfg.Out, cfg.NATSURL, cfg.KeysDir, cfg.MailDir, cfg.Timeout = g.stdout, bc.NATSURL, g.keysDir, mailDir, stepTimeout
			cfg.NATSUser, cfg.NATSPassword = bc.NATSUser, bc.NATSPassword
			cfg.Registration, cfg.EmailOwnership, cfg.Verification = g.urls.Registration, g.urls.EmailOwnership, g.urls.Verification
			cfg.Agreements, cfg.Relationships = g.urls.Agreements, g.urls.Relationships
			ctx, cancel := context.WithTimeout(cmd.Context(), 2*time.Minute)
			defer cancel()
			_, err := demo.Run(ctx, cfg)
			return err
		},
	}
	nf.add(cmd, g, "")
	f := cmd.Flags()
	f.StringVar(&mailDir, "mail-dir", mailDir, "where the notifier's mail catcher writes .eml files")
	f.DurationVar(&stepTimeout, "step-timeout", stepTimeout, "how long one step may take")
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
