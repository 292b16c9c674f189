package telemetry

import (
	"context"
	"encoding/hex"

	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
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
