package httpx

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/partnerhub/onboarding/pkg/telemetry"
)

// BenchmarkMiddleware measures what observing adds to a request through
// the server's middleware and mux: nothing, metrics with export off (the
// default: a non-recording span carrying the caller's trace context), and
// the same without a caller trace context.
func BenchmarkMiddleware(b *testing.B) {
	api := http.NewServeMux()
	api.HandleFunc("GET /v1/partners/{id}", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	mux := http.NewServeMux()
	mux.Handle("/", api)
	log := slog.New(slog.DiscardHandler)
	tel, err := telemetry.New(context.Background(), "bench", telemetry.Config{MetricsEnabled: true})
	if err != nil {
		b.Fatal(err)
	}
	obs := &Observer{Metrics: tel.HTTP, Tracer: tel.Tracer(), Propagator: tel.Propagator}
	for _, c := range []struct {
		name        string
		obs         *Observer
		traceparent string
	}{
		{"plain", nil, ""},
		{"observed", obs, ""},
		{"observed+traceparent", obs, "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"},
	} {
		b.Run(c.name, func(b *testing.B) {
			h := middleware(log, mux, func() *Observer { return c.obs }, func() time.Duration { return RequestTimeout })
			req := httptest.NewRequest(http.MethodGet, "/v1/partners/PG-1", nil)
			if c.traceparent != "" {
				req.Header.Set("traceparent", c.traceparent)
			}
			b.ReportAllocs()
			for b.Loop() {
				h.ServeHTTP(httptest.NewRecorder(), req)
			}
		})
	}
}
