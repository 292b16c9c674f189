package bus

import (
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"
)

// Partitions is how many partitions every producer stream's subjects are
// split into. The relay publishes each event on <topic>.<partition>, where
// the partition is a hash of its partition key (the partner), so all of one
// partner's events are in one partition; a service consumes each partition
// of a subscription with its own durable, and its replicas share the
// partitions among themselves (see Router). It is the most replicas of one
// service that consume in parallel. Changing it moves partners between
// partitions: drain the streams first.
const Partitions = 4

// KeyHash is the hash of a partition key that places it: its partition
// (KeyHash % Partitions), its outbox bucket and its worker.
func KeyHash(key string) uint32 {
	h := fnv.New32a()
	_, _ = h.Write([]byte(key))
	return h.Sum32()
}

// PartitionFor is the partition of a partition key.
func PartitionFor(key string) int { return int(KeyHash(key) % Partitions) }

// TopicTokens is the number of tokens of every event topic:
// <service>.<entity>.<fact>.v<N>; the partition is the fifth.
const TopicTokens = 4

// PartitionSubject is the subject an event of topic is published on in
// partition p.
func PartitionSubject(topic string, p int) string { return topic + "." + strconv.Itoa(p) }

// PartitionOf returns the partition of a published subject (-1 when it
// carries none: an intake event, or one published without the relay).
func PartitionOf(subject string) int {
	tokens := strings.Split(subject, ".")
	if len(tokens) != TopicTokens+1 {
		return -1
	}
	p, err := strconv.Atoi(tokens[TopicTokens])
	if err != nil || p < 0 || p >= Partitions {
		return -1
	}
	return p
}

// PartitionFilter is the filter of partition p of a subscription filter on
// a producer stream: "verification.case.approved.v1" → "verification.case.approved.v1.3",
// "registration.>" → "registration.*.*.*.3".
func PartitionFilter(filter string, p int) string {
	base, wild := strings.CutSuffix(filter, ".>")
	tokens := strings.Split(base, ".")
	if !wild {
		return PartitionSubject(filter, p)
	}
	for len(tokens) < TopicTokens {
		tokens = append(tokens, "*")
	}
	return strings.Join(tokens, ".") + "." + strconv.Itoa(p)
}

// AllPartitions is the filter matching every partition of a subscription
// filter: what a consumer outside the services (a verifier, an upstream
// system, the SDK) subscribes to: "verification.task.created.v1" →
// "verification.task.created.v1.*".
func AllPartitions(filter string) string {
	if strings.HasSuffix(filter, ".>") {
		return filter
	}
	return filter + ".*"
}

// Durable is one subscription filter of a service as the server sees it:
// partitioned (one durable per partition, DurableName + "_p<N>") unless
// Shared (one durable that every replica pulls from: intake, dead letters,
// and read models that need no per-partner order).
type Durable struct {
	Filter string
	Shared bool
	// Replaces is the filter of the durable this one took over (see
	// Subscription.Replaces): its owner may read and delete it.
	Replaces string
}

// Partitioned reports whether d has a durable per partition: a filter on a
// producer stream that is not Shared.
func (d Durable) Partitioned() bool {
	s, err := StreamFor(d.Filter)
	return err == nil && !d.Shared && s.Name != DeadLetterStream && userName.MatchString(s.Producer)
}

// Receives is the filter of every subject d's durables receive: all the
// partitions of a partitioned filter, else the filter itself.
func (d Durable) Receives() string {
	if d.Partitioned() {
		return AllPartitions(d.Filter)
	}
	return d.Filter
}

// Names are the durable names and filters of d for user.
func (d Durable) Names(user string) (names, filters []string) {
	if !d.Partitioned() {
		return []string{DurableName(user, d.Filter)}, []string{d.Filter}
	}
	for p := range Partitions {
		names = append(names, PartitionDurable(user, d.Filter, p))
		filters = append(filters, PartitionFilter(d.Filter, p))
	}
	return names, filters
}

// PartitionDurable is the durable name of partition p of (user, filter).
func PartitionDurable(user, filter string, p int) string {
	return fmt.Sprintf("%s_p%d", DurableName(user, filter), p)
}
