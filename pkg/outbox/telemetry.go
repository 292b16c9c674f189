package outbox

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/partnerhub/onboarding/pkg/ce"
	"github.com/partnerhub/onboarding/pkg/telemetry"
)

// publishSpan starts the producer span of one relayed event, linked to the
// trace the event carries (the relay publishes after the request or handler
// that wrote the event has ended, so a link, not a parent), and returns
// the function that ends it with the publish outcome.
func publishSpan(t *telemetry.Telemetry, subject, eventID string, h map[string]string) func(error) {
	opts := []trace.SpanStartOption{
		trace.WithSpanKind(trace.SpanKindProducer),
		trace.WithAttributes(
			attribute.String("messaging.system", "nats"),
			attribute.String("messaging.operation.type", "send"),
			attribute.String("messaging.destination.name", subject),
			attribute.String("messaging.message.id", eventID),
			attribute.String("cloudevents.event_id", h[ce.HID]),
			attribute.String("cloudevents.event_type", h[ce.HType]),
			attribute.String("cloudevents.event_subject", h[ce.HSubject]),
		),
	}
	linked := telemetry.WithTraceParent(context.Background(), t.Propagator, h[ce.HTraceParent])
	if sc := trace.SpanContextFromContext(linked); sc.IsValid() {
		opts = append(opts, trace.WithLinks(trace.Link{SpanContext: sc}))
	}
	_, span := t.Tracer().Start(context.Background(), subject+" publish", opts...)
	return func(err error) {
		if err != nil {
			span.RecordError(err)
			span.SetStatus(codes.Error, "publish failed")
		}
		span.End()
	}
}
