package cli

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/spf13/cobra"

	"github.com/partnerhub/onboarding/pkg/bus"
	"github.com/partnerhub/onboarding/pkg/ce"
	"github.com/partnerhub/onboarding/services/partnerctl/internal/eventfmt"
)

const deadLettersLong = `A consumer that cannot apply an event parks it on the DEADLETTER stream
(deadletter.<service>) with the reason in dlq-* headers, and goes on with the next.
Nothing is lost and nothing retries by itself: an operator looks, fixes the cause,
and replays.

  1. partnerctl deadletters list           what failed, where, with which code
  2. fix the cause                         (see 'deadletters list --help' for the codes)
  3. partnerctl deadletters replay SEQ     republish the original event
  4. partnerctl events tail --partner ID   see it applied (or dead-lettered again)`

func newDeadLettersCmd(g *globals) *cobra.Command {
	dl := group("deadletters", "List dead-lettered events and replay them after a fix", deadLettersLong, "dlq")
	var nf natsFlags
	var service string
	connect := func(ctx context.Context) (*nats.Conn, jetstream.Stream, error) {
		nc, js, err := nf.connect()
		if err != nil {
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
		Long: `List the DEADLETTER stream: sequence (what 'replay' takes), the consumer that gave
up (service), the reason code, the event's type and subject. The code says what to
fix: cloudevent.* and schema codes mean the producer sent something malformed
(fix the producer; replaying the same bytes fails again), auth.* a principal or
role missing from PARTNERHUB_PRINCIPALS, a domain code (registration.*,
verification.*, …) a rule or an ordering problem, and transient codes a
dependency that was down for BUS_MAX_DELIVER deliveries. 'partnerctl events tail
--stream DEADLETTER' shows new ones as they arrive, with the full reason.`,
		Example: `  partnerctl deadletters list --url nats://127.0.0.1:4222
  partnerctl deadletters list --service registration
  partnerctl deadletters list -o json | jq -r 'select(.dlqcode | startswith("auth.")) | .dlqseq'`,
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
			var rows [][]string
			if info.State.Msgs > 0 {
				for seq := info.State.FirstSeq; seq <= info.State.LastSeq; seq++ {
					m, err := s.GetMsg(ctx, seq)
					if err != nil {
						continue // deleted by age or by hand
					}
					if service != "" && m.Header.Get(bus.DLQService) != service {
						continue
					}
					if g.json() {
						it, err := eventfmt.FromMsg(bus.DeadLetterStream, seq, m.Header, m.Data)
						if err != nil {
							return fmt.Errorf("dead letter %d is not a CloudEvent: %w", seq, err)
						}
						data, err := eventfmt.JSON(it)
						if err != nil {
							return err
						}
						fmt.Fprintf(g.stdout, "%s\n", data)
						continue
					}
					rows = append(rows, []string{strconv.FormatUint(seq, 10), m.Header.Get(bus.DLQService), m.Header.Get(bus.DLQCode),
						ce.Topic(m.Header.Get(ce.HType)), m.Header.Get(ce.HSubject), m.Header.Get(bus.DLQTime)})
				}
			}
			if g.json() {
				return nil
			}
			return table(g.stdout, []string{"SEQ", "SERVICE", "CODE", "TYPE", "SUBJECT", "DEAD-LETTERED"}, rows)
		},
	}
	replay := &cobra.Command{
		Use:   "replay SEQ",
		Short: "Republish a dead letter's original event to its original subject",
		Long: `Republish the original CloudEvent (its ce-* headers and body, without the dead-letter
headers) to the subject it was consumed from, so every consumer of that subject sees it
again. Consumers are idempotent by CloudEvent id, so replaying an event that was in
fact applied changes nothing. The dead letter stays in DEADLETTER as a record.

The workflow: list → read the code → fix the cause (deploy the fixed consumer, add
the principal, publish the missing version…) → replay → watch the outcome with
'events tail'. Replaying before the fix only dead-letters the event again.`,
		Example: `  # 1. what failed, and why
  partnerctl deadletters list --service registration
  # 2. fix the cause, then 3. replay by sequence and watch it go through
  partnerctl deadletters replay 42
  partnerctl events tail --partner PG-PRTA-HD7W-NYE --since 5m`,
		Args: exactArgs("SEQ"),
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
			if errors.Is(err, jetstream.ErrNoStreamResponse) {
				return fmt.Errorf("replay to %s: no stream answered: none stores this subject (a service's events are stored on <topic>.<partition> only) or JetStream is unavailable: %w", subject, err)
			}
			if err != nil {
				return fmt.Errorf("replay to %s: %w", subject, err)
			}
			fmt.Fprintf(g.stdout, "replayed dead letter %d to %s (stream %s, seq %d)\n", seq, subject, ack.Stream, ack.Sequence)
			return nil
		},
	}
	for _, c := range []*cobra.Command{list, replay} {
		nf.add(c, g, "; the admin user with per-service users")
	}
	list.Flags().StringVar(&service, "service", "", "only this service's dead letters")
	dl.AddCommand(list, replay)
	return dl
}
