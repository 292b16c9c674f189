package cli

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/partnerhub/onboarding/services/partnerctl/internal/eventfmt"
)

func newEventsCmd(g *globals) *cobra.Command {
	events := group("events", "Watch the CloudEvents on JetStream", "", "event")
	events.AddCommand(newEventsTailCmd(g))
	return events
}

type tailOptions struct {
	nats     natsFlags
	partner  string
	typ      string
	streams  []string
	since    string
	all      bool
	max      int
	deadline time.Duration // from the global --timeout, when given
}

// start turns --since/--all into where the consumers begin.
func (o tailOptions) start(now time.Time) (eventfmt.Start, error) {
	if o.all && o.since != "" {
		return eventfmt.Start{}, usagef("--all and --since exclude each other")
	}
	if o.all {
		return eventfmt.Start{All: true}, nil
	}
	if o.since == "" {
		return eventfmt.Start{}, nil
	}
	if d, err := time.ParseDuration(o.since); err == nil {
		if d <= 0 {
			return eventfmt.Start{}, usagef("--since %q must be positive", o.since)
		}
		return eventfmt.Start{Since: now.Add(-d)}, nil
	}
	if t, err := time.Parse(time.RFC3339, o.since); err == nil {
		return eventfmt.Start{Since: t}, nil
	}
	return eventfmt.Start{}, usagef("--since %q is neither a duration (10m, 2h) nor a time (2026-01-02T15:04:05Z)", o.since)
}

// streamNames validates --stream.
func (o tailOptions) streamNames() ([]string, error) {
	var out []string
	for _, s := range o.streams {
		name := strings.ToUpper(strings.TrimSpace(s))
		if err := oneOf("--stream", name, eventfmt.Streams); err != nil {
			return nil, err
		}
		out = append(out, name)
	}
	return out, nil
}

func newEventsTailCmd(g *globals) *cobra.Command {
	var o tailOptions
	cmd := &cobra.Command{
		Use:   "tail [--partner PG-…] [--type PREFIX] [--stream NAME] [--since 10m | --all] [--limit N]",
		Short: "Print events as they are published, from every producer's stream",
		Long: `Follow the CloudEvents on JetStream: INTAKE, REGISTRATION, EMAIL, NOTIFIER,
VERIFICATION, AGREEMENTS, RELATIONSHIPS, TIMELINE and DEADLETTER (dead letters are marked
"!!" with their dlq-code). Each stream is read with an ephemeral ordered consumer:
nothing durable is created and nothing is acknowledged — tailing never disturbs the
services. One line per event:

  <time UTC> <source service> <type> <subject> seq <partition sequence> <key data fields>

--partner keeps the events of one partner: the CloudEvent subject, or a partner id
anywhere at the top of the data (relationship events name the provider there).
--type keeps types starting with a prefix, with or without "com.partnerhub."
("verification.task", "registration.partner.activated.v1"); the server filters by
subject as far as the prefix allows. --stream limits to named streams (repeatable).
By default only new events are shown; --since 10m (or a time) and --all replay
stored ones first. -o json prints each event as a structured-mode CloudEvent, one
per line (dead letters carry dlqcode, dlqreason, dlqservice, dlqsubject).

Ctrl-C stops (exit 0). --limit N stops after N events; --timeout D stops after D —
with --limit, reaching the timeout first exits 1, so scripts can wait for an event.`,
		Example: `  # everything, live
  partnerctl events tail

  # one partner's story so far, then live
  partnerctl events tail --partner PG-PRTA-HD7W-NYE --all

  # wait (up to a minute) for a partner's activation, in a script
  partnerctl events tail --partner PG-PRTA-HD7W-NYE --type registration.partner.activated --all --limit 1 --timeout 1m

  # new dead letters, as JSON
  partnerctl events tail --stream DEADLETTER -o json | jq .dlqcode`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cmd.Flags().Changed("timeout") || cmd.Root().PersistentFlags().Changed("timeout") {
				o.deadline = g.timeout
			}
			return g.tail(cmd, o)
		},
	}
	o.nats.add(cmd, g, "")
	f := cmd.Flags()
	f.StringVar(&o.partner, "partner", "", "only this partner's events (PG-…)")
	f.StringVar(&o.typ, "type", "", "only types with this prefix, e.g. verification.task or registration.partner.activated.v1")
	f.StringSliceVar(&o.streams, "stream", nil, "only these streams (repeatable): "+strings.Join(eventfmt.Streams, ", "))
	f.StringVar(&o.since, "since", "", "start this long ago (10m, 2h) or at this time (RFC 3339)")
	f.BoolVar(&o.all, "all", false, "start from the first stored event")
	f.IntVar(&o.max, "limit", 0, "stop after this many events (0: never)")
	// --max was this flag's name; --limit is the name every command uses for "how many".
	f.IntVar(&o.max, "max", 0, "")
	deprecate(f, "max", "use --limit")
	return cmd
}

func (g *globals) tail(cmd *cobra.Command, o tailOptions) error {
	start, err := o.start(time.Now())
	if err != nil {
		return err
	}
	streams, err := o.streamNames()
	if err != nil {
		return err
	}
	if o.max < 0 {
		return usagef("--limit must be positive")
	}
	nc, js, err := o.nats.connect()
	if err != nil {
		return err
	}
	defer nc.Close()
	ctx := cmd.Context()
	if o.deadline > 0 {
		var cancel func()
		ctx, cancel = context.WithTimeout(ctx, o.deadline)
		defer cancel()
	}
	var mu sync.Mutex
	count := 0
	done := make(chan struct{})
	var writeErr error
	emit := func(it eventfmt.Item) {
		mu.Lock()
		defer mu.Unlock()
		if o.max > 0 && count >= o.max || writeErr != nil {
			return
		}
		count++
		if g.json() {
			data, err := eventfmt.JSON(it)
			if err == nil {
				_, writeErr = fmt.Fprintf(g.stdout, "%s\n", data)
			}
		} else {
			_, writeErr = fmt.Fprintln(g.stdout, eventfmt.Line(it))
		}
		if writeErr != nil || o.max > 0 && count == o.max {
			close(done)
		}
	}
	bad := func(stream string, seq uint64, err error) {
		fmt.Fprintf(g.stderr, "partnerctl: %s seq %d is not a CloudEvent: %v\n", stream, seq, err)
	}
	stop, skipped, err := eventfmt.Tail(ctx, js, eventfmt.TailOptions{Streams: streams, Filter: eventfmt.Filter{Partner: o.partner, TypePrefix: o.typ},
		Start: start, Strict: len(streams) > 0}, emit, bad)
	if err != nil {
		if cmd.Context().Err() != nil {
			return nil // Ctrl-C while the consumers were being created
		}
		return err
	}
	if len(skipped) > 0 {
		fmt.Fprintf(g.stderr, "partnerctl: streams not found, skipped: %s ('partnerctl streams ensure' creates them)\n", strings.Join(skipped, ", "))
	}
	select {
	case <-done:
	case <-ctx.Done():
	}
	stop()
	mu.Lock()
	defer mu.Unlock()
	if writeErr != nil {
		return writeErr
	}
	if o.max > 0 && count < o.max && cmd.Context().Err() == nil && ctx.Err() != nil {
		return fmt.Errorf("timed out after %s with %d of %d events", o.deadline, count, o.max)
	}
	return nil // Ctrl-C, --max reached, or the --timeout without --max
}
