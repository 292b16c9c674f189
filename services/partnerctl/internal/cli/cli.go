// Package cli is partnerctl's command tree. Run is the whole program minus
// the process: tests call it with arguments and buffers. One file per
// command group; client.go is the HTTP side (tokens, problem documents,
// exit codes), output.go the table and JSON printers.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/partnerhub/onboarding/pkg/auth"
)

// Exit codes of partnerctl. Scripts may rely on them: they are part of the
// command line's contract and listed in the root --help.
const (
	ExitOK           = 0
	ExitFailure      = 1 // the command was understood but failed (network, server error, timeout)
	ExitUsage        = 2 // bad flags, arguments, values or input files: see --help
	ExitNotFound     = 3 // the API answered 404: no such partner, task, relationship… (or not yours to see)
	ExitRefused      = 4 // the API refused by its rules: 400, 409 conflict, 412, 422 invalid or not allowed now
	ExitUnauthorized = 5 // 401/403: no usable token, or the token lacks the role
)

// maxTTL caps dev tokens: long-lived bearer tokens end up in shell
// histories and screenshots.
const maxTTL = 30 * 24 * time.Hour

// usageError marks a mistake of the caller, mapped to ExitUsage.
type usageError struct{ err error }

func (u usageError) Error() string { return u.err.Error() }
func (u usageError) Unwrap() error { return u.err }

func usagef(format string, a ...any) error { return usageError{fmt.Errorf(format, a...)} }

// oneOf checks a flag whose value is one of a fixed set: the usage error
// names the flag, the value and the set.
func oneOf(flag, val string, values []string) error {
	if slices.Contains(values, val) {
		return nil
	}
	return usagef("%s %q must be one of %s", flag, val, strings.Join(values, ", "))
}

// authError is a missing or unusable credential, mapped to ExitUnauthorized.
type authError struct{ err error }

func (a authError) Error() string { return a.err.Error() }
func (a authError) Unwrap() error { return a.err }

// Run executes partnerctl with args and returns the process exit code.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	return RunWithInput(ctx, args, os.Stdin, stdout, stderr, getenv)
}

// RunWithInput is Run with stdin (read by `-f -` and `--invitation -`).
func RunWithInput(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) int {
	g := &globals{stdin: stdin, stdout: stdout, stderr: stderr, getenv: getenv}
	root := newRoot(g)
	root.SetArgs(args)
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		return ExitOK
	}
	return g.report(cmd, err)
}

// report prints err for a person (and, with -o json, an API problem for a
// program on stdout) and returns the exit code it maps to.
func (g *globals) report(cmd *cobra.Command, err error) int {
	var ue usageError
	var ae *apiError
	var au authError
	switch {
	case errors.As(err, &ae):
		ae.print(g.stderr)
		if g.output == outputJSON && len(ae.body) > 0 {
			writeRaw(g.stdout, ae.body)
		}
		return ae.exitCode()
	case errors.As(err, &ue):
		fmt.Fprintf(g.stderr, "partnerctl: %v\n", err)
		fmt.Fprintf(g.stderr, "Run '%s --help' for usage.\n", cmd.CommandPath())
		return ExitUsage
	case errors.As(err, &au):
		fmt.Fprintf(g.stderr, "partnerctl: %v\n", err)
		return ExitUnauthorized
	}
	fmt.Fprintf(g.stderr, "partnerctl: %v\n", err)
	return ExitFailure
}

// globals are the flags every command shares, and the process's streams.
type globals struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string

	keysDir   string
	output    string
	token     string
	asSub     string
	asPartner string
	timeout   time.Duration
	urls      serviceURLs
}

func (g *globals) env(k, def string) string {
	if v := g.getenv(k); v != "" {
		return v
	}
	return def
}

const rootLong = `partnerctl is the command line of PartnerHub onboarding for operators and
integrators: submit registrations, see where a partner stands, work review tasks,
accept agreements, manage provider relationships, and watch the events flow.

Where the services are: flags or environment, defaulting to 'make run':
  --registration-url    PARTNERHUB_REGISTRATION_URL     http://127.0.0.1:8081
  --email-ownership-url PARTNERHUB_EMAIL_OWNERSHIP_URL  http://127.0.0.1:8082
  --verification-url    PARTNERHUB_VERIFICATION_URL     http://127.0.0.1:8083
  --agreements-url      PARTNERHUB_AGREEMENTS_URL       http://127.0.0.1:8084
  --relationships-url   PARTNERHUB_RELATIONSHIPS_URL    http://127.0.0.1:8085
  --notifier-url        PARTNERHUB_NOTIFIER_URL         http://127.0.0.1:8086
  --timeline-url        PARTNERHUB_TIMELINE_URL         http://127.0.0.1:8087
  NATS (events, streams, deadletters, demo): --url, NATS_URL; --user, NATS_USER; default the bus of
                                               'make run' (.run/dev-keys/nats.json, as admin), else nats://127.0.0.1:4222

Who you are: every API call carries a bearer token. With --token (or
PARTNERHUB_TOKEN) partnerctl sends that token as it is — this is how you use it
against production, with a token from the identity provider. Without one, it
mints a short-lived (5 minute) development token with the development key in
--keys (created by 'make run' or 'partnerctl keys init'), holding the role the
command needs (upstream_system, operator, verifier, partner_admin or
provider_admin — each command's help says which); --as-sub and --as-partner pick
its subject and partner. Production services never trust the development key.

Output: -o table (default, for people) or -o json (the API's JSON unchanged,
one event per line for 'events tail' and 'feed list --follow'; API problems go to stdout as JSON too).

Errors: API problems (RFC 9457) are printed with their code, detail and every
field error. Exit codes:
  0  ok
  1  failed (network, server error, timeout)
  2  usage: bad flags, arguments or input file
  3  not found (404; another partner's data also answers 404)
  4  refused by the rules (400, 409 conflict, 412, 422 invalid or not allowed now)
  5  unauthorized (401/403: no usable token, or the token lacks the role)`

func newRoot(g *globals) *cobra.Command {
	root := &cobra.Command{
		Use:   "partnerctl",
		Short: "Operate and integrate with PartnerHub onboarding",
		Long:  rootLong,
		Example: `  # submit a registration, then see where the partner stands
  partnerctl registrations submit -f company.yaml
  partnerctl partners status PG-PRTA-HD7W-NYE

  # work the review queue as a verifier
  partnerctl tasks list --status open
  partnerctl tasks claim vc-019ae0f4-7c3a-7d2e-9b1f-3c5d7e9a2b4c-t1 && partnerctl tasks decide vc-019ae0f4-7c3a-7d2e-9b1f-3c5d7e9a2b4c-t1 --outcome approve

  # watch every event of one partner as it happens
  partnerctl events tail --partner PG-PRTA-HD7W-NYE

  # preview a mail the notifier sends (its template files are editable)
  partnerctl mail render verification.documents_requested --lang en

  # mint a token for curl
  TOKEN=$(partnerctl token --role partner_admin --as-partner PG-PRTA-HD7W-NYE --as-sub user-1)
  curl -H "Authorization: Bearer $TOKEN" http://127.0.0.1:8081/v1/partners/PG-PRTA-HD7W-NYE`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Args:          noArgs,
		RunE:          needSubcommand,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			cmd.Flags().Visit(func(f *pflag.Flag) {
				if note := f.Annotations[deprecatedNote]; len(note) > 0 {
					fmt.Fprintf(g.stderr, "partnerctl: --%s is deprecated, %s\n", f.Name, note[0])
				}
			})
			if g.output != outputTable && g.output != outputJSON {
				return usagef("--output %q must be table or json", g.output)
			}
			if g.timeout <= 0 {
				return usagef("--timeout must be positive")
			}
			return nil
		},
	}
	root.SetOut(g.stdout)
	root.SetErr(g.stderr)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	pf := root.PersistentFlags()
	pf.StringVar(&g.keysDir, "keys", g.env(auth.DevKeysEnv, auth.DevKeysDir()),
		"directory of the development signing key (env "+auth.DevKeysEnv+")")
	pf.StringVarP(&g.output, "output", "o", outputTable, "output format: table or json")
	pf.StringVar(&g.token, "token", "", "bearer token to send (env PARTNERHUB_TOKEN); default: mint a development token")
	pf.StringVar(&g.asSub, "as-sub", "", "subject of the minted development token (default partnerctl-<role>)")
	pf.StringVar(&g.asPartner, "as-partner", "", "partner id of the minted development token (partner_admin, provider_admin)")
	pf.DurationVar(&g.timeout, "timeout", 30*time.Second, "how long one API command may take")
	g.urls.flags(pf, g)
	root.AddCommand(newTokenCmd(g), newKeysCmd(g), newStreamsCmd(g), newDeadLettersCmd(g), newDemoCmd(g),
		newRegistrationsCmd(g), newPartnersCmd(g), newTasksCmd(g), newReviewsCmd(g), newAgreementsCmd(g), newRelationshipsCmd(g),
		newEventsCmd(g), newTimelineCmd(g), newFeedCmd(g), newWebhooksCmd(g), newMailCmd(g))
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

// exactArgs wants n arguments, named in the message.
func exactArgs(names ...string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != len(names) {
			return usagef("%q needs %s, got %d argument(s)", cmd.CommandPath(), strings.Join(names, " "), len(args))
		}
		return nil
	}
}

// needSubcommand makes a command group runnable, so that cobra validates
// its arguments (an unknown subcommand is then a usage error, not help and 0).
func needSubcommand(cmd *cobra.Command, _ []string) error {
	cmd.SetOut(cmd.ErrOrStderr())
	_ = cmd.Help()
	return usagef("%q needs a subcommand", cmd.CommandPath())
}

// group is a command that only holds subcommands.
func group(use, short, long string, aliases ...string) *cobra.Command {
	return &cobra.Command{Use: use, Short: short, Long: long, Aliases: aliases, Args: noArgs, RunE: needSubcommand}
}

const deprecatedNote = "partnerctl/deprecated"

// deprecate hides flag name, an old name kept so that scripts keep working,
// and notes on stderr when it is used. (pflag's MarkDeprecated prints its
// note on stdout through cobra, into whatever a script captures there.)
func deprecate(f *pflag.FlagSet, name, note string) {
	_ = f.MarkHidden(name)
	_ = f.SetAnnotation(name, deprecatedNote, []string{note})
}
