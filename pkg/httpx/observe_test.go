package httpx_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/partnerhub/onboarding/pkg/httpx"
	"github.com/partnerhub/onboarding/pkg/logging"
	"github.com/partnerhub/onboarding/pkg/telemetry"
	"github.com/partnerhub/onboarding/pkg/testkit"
)

const (
	incomingTrace = "4bf92f3577b34da6a3ce929d0e0e4736"
	incomingSpan  = "00f067aa0ba902b7"
)

// TestServerObservesRequests: with an observer, every API request gets a
// server span named by its route pattern, child of the caller's
// traceparent, and a latency sample labelled by the pattern (never the raw
// path); the handler's context carries the span; health endpoints are not
// traced; /metrics is mounted beside them without the API's middleware.
func TestServerObservesRequests(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tel, err := telemetry.New(context.Background(), "registration", telemetry.Config{MetricsEnabled: true},
		telemetry.WithTracerProvider(sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))))
	if err != nil {
		t.Fatal(err)
	}
	var logs testkit.SyncBuffer
	log := logging.NewTo(&logs, "registration", "info")
	var seen string
	api := http.NewServeMux()
	api.Handle("GET /v1/partners/{id}", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if seen == "" {
			seen = telemetry.TraceParent(r.Context())
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	srv, err := httpx.NewServer("127.0.0.1:0", api, log, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv.Handle("GET /metrics", tel.MetricsHandler())
	srv.Observe(httpx.Observer{Metrics: tel.HTTP, Tracer: tel.Tracer(), Propagator: tel.Propagator})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx, time.Second) }()
	defer func() { cancel(); <-done }()
	base := "http://" + srv.Addr()

	req, _ := http.NewRequest(http.MethodGet, base+"/v1/partners/PG-123", nil)
	req.Header.Set("traceparent", "00-"+incomingTrace+"-"+incomingSpan+"-01")
	mustDo(t, req, http.StatusNoContent)
	mustDo(t, mustReq(http.MethodGet, base+"/v1/partners/PG-456"), http.StatusNoContent)
	mustDo(t, mustReq(http.MethodGet, base+"/nowhere"), http.StatusNotFound)
	mustDo(t, mustReq("BREW", base+"/v1/partners/PG-1"), http.StatusMethodNotAllowed)
	mustDo(t, mustReq(http.MethodGet, base+"/healthz"), http.StatusOK)

	spans := rec.Ended()
	if len(spans) != 4 {
		t.Fatalf("%d spans, want 4 (none for /healthz): %v", len(spans), names(spans))
	}
	first := spans[0]
	if first.Name() != "GET /v1/partners/{id}" || first.SpanKind() != trace.SpanKindServer {
		t.Errorf("span %q kind %v, want GET /v1/partners/{id} server", first.Name(), first.SpanKind())
	}
	if first.SpanContext().TraceID().String() != incomingTrace || first.Parent().SpanID().String() != incomingSpan || !first.Parent().IsRemote() {
		t.Errorf("span trace %s parent %s, want the caller's %s/%s", first.SpanContext().TraceID(), first.Parent().SpanID(), incomingTrace, incomingSpan)
	}
	if want := "00-" + incomingTrace + "-" + first.SpanContext().SpanID().String() + "-01"; seen != want {
		t.Errorf("handler context traceparent %q, want the server span %q", seen, want)
	}
	if spans[1].SpanContext().TraceID().String() == incomingTrace || spans[1].Parent().IsValid() {
		t.Error("a request without traceparent must start its own trace")
	}
	if spans[2].Name() != "GET unmatched" || spans[3].Name() != "OTHER unmatched" {
		t.Errorf("unmatched spans named %q, %q", spans[2].Name(), spans[3].Name())
	}

	// The request log carries the trace id.
	var found bool
	for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		var rec map[string]any
		if json.Unmarshal([]byte(line), &rec) == nil && rec["msg"] == "http request" && rec["trace_id"] == incomingTrace {
			found = true
		}
	}
	if !found {
		t.Errorf("no request log with trace_id %s:\n%s", incomingTrace, logs.String())
	}

	body := get(t, base+"/metrics")
	for _, want := range []string{
		`partnerhub_http_request_duration_seconds_count{code="204",method="GET",route="/v1/partners/{id}"} 2`,
		`partnerhub_http_request_duration_seconds_count{code="404",method="GET",route="unmatched"} 1`,
		`partnerhub_http_request_duration_seconds_count{code="405",method="OTHER",route="unmatched"} 1`,
		`partnerhub_http_request_duration_seconds_count{code="200",method="GET",route="/healthz"} 1`,
		`go_goroutines`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if strings.Contains(body, "PG-123") || strings.Contains(body, "BREW") || strings.Contains(body, "/nowhere") {
		t.Error("a raw path or method became a label value")
	}
}

func mustReq(method, url string) *http.Request {
	r, err := http.NewRequest(method, url, nil)
	if err != nil {
		panic(err)
	}
	return r
}

func mustDo(t *testing.T, r *http.Request, want int) {
	t.Helper()
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != want {
		t.Fatalf("%s %s: %d, want %d", r.Method, r.URL, resp.StatusCode, want)
	}
}

func get(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %s", url, resp.StatusCode, b)
	}
	return string(b)
}

func names(spans []sdktrace.ReadOnlySpan) []string {
	out := make([]string, len(spans))
	for i, s := range spans {
		out[i] = s.Name()
	}
	return out
}
