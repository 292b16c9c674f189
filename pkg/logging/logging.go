// Package logging builds the JSON slog logger of every service; records
// made with a context carry its correlation, causation and request ids and
// the trace id of its span.
package logging

import (
	"cmp"
	"context"
	"io"
	"log/slog"
	"os"
	"strings"

	"go.opentelemetry.io/otel/trace"

	"github.com/partnerhub/onboarding/pkg/auth"
	"github.com/partnerhub/onboarding/pkg/ce"
	"github.com/partnerhub/onboarding/pkg/httpx"
)

// New returns a JSON logger for service at level ("debug", "info", "warn", "error").
func New(service, level string) *slog.Logger { return NewTo(os.Stdout, service, level) }

// NewTo is New writing to w.
func NewTo(w io.Writer, service, level string) *slog.Logger {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(strings.ToUpper(level))); err != nil {
		lvl = slog.LevelInfo
	}
	h := slog.NewJSONHandler(w, &slog.HandlerOptions{Level: lvl})
	return slog.New(ctxHandler{h}).With("service", service)
}

type ctxHandler struct{ slog.Handler }

func (h ctxHandler) Handle(ctx context.Context, r slog.Record) error {
	if c := ce.CauseFrom(ctx); c.CorrelationID != "" {
		r.AddAttrs(slog.String("correlation_id", c.CorrelationID))
		if c.CausationID != "" {
			r.AddAttrs(slog.String("causation_id", c.CausationID))
		}
	}
	if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
		r.AddAttrs(slog.String("trace_id", sc.TraceID().String()))
	}
	p, _ := auth.FromContext(ctx)
	// The request id is the HTTP layer's from the start of a request (before
	// any principal exists, so that a refused or failed request carries it
	// too), else the principal's; a record that names it already keeps its own.
	if id := cmp.Or(httpx.RequestID(ctx), p.RequestID); id != "" && !hasAttr(r, "request_id") {
		r.AddAttrs(slog.String("request_id", id))
	}
	if p.Subject != "" {
		r.AddAttrs(slog.String("actor", p.Subject))
	}
	return h.Handler.Handle(ctx, r)
}

func (h ctxHandler) WithAttrs(a []slog.Attr) slog.Handler { return ctxHandler{h.Handler.WithAttrs(a)} }
func (h ctxHandler) WithGroup(n string) slog.Handler      { return ctxHandler{h.Handler.WithGroup(n)} }

func hasAttr(r slog.Record, key string) bool {
	found := false
	r.Attrs(func(a slog.Attr) bool {
		found = a.Key == key
		return !found
	})
	return found
}
