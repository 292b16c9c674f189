package bus

import (
	"context"
	"strconv"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/partnerhub/onboarding/pkg/ce"
	"github.com/partnerhub/onboarding/pkg/telemetry"
)

// routerObs is what the router records of each delivery.
type routerObs struct {
	t    *telemetry.Telemetry
	subs map[string]*subObs // by durable name
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

// recreated counts a lost durable created again.
func (o *routerObs) recreated() {
	if o.t != nil {
		o.t.Bus.DurableRecreated()
	}
}

// floorsRecorded counts n ack floors copied to the database.
func (o *routerObs) floorsRecorded(n int) {
	if o.t != nil {
		o.t.Bus.FloorsRecorded(n)
	}
}

// prepareObs builds every series and span name once, before consuming.
func (r *Router) prepareObs() {
	if r.obs.t == nil {
		return
	}
	r.obs.subs = make(map[string]*subObs, len(r.order))
	for _, f := range r.order {
		fs := r.subs[f]
		types := make([]string, 0, len(fs.byType))
		for t := range fs.byType {
			types = append(types, t)
		}
		r.obs.subs[fs.durable] = &subObs{metrics: r.obs.t.Bus.Subscription(fs.durable, types), spanName: fs.durable + " process"}
	}
}

type outcome int

const (
	outcomeAck outcome = iota
	outcomeRetry
	outcomeDeadLetter
)

// deliveryObs records one delivery: its span and its outcome.
type deliveryObs struct {
	start time.Time
	so    *subObs
	typ   string
	d     *delivery
	span  trace.Span
}

// observeStart starts the consumer span of d from the event's traceparent.
func (r *Router) observeStart(fs *subscription, d *delivery) *deliveryObs {
	o := &deliveryObs{start: time.Now(), typ: d.headers[ce.HType], d: d}
	t := r.obs.t
	if t == nil {
		return o
	}
	o.so = r.obs.subs[fs.durable]
	ctx := telemetry.WithTraceParent(context.Background(), t.Propagator, d.headers[ce.HTraceParent])
	opts := []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindConsumer)}
	if t.Tracing() {
		opts = append(opts, trace.WithAttributes(
			attribute.String("messaging.system", "nats"),
			attribute.String("messaging.operation.type", "process"),
			attribute.String("messaging.destination.name", d.msg.Subject()),
			attribute.String("messaging.consumer.group.name", fs.durable),
			attribute.String("messaging.message.id", d.headers[ce.HID]),
			attribute.String("cloudevents.event_id", d.headers[ce.HID]),
			attribute.String("cloudevents.event_type", o.typ),
			attribute.String("cloudevents.event_subject", d.headers[ce.HSubject]),
			attribute.String("cloudevents.event_source", d.headers[ce.HSource]),
			attribute.String("messaging.nats.delivered", strconv.FormatUint(d.delivered, 10)),
		))
	}
	spanName := fs.durable + " process"
	if o.so != nil {
		spanName = o.so.spanName
	}
	_, o.span = t.Tracer().Start(ctx, spanName, opts...)
	return o
}

// ctx is the handler's context: the delivery's span over ctx's values.
func (o *deliveryObs) ctx(ctx context.Context) context.Context {
	if o.span == nil {
		return ctx
	}
	return trace.ContextWithSpan(ctx, o.span)
}

// end records the outcome and ends the span.
func (o *deliveryObs) end(out outcome, code string, err error) {
	if o.so != nil {
		if tm := o.so.metrics.For(o.typ); tm != nil {
			tm.Duration.Observe(time.Since(o.start).Seconds())
			if o.d.delivered > 1 {
				tm.Redelivered.Inc()
			}
			switch out {
			case outcomeRetry:
				tm.Retry.Inc()
			case outcomeDeadLetter:
				tm.DeadLetter.Inc()
				o.so.metrics.DeadLettered(code)
			default:
				tm.Ack.Inc()
			}
		}
	}
	if o.span == nil {
		return
	}
	if o.span.IsRecording() {
		switch out {
		case outcomeRetry:
			o.span.RecordError(err)
			o.span.SetStatus(codes.Error, "will be redelivered")
		case outcomeDeadLetter:
			o.span.RecordError(err)
			o.span.SetAttributes(attribute.String("dlq.code", code))
			o.span.SetStatus(codes.Error, "dead-lettered")
		}
	}
	o.span.End()
}
