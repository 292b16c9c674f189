// Package bus is the JetStream side of the platform: the stream catalog,
// idempotent provisioning, the bus users' permissions, and the router whose
// consumers are real durables with per-partner workers, batched
// transactions, bounded redelivery and a dead-letter stream.
package bus

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Stream is one stream of the catalog: an upper-case noun over the
// lower-case dotted subjects of one producer.
type Stream struct {
	Name string
	// Subjects are what the stream holds, as consumers, tools and the
	// bus users' permissions name it ("registration.>").
	Subjects []string
	// Producer names who publishes on it.
	Producer string
	// Partitioned: a service's outbox relay publishes on it, each event on
	// <topic>.<partition> (PartitionSubject), and only there does a
	// consumer read it. The stream stores nothing else: a message on any
	// other subject of the producer ("registration.x.v1", or a partition
	// that does not exist) is refused at publish (no stream answers it)
	// instead of being stored for no consumer.
	Partitioned bool
}

// Accepts lists the subjects s stores (its JetStream subjects): Subjects,
// or for a partitioned stream each partition of them.
func (s Stream) Accepts() []string {
	if !s.Partitioned {
		return s.Subjects
	}
	out := make([]string, 0, len(s.Subjects)*Partitions)
	for _, sub := range s.Subjects {
		for p := range Partitions {
			out = append(out, PartitionFilter(sub, p))
		}
	}
	return out
}

// Catalog lists every stream. Each producing service owns one; upstream
// systems and verifier services publish on INTAKE; every consumer
// dead-letters on DEADLETTER (deadletter.<service>).
var Catalog = []Stream{
	{Name: "INTAKE", Subjects: []string{"intake.>"}, Producer: "upstream systems and verifier services"},
	{Name: "REGISTRATION", Subjects: []string{"registration.>"}, Producer: "registration", Partitioned: true},
	{Name: "EMAIL", Subjects: []string{"email.>"}, Producer: "email-ownership", Partitioned: true},
	{Name: "NOTIFIER", Subjects: []string{"notifier.>"}, Producer: "notifier", Partitioned: true},
	{Name: "VERIFICATION", Subjects: []string{"verification.>"}, Producer: "verification", Partitioned: true},
	{Name: "AGREEMENTS", Subjects: []string{"agreements.>"}, Producer: "agreements", Partitioned: true},
	{Name: "RELATIONSHIPS", Subjects: []string{"relationships.>"}, Producer: "relationships", Partitioned: true},
	{Name: "TIMELINE", Subjects: []string{"timeline.>"}, Producer: "timeline", Partitioned: true},
	{Name: DeadLetterStream, Subjects: []string{"deadletter.>"}, Producer: "every consumer"},
}

// DeadLetterStream holds poisoned messages with their reasons.
const DeadLetterStream = "DEADLETTER"

// DeadLetterSubject is where service dead-letters.
func DeadLetterSubject(service string) string {
	return "deadletter." + strings.ReplaceAll(service, "-", "_")
}

// StreamFor returns the catalog stream holding subject (by its first token).
func StreamFor(subject string) (Stream, error) {
	first, _, _ := strings.Cut(subject, ".")
	for _, s := range Catalog {
		for _, sub := range s.Subjects {
			if strings.TrimSuffix(sub, ".>") == first {
				return s, nil
			}
		}
	}
	return Stream{}, fmt.Errorf("no stream in the catalog holds subject %q", subject)
}

// DeadLetterDuplicates is how long the DEADLETTER stream drops a dead
// letter whose id it holds (deadLetterID: the same stream message for the
// same consumer). It outlasts a restart of the servers, after which a
// durable is re-created from the ack floor recorded in Postgres and may
// deliver again what it had dead-lettered in the seconds before; with the
// other streams' 2 minutes, such a message was dead-lettered twice when the
// servers were away longer. The window holds one id per dead letter, which
// are few.
const DeadLetterDuplicates = time.Hour

// StreamConfig is the JetStream configuration of s. Replicas come from the
// deployment (1 locally, 3 on a cluster).
func StreamConfig(s Stream, replicas int) jetstream.StreamConfig {
	if replicas < 1 {
		replicas = 1
	}
	cfg := jetstream.StreamConfig{
		Name:       s.Name,
		Subjects:   s.Accepts(),
		Storage:    jetstream.FileStorage,
		Retention:  jetstream.LimitsPolicy,
		MaxAge:     30 * 24 * time.Hour,
		Duplicates: 2 * time.Minute,
		Replicas:   replicas,
		Discard:    jetstream.DiscardOld,
	}
	if s.Name == DeadLetterStream {
		cfg.MaxAge = 90 * 24 * time.Hour
		cfg.Duplicates = DeadLetterDuplicates
	}
	return cfg
}

// Connect dials NATS with a client name and endless reconnects once
// connected (the platform retries the first connection while the server
// is unreachable).
func Connect(url, name string, opts ...nats.Option) (*nats.Conn, error) {
	base := []nats.Option{
		nats.Name(name),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(500 * time.Millisecond),
		nats.Timeout(5 * time.Second),
	}
	nc, err := nats.Connect(url, append(base, opts...)...)
	if err != nil {
		return nil, fmt.Errorf("connect to NATS at %s as %s: %w", redactURL(url), name, err)
	}
	return nc, nil
}

func redactURL(u string) string {
	if i := strings.Index(u, "@"); i > 0 {
		if j := strings.Index(u, "://"); j >= 0 && j < i {
			return u[:j+3] + "***" + u[i:]
		}
	}
	return u
}

// EnsureStreams creates or updates the named catalog streams (all when
// names is empty). It is idempotent and safe to run from every replica.
func EnsureStreams(ctx context.Context, js jetstream.JetStream, replicas int, names ...string) error {
	var errs []error
	for _, s := range Catalog {
		if len(names) > 0 && !contains(names, s.Name) {
			continue
		}
		ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		_, err := js.CreateOrUpdateStream(ctx, StreamConfig(s, replicas))
		cancel()
		if err != nil {
			errs = append(errs, fmt.Errorf("stream %s: %w", s.Name, err))
		}
	}
	return errors.Join(errs...)
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// DurableName is the consumer name of (service, subject filter): stream and
// consumer names cannot contain '.', '*' or '>'.
func DurableName(service, filter string) string {
	r := strings.NewReplacer(".", "_", "*", "any", ">", "all", "-", "_")
	return r.Replace(service) + "__" + r.Replace(filter)
}
