package telemetry_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.opentelemetry.io/otel/trace"

	"github.com/partnerhub/onboarding/pkg/config"
	"github.com/partnerhub/onboarding/pkg/telemetry"
)

func TestTraceParentRoundTrip(t *testing.T) {
	tel, err := telemetry.New(context.Background(), "registration", telemetry.Config{})
	if err != nil {
		t.Fatal(err)
	}
	const in = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	ctx := telemetry.WithTraceParent(context.Background(), tel.Propagator, in)
	// A non-recording span (export off) keeps the caller's context.
	ctx, span := tel.Tracer().Start(ctx, "op")
	defer span.End()
	if got := telemetry.TraceParent(ctx); got != in {
		t.Fatalf("TraceParent = %q, want %q", got, in)
	}
	if got := telemetry.TraceParent(context.Background()); got != "" {
		t.Fatalf("TraceParent without a span = %q, want empty", got)
	}
	if got := telemetry.TraceParent(telemetry.WithTraceParent(context.Background(), tel.Propagator, "00-garbage")); got != "" {
		t.Fatalf("malformed traceparent accepted: %q", got)
	}
	if tel.Tracing() {
		t.Fatal("spans recorded although no exporter is configured")
	}
}

// TestTraceStartedWithoutExport: with export off, a request or event that
// brings no trace context starts one, so its events carry a traceparent;
// a span under it continues that trace.
func TestTraceStartedWithoutExport(t *testing.T) {
	tel, err := telemetry.New(context.Background(), "registration", telemetry.Config{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, span := tel.Tracer().Start(context.Background(), "POST")
	defer span.End()
	root := telemetry.TraceParent(ctx)
	sc := telemetry.SpanContextOf(root)
	if !sc.IsValid() || !sc.IsSampled() || span.IsRecording() {
		t.Fatalf("root traceparent %q (valid %v sampled %v), recording %v", root, sc.IsValid(), sc.IsSampled(), span.IsRecording())
	}
	_, other := tel.Tracer().Start(context.Background(), "POST")
	if other.SpanContext().TraceID() == sc.TraceID() {
		t.Fatal("two requests share a trace id")
	}
	child, _ := tel.Tracer().Start(ctx, "handler")
	if got := telemetry.SpanContextOf(telemetry.TraceParent(child)); got.TraceID() != sc.TraceID() {
		t.Fatalf("child trace %s, want %s", got.TraceID(), sc.TraceID())
	}
	fresh, _ := tel.Tracer().Start(ctx, "new root", trace.WithNewRoot())
	if telemetry.SpanContextOf(telemetry.TraceParent(fresh)).TraceID() == sc.TraceID() {
		t.Fatal("WithNewRoot kept the parent's trace")
	}
}

func TestConfig(t *testing.T) {
	cases := []struct {
		cfg      telemetry.Config
		exported bool
		valid    bool
	}{
		{telemetry.Config{}, false, true},
		{telemetry.Config{OTLPEndpoint: "http://localhost:4318"}, true, true},
		{telemetry.Config{OTLPTracesEndpoint: "https://collector:4318/v1/traces"}, true, true},
		{telemetry.Config{TracesExporter: "otlp"}, true, true},
		{telemetry.Config{TracesExporter: "none", OTLPEndpoint: "http://localhost:4318"}, false, true},
		{telemetry.Config{SDKDisabled: true, OTLPEndpoint: "http://localhost:4318"}, false, true},
		{telemetry.Config{TracesExporter: "jaeger"}, false, false},
		{telemetry.Config{OTLPEndpoint: "localhost:4318"}, true, false},
		{telemetry.Config{OTLPProtocol: "grpc"}, false, false},
	}
	for _, c := range cases {
		if got := c.cfg.TracesExported(); got != c.exported {
			t.Errorf("%+v: TracesExported = %v, want %v", c.cfg, got, c.exported)
		}
		if err := c.cfg.Validate(); (err == nil) != c.valid {
			t.Errorf("%+v: Validate = %v, want valid=%v", c.cfg, err, c.valid)
		}
	}
}

func TestConfigFromEnvironment(t *testing.T) {
	var cfg telemetry.Config
	if err := config.Load(&cfg); err != nil {
		t.Fatal(err)
	}
	if !cfg.MetricsEnabled || cfg.TracesExported() {
		t.Fatalf("defaults: metrics %v, traces %v; want metrics on, traces off", cfg.MetricsEnabled, cfg.TracesExported())
	}
	t.Setenv("METRICS_ENABLED", "false")
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://localhost:4318")
	t.Setenv("OTEL_SERVICE_NAME", "reg-eu")
	cfg = telemetry.Config{}
	if err := config.Load(&cfg); err != nil {
		t.Fatal(err)
	}
	if cfg.MetricsEnabled || !cfg.TracesExported() || cfg.ServiceName != "reg-eu" {
		t.Fatalf("from env: %+v", cfg)
	}
}

func TestRouteAndMethodLabels(t *testing.T) {
	for in, want := range map[string]string{
		"GET /v1/partners/{id}": "/v1/partners/{id}",
		"/":                     "/",
		"":                      telemetry.UnmatchedRoute,
		"POST  /v1/x":           "/v1/x",
	} {
		if got := telemetry.Route(in); got != want {
			t.Errorf("Route(%q) = %q, want %q", in, got, want)
		}
	}
	if telemetry.Method("PATCH") != "PATCH" || telemetry.Method("FOO") != "OTHER" || telemetry.Method("get") != "OTHER" {
		t.Error("Method must keep standard methods and fold the rest into OTHER")
	}
}

func TestMetricsOff(t *testing.T) {
	tel, err := telemetry.New(context.Background(), "registration", telemetry.Config{MetricsEnabled: false})
	if err != nil {
		t.Fatal(err)
	}
	if tel.MetricsHandler() != nil || tel.Registry != nil {
		t.Fatal("metrics served although METRICS_ENABLED=false")
	}
	// The nil metric sets are usable.
	tel.HTTP.Observe("/", "GET", 200, time.Millisecond)
	tel.Bus.Subscription("h", []string{"t"}).For("t")
	tel.Outbox.Published("t")
	tel.RegisterOutboxBacklog(func(context.Context) (int64, time.Duration, error) { return 0, 0, nil }, nil)
}

func TestSubscriptionSeriesExistBeforeFirstEventAndBoundTypes(t *testing.T) {
	tel, err := telemetry.New(context.Background(), "registration", telemetry.Config{MetricsEnabled: true})
	if err != nil {
		t.Fatal(err)
	}
	s := tel.Bus.Subscription("registration__intake.registration.>", []string{"com.partnerhub.intake.registration.requested.v1"})
	body := scrapeText(t, tel)
	if !strings.Contains(body, `partnerhub_events_consumed_total{handler="registration__intake.registration.>",outcome="ack",type="com.partnerhub.intake.registration.requested.v1"} 0`) {
		t.Fatalf("series not pre-created:\n%s", grep(body, "partnerhub_events_consumed_total"))
	}
	s.For("com.evil.whatever").Ack.Inc()
	if s.For("com.evil.whatever") != s.For("another.unknown") {
		t.Fatal("unknown types must share the other series")
	}
	body = scrapeText(t, tel)
	if strings.Contains(body, "com.evil.whatever") || !strings.Contains(body, `outcome="ack",type="other"} 1`) {
		t.Fatalf("an unknown type became a label value:\n%s", grep(body, "partnerhub_events_consumed_total"))
	}
}

// TestSpansAreExportedOverOTLPAndFlushedOnShutdown points the exporter at
// a fake collector: the spans of a service reach it by Shutdown at the
// latest, with the service name.
func TestSpansAreExportedOverOTLPAndFlushedOnShutdown(t *testing.T) {
	var posts atomic.Int32
	var body atomic.Value
	collector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/traces" || r.Method != http.MethodPost {
			http.NotFound(w, r)
			return
		}
		b, _ := io.ReadAll(r.Body)
		body.Store(string(b))
		posts.Add(1)
		w.Header().Set("Content-Type", "application/x-protobuf")
		w.WriteHeader(http.StatusOK)
	}))
	defer collector.Close()
	tel, err := telemetry.New(context.Background(), "registration",
		telemetry.Config{OTLPEndpoint: collector.URL, ServiceName: "registration-test"})
	if err != nil {
		t.Fatal(err)
	}
	if !tel.Tracing() {
		t.Fatal("an OTLP endpoint must turn tracing on")
	}
	_, span := tel.Tracer().Start(context.Background(), "POST /v1/registrations")
	span.End()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := tel.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if posts.Load() == 0 {
		t.Fatal("no spans exported by shutdown")
	}
	got, _ := body.Load().(string)
	for _, want := range []string{"POST /v1/registrations", "registration-test"} {
		if !strings.Contains(got, want) {
			t.Errorf("exported payload lacks %q", want)
		}
	}
	if err := tel.Shutdown(ctx); err != nil {
		t.Fatalf("second shutdown: %v", err)
	}
}

func TestHTTPObserveCachesSeries(t *testing.T) {
	tel, err := telemetry.New(context.Background(), "registration", telemetry.Config{MetricsEnabled: true})
	if err != nil {
		t.Fatal(err)
	}
	tel.HTTP.Observe("/v1/partners/{id}", "GET", 200, 3*time.Millisecond)
	tel.HTTP.Observe("/v1/partners/{id}", "GET", 200, 4*time.Millisecond)
	tel.HTTP.Observe("/v1/partners/{id}", "GET", 404, time.Millisecond)
	if n := testutil.CollectAndCount(tel.Registry, "partnerhub_http_request_duration_seconds"); n != 2 {
		t.Fatalf("%d series, want 2 (one per status code)", n)
	}
	body := scrapeText(t, tel)
	if !strings.Contains(body, `partnerhub_http_request_duration_seconds_count{code="200",method="GET",route="/v1/partners/{id}"} 2`) {
		t.Fatalf("histogram count:\n%s", grep(body, "request_duration_seconds_count"))
	}
}

func BenchmarkHTTPObserve(b *testing.B) {
	tel, _ := telemetry.New(context.Background(), "registration", telemetry.Config{MetricsEnabled: true})
	b.ReportAllocs()
	for b.Loop() {
		tel.HTTP.Observe("/v1/partners/{id}", "GET", 200, time.Millisecond)
	}
}

func scrapeText(t *testing.T, tel *telemetry.Telemetry) string {
	t.Helper()
	rec := httptest.NewRecorder()
	tel.MetricsHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /metrics: %d", rec.Code)
	}
	return rec.Body.String()
}

func grep(body, s string) string {
	var out []string
	for _, l := range strings.Split(body, "\n") {
		if strings.Contains(l, s) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
