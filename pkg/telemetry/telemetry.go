// Package telemetry gives each service its Prometheus registry (served on
// GET /metrics beside /healthz) and its OpenTelemetry tracer. Traces follow
// one onboarding across services through the CloudEvents traceparent
// extension; they are exported over OTLP/HTTP only when the standard
// OTEL_* environment asks for it, but the W3C trace context is always
// propagated (and started where a request or event has none), so every
// event carries a trace id whether or not this process exports spans.
package telemetry

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

// Namespace prefixes every metric name of the platform.
const Namespace = "partnerhub"

// InstrumentationName names the tracer of the platform's spans.
const InstrumentationName = "github.com/partnerhub/onboarding/pkg/telemetry"

// Config is read from the environment (the OTEL_* names are the
// OpenTelemetry standard ones; the OTLP exporter reads the rest of them,
// e.g. OTEL_EXPORTER_OTLP_HEADERS, itself).
type Config struct {
	// MetricsEnabled serves GET /metrics and records metrics.
	MetricsEnabled bool `env:"METRICS_ENABLED" envDefault:"true"`
	// ServiceName is the service.name of exported spans (default: the
	// service's own name).
	ServiceName string `env:"OTEL_SERVICE_NAME"`
	// TracesExporter is "otlp" or "none"; empty means otlp when an OTLP
	// endpoint is set, else none.
	TracesExporter     string `env:"OTEL_TRACES_EXPORTER"`
	OTLPEndpoint       string `env:"OTEL_EXPORTER_OTLP_ENDPOINT"`
	OTLPTracesEndpoint string `env:"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"`
	OTLPProtocol       string `env:"OTEL_EXPORTER_OTLP_PROTOCOL"`
	SDKDisabled        bool   `env:"OTEL_SDK_DISABLED"`
}

// Validate lists every problem.
func (c Config) Validate() error {
	var errs []error
	switch c.TracesExporter {
	case "", "otlp", "none":
	default:
		errs = append(errs, fmt.Errorf("OTEL_TRACES_EXPORTER must be otlp or none, not %q", c.TracesExporter))
	}
	switch c.OTLPProtocol {
	case "", "http/protobuf":
	default:
		errs = append(errs, fmt.Errorf("OTEL_EXPORTER_OTLP_PROTOCOL: only http/protobuf is supported, not %q", c.OTLPProtocol))
	}
	for name, v := range map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": c.OTLPEndpoint, "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": c.OTLPTracesEndpoint} {
		if v == "" {
			continue
		}
		if u, err := url.Parse(v); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("%s must be an http(s) URL such as http://localhost:4318, not %q", name, v))
		}
	}
	return errors.Join(errs...)
}

// TracesExported reports whether spans are exported over OTLP.
func (c Config) TracesExported() bool {
	if c.SDKDisabled {
		return false
	}
	switch c.TracesExporter {
	case "otlp":
		return true
	case "none":
		return false
	}
	return c.OTLPEndpoint != "" || c.OTLPTracesEndpoint != ""
}

// Option changes what New builds.
type Option func(*options)

type options struct{ tp trace.TracerProvider }

// WithTracerProvider records spans with tp (tests use an in-memory
// recorder) instead of what the configuration says.
func WithTracerProvider(tp trace.TracerProvider) Option {
	return func(o *options) { o.tp = tp }
}

// Telemetry is one service's metrics registry and tracer. The metric sets
// are nil when metrics are off; their methods accept a nil receiver.
type Telemetry struct {
	Service    string
	Registry   *prometheus.Registry
	Propagator propagation.TextMapPropagator
	HTTP       *HTTPMetrics
	Bus        *BusMetrics
	Outbox     *OutboxMetrics

	tp       trace.TracerProvider
	tracer   trace.Tracer
	tracing  bool
	shutdown func(context.Context) error
	once     sync.Once
}

// New builds the telemetry of service. It installs the W3C trace-context
// propagator globally (other libraries extract with it too).
func New(ctx context.Context, service string, cfg Config, opts ...Option) (*Telemetry, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	prop := propagation.TraceContext{}
	otel.SetTextMapPropagator(prop)
	t := &Telemetry{Service: service, Propagator: prop, shutdown: func(context.Context) error { return nil }}
	if cfg.MetricsEnabled {
		reg := prometheus.NewRegistry()
		reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
		t.Registry = reg
		t.HTTP = newHTTPMetrics(reg)
		t.Bus = newBusMetrics(reg)
		t.Outbox = newOutboxMetrics(reg)
	}
	switch {
	case o.tp != nil:
		t.tp, t.tracing = o.tp, true
	case cfg.TracesExported():
		tp, err := newExportingProvider(ctx, service, cfg)
		if err != nil {
			return nil, err
		}
		t.tp, t.tracing, t.shutdown = tp, true, tp.Shutdown
	default:
		// Non-recording spans carry an incoming trace context through the
		// service into the events it writes, or start one.
		t.tp = propagatingProvider{}
	}
	t.tracer = t.tp.Tracer(InstrumentationName)
	return t, nil
}

func newExportingProvider(ctx context.Context, service string, cfg Config) (*sdktrace.TracerProvider, error) {
	var eopts []otlptracehttp.Option
	// The exporter reads the OTEL_EXPORTER_OTLP_* environment itself; a
	// configuration built in code says its endpoint explicitly.
	switch {
	case cfg.OTLPTracesEndpoint != "":
		eopts = append(eopts, otlptracehttp.WithEndpointURL(cfg.OTLPTracesEndpoint))
	case cfg.OTLPEndpoint != "":
		eopts = append(eopts, otlptracehttp.WithEndpointURL(strings.TrimRight(cfg.OTLPEndpoint, "/")+"/v1/traces"))
	}
	exp, err := otlptracehttp.New(ctx, eopts...)
	if err != nil {
		return nil, fmt.Errorf("otlp trace exporter: %w", err)
	}
	name := cfg.ServiceName
	if name == "" {
		name = service
	}
	res, err := resource.New(ctx, resource.WithFromEnv(), resource.WithTelemetrySDK(), resource.WithHost(),
		resource.WithAttributes(semconv.ServiceName(name)))
	if err != nil && res == nil {
		return nil, fmt.Errorf("trace resource: %w", err)
	}
	// The sampler comes from OTEL_TRACES_SAMPLER (default: parent-based,
	// always on) and the batch limits from OTEL_BSP_*.
	return sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res)), nil
}

// Tracer is the service's tracer (non-recording when traces are off).
func (t *Telemetry) Tracer() trace.Tracer { return t.tracer }

// TracerProvider is the service's tracer provider.
func (t *Telemetry) TracerProvider() trace.TracerProvider { return t.tp }

// Tracing reports whether spans are recorded (exported or recorded by an
// injected provider); without it, only the incoming context propagates.
func (t *Telemetry) Tracing() bool { return t.tracing }

// MetricsHandler serves the registry in the Prometheus text format; nil
// when metrics are off.
func (t *Telemetry) MetricsHandler() http.Handler {
	if t.Registry == nil {
		return nil
	}
	return promhttp.HandlerFor(t.Registry, promhttp.HandlerOpts{
		Registry:            t.Registry,
		ErrorHandling:       promhttp.ContinueOnError,
		MaxRequestsInFlight: 4,
	})
}

// Shutdown flushes and stops span export (once; later calls do nothing).
func (t *Telemetry) Shutdown(ctx context.Context) error {
	var err error
	t.once.Do(func() { err = t.shutdown(ctx) })
	return err
}
