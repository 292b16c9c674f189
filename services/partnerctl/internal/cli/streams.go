package cli

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/spf13/cobra"

	"github.com/partnerhub/onboarding/pkg/bus"
)

// DefaultNATSURL is where partnerctl finds NATS without --url or NATS_URL:
// the services' default and where 'make run' starts its JetStream.
const DefaultNATSURL = "nats://127.0.0.1:4222"

// natsFlags are the connection flags of every command that talks to NATS.
type natsFlags struct {
	url, user, password string
	g                   *globals
	// cmds are the commands the flags were added to (a group's
	// subcommands may share them): whichever runs, its --url counts.
	cmds []*cobra.Command
}

func (n *natsFlags) add(cmd *cobra.Command, g *globals, userHelp string) {
	f := cmd.Flags()
	f.StringVar(&n.url, "url", g.env("NATS_URL", DefaultNATSURL), "NATS servers (env NATS_URL; default: the bus of 'make run')")
	f.StringVar(&n.user, "user", g.getenv("NATS_USER"), "NATS user (env NATS_USER"+userHelp+")")
	f.StringVar(&n.password, "password", "", "NATS password (env NATS_PASSWORD)")
	n.g = g
	n.cmds = append(n.cmds, cmd)
}

// resolve is where and as whom to connect. Without a user, the bus that
// 'make run' runs (its URL and admin password in <keys>/nats.json) is used
// when no other URL was asked for: that bus refuses clients without a user.
func (n *natsFlags) resolve() bus.Config {
	cfg := bus.Config{NATSURL: n.url, NATSUser: n.user, NATSPassword: n.password}
	if cfg.NATSPassword == "" {
		cfg.NATSPassword = n.g.getenv("NATS_PASSWORD") // not the flag's default: --help must not print it
	}
	if cfg.NATSUser != "" {
		return cfg
	}
	dev, err := bus.ReadDevBus(n.g.keysDir)
	if err != nil {
		return cfg
	}
	urlAsked := n.g.getenv("NATS_URL") != ""
	for _, c := range n.cmds {
		urlAsked = urlAsked || c.Flags().Changed("url")
	}
	if !urlAsked {
		cfg.NATSURL = dev.URL
	}
	if cfg.NATSURL == dev.URL {
		cfg.NATSUser, cfg.NATSPassword = bus.AdminUser, dev.Passwords[bus.AdminUser]
	}
	return cfg
}

func (n *natsFlags) connect() (*nats.Conn, jetstream.JetStream, error) {
	cfg := n.resolve()
	nc, err := bus.Connect(cfg.NATSURL, "partnerctl", cfg.ConnectOptions()...)
	if err != nil {
		return nil, nil, err
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, nil, err
	}
	return nc, js, nil
}

func newStreamsCmd(g *globals) *cobra.Command {
	streams := group("streams", "Manage the JetStream streams of the catalog", "")
	var nf natsFlags
	var replicas int
	ensure := &cobra.Command{
		Use:   "ensure",
		Short: "Create or update every stream of the catalog (idempotent; run as the NATS admin user)",
		Long: `Create or update INTAKE, REGISTRATION, EMAIL, NOTIFIER, VERIFICATION, AGREEMENTS,
RELATIONSHIPS, TIMELINE and DEADLETTER. With per-service NATS users, services may not create streams:
run this once per deployment (docker-compose runs it as a one-shot job) before the services.`,
		Example: `  partnerctl streams ensure --url nats://127.0.0.1:4222
  partnerctl streams ensure --url nats://nats-1:4222 --user admin --password "$NATS_PASSWORD_ADMIN" --replicas 3`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			nc, js, err := nf.connect()
			if err != nil {
				return err
			}
			defer nc.Close()
			ctx, cancel := context.WithTimeout(cmd.Context(), 60*time.Second)
			defer cancel()
			if err := bus.EnsureStreams(ctx, js, replicas); err != nil {
				return err
			}
			for _, s := range bus.Catalog {
				fmt.Fprintf(g.stdout, "%s %s\n", pad(s.Name, 14), strings.Join(s.Subjects, " "))
			}
			return nil
		},
	}
	nf.add(ensure, g, "")
	ensure.Flags().IntVar(&replicas, "replicas", 1, "stream replicas (3 on a cluster)")
	streams.AddCommand(ensure)
	return streams
}
