package outbox

import (
	"context"

	"github.com/ThreeDotsLabs/watermill/message"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/partnerhub/onboarding/pkg/ce"
	"github.com/partnerhub/onboarding/pkg/telemetry"
)

// Instrument wraps the relay's publisher: it counts published events by
// type and failed attempts, and, when spans are recorded, adds one producer
// span per event linked to the trace the event carries (the relay publishes
// after the request or handler that wrote the event has ended, so a link,
// not a parent). A nil t returns out unchanged.
func Instrument(out message.Publisher, t *telemetry.Telemetry) message.Publisher {
	if t == nil {
		return out
	}
	return &instrumented{Publisher: out, t: t}
}

type instrumented struct {
	message.Publisher
	t *telemetry.Telemetry
}

func (p *instrumented) Publish(topic string, msgs ...*message.Message) error {
	var spans []trace.Span
	if p.t.Tracing() {
		spans = make([]trace.Span, len(msgs))
		for i, m := range msgs {
			opts := []trace.SpanStartOption{
				trace.WithSpanKind(trace.SpanKindProducer),
				trace.WithAttributes(
					attribute.String("messaging.system", "nats"),
					attribute.String("messaging.operation.type", "send"),
					attribute.String("messaging.destination.name", topic),
					attribute.String("messaging.message.id", m.UUID),
					attribute.String("cloudevents.event_id", m.Metadata.Get(ce.HID)),
					attribute.String("cloudevents.event_type", m.Metadata.Get(ce.HType)),
					attribute.String("cloudevents.event_subject", m.Metadata.Get(ce.HSubject)),
				),
			}
			linked := telemetry.WithTraceParent(context.Background(), p.t.Propagator, m.Metadata.Get(ce.HTraceParent))
			if sc := trace.SpanContextFromContext(linked); sc.IsValid() {
				opts = append(opts, trace.WithLinks(trace.Link{SpanContext: sc}))
			}
			_, spans[i] = p.t.Tracer().Start(context.Background(), topic+" publish", opts...)
		}
	}
	err := p.Publisher.Publish(topic, msgs...)
	for _, s := range spans {
		if err != nil {
			s.RecordError(err)
			s.SetStatus(codes.Error, "publish failed")
		}
		s.End()
	}
	if err != nil {
		p.t.Outbox.PublishFailed()
		return err
	}
	for _, m := range msgs {
		p.t.Outbox.Published(m.Metadata.Get(ce.HType))
	}
	return nil
}
