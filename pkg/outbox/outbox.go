// Package outbox writes events in the same pgx transaction as the state
// change they announce, and relays them to JetStream afterwards. Writing
// goes through watermill-sql's publisher (queue layout, delete on ack)
// wrapped by watermill's forwarder envelope; the Relay is the forwarder.
// The relay publishes with Nats-Msg-Id = CloudEvent id, so its retries are
// deduplicated by the stream.
package outbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	wsql "github.com/ThreeDotsLabs/watermill-sql/v4/pkg/sql"
	"github.com/ThreeDotsLabs/watermill/components/forwarder"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/jackc/pgx/v5"

	"github.com/partnerhub/onboarding/pkg/auth"
	"github.com/partnerhub/onboarding/pkg/ce"
	"github.com/partnerhub/onboarding/pkg/telemetry"
)

// Topic is the forwarder topic; its rows live in "watermill_outbox" in the
// service's schema (created by the platform migration, never at run time).
const Topic = "outbox"

// SchemaBaseURL prefixes dataschema: the file schemas/<topic>.json.
const SchemaBaseURL = "https://partnerhub.example/schemas/"

var (
	queueSchema  = wsql.PostgreSQLQueueSchema{GeneratePayloadType: func(string) string { return "JSON" }}
	queueOffsets = wsql.PostgreSQLQueueOffsetsAdapter{DeleteOnAck: true}
	subjectRe    = regexp.MustCompile(`^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+\.v[0-9]+$`)
)

// Draft is an event to be written: the writer fills id, source, time,
// sequence, correlation and actor.
type Draft struct {
	Type    string // full CloudEvents type, e.g. com.partnerhub.registration.application.submitted.v1
	Subject string // the partner id (or the aggregate id when there is no partner yet)
	// PartitionKey defaults to Subject; the sequence counts per partition key.
	PartitionKey string
	Data         any // marshalled to JSON
	// DataClassification marks restricted payloads (sealed secrets).
	DataClassification string
}

// Writer appends events to the outbox of one service.
type Writer struct {
	source string
	now    func() time.Time
	logger watermill.LoggerAdapter
}

// NewWriter returns a writer whose events have source /services/<service>.
func NewWriter(service string) *Writer {
	return &Writer{source: "/services/" + service, now: time.Now, logger: watermill.NopLogger{}}
}

// Source is the CloudEvents source of this writer's events.
func (w *Writer) Source() string { return w.source }

// SchemaURL is the dataschema of an event type.
func SchemaURL(eventType string) string { return SchemaBaseURL + ce.Topic(eventType) + ".json" }

// Append writes drafts into tx and returns the events as they will be
// published. Cause (correlation, causation) comes from ctx, the trace
// context from the span active in ctx (else the cause's), the actor from
// the auth principal in ctx.
func (w *Writer) Append(ctx context.Context, tx pgx.Tx, drafts ...Draft) ([]ce.Event, error) {
	if len(drafts) == 0 {
		return nil, nil
	}
	cause := ce.CauseFrom(ctx)
	if tp := telemetry.TraceParent(ctx); tp != "" {
		cause.TraceParent = tp
	}
	actor, hasActor := auth.FromContext(ctx)
	hasActor = hasActor && !actor.IsZero()
	events := make([]ce.Event, 0, len(drafts))
	// One round trip for every sequence and audit row: the writer's cost
	// is what a change pays on top of its own statements.
	batch := &pgx.Batch{}
	for _, d := range drafts {
		if !strings.HasPrefix(d.Type, ce.TypePrefix) || !subjectRe.MatchString(ce.Topic(d.Type)) {
			// A row that cannot be published would block every later row.
			return nil, fmt.Errorf("outbox: event type %q is not <prefix><service>.<entity>.<fact>.v<N>", d.Type)
		}
		if d.Subject == "" {
			return nil, fmt.Errorf("outbox: event %s has no subject", d.Type)
		}
		data, err := json.Marshal(d.Data)
		if err != nil {
			return nil, fmt.Errorf("outbox: marshal %s: %w", d.Type, err)
		}
		pk := d.PartitionKey
		if pk == "" {
			pk = d.Subject
		}
		ev := ce.Event{
			ID: ce.NewID(), Source: w.source, Type: d.Type, Subject: d.Subject, Time: w.now().UTC(),
			DataContentType: ce.JSON, DataSchema: SchemaURL(d.Type), PartitionKey: pk,
			TraceParent: cause.TraceParent, CorrelationID: cause.CorrelationID, CausationID: cause.CausationID,
			DataClassification: d.DataClassification, Data: data,
		}
		if ev.CorrelationID == "" {
			ev.CorrelationID = ev.ID
		}
		batch.Queue(`INSERT INTO event_sequence (partition_key, last_sequence) VALUES ($1, 1)
			ON CONFLICT (partition_key) DO UPDATE SET last_sequence = event_sequence.last_sequence + 1
			RETURNING last_sequence`, pk)
		if hasActor {
			ev.AuthType, ev.AuthID = "user", actor.Subject
			if actor.Kind == auth.KindService {
				ev.AuthType = "service_account"
			}
			roles := make([]string, len(actor.Roles))
			for i, r := range actor.Roles {
				roles[i] = string(r)
			}
			// The audit trail: who caused each change, from where.
			batch.Queue(`INSERT INTO audit_log (event_id, event_type, subject, actor_kind, actor_sub,
				actor_roles, actor_partner, source_ip, user_agent, request_id)
				VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10)`, ev.ID, ev.Type, ev.Subject, string(actor.Kind), actor.Subject,
				roles, actor.PartnerID, actor.SourceIP, actor.UserAgent, actor.RequestID)
		}
		events = append(events, ev)
	}
	br := tx.SendBatch(ctx, batch)
	for i := range events {
		if err := br.QueryRow().Scan(&events[i].Sequence); err != nil {
			_ = br.Close()
			return nil, fmt.Errorf("outbox: next sequence for %s: %w", events[i].PartitionKey, err)
		}
		if hasActor {
			if _, err := br.Exec(); err != nil {
				_ = br.Close()
				return nil, fmt.Errorf("outbox: audit %s: %w", events[i].Type, err)
			}
		}
	}
	if err := br.Close(); err != nil {
		return nil, fmt.Errorf("outbox: %w", err)
	}
	msgs := make(map[string][]*message.Message)
	var order []string
	for _, ev := range events {
		topic := ce.Topic(ev.Type)
		if _, ok := msgs[topic]; !ok {
			order = append(order, topic)
		}
		msgs[topic] = append(msgs[topic], ToMessage(ctx, ev))
	}
	pub, err := wsql.NewPublisher(wsql.TxFromPgx(tx), wsql.PublisherConfig{SchemaAdapter: queueSchema}, w.logger)
	if err != nil {
		return nil, err
	}
	fwd := forwarder.NewPublisher(pub, forwarder.PublisherConfig{ForwarderTopic: Topic})
	for _, topic := range order {
		if err := fwd.Publish(topic, msgs[topic]...); err != nil {
			return nil, fmt.Errorf("outbox: write %s: %w", topic, err)
		}
	}
	return events, nil
}

// ToMessage is the watermill message of ev: UUID = CloudEvent id (so the
// relay's Nats-Msg-Id dedupes retries), metadata = binary-mode headers.
func ToMessage(ctx context.Context, ev ce.Event) *message.Message {
	m := message.NewMessage(ev.ID, ev.Data)
	for k, v := range ev.Headers() {
		m.Metadata.Set(k, v)
	}
	m.SetContext(ctx)
	return m
}

// RelayConfig tunes the relay.
type RelayConfig struct {
	// PollInterval is the idle latency floor: how long the relay sleeps when
	// the outbox is empty.
	PollInterval time.Duration `env:"POLL_INTERVAL" envDefault:"20ms"`
	// BatchSize rows are locked and relayed per transaction.
	BatchSize int `env:"BATCH_SIZE" envDefault:"100"`
}

// Validate lists every problem.
func (c RelayConfig) Validate() error {
	var errs []error
	if c.PollInterval <= 0 || c.PollInterval > time.Minute {
		errs = append(errs, errors.New("OUTBOX_POLL_INTERVAL must be in (0, 1m]"))
	}
	if c.BatchSize < 1 || c.BatchSize > 10000 {
		errs = append(errs, errors.New("OUTBOX_BATCH_SIZE must be in [1, 10000]"))
	}
	return errors.Join(errs...)
}

// Relay moves outbox rows to the broker. Several relays on one outbox take
// turns on the row lock, so each row is published once per relay attempt
// (and deduplicated by Nats-Msg-Id if an attempt is repeated).
type Relay struct {
	fwd *forwarder.Forwarder
}

// NewRelay builds a relay reading db and publishing to out.
func NewRelay(db wsql.Conn, out message.Publisher, cfg RelayConfig, logger watermill.LoggerAdapter) (*Relay, error) {
	schema := queueSchema
	schema.SubscribeBatchSize = cfg.BatchSize
	sub, err := wsql.NewSubscriber(wsql.BeginnerFromPgx(db), wsql.SubscriberConfig{
		SchemaAdapter:  schema,
		OffsetsAdapter: queueOffsets,
		PollInterval:   cfg.PollInterval,
		ResendInterval: 500 * time.Millisecond,
		RetryInterval:  500 * time.Millisecond,
	}, logger)
	if err != nil {
		return nil, fmt.Errorf("outbox subscriber: %w", err)
	}
	fwd, err := forwarder.NewForwarder(sub, out, logger, forwarder.Config{
		ForwarderTopic: Topic,
		HandlerName:    "outbox_relay",
		CloseTimeout:   10 * time.Second,
		// An envelope that cannot be read would block the queue forever; it
		// is logged with its metadata and dropped.
		AckWhenCannotUnwrap: true,
	})
	if err != nil {
		return nil, err
	}
	return &Relay{fwd: fwd}, nil
}

// Run relays until ctx ends or Close is called.
func (r *Relay) Run(ctx context.Context) error { return r.fwd.Run(ctx) }

// Running is closed once the relay is relaying.
func (r *Relay) Running() chan struct{} { return r.fwd.Running() }

// Close stops the relay, letting an in-flight batch finish.
func (r *Relay) Close() error { return r.fwd.Close() }

// Stats reports the backlog of the outbox (rows and the age of the oldest).
func Stats(ctx context.Context, db interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}) (rows int64, oldest time.Duration, err error) {
	var age *float64
	err = db.QueryRow(ctx, `SELECT count(*), EXTRACT(EPOCH FROM now() - min(created_at)) FROM watermill_outbox`).Scan(&rows, &age)
	if age != nil {
		oldest = time.Duration(*age * float64(time.Second))
	}
	return rows, oldest, err
}
