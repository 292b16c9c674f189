package bus

import (
	"context"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/partnerhub/onboarding/pkg/ce"
	"github.com/partnerhub/onboarding/pkg/telemetry"
)

// routerObs is what the router records of each delivery.
type routerObs struct {
	t    *telemetry.Telemetry
	subs map[string]*subObs // by handler (durable) name
}

type subObs struct {
	metrics  *telemetry.SubscriptionMetrics
	spanName string
}

// Instrument makes the router record metrics (consumed events by handler,
// type and outcome; handling time; redeliveries; dead letters by code) and
// a consumer span per delivery, child of the event's traceparent, which
// the handler's context carries on to the events it writes. Call before Run.
func (r *Router) Instrument(t *telemetry.Telemetry) { r.obs.t = t }

// prepareObs builds every series and span name once, before consuming.
func (r *Router) prepareObs() {
	if r.obs.t == nil {
		return
	}
	r.obs.subs = make(map[string]*subObs, len(r.order))
	for _, filter := range r.order {
		name := DurableName(r.service, filter)
		types := make([]string, 0, len(r.subs[filter]))
		for t := range r.subs[filter] {
			types = append(types, t)
		}
		r.obs.subs[name] = &subObs{metrics: r.obs.t.Bus.Subscription(name, types), spanName: name + " process"}
	}
}

// delivery is what the inner middlewares report to observe.
type delivery struct {
	deadLetterCode string
	deadLetterErr  error
}

type deliveryKey struct{}

// markDeadLettered tells observe that the delivery in ctx was
// dead-lettered (and acknowledged) with code.
func markDeadLettered(ctx context.Context, code string, err error) {
	if d, ok := ctx.Value(deliveryKey{}).(*delivery); ok {
		d.deadLetterCode, d.deadLetterErr = code, err
	}
}

// observe is the outermost middleware: it starts the consumer span from
// the event's traceparent and records the outcome of the delivery.
func (r *Router) observe(h message.HandlerFunc) message.HandlerFunc {
	t := r.obs.t
	if t == nil {
		return h
	}
	return func(msg *message.Message) ([]*message.Message, error) {
		start := time.Now()
		ctx := msg.Context()
		so := r.obs.subs[message.HandlerNameFromCtx(ctx)]
		if so == nil {
			so = &subObs{spanName: message.HandlerNameFromCtx(ctx) + " process"}
		}
		typ := msg.Metadata.Get(ce.HType)
		ctx = telemetry.WithTraceParent(ctx, t.Propagator, msg.Metadata.Get(ce.HTraceParent))
		opts := []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindConsumer)}
		if t.Tracing() {
			opts = append(opts, trace.WithAttributes(
				attribute.String("messaging.system", "nats"),
				attribute.String("messaging.operation.type", "process"),
				attribute.String("messaging.destination.name", msg.Metadata.Get(mdSubject)),
				attribute.String("messaging.consumer.group.name", message.HandlerNameFromCtx(ctx)),
				attribute.String("messaging.message.id", msg.UUID),
				attribute.String("cloudevents.event_id", msg.Metadata.Get(ce.HID)),
				attribute.String("cloudevents.event_type", typ),
				attribute.String("cloudevents.event_subject", msg.Metadata.Get(ce.HSubject)),
				attribute.String("cloudevents.event_source", msg.Metadata.Get(ce.HSource)),
				attribute.String("messaging.nats.delivered", msg.Metadata.Get(mdDelivered)),
			))
		}
		ctx, span := t.Tracer().Start(ctx, so.spanName, opts...)
		d := &delivery{}
		msg.SetContext(context.WithValue(ctx, deliveryKey{}, d))

		out, err := h(msg)

		if tm := so.metrics.For(typ); tm != nil {
			tm.Duration.Observe(time.Since(start).Seconds())
			if n := msg.Metadata.Get(mdDelivered); n != "" && n != "1" {
				tm.Redelivered.Inc()
			}
			switch {
			case err != nil:
				tm.Retry.Inc()
			case d.deadLetterCode != "":
				tm.DeadLetter.Inc()
				so.metrics.DeadLettered(d.deadLetterCode)
			default:
				tm.Ack.Inc()
			}
		}
		if span.IsRecording() {
			switch {
			case err != nil:
				span.RecordError(err)
				span.SetStatus(codes.Error, "will be redelivered")
			case d.deadLetterCode != "":
				span.RecordError(d.deadLetterErr)
				span.SetAttributes(attribute.String("dlq.code", d.deadLetterCode))
				span.SetStatus(codes.Error, "dead-lettered")
			}
		}
		span.End()
		return out, err
	}
}
