package telemetry

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"math/rand/v2"

	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/embedded"
	"go.opentelemetry.io/otel/trace/noop"
)

// TraceParent is the W3C traceparent of the span active in ctx
// ("00-<trace id>-<span id>-<flags>"), or "" when ctx has none. The
// outbox writes it as the CloudEvents traceparent extension.
func TraceParent(ctx context.Context) string {
	sc := trace.SpanContextFromContext(ctx)
	if !sc.IsValid() {
		return ""
	}
	var b [55]byte
	b[0], b[1], b[2] = '0', '0', '-'
	tid, sid := sc.TraceID(), sc.SpanID()
	hex.Encode(b[3:35], tid[:])
	b[35] = '-'
	hex.Encode(b[36:52], sid[:])
	b[52] = '-'
	flags := [1]byte{byte(sc.TraceFlags())}
	hex.Encode(b[53:55], flags[:])
	return string(b[:])
}

// WithTraceParent returns ctx carrying the remote span context of a W3C
// traceparent (ctx unchanged when traceparent is empty or malformed).
func WithTraceParent(ctx context.Context, prop propagation.TextMapPropagator, traceparent string) context.Context {
	if traceparent == "" {
		return ctx
	}
	return prop.Extract(ctx, traceParentCarrier(traceparent))
}

// traceParentCarrier is a read-only carrier of one traceparent value.
type traceParentCarrier string

func (c traceParentCarrier) Get(key string) string {
	if key == "traceparent" {
		return string(c)
	}
	return ""
}
func (traceParentCarrier) Set(string, string) {}
func (traceParentCarrier) Keys() []string     { return []string{"traceparent"} }

// propagatingProvider is the tracer provider when spans are not recorded
// (export off, the default): like OpenTelemetry's no-op provider it hands
// an incoming span context on unchanged, so a hop that exports nothing is
// transparent to the services around it that do; unlike it, it starts a
// trace where there is none (a request or event without traceparent), so
// that every request's events carry a trace context whether or not any
// process exports spans. Its spans record nothing.
type propagatingProvider struct{ embedded.TracerProvider }

func (propagatingProvider) Tracer(string, ...trace.TracerOption) trace.Tracer {
	return propagatingTracer{}
}

type propagatingTracer struct{ embedded.Tracer }

func (propagatingTracer) Start(ctx context.Context, name string, opts ...trace.SpanStartOption) (context.Context, trace.Span) {
	cfg := trace.NewSpanStartConfig(opts...)
	if cfg.NewRoot() || !trace.SpanContextFromContext(ctx).IsValid() {
		ctx = trace.ContextWithRemoteSpanContext(ctx, NewRootSpanContext())
	}
	return noop.Tracer{}.Start(ctx, name, opts...)
}

// NewRootSpanContext is a fresh trace: random trace and span ids, sampled
// (what the default parent-based always-on sampler decides for a root).
func NewRootSpanContext() trace.SpanContext {
	var tid trace.TraceID
	var sid trace.SpanID
	binary.BigEndian.PutUint64(tid[:8], rand.Uint64())
	binary.BigEndian.PutUint64(tid[8:], rand.Uint64())
	for !sid.IsValid() {
		binary.BigEndian.PutUint64(sid[:], rand.Uint64())
	}
	if !tid.IsValid() {
		tid[15] = 1
	}
	return trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid, TraceFlags: trace.FlagsSampled})
}

// SpanContextOf parses a W3C traceparent (invalid when it is not one).
func SpanContextOf(traceparent string) trace.SpanContext {
	return trace.SpanContextFromContext(WithTraceParent(context.Background(), propagation.TraceContext{}, traceparent))
}
