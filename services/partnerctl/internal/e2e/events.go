package e2e

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/partnerhub/onboarding/pkg/bus"
	"github.com/partnerhub/onboarding/pkg/ce"
)

// Event is one message seen on a stream, decoded as a CloudEvent.
type Event struct {
	ce.Event
	Stream    string
	StreamSeq uint64
	Header    nats.Header // every header as published (dead letters: dlq-*)
}

// Topic is the event's NATS subject form of its type (without com.partnerhub.).
func (e Event) Topic() string { return ce.Topic(e.Type) }

func (e Event) String() string {
	s := fmt.Sprintf("%s/%d %s subject=%s seq=%d id=%s cause=%s", e.Stream, e.StreamSeq, e.Topic(), e.Subject, e.Sequence, e.ID, e.CausationID)
	if c := e.Header.Get(bus.DLQCode); c != "" {
		s += " dlq-code=" + c + " dlq-reason=" + e.Header.Get(bus.DLQReason)
	}
	return s
}

// Collector follows every stream from its first message (ordered consumers,
// nothing acknowledged, no durable left behind) and keeps what it saw.
type Collector struct {
	nc    *nats.Conn
	stops []func()

	mu     sync.Mutex
	events []Event
	bad    []string // messages that are not CloudEvents
	added  chan struct{}
}

func collect(url string) (*Collector, error) {
	nc, err := nats.Connect(url, nats.Name("e2e-collector"))
	if err != nil {
		return nil, err
	}
	c := &Collector{nc: nc, added: make(chan struct{})}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	names := js.StreamNames(ctx)
	var streams []string
	for n := range names.Name() {
		streams = append(streams, n)
	}
	if err := names.Err(); err != nil {
		c.close()
		return nil, fmt.Errorf("list streams: %w", err)
	}
	for _, stream := range streams {
		oc, err := js.OrderedConsumer(ctx, stream, jetstream.OrderedConsumerConfig{DeliverPolicy: jetstream.DeliverAllPolicy})
		if err != nil {
			c.close()
			return nil, fmt.Errorf("stream %s: %w", stream, err)
		}
		cc, err := oc.Consume(func(m jetstream.Msg) { c.add(stream, m) })
		if err != nil {
			c.close()
			return nil, fmt.Errorf("consume %s: %w", stream, err)
		}
		c.stops = append(c.stops, cc.Stop)
	}
	return c, nil
}

func (c *Collector) add(stream string, m jetstream.Msg) {
	h := map[string]string{}
	for k, v := range m.Headers() {
		if len(v) > 0 {
			h[k] = v[0]
		}
	}
	ev, err := ce.Decode(h, m.Data())
	meta, _ := m.Metadata()
	c.mu.Lock()
	defer c.mu.Unlock()
	if err != nil {
		c.bad = append(c.bad, fmt.Sprintf("%s %s: %v", stream, m.Subject(), err))
		return
	}
	e := Event{Event: ev, Stream: stream, Header: m.Headers()}
	if meta != nil {
		e.StreamSeq = meta.Sequence.Stream
	}
	c.events = append(c.events, e)
	close(c.added)
	c.added = make(chan struct{})
}

func (c *Collector) close() {
	for _, s := range c.stops {
		s()
	}
	c.nc.Close()
}

// All returns every event seen so far, in arrival order (per stream: stream order).
func (c *Collector) All() []Event {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.events)
}

// Undecodable lists the messages that were not valid CloudEvents.
func (c *Collector) Undecodable() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.bad)
}

// Filter returns the events that match, in arrival order.
func (c *Collector) Filter(match func(Event) bool) []Event {
	var out []Event
	for _, e := range c.All() {
		if match(e) {
			out = append(out, e)
		}
	}
	return out
}

// About returns the events whose subject is subject, in arrival order.
func (c *Collector) About(subject string) []Event {
	return c.Filter(func(e Event) bool { return e.Subject == subject && e.Stream != bus.DeadLetterStream })
}

// Of returns the events of the given type (full type or topic) about
// subject, in stream order.
func (c *Collector) Of(typ, subject string) []Event {
	topic := ce.Topic(typ)
	return c.Filter(func(e Event) bool {
		return e.Topic() == topic && e.Subject == subject && e.Stream != bus.DeadLetterStream
	})
}

// Topics returns the topics of the events from producer stream about
// subject, in stream order (which, within one producer and subject, is the
// order of the per-subject sequence).
func (c *Collector) Topics(stream, subject string) []string {
	var out []string
	for _, e := range c.Filter(func(e Event) bool { return e.Stream == stream && e.Subject == subject }) {
		out = append(out, e.Topic())
	}
	return out
}

// DeadLetters returns every message of the DEADLETTER stream.
func (c *Collector) DeadLetters() []Event {
	return c.Filter(func(e Event) bool { return e.Stream == bus.DeadLetterStream })
}

// WaitFor waits (up to 20 s) for an event of type typ (full type or topic)
// about subject and returns the first one; on timeout it fails the test
// listing what it did see about subject.
func (c *Collector) WaitFor(t testing.TB, typ, subject string) Event {
	t.Helper()
	topic := ce.Topic(typ)
	return c.WaitMatch(t, topic+" about "+subject, 20*time.Second, func(e Event) bool {
		return e.Topic() == topic && e.Subject == subject && e.Stream != bus.DeadLetterStream
	}, subject)
}

// WaitMatch waits for the first event that matches and returns it; on
// timeout it fails the test naming what, with the events about subject (if
// given) for context.
func (c *Collector) WaitMatch(t testing.TB, what string, timeout time.Duration, match func(Event) bool, subject string) Event {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		c.mu.Lock()
		i := slices.IndexFunc(c.events, match)
		var e Event
		if i >= 0 {
			e = c.events[i]
		}
		added := c.added
		c.mu.Unlock()
		if i >= 0 {
			return e
		}
		select {
		case <-added:
		case <-deadline.C:
			var seen []string
			if subject != "" {
				for _, e := range c.About(subject) {
					seen = append(seen, "  "+e.String())
				}
			}
			for _, e := range c.DeadLetters() {
				seen = append(seen, "  "+e.String())
			}
			t.Fatalf("no %s within %s; seen:\n%s", what, timeout, strings.Join(seen, "\n"))
		}
	}
}

// Settle waits until no new event arrived for quiet (at most max), so that
// "nothing else happened" assertions look at a quiet bus.
func (c *Collector) Settle(quiet, max time.Duration) {
	end := time.Now().Add(max)
	for time.Now().Before(end) {
		c.mu.Lock()
		added := c.added
		c.mu.Unlock()
		select {
		case <-added:
		case <-time.After(quiet):
			return
		}
	}
}

// AssertNoDeadLetters fails the test if the DEADLETTER stream holds any
// message, listing each with its code and reason.
func (s *Stack) AssertNoDeadLetters(t testing.TB) { t.Helper(); s.AssertDeadLetters(t, nil) }

// AssertDeadLetters fails the test unless the DEADLETTER stream holds
// exactly the expected messages: CloudEvent id → dlq-code. It also fails if
// any message on the bus was not a CloudEvent.
func (s *Stack) AssertDeadLetters(t testing.TB, expected map[string]string) {
	t.Helper()
	nc, err := nats.Connect(s.NATSURL)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := js.Stream(ctx, bus.DeadLetterStream)
	if err != nil {
		t.Fatalf("dead-letter stream: %v", err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var problems []string
	seen := map[string]bool{}
	for _, e := range s.Events.DeadLetters() {
		code, ok := expected[e.ID]
		switch {
		case !ok:
			problems = append(problems, "unexpected: "+e.String())
		case e.Header.Get(bus.DLQCode) != code:
			problems = append(problems, "want dlq-code "+code+": "+e.String())
		}
		seen[e.ID] = true
	}
	for id, code := range expected {
		if !seen[id] {
			problems = append(problems, "missing: "+id+" with "+code)
		}
	}
	if int(info.State.Msgs) != len(expected) {
		problems = append(problems, fmt.Sprintf("the stream holds %d messages, want %d", info.State.Msgs, len(expected)))
	}
	if len(problems) > 0 {
		t.Fatalf("dead letters:\n  %s", strings.Join(problems, "\n  "))
	}
	if bad := s.Events.Undecodable(); len(bad) > 0 {
		t.Fatalf("messages on the bus that are not CloudEvents:\n%s", strings.Join(bad, "\n"))
	}
}
