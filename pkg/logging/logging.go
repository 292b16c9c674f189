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
	"slices"
	"strconv"
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
	return slog.New(ctxHandler{Handler: h}).With("service", service)
}

// ctxHandler adds the context's ids to every record and keeps each member
// name once per JSON object (I-JSON, RFC 7493): a record's attribute named
// like one its logger already carries (With, e.g. "service") or like an
// earlier one of the record is written as <name>_2, <name>_3…, and a
// context id the record or the logger names already is not added again.
type ctxHandler struct {
	slog.Handler
	// keys are the member names the logger's attributes (With) hold in the
	// innermost group (the top level when none).
	keys []string
}

func (h ctxHandler) Handle(ctx context.Context, r slog.Record) error {
	out := slog.NewRecord(r.Time, r.Level, r.Message, r.PC)
	seen := make(map[string]bool, len(h.keys)+r.NumAttrs()+6)
	for _, k := range h.keys {
		seen[k] = true
	}
	r.Attrs(func(a slog.Attr) bool {
		a.Key = unique(seen, a.Key)
		out.AddAttrs(a)
		return true
	})
	add := func(key, value string) {
		if value != "" && !seen[key] {
			seen[key] = true
			out.AddAttrs(slog.String(key, value))
		}
	}
	if c := ce.CauseFrom(ctx); c.CorrelationID != "" {
		add("correlation_id", c.CorrelationID)
		add("causation_id", c.CausationID)
	}
	if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
		add("trace_id", sc.TraceID().String())
	}
	p, _ := auth.FromContext(ctx)
	// The request id is the HTTP layer's from the start of a request (before
	// any principal exists, so that a refused or failed request carries it
	// too), else the principal's; a record that names it already keeps its own.
	add("request_id", cmp.Or(httpx.RequestID(ctx), p.RequestID))
	add("actor", p.Subject)
	return h.Handler.Handle(ctx, out)
}

// unique is key, or key_2, key_3… when seen holds it; it marks the name
// it returns as seen.
func unique(seen map[string]bool, key string) string {
	name := key
	for n := 2; seen[name]; n++ {
		name = key + "_" + strconv.Itoa(n)
	}
	seen[name] = true
	return name
}

func (h ctxHandler) WithAttrs(as []slog.Attr) slog.Handler {
	keys := slices.Clone(h.keys)
	seen := make(map[string]bool, len(keys)+len(as))
	for _, k := range keys {
		seen[k] = true
	}
	renamed := make([]slog.Attr, len(as))
	for i, a := range as {
		a.Key = unique(seen, a.Key)
		keys = append(keys, a.Key)
		renamed[i] = a
	}
	return ctxHandler{h.Handler.WithAttrs(renamed), keys}
}

// WithGroup opens a group: the names after it are its members, apart from
// those before it.
func (h ctxHandler) WithGroup(n string) slog.Handler {
	if n == "" {
		return h
	}
	return ctxHandler{h.Handler.WithGroup(n), nil}
}
