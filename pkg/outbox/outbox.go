// Package outbox writes events in the same pgx transaction as the state
// change they announce, and relays them to JetStream afterwards.
//
// The writer inserts one row per event into the service's "outbox" table and,
// through pg.AfterCommit, hands the rows to the relay once the transaction has
// committed: an event leaves as soon as its change is durable, with no
// polling tick on the way, and without being read back when the relay knows
// its partition's order (Relay). The relay publishes a batch asynchronously
// (JetStream PublishAsync, Nats-Msg-Id = CloudEvent id, so a repeated
// attempt is dropped by the stream), waits for every acknowledgement and
// deletes published rows in one statement about once a FlushInterval; a slow
// poll is only a safety net for rows written by a process that died before
// relaying them.
//
// Rows hash into buckets by partition key, and buckets into the bus'
// partitions: the instance that owns a partition (bus.Owner) relays it, so
// several relays (replicas) publish at once while each partner's events keep
// their order.
//
// It replaces watermill-sql's queue and watermill's forwarder, which could
// not do this: their subscriber polls, one relay at a time holds the queue,
// and every row is published synchronously.
package outbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/partnerhub/onboarding/pkg/auth"
	"github.com/partnerhub/onboarding/pkg/bus"
	"github.com/partnerhub/onboarding/pkg/ce"
	"github.com/partnerhub/onboarding/pkg/pg"
	"github.com/partnerhub/onboarding/pkg/telemetry"
)

// SchemaBaseURL prefixes dataschema: the file schemas/<topic>.json.
const SchemaBaseURL = "https://partnerhub.example/schemas/"

// Buckets is how many buckets the partition keys hash into
// (bus.KeyHash % Buckets, a multiple of bus.Partitions so that a bucket is
// in one partition): the most relays that can publish at once.
const Buckets = 64

// subjectRe is a topic: <service>.<entity>.<fact>.v<N> (bus.TopicTokens
// tokens; the relay adds the partition as the fifth).
var subjectRe = regexp.MustCompile(`^[a-z][a-z0-9_]*\.[a-z0-9_]+\.[a-z0-9_]+\.v[0-9]+$`)

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
	source  string
	now     func() time.Time
	wake    func()
	handOff func([]row) // the relay's, handed the rows at commit (RelayOnCommit), else nil
	owner   *bus.Owner
	channel string
}

// NewWriter returns a writer whose events have source /services/<service>.
func NewWriter(service string) *Writer {
	return &Writer{source: "/services/" + service, now: time.Now, wake: func() {}}
}

// Source is the CloudEvents source of this writer's events.
func (w *Writer) Source() string { return w.source }

// WakeOnCommit makes every transaction that appended events call wake once
// it has committed (the relay's Wake). With owner, an event of a partition
// this instance does not own notifies its owner's relay instead (Postgres
// NOTIFY on the service's outbox channel, delivered at commit).
func (w *Writer) WakeOnCommit(wake func(), owner *bus.Owner, service string) {
	w.wake, w.owner, w.channel = wake, owner, bus.OutboxChannel(service)
}

// RelayOnCommit is WakeOnCommit for the relay of this instance, which is
// also handed the rows a transaction wrote once it has committed: it
// publishes them as they are, without reading them back from the outbox,
// when it knows their partition's order (Relay.handOff).
func (w *Writer) RelayOnCommit(r *Relay, owner *bus.Owner, service string) {
	w.WakeOnCommit(r.Wake, owner, service)
	w.handOff = r.handOff
}

// SchemaURL is the dataschema of an event type.
func SchemaURL(eventType string) string { return SchemaBaseURL + ce.Topic(eventType) + ".json" }

// insertEvents takes the next sequence numbers of one partition key for
// the events of one Queue call (and with them the partition's row lock,
// which orders the ids of one partition by commit) and writes their rows in
// that order, in one statement: a transaction that announces several facts
// about one partner updates its counter once. The partition's first event
// records its trace as the partition's origin; every event reads the origin
// back.
const insertEvents = `WITH s AS (
	INSERT INTO event_sequence (partition_key, last_sequence, origin_traceparent) VALUES ($1, cardinality($3::text[]), $7)
	ON CONFLICT (partition_key) DO UPDATE SET last_sequence = event_sequence.last_sequence + cardinality($3::text[])
	RETURNING last_sequence, origin_traceparent), o AS (
INSERT INTO outbox (partition_key, bucket, sequence, subject, event_id, headers, payload)
SELECT $1, $6, s.last_sequence - cardinality($3::text[]) + e.n, e.subject, e.event_id, e.headers, e.payload
FROM s, unnest($2::text[], $3::text[], $4::json[], $5::bytea[]) WITH ORDINALITY AS e(subject, event_id, headers, payload, n)
ORDER BY e.n
RETURNING id, sequence)
SELECT o.id, o.sequence, s.origin_traceparent FROM o, s ORDER BY o.sequence`

const insertAudit = `INSERT INTO audit_log (event_id, event_type, subject, actor_kind, actor_sub,
	actor_roles, actor_partner, source_ip, user_agent, request_id)
	VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10)`

// Append writes drafts into tx and returns the events as they will be
// published. Cause (correlation, causation) comes from ctx, the trace
// context from the span active in ctx (else the cause's), the actor from
// the auth principal in ctx. All rows go in one round trip: with tx's
// COMMIT (pg.SendLast), or before the next statement sent on tx; an error
// of theirs then comes back from that statement or the commit. So the
// events' sequence numbers are known once the rows are written. When an
// event's partition began in another trace (a partner's onboarding, and
// this is a later action on it: a confirmation, a decision, an acceptance),
// the span in ctx gets a link to that trace.
func (w *Writer) Append(ctx context.Context, tx pgx.Tx, drafts ...Draft) ([]ce.Event, error) {
	if len(drafts) == 0 {
		return nil, nil
	}
	b := &pgx.Batch{}
	q, err := w.Queue(ctx, b, drafts...)
	if err != nil {
		return nil, err
	}
	if err := pg.SendLast(ctx, tx, b); err != nil {
		return nil, err
	}
	return q.Done(ctx), nil
}

// Queued are events that Queue put on a caller's batch.
type Queued struct {
	wake    func()
	handOff func([]row)
	events  []ce.Event
	origins []string
	rows    []row // as written, for the relay (ids and sequences from the insert)
}

// Done is called once the batch the events were queued on has been sent in
// a transaction and closed without error, or queued with pg.SendLast: it
// has the relay woken when the transaction commits, and returns the events
// as they will be published (with their sequence numbers once the batch's
// results are read: for pg.SendLast, at the commit). The span in ctx is
// linked to the traces the events' partitions began in as the results are
// read. A nil Queued (no drafts) returns nil.
func (q *Queued) Done(ctx context.Context) []ce.Event {
	if q == nil {
		return nil
	}
	if q.handOff != nil {
		rows, handOff := q.rows, q.handOff
		pg.AfterCommit(ctx, func() { handOff(rows) })
	} else {
		pg.AfterCommit(ctx, q.wake)
	}
	return q.events
}

// Queue is Append for a caller that sends its own batch: it queues the rows
// of drafts (and their audit rows and notifications) on b, so that the
// caller's own statements and its events go to Postgres in one round trip
// instead of two. The caller sends b in its transaction and closes it (an
// error of an event's row comes back from Close), or hands it to
// pg.SendLast, and then calls Done.
func (w *Writer) Queue(ctx context.Context, b *pgx.Batch, drafts ...Draft) (*Queued, error) {
	if len(drafts) == 0 {
		return nil, nil
	}
	cause := ce.CauseFrom(ctx)
	if tp := telemetry.TraceParent(ctx); tp != "" {
		cause.TraceParent = tp
	}
	actor, hasActor := auth.FromContext(ctx)
	hasActor = hasActor && !actor.IsZero()
	// The audit trail is of what people and outside systems did; a change
	// one of our services makes in reaction to another's event is on the
	// record already (the event names its actor, and its cause is the
	// audited change upstream).
	audited := hasActor && !(actor.Kind == auth.KindService && slices.Contains(bus.Services(), actor.Subject))
	q := &Queued{wake: w.wake, handOff: w.handOff, events: make([]ce.Event, len(drafts)), origins: make([]string, len(drafts))}
	if w.handOff != nil {
		q.rows = make([]row, len(drafts))
	}
	var notify []int // partitions another instance relays
	var groups []*keyGroup
	// The roles the actor acted in ride with its subject: the partner's
	// side reads a staff actor's subject in no event (the timeline reads
	// the roles).
	var claims string
	if hasActor {
		claims = auth.EventClaims(actor)
	}
	var roles []string
	if audited {
		roles = make([]string, len(actor.Roles))
		for i, r := range actor.Roles {
			roles[i] = string(r)
		}
	}
	for i, d := range drafts {
		if !strings.HasPrefix(d.Type, ce.TypePrefix) || !subjectRe.MatchString(ce.Topic(d.Type)) {
			// A row that cannot be published would block its bucket.
			return nil, fmt.Errorf("outbox: event type %q is not %s<service>.<entity>.<fact>.v<N>", d.Type, ce.TypePrefix)
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
		if hasActor {
			ev.AuthType, ev.AuthID = auth.EventAuth(actor)
			if claims != "" {
				ev.Extensions = map[string]string{auth.ExtAuthClaims: claims}
			}
		}
		h := ev.Headers()
		headers, err := json.Marshal(h) // ce-sequence is added by the relay
		if err != nil {
			return nil, fmt.Errorf("outbox: headers of %s: %w", d.Type, err)
		}
		q.events[i] = ev
		if q.rows != nil {
			q.rows[i] = row{key: pk, subject: ce.Topic(ev.Type), eventID: ev.ID, headers: h, payload: data}
		}
		g := slices.IndexFunc(groups, func(g *keyGroup) bool { return g.key == pk })
		if g < 0 {
			groups = append(groups, &keyGroup{key: pk})
			g = len(groups) - 1
		}
		gr := groups[g]
		gr.at = append(gr.at, i)
		gr.subjects = append(gr.subjects, ce.Topic(ev.Type))
		gr.ids = append(gr.ids, ev.ID)
		gr.headers = append(gr.headers, string(headers))
		gr.payloads = append(gr.payloads, data)
		if p := bus.PartitionFor(pk); w.owner != nil && !w.owner.Owns(p) && !slices.Contains(notify, p) {
			notify = append(notify, p)
		}
	}
	for _, g := range groups {
		b.Queue(insertEvents, g.key, g.subjects, g.ids, g.headers, g.payloads, int16(bus.KeyHash(g.key)%Buckets), cause.TraceParent).
			Query(func(rows pgx.Rows) error {
				n := 0
				for rows.Next() {
					if n == len(g.at) {
						return fmt.Errorf("outbox: write %s: more rows than events", g.key)
					}
					i := g.at[n]
					var id int64
					if err := rows.Scan(&id, &q.events[i].Sequence, &q.origins[i]); err != nil {
						return fmt.Errorf("outbox: write %s: %w", q.events[i].Type, err)
					}
					if q.rows != nil {
						seq := int64(q.events[i].Sequence)
						q.rows[i].id, q.rows[i].sequence = id, &seq
					}
					n++
				}
				if err := rows.Err(); err != nil {
					return fmt.Errorf("outbox: write the events of %s: %w", g.key, err)
				}
				if n != len(g.at) {
					return fmt.Errorf("outbox: write the events of %s: %d rows for %d events", g.key, n, len(g.at))
				}
				linkOrigins(ctx, q.events, q.origins, g.at)
				return nil
			})
		if audited {
			// The audit trail: who caused each change, from where.
			for _, i := range g.at {
				ev := q.events[i]
				b.Queue(insertAudit, ev.ID, ev.Type, ev.Subject, string(actor.Kind), actor.Subject,
					roles, actor.PartnerID, actor.SourceIP, actor.UserAgent, actor.RequestID)
			}
		}
	}
	for _, p := range notify {
		b.Queue(`SELECT pg_notify($1, $2)`, w.channel, strconv.Itoa(p))
	}
	return q, nil
}

// keyGroup is the events of one Queue call with one partition key, in the
// order they were drafted (at: their indexes among the drafts), written by
// one statement.
type keyGroup struct {
	key                    string
	at                     []int
	subjects, ids, headers []string
	payloads               [][]byte
}

// RelayConfig tunes the relay.
type RelayConfig struct {
	// PollInterval is the safety net: how often an idle relay looks for rows
	// nobody woke it for (written by a process that died before relaying).
	PollInterval time.Duration `env:"POLL_INTERVAL" envDefault:"2s"`
	// BatchSize rows are read and published at once.
	BatchSize int `env:"BATCH_SIZE" envDefault:"500"`
	// FlushInterval is how often published rows are deleted (in one
	// statement; also when BatchSize of them wait, and before a partition
	// is given back).
	FlushInterval time.Duration `env:"FLUSH_INTERVAL" envDefault:"1s"`
	// PublishTimeout bounds the wait for a batch's acknowledgements.
	PublishTimeout time.Duration `env:"PUBLISH_TIMEOUT" envDefault:"5s"`
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
	if c.FlushInterval < 0 || c.FlushInterval > time.Minute {
		errs = append(errs, errors.New("OUTBOX_FLUSH_INTERVAL must be in [0, 1m]"))
	}
	if c.PublishTimeout < 100*time.Millisecond {
		errs = append(errs, errors.New("OUTBOX_PUBLISH_TIMEOUT must be at least 100ms"))
	}
	return errors.Join(errs...)
}

// Stats reports the backlog of the outbox (rows and the age of the oldest).
func Stats(ctx context.Context, db interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}) (rows int64, oldest time.Duration, err error) {
	var age *float64
	err = db.QueryRow(ctx, `SELECT count(*), EXTRACT(EPOCH FROM now() - min(created_at)) FROM outbox`).Scan(&rows, &age)
	if age != nil {
		oldest = time.Duration(*age * float64(time.Second))
	}
	return rows, oldest, err
}

// LinkOnboarding is the partnerhub.link attribute of a span link to the
// trace a partition's story began in.
const LinkOnboarding = "onboarding"

// linkOrigins links the span in ctx (when it records) to each trace that
// the partition of one of events[at] began in (origins[at]), once per
// trace, unless the event is in that trace already.
func linkOrigins(ctx context.Context, events []ce.Event, origins []string, at []int) {
	span := trace.SpanFromContext(ctx)
	if !span.IsRecording() {
		return
	}
	linked := map[trace.TraceID]bool{}
	for _, i := range at {
		ev := events[i]
		origin := telemetry.SpanContextOf(origins[i])
		if !origin.IsValid() || linked[origin.TraceID()] || origin.TraceID() == telemetry.SpanContextOf(ev.TraceParent).TraceID() {
			continue
		}
		linked[origin.TraceID()] = true
		span.AddLink(trace.Link{SpanContext: origin, Attributes: []attribute.KeyValue{
			attribute.String("partnerhub.link", LinkOnboarding), attribute.String("partnerhub.partition_key", ev.PartitionKey)}})
	}
}

// RecordOrigin remembers, in the transaction in ctx (none: it does
// nothing), the trace in ctx as where partitionKey's story began at this
// service, unless it began already: for a service whose first event about a
// partner is a later action (relationships' first event about a reseller
// is an invitation), called when it consumes the partner's registration.
// The sequence is untouched: the first event is still 1.
func RecordOrigin(ctx context.Context, partitionKey string) error {
	tx, ok := pg.TxFrom(ctx)
	if !ok {
		return nil
	}
	tp := telemetry.TraceParent(ctx)
	if tp == "" {
		tp = ce.CauseFrom(ctx).TraceParent
	}
	if tp == "" {
		return nil
	}
	_, err := tx.Exec(ctx, `INSERT INTO event_sequence (partition_key, last_sequence, origin_traceparent) VALUES ($1, 0, $2)
		ON CONFLICT (partition_key) DO NOTHING`, partitionKey, tp)
	if err != nil {
		return fmt.Errorf("outbox: record the origin of %s: %w", partitionKey, err)
	}
	return nil
}
