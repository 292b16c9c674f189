// Package cli is partnerctl's command tree. Run is the whole program minus
// the process: tests call it with arguments and buffers.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/spf13/cobra"

	"github.com/partnerhub/onboarding/pkg/auth"
	"github.com/partnerhub/onboarding/pkg/bus"
	"github.com/partnerhub/onboarding/services/partnerctl/internal/demo"
)

// Exit codes of partnerctl.
const (
	ExitOK      = 0
	ExitFailure = 1 // the command was understood but failed
	ExitUsage   = 2 // bad flags, arguments or values: see --help
)

// maxTTL caps dev tokens: long-lived bearer tokens end up in shell
// histories and screenshots.
const maxTTL = 30 * 24 * time.Hour

// usageError marks a mistake of the caller, mapped to ExitUsage.
type usageError struct{ err error }

func (u usageError) Error() string { return u.err.Error() }
func (u usageError) Unwrap() error { return u.err }

func usagef(format string, a ...any) error { return usageError{fmt.Errorf(format, a...)} }

// Run executes partnerctl with args and returns the process exit code.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	root := newRoot(stdout, stderr, getenv)
	root.SetArgs(args)
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		return ExitOK
	}
	fmt.Fprintf(stderr, "partnerctl: %v\n", err)
	var ue usageError
	if errors.As(err, &ue) {
		fmt.Fprintf(stderr, "Run '%s --help' for usage.\n", cmd.CommandPath())
		return ExitUsage
	}
	return ExitFailure
}

func newRoot(stdout, stderr io.Writer, getenv func(string) string) *cobra.Command {
	var keysDir string
	root := &cobra.Command{
		Use:   "partnerctl",
		Short: "Operate PartnerHub onboarding (development keys and tokens)",
		Long: `partnerctl is the operator's command line for PartnerHub onboarding.

In development every API call needs a bearer token. 'make run' creates a local
signing key (.run/dev-keys under the repository root) and the services trust its
public JWKS; 'partnerctl token' mints tokens with that key. Production trusts
the identity provider's JWKS URL instead and never sees these keys.`,
		Example: `  # create the development signing key (make run does this too)
  partnerctl keys init

  # mint a token for a partner administrator and call the API with it
  TOKEN=$(partnerctl token --role partner_admin --partner PG-0001 --sub user-1)
  curl -H "Authorization: Bearer $TOKEN" http://localhost:8080/v1/partners/PG-0001`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Args:          noArgs,
		RunE:          needSubcommand,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.PersistentFlags().StringVar(&keysDir, "keys", defaultKeysDir(getenv),
		"directory of the development signing key (env "+auth.DevKeysEnv+")")
	root.AddCommand(newTokenCmd(&keysDir, stdout, stderr), newKeysCmd(&keysDir, stdout), newStreamsCmd(stdout), newDeadLettersCmd(stdout), newDemoCmd(stdout))
	return root
}

// noArgs refuses stray arguments, including unknown subcommand names.
func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return nil
	}
	if cmd.HasSubCommands() {
		return usagef("unknown command %q for %q", args[0], cmd.CommandPath())
	}
	return usagef("%q takes no arguments, got %q", cmd.CommandPath(), args)
}

// needSubcommand makes a command group runnable, so that cobra validates
// its arguments (an unknown subcommand is then a usage error, not help and 0).
func needSubcommand(cmd *cobra.Command, _ []string) error {
	cmd.SetOut(cmd.ErrOrStderr())
	_ = cmd.Help()
	return usagef("%q needs a subcommand", cmd.CommandPath())
}

func defaultKeysDir(getenv func(string) string) string {
	if d := getenv(auth.DevKeysEnv); d != "" {
		return d
	}
	return auth.DevKeysDir()
}

func roleNames() string {
	names := make([]string, len(auth.KnownRoles))
	for i, r := range auth.KnownRoles {
		names[i] = string(r)
	}
	return strings.Join(names, ", ")
}

type tokenOptions struct {
	roles    []string
	partner  string
	sub      string
	name     string
	email    string
	kind     string
	ttl      time.Duration
	issuer   string
	audience string
}

func newTokenCmd(keysDir *string, stdout, stderr io.Writer) *cobra.Command {
	var o tokenOptions
	cmd := &cobra.Command{
		Use:   "token --role ROLE [--partner ID] [--sub ID] [flags]",
		Short: "Mint a development bearer token",
		Long: `Mint a bearer JWT signed with the development key and print it on stdout.

The token carries the claims the services read: sub, name, email, partner_id,
roles and kind (see the README, "Who may do what"). Roles: ` + roleNames() + `.
partner_admin and partner_user act for one partner and need --partner.
The signing key is created on first use if 'partnerctl keys init' has not run.`,
		Example: `  # a partner administrator of PG-0001 (accepts agreements, answers requests)
  partnerctl token --role partner_admin --partner PG-0001 --sub user-1 \
    --name "Ann Admin" --email ann@example.com --ttl 1h

  # a verifier, and an operator
  partnerctl token --role verifier --sub vera
  partnerctl token --role operator

  # an upstream system (a service principal) submitting registrations
  partnerctl token --role upstream_system --kind service --sub upstream-portal

  # several roles at once
  partnerctl token --role partner_user,provider_admin --partner PG-0002`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, err := o.principal()
			if err != nil {
				return err
			}
			signer, created, err := ensureKeys(*keysDir)
			if err != nil {
				return err
			}
			if created {
				fmt.Fprintf(stderr, "created development signing key in %s\n", *keysDir)
			}
			tok, err := signer.Mint(p, o.issuer, o.audience, o.ttl)
			if err != nil {
				return err
			}
			_, err = fmt.Fprintln(stdout, tok)
			return err
		},
	}
	f := cmd.Flags()
	f.StringSliceVar(&o.roles, "role", nil, "role(s) of the caller, repeatable or comma-separated (required)")
	f.StringVar(&o.partner, "partner", "", "partner id the caller belongs to, e.g. PG-0001")
	f.StringVar(&o.sub, "sub", "", `subject (user or service id); default "dev-<first role>"`)
	f.StringVar(&o.name, "name", "", "display name")
	f.StringVar(&o.email, "email", "", "e-mail address")
	f.StringVar(&o.kind, "kind", string(auth.KindUser), "principal kind: user or service")
	f.DurationVar(&o.ttl, "ttl", time.Hour, "lifetime of the token, e.g. 15m, 1h, 24h")
	f.StringVar(&o.issuer, "issuer", auth.DevIssuer, "iss claim (must match the services' configuration)")
	f.StringVar(&o.audience, "audience", auth.DevAudience, "aud claim (must match the services' configuration)")
	return cmd
}

// principal checks the flags and builds the principal to mint for; every
// complaint is a usage error.
func (o tokenOptions) principal() (auth.Principal, error) {
	var errs []error
	var roles []auth.Role
	for _, r := range o.roles {
		role := auth.Role(strings.TrimSpace(r))
		if !slices.Contains(auth.KnownRoles, role) {
			errs = append(errs, fmt.Errorf("unknown role %q (known: %s)", r, roleNames()))
			continue
		}
		roles = append(roles, role)
	}
	if len(o.roles) == 0 {
		errs = append(errs, errors.New("at least one --role is required"))
	}
	partnerRole := slices.Contains(roles, auth.RolePartnerAdmin) || slices.Contains(roles, auth.RolePartnerUser)
	if partnerRole && o.partner == "" {
		errs = append(errs, errors.New("roles partner_admin and partner_user need --partner"))
	}
	if o.kind != string(auth.KindUser) && o.kind != string(auth.KindService) {
		errs = append(errs, fmt.Errorf("--kind %q must be user or service", o.kind))
	}
	if o.ttl <= 0 || o.ttl > maxTTL {
		errs = append(errs, fmt.Errorf("--ttl %s must be positive and at most %s", o.ttl, maxTTL))
	}
	if err := errors.Join(errs...); err != nil {
		return auth.Principal{}, usageError{err}
	}
	sub := o.sub
	if sub == "" {
		sub = "dev-" + strings.ReplaceAll(string(roles[0]), "_", "-")
	}
	return auth.Principal{Kind: auth.Kind(o.kind), Subject: sub, Name: o.name, Email: o.email,
		PartnerID: o.partner, Roles: roles}, nil
}

func newKeysCmd(keysDir *string, stdout io.Writer) *cobra.Command {
	keys := &cobra.Command{
		Use:   "keys",
		Short: "Manage the development signing key",
		Args:  noArgs,
		RunE:  needSubcommand,
	}
	keys.AddCommand(&cobra.Command{
		Use:   "init",
		Short: "Create the development signing key and its public JWKS (once)",
		Long: `Create an ES256 private key (mode 0600) and the public jwks.json next to it.
Running it again keeps the existing key, so tokens already minted stay valid.
Point a service at the key with its JWKS file setting (jwks.json in this directory).`,
		Example: `  partnerctl keys init
  partnerctl keys init --keys /tmp/partnerhub-keys`,
		Args: noArgs,
		RunE: func(*cobra.Command, []string) error {
			signer, created, err := ensureKeys(*keysDir)
			if err != nil {
				return err
			}
			verb := "kept existing"
			if created {
				verb = "created"
			}
			fmt.Fprintf(stdout, "%s key %s\njwks: %s\n", verb, signer.KeyID(), auth.DevJWKSPath(*keysDir))
			return nil
		},
	})
	return keys
}

// ensureKeys wraps auth.EnsureDevKeys and says whether the key is new.
func ensureKeys(dir string) (*auth.Signer, bool, error) {
	_, statErr := os.Stat(auth.DevPrivateKeyPath(dir))
	s, err := auth.EnsureDevKeys(dir)
	if err != nil {
		return nil, false, fmt.Errorf("development keys in %s: %w", dir, err)
	}
	return s, statErr != nil, nil
}

func newStreamsCmd(stdout io.Writer) *cobra.Command {
	streams := &cobra.Command{
		Use:   "streams",
		Short: "Manage the JetStream streams of the catalog",
		Args:  noArgs,
		RunE:  needSubcommand,
	}
	var url, user, password string
	var replicas int
	ensure := &cobra.Command{
		Use:   "ensure",
		Short: "Create or update every stream of the catalog (idempotent; run as the NATS admin user)",
		Long: `Create or update INTAKE, REGISTRATION, EMAIL, NOTIFIER, VERIFICATION, AGREEMENTS,
RELATIONSHIPS and DEADLETTER. With per-service NATS users, services may not create streams:
run this once per deployment (docker-compose runs it as a one-shot job) before the services.`,
		Example: `  partnerctl streams ensure --url nats://127.0.0.1:4222
  partnerctl streams ensure --url nats://nats-1:4222 --user admin --password "$NATS_PASSWORD_ADMIN" --replicas 3`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg := bus.Config{NATSURL: url, NATSUser: user, NATSPassword: password, Replicas: replicas}
			nc, err := bus.Connect(url, "partnerctl", cfg.ConnectOptions()...)
			if err != nil {
				return err
			}
			defer nc.Close()
			js, err := jetstream.New(nc)
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), 60*time.Second)
			defer cancel()
			if err := bus.EnsureStreams(ctx, js, replicas); err != nil {
				return err
			}
			for _, s := range bus.Catalog {
				fmt.Fprintf(stdout, "%-14s %s\n", s.Name, strings.Join(s.Subjects, " "))
			}
			return nil
		},
	}
	ensure.Flags().StringVar(&url, "url", envOr("NATS_URL", "nats://127.0.0.1:4223"), "NATS servers (env NATS_URL; make run: 4223)")
	ensure.Flags().StringVar(&user, "user", os.Getenv("NATS_USER"), "NATS user (env NATS_USER)")
	ensure.Flags().StringVar(&password, "password", os.Getenv("NATS_PASSWORD"), "NATS password (env NATS_PASSWORD)")
	ensure.Flags().IntVar(&replicas, "replicas", 1, "stream replicas (3 on a cluster)")
	streams.AddCommand(ensure)
	return streams
}

func envOr(k, d string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return d
}

func newDeadLettersCmd(stdout io.Writer) *cobra.Command {
	dl := &cobra.Command{
		Use:     "deadletters",
		Aliases: []string{"dlq"},
		Short:   "List dead-lettered events and replay them after a fix",
		Args:    noArgs,
		RunE:    needSubcommand,
	}
	var url, user, password, service string
	connect := func(ctx context.Context) (*nats.Conn, jetstream.Stream, error) {
		cfg := bus.Config{NATSURL: url, NATSUser: user, NATSPassword: password}
		nc, err := bus.Connect(url, "partnerctl", cfg.ConnectOptions()...)
		if err != nil {
			return nil, nil, err
		}
		js, err := jetstream.New(nc)
		if err != nil {
			nc.Close()
			return nil, nil, err
		}
		s, err := js.Stream(ctx, bus.DeadLetterStream)
		if err != nil {
			nc.Close()
			return nil, nil, fmt.Errorf("stream %s: %w", bus.DeadLetterStream, err)
		}
		return nc, s, nil
	}
	list := &cobra.Command{
		Use:   "list",
		Short: "List dead letters with their reason code (newest last)",
		Example: `  partnerctl deadletters list --url nats://127.0.0.1:4223
  partnerctl deadletters list --service registration`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, cancel := context.WithTimeout(cmd.Context(), 30*time.Second)
			defer cancel()
			nc, s, err := connect(ctx)
			if err != nil {
				return err
			}
			defer nc.Close()
			info, err := s.Info(ctx)
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "%-8s %-16s %-40s %-45s %s\n", "SEQ", "SERVICE", "CODE", "TYPE", "SUBJECT")
			if info.State.Msgs == 0 {
				return nil
			}
			for seq := info.State.FirstSeq; seq <= info.State.LastSeq; seq++ {
				m, err := s.GetMsg(ctx, seq)
				if err != nil {
					continue
				}
				if service != "" && m.Header.Get(bus.DLQService) != service {
					continue
				}
				fmt.Fprintf(stdout, "%-8d %-16s %-40s %-45s %s\n", seq, m.Header.Get(bus.DLQService), m.Header.Get(bus.DLQCode),
					m.Header.Get("ce-type"), m.Header.Get("ce-subject"))
			}
			return nil
		},
	}
	replay := &cobra.Command{
		Use:   "replay SEQ",
		Short: "Republish a dead letter's original event to its original subject",
		Long: `Republish the original CloudEvent (its ce-* headers and body, without the dead-letter
headers) to the subject it was consumed from. Consumers are idempotent by CloudEvent id,
so replaying an event that was in fact applied changes nothing.`,
		Example: `  partnerctl deadletters replay 42`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			seq, err := strconv.ParseUint(args[0], 10, 64)
			if err != nil {
				return usageError{fmt.Errorf("SEQ must be a number: %q", args[0])}
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), 30*time.Second)
			defer cancel()
			nc, s, err := connect(ctx)
			if err != nil {
				return err
			}
			defer nc.Close()
			m, err := s.GetMsg(ctx, seq)
			if err != nil {
				return fmt.Errorf("dead letter %d: %w", seq, err)
			}
			subject := m.Header.Get(bus.DLQSubject)
			if subject == "" {
				return fmt.Errorf("dead letter %d has no %s header", seq, bus.DLQSubject)
			}
			out := nats.NewMsg(subject)
			for k, v := range m.Header {
				if strings.HasPrefix(k, "ce-") || k == "content-type" {
					out.Header[k] = v
				}
			}
			out.Data = m.Data
			js, err := jetstream.New(nc)
			if err != nil {
				return err
			}
			ack, err := js.PublishMsg(ctx, out)
			if err != nil {
				return fmt.Errorf("replay to %s: %w", subject, err)
			}
			fmt.Fprintf(stdout, "replayed dead letter %d to %s (stream %s, seq %d)\n", seq, subject, ack.Stream, ack.Sequence)
			return nil
		},
	}
	for _, c := range []*cobra.Command{list, replay} {
		c.Flags().StringVar(&url, "url", envOr("NATS_URL", "nats://127.0.0.1:4223"), "NATS servers (env NATS_URL; make run: 4223)")
		c.Flags().StringVar(&user, "user", os.Getenv("NATS_USER"), "NATS user (env NATS_USER; the admin user with per-service users)")
		c.Flags().StringVar(&password, "password", os.Getenv("NATS_PASSWORD"), "NATS password (env NATS_PASSWORD)")
	}
	list.Flags().StringVar(&service, "service", "", "only this service's dead letters")
	dl.AddCommand(list, replay)
	return dl
}

func newDemoCmd(stdout io.Writer) *cobra.Command {
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
			cfg.Out = stdout
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
