package bus

import (
	"context"
	"testing"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/partnerhub/onboarding/pkg/ce"
	"github.com/partnerhub/onboarding/pkg/telemetry"
)

// BenchmarkObserve measures what the observing middleware adds to one
// delivery (export off, the default): the consumer span carrying the
// event's trace context and the pre-built counters.
func BenchmarkObserve(b *testing.B) {
	const typ = "com.partnerhub.registration.test.happened.v1"
	tel, err := telemetry.New(context.Background(), "bench", telemetry.Config{MetricsEnabled: true})
	if err != nil {
		b.Fatal(err)
	}
	filter := ce.Topic(typ)
	r := &Router{service: "bench", subs: map[string]map[string]HandlerFunc{filter: {typ: nil}}, order: []string{filter}}
	r.Instrument(tel)
	r.prepareObs()
	// watermill's handler-name context key is unexported: the bench's
	// messages carry none, so file the subscription under "".
	r.obs.subs[""] = r.obs.subs[DurableName("bench", filter)]
	noop := func(*message.Message) ([]*message.Message, error) { return nil, nil }
	for _, c := range []struct {
		name string
		h    message.HandlerFunc
	}{{"bare", noop}, {"observed", r.observe(noop)}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				msg := message.NewMessage("id", nil)
				msg.Metadata.Set(ce.HType, typ)
				msg.Metadata.Set(ce.HTraceParent, "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
				msg.Metadata.Set(mdDelivered, "1")
				_, _ = c.h(msg)
			}
		})
	}
}
