package bench

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/partnerhub/onboarding/pkg/ce"
)

// A diagnostic (BENCH_TRACE=n): every event the stack publishes is kept
// per partner with its ce-time (stamped by the service that wrote it, in the
// writing transaction) and its arrival on the bus, and the n slowest
// onboardings of each load point are printed as timelines. The gap from an
// event's ce-time to its arrival is its relay's; the gap from the arrival
// of what caused it to its ce-time is the consumer's.

// traced is one event about a partner.
type traced struct {
	Topic  string
	Source string
	Time   time.Time // ce-time
	At     time.Time // arrival at the observer
}

// traceSubjects are the producers' streams (not intake, not dead letters).
var traceSubjects = []string{"registration.>", "email.>", "notifier.>", "verification.>", "agreements.>", "relationships.>", "timeline.>"}

// Trace subscribes to every producer's events on nc and keeps them per
// partner (ce-partitionkey). Unsubscribe by closing nc.
func (b *Board) Trace(nc *nats.Conn) error {
	b.mu.Lock()
	if b.trace == nil {
		b.trace = map[string][]traced{}
	}
	b.mu.Unlock()
	for _, subj := range traceSubjects {
		sub, err := nc.Subscribe(subj, func(m *nats.Msg) {
			at := time.Now()
			key := m.Header.Get(ce.HPartitionKey)
			if key == "" {
				return
			}
			t, _ := time.Parse(time.RFC3339Nano, m.Header.Get(ce.HTime))
			ev := traced{Topic: topicOf(m.Subject), Source: m.Header.Get(ce.HSource), Time: t, At: at}
			b.mu.Lock()
			b.trace[key] = append(b.trace[key], ev)
			b.mu.Unlock()
		})
		if err != nil {
			return fmt.Errorf("subscribe %s: %w", subj, err)
		}
		if err := sub.SetPendingLimits(-1, -1); err != nil {
			return err
		}
	}
	return nc.Flush()
}

// Timelines returns the n slowest onboardings (submit → active) of os as
// text: the driver's steps and every event about the partner, in ms from
// submit, each event with its relay lag (arrival − ce-time).
func (b *Board) Timelines(os []Onboarding, n int) string {
	slow := append([]Onboarding(nil), os...)
	sort.Slice(slow, func(i, j int) bool {
		return slow[i].ActiveAt.Sub(slow[i].Submit) > slow[j].ActiveAt.Sub(slow[j].Submit)
	})
	if len(slow) > n {
		slow = slow[:n]
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	var sb strings.Builder
	for _, o := range slow {
		fmt.Fprintf(&sb, "onboarding #%d partner %s: submit → active %d ms (pending acceptance: %v)\n", o.Index, o.PartnerID,
			o.ActiveAt.Sub(o.Submit).Milliseconds(), o.Pending202)
		type line struct {
			at   time.Time
			text string
		}
		rel := func(t time.Time) int64 { return t.Sub(o.Submit).Milliseconds() }
		var lines []line
		for _, s := range []struct {
			name string
			at   time.Time
		}{{"driver: 201 registered", o.Registered}, {"driver: first mail at sink", o.Mail1At}, {"driver: last mail at sink", o.Mail2At},
			{"driver: links followed", o.Clicked}, {"driver: decision 201", o.Decided}, {"driver: acceptance answered", o.Accepted}} {
			if !s.at.IsZero() {
				lines = append(lines, line{s.at, fmt.Sprintf("  %6d            %s", rel(s.at), s.name)})
			}
		}
		for _, e := range b.trace[o.PartnerID] {
			lines = append(lines, line{e.At, fmt.Sprintf("  %6d  (t %6d, relay %4d)  %s", rel(e.At), rel(e.Time), e.At.Sub(e.Time).Milliseconds(), e.Topic)})
		}
		sort.SliceStable(lines, func(i, j int) bool { return lines[i].at.Before(lines[j].at) })
		for _, l := range lines {
			sb.WriteString(l.text + "\n")
		}
	}
	return sb.String()
}
