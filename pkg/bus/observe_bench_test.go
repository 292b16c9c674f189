package bus

import (
	"context"
	"testing"

	"github.com/partnerhub/onboarding/pkg/ce"
	"github.com/partnerhub/onboarding/pkg/telemetry"
)

// BenchmarkObserve measures what observing adds to one delivery (export
// off, the default): the consumer span carrying the event's trace context
// and the pre-built counters.
func BenchmarkObserve(b *testing.B) {
	const typ = "com.partnerhub.registration.test.happened.v1"
	tel, err := telemetry.New(context.Background(), "bench", telemetry.Config{MetricsEnabled: true})
	if err != nil {
		b.Fatal(err)
	}
	r := &Router{service: "bench", subs: map[string]*subscription{}}
	r.Add(Subscription{Type: typ})
	r.Instrument(tel)
	r.prepareObs()
	fs := r.subs[ce.Topic(typ)]
	headers := map[string]string{ce.HType: typ, ce.HTraceParent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}
	b.ReportAllocs()
	for b.Loop() {
		d := &delivery{headers: headers, delivered: 1, msg: nil}
		o := r.observeStart(fs, d)
		_ = o.ctx(context.Background())
		o.end(outcomeAck, "", nil)
	}
}
