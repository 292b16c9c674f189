package bench

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/partnerhub/onboarding/pkg/bus"
	"github.com/partnerhub/onboarding/pkg/ce"
)

// Diagnose describes, for a stalled onboarding, what the streams stored
// about its partner: every event whose partition key is the partner, in
// the order each stream stored them, with the producer's ce-time, and
// every dead letter of it with its code and reason. A stall says which
// event the driver did not see; this says where the chain stopped — which
// service published last, which consumer gave up — so that a stall seen
// once in many runs can be understood from the run that had it.
func Diagnose(ctx context.Context, natsURL, partner string) string {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	nc, err := nats.Connect(natsURL, nats.Name("bench-diagnose"))
	if err != nil {
		return fmt.Sprintf("diagnosis: connect: %v", err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return fmt.Sprintf("diagnosis: %v", err)
	}
	type stored struct {
		stream string
		seq    uint64
		at     time.Time
		line   string
	}
	var found []stored
	var problems []string
	names := js.StreamNames(ctx)
	for name := range names.Name() {
		cons, err := js.OrderedConsumer(ctx, name, jetstream.OrderedConsumerConfig{InactiveThreshold: 5 * time.Second})
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s: %v", name, err))
			continue
		}
		for left := cons.CachedInfo().NumPending; left > 0; {
			batch, err := cons.Fetch(int(min(left, 1000)), jetstream.FetchMaxWait(5*time.Second))
			if err != nil {
				problems = append(problems, fmt.Sprintf("%s: %v", name, err))
				break
			}
			n := 0
			for m := range batch.Messages() {
				n++
				h := m.Headers()
				if h.Get(ce.HPartitionKey) != partner && h.Get(ce.HSubject) != partner {
					continue
				}
				meta, _ := m.Metadata()
				at, _ := time.Parse(time.RFC3339Nano, h.Get(ce.HTime))
				line := fmt.Sprintf("%-13s %-42s %s", h.Get(ce.HSource), strings.TrimPrefix(h.Get(ce.HType), "com.partnerhub."), h.Get(ce.HID))
				if code := h.Get(bus.DLQCode); code != "" {
					line = fmt.Sprintf("DEAD LETTER by %s (%s, delivered %s): %s: %s", h.Get(bus.DLQHandler), h.Get(bus.DLQCode),
						h.Get(bus.DLQDelivered), line, h.Get(bus.DLQReason))
				}
				s := stored{stream: name, at: at, line: line}
				if meta != nil {
					s.seq = meta.Sequence.Stream
				}
				found = append(found, s)
			}
			if err := batch.Error(); err != nil && n == 0 {
				problems = append(problems, fmt.Sprintf("%s: %v", name, err))
				break
			}
			if n == 0 {
				break
			}
			left -= uint64(n)
		}
	}
	if err := names.Err(); err != nil {
		problems = append(problems, fmt.Sprintf("stream names: %v", err))
	}
	sort.SliceStable(found, func(i, j int) bool { return found[i].at.Before(found[j].at) })
	var b strings.Builder
	fmt.Fprintf(&b, "--- what the streams stored about %s (%d messages, by ce-time)\n", partner, len(found))
	for _, s := range found {
		fmt.Fprintf(&b, "  %s  %-14s #%-6d %s\n", s.at.UTC().Format("15:04:05.000"), s.stream, s.seq, s.line)
	}
	for _, p := range problems {
		fmt.Fprintf(&b, "  (could not read %s)\n", p)
	}
	return b.String()
}
