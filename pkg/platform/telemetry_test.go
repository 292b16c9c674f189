package platform_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/partnerhub/onboarding/pkg/apperr"
	"github.com/partnerhub/onboarding/pkg/bus"
	"github.com/partnerhub/onboarding/pkg/ce"
	"github.com/partnerhub/onboarding/pkg/httpx"
	"github.com/partnerhub/onboarding/pkg/logging"
	"github.com/partnerhub/onboarding/pkg/outbox"
	"github.com/partnerhub/onboarding/pkg/pg"
	"github.com/partnerhub/onboarding/pkg/platform"
	"github.com/partnerhub/onboarding/pkg/telemetry"
	"github.com/partnerhub/onboarding/pkg/testkit"
)

const (
	typeChained   = "com.partnerhub.registration.test.chained.v1"
	incomingTrace = "4bf92f3577b34da6a3ce929d0e0e4736"
	incomingSpan  = "00f067aa0ba902b7"
)

// chain is a service under test: POST /v1/things/{id} writes a "happened"
// event; its handler writes a "chained" event; the chained handler hands
// what it received to the test.
type chain struct {
	b        *platform.Base
	base     string
	chained  chan ce.Event
	happened chan ce.Event
	logs     *testkit.SyncBuffer
	stop     func()
}

func startChain(t *testing.T, natsURL string, opts ...telemetry.Option) *chain {
	t.Helper()
	cfg := testConfig(t, natsURL)
	ctx, cancel := context.WithCancel(context.Background())
	c := &chain{chained: make(chan ce.Event, 16), happened: make(chan ce.Event, 16), logs: &testkit.SyncBuffer{}}
	decl := platform.Declaration{Name: "registration", Migrations: migrations}
	b, err := platform.Start(ctx, decl, cfg, logging.NewTo(c.logs, "registration", "debug"), opts...)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	c.b = b
	appendEvent := func(ctx context.Context, d outbox.Draft) error {
		return pg.InTx(ctx, b.Pool, func(ctx context.Context, tx pgx.Tx) error {
			_, err := b.Outbox.Append(ctx, tx, d)
			return err
		})
	}
	decl.Subscriptions = []bus.Subscription{
		{Type: typeHappened, Handle: func(ctx context.Context, ev ce.Event) error {
			c.happened <- ev
			return appendEvent(ctx, outbox.Draft{Type: typeChained, Subject: ev.Subject, Data: map[string]string{}})
		}},
		{Type: typeChained, Handle: func(ctx context.Context, ev ce.Event) error {
			c.chained <- ev
			return nil
		}},
	}
	api := http.NewServeMux()
	api.HandleFunc("POST /v1/things/{id}", func(w http.ResponseWriter, r *http.Request) {
		if err := appendEvent(r.Context(), outbox.Draft{Type: typeHappened, Subject: r.PathValue("id"), Data: map[string]string{"n": "1"}}); err != nil {
			httpx.WriteError(w, r, err)
			return
		}
		w.WriteHeader(http.StatusCreated)
	})
	decl.Routes = func() http.Handler { return api }
	if err := b.Mount(decl); err != nil {
		cancel()
		b.Close()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- b.Run(ctx) }()
	<-b.Router.Running()
	c.base = "http://" + b.Addr()
	c.stop = func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	}
	t.Cleanup(c.stop)
	return c
}

func (c *chain) post(t *testing.T, id, traceparent string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, c.base+"/v1/things/"+id, nil)
	if traceparent != "" {
		req.Header.Set("traceparent", traceparent)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST /v1/things/%s: %d", id, resp.StatusCode)
	}
}

func receive(t *testing.T, ch chan ce.Event) ce.Event {
	t.Helper()
	select {
	case ev := <-ch:
		return ev
	case <-time.After(10 * time.Second):
		t.Fatal("event not received")
		return ce.Event{}
	}
}

// TestTraceFollowsRequestThroughEvents: an HTTP request carrying a
// traceparent, the event its handler writes, the consumer of that event and
// the event the consumer writes all belong to the caller's trace, each span
// the child of the one before, through the CloudEvents traceparent.
func TestTraceFollowsRequestThroughEvents(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	c := startChain(t, testkit.NATS(t), telemetry.WithTracerProvider(sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))))
	c.post(t, "PG-TRACE1", "00-"+incomingTrace+"-"+incomingSpan+"-01")
	happened := receive(t, c.happened)
	chained := receive(t, c.chained)

	consumerA := bus.DurableName("registration", ce.Topic(typeHappened)) + " process"
	consumerB := bus.DurableName("registration", ce.Topic(typeChained)) + " process"
	var server, spanA, spanB sdktrace.ReadOnlySpan
	var publishes []sdktrace.ReadOnlySpan
	testkit.Eventually(t, 10*time.Second, func() error {
		publishes = nil
		for _, s := range rec.Ended() {
			switch {
			case s.Name() == "POST /v1/things/{id}":
				server = s
			case s.Name() == consumerA:
				spanA = s
			case s.Name() == consumerB:
				spanB = s
			case s.SpanKind() == trace.SpanKindProducer:
				publishes = append(publishes, s)
			}
		}
		if server == nil || spanA == nil || spanB == nil || len(publishes) < 2 {
			var names []string
			for _, s := range rec.Ended() {
				names = append(names, s.Name())
			}
			return fmt.Errorf("spans so far: %v", names)
		}
		return nil
	})

	for _, s := range []sdktrace.ReadOnlySpan{server, spanA, spanB} {
		if got := s.SpanContext().TraceID().String(); got != incomingTrace {
			t.Errorf("span %q in trace %s, want the caller's %s", s.Name(), got, incomingTrace)
		}
	}
	if server.Parent().SpanID().String() != incomingSpan || server.SpanKind() != trace.SpanKindServer {
		t.Errorf("server span parent %s kind %v, want %s server", server.Parent().SpanID(), server.SpanKind(), incomingSpan)
	}
	// The event carries the server span as its traceparent, and the
	// consumer span is its child.
	if want := "00-" + incomingTrace + "-" + server.SpanContext().SpanID().String() + "-01"; happened.TraceParent != want {
		t.Errorf("event written by the request: traceparent %q, want %q", happened.TraceParent, want)
	}
	if spanA.Parent().SpanID() != server.SpanContext().SpanID() || !spanA.Parent().IsRemote() || spanA.SpanKind() != trace.SpanKindConsumer {
		t.Errorf("consumer span parent %s, want the server span %s (remote, via the event)", spanA.Parent().SpanID(), server.SpanContext().SpanID())
	}
	if want := "00-" + incomingTrace + "-" + spanA.SpanContext().SpanID().String() + "-01"; chained.TraceParent != want {
		t.Errorf("event written by the consumer: traceparent %q, want %q", chained.TraceParent, want)
	}
	if spanB.Parent().SpanID() != spanA.SpanContext().SpanID() {
		t.Errorf("second consumer span parent %s, want the first consumer span %s", spanB.Parent().SpanID(), spanA.SpanContext().SpanID())
	}
	attrs := map[string]string{}
	for _, kv := range spanA.Attributes() {
		attrs[string(kv.Key)] = kv.Value.String()
	}
	for k, want := range map[string]string{
		"cloudevents.event_type": typeHappened, "cloudevents.event_id": happened.ID,
		"cloudevents.event_subject": "PG-TRACE1", "messaging.system": "nats",
	} {
		if attrs[k] != want {
			t.Errorf("consumer span attribute %s = %q, want %q", k, attrs[k], want)
		}
	}
	// The relay's publish spans link to the span that wrote the event.
	var linked bool
	for _, p := range publishes {
		for _, l := range p.Links() {
			if l.SpanContext.SpanID() == server.SpanContext().SpanID() {
				linked = true
			}
		}
	}
	if !linked {
		t.Error("no relay publish span links to the request that wrote the event")
	}
	// Logs of the handled event carry the trace id.
	testkit.Eventually(t, 5*time.Second, func() error {
		for _, line := range strings.Split(c.logs.String(), "\n") {
			var r map[string]any
			if json.Unmarshal([]byte(line), &r) == nil && r["msg"] == "handled event" && r["trace_id"] == incomingTrace {
				return nil
			}
		}
		return errors.New("no handled-event log with the trace id")
	})
}

// TestTraceContextPropagatesWithExportOff: with no exporter (the default)
// nothing is recorded, but the caller's trace id still reaches the events
// of the request and of its consumers; a request without traceparent
// starts a trace of its own, which its events and their consumers' carry.
func TestTraceContextPropagatesWithExportOff(t *testing.T) {
	c := startChain(t, testkit.NATS(t))
	if c.b.Telemetry.Tracing() {
		t.Fatal("tracing on without OTEL configuration")
	}
	c.post(t, "PG-TRACE2", "00-"+incomingTrace+"-"+incomingSpan+"-01")
	for _, ev := range []ce.Event{receive(t, c.happened), receive(t, c.chained)} {
		if !strings.HasPrefix(ev.TraceParent, "00-"+incomingTrace+"-") {
			t.Errorf("%s: traceparent %q, want trace %s", ev.Type, ev.TraceParent, incomingTrace)
		}
	}
	c.post(t, "PG-TRACE3", "")
	happened, chained := receive(t, c.happened), receive(t, c.chained)
	started := telemetry.SpanContextOf(happened.TraceParent)
	if !started.IsValid() || started.TraceID().String() == incomingTrace {
		t.Fatalf("a request without traceparent wrote %q, want a trace of its own", happened.TraceParent)
	}
	if got := telemetry.SpanContextOf(chained.TraceParent).TraceID(); got != started.TraceID() {
		t.Errorf("the consumer's event is in trace %s, want the request's %s", got, started.TraceID())
	}
}

// TestLaterActionsLinkToTheOnboardingTrace: the first event about a partner
// records its trace as the partition's origin; a later request about the
// same partner, in a trace of its own, gets a span link to it (and so does
// the consumer of the later request's event); a request about another
// partner gets none.
func TestLaterActionsLinkToTheOnboardingTrace(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	c := startChain(t, testkit.NATS(t), telemetry.WithTracerProvider(sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))))
	c.post(t, "PG-LINK1", "00-"+incomingTrace+"-"+incomingSpan+"-01")
	receive(t, c.happened)
	receive(t, c.chained)
	const later = "0af7651916cd43dd8448eb211c80319c"
	c.post(t, "PG-LINK1", "00-"+later+"-b7ad6b7169203331-01")
	receive(t, c.happened)
	receive(t, c.chained)
	c.post(t, "PG-LINK2", "00-"+later+"-b7ad6b7169203332-01")
	receive(t, c.happened)
	receive(t, c.chained)
	// A service whose first event about a partner is a later action
	// records the origin when it learns of the partner.
	const origin = "5b8aa5a2d2c872e8321cf37308d69df2"
	octx := telemetry.WithTraceParent(context.Background(), c.b.Telemetry.Propagator, "00-"+origin+"-5fb397be34d26b51-01")
	if err := pg.InTx(octx, c.b.Pool, func(ctx context.Context, _ pgx.Tx) error { return outbox.RecordOrigin(ctx, "PG-LINK3") }); err != nil {
		t.Fatal(err)
	}
	c.post(t, "PG-LINK3", "00-"+later+"-b7ad6b7169203333-01")
	if ev := receive(t, c.happened); ev.Sequence != 1 {
		t.Errorf("the first event after a recorded origin has sequence %d, want 1", ev.Sequence)
	}
	receive(t, c.chained)

	links := func(s sdktrace.ReadOnlySpan) []string {
		var out []string
		for _, l := range s.Links() {
			attrs := map[string]string{}
			for _, kv := range l.Attributes {
				attrs[string(kv.Key)] = kv.Value.String()
			}
			out = append(out, l.SpanContext.TraceID().String()+" "+attrs["partnerhub.link"]+" "+attrs["partnerhub.partition_key"])
		}
		return out
	}
	consumer := bus.DurableName("registration", ce.Topic(typeHappened)) + " process"
	testkit.Eventually(t, 10*time.Second, func() error {
		var servers, consumers [][]string
		for _, s := range rec.Ended() {
			if s.SpanContext().TraceID().String() != later {
				continue
			}
			switch s.Name() {
			case "POST /v1/things/{id}":
				servers = append(servers, links(s))
			case consumer:
				consumers = append(consumers, links(s))
			}
		}
		want := [][]string{{incomingTrace + " onboarding PG-LINK1"}, nil, {origin + " onboarding PG-LINK3"}}
		if fmt.Sprint(servers) != fmt.Sprint(want) || fmt.Sprint(consumers) != fmt.Sprint(want) {
			return fmt.Errorf("links of the later requests %v and their consumers %v, want %v", servers, consumers, want)
		}
		return nil
	})
}

// TestMetricsEndpoint scrapes GET /metrics after requests and events and
// checks the series they must have moved.
func TestMetricsEndpoint(t *testing.T) {
	natsURL := testkit.NATS(t)
	c := startChain(t, natsURL)
	before := scrape(t, c.base)
	c.post(t, "PG-M1", "")
	c.post(t, "PG-M2", "")
	for range 2 {
		receive(t, c.happened)
		receive(t, c.chained)
	}
	// A refused event (permanent error) and an unknown type are
	// dead-lettered with their codes.
	_, js := testkit.JetStream(t, natsURL)
	publishRaw(t, js, ce.Topic(typeHappened), goodHeaders(typeHappened), []byte(`<xml/>`))
	publishRaw(t, js, ce.Topic(typeHappened), goodHeaders("com.partnerhub.registration.test.unknown.v1"), []byte(`{}`))

	happenedHandler := bus.DurableName("registration", ce.Topic(typeHappened))
	checks := []struct {
		name   string
		labels []string
		want   float64
	}{
		{"partnerhub_http_request_duration_seconds", []string{"route", "/v1/things/{id}", "method", "POST", "code", "201"}, 2},
		{"partnerhub_events_consumed_total", []string{"handler", happenedHandler, "type", typeHappened, "outcome", "ack"}, 2},
		{"partnerhub_events_consumed_total", []string{"handler", happenedHandler, "type", typeHappened, "outcome", "dead_letter"}, 1},
		{"partnerhub_events_consumed_total", []string{"handler", happenedHandler, "type", telemetry.OtherType, "outcome", "dead_letter"}, 1},
		{"partnerhub_events_handling_duration_seconds", []string{"handler", happenedHandler, "type", typeHappened}, 3},
		{"partnerhub_events_dead_lettered_total", []string{"handler", happenedHandler, "code", ce.CodeUnknownType}, 1},
		{"partnerhub_events_dead_lettered_total", []string{"handler", happenedHandler, "code", ce.CodeNotJSON}, 1},
		{"partnerhub_outbox_published_total", []string{"type", typeHappened}, 2},
		{"partnerhub_outbox_published_total", []string{"type", typeChained}, 2},
	}
	var after map[string]*dto.MetricFamily
	testkit.Eventually(t, 10*time.Second, func() error {
		after = scrape(t, c.base)
		for _, chk := range checks {
			if got := value(after, chk.name, chk.labels...) - value(before, chk.name, chk.labels...); got != chk.want {
				return fmt.Errorf("%s%v moved by %v, want %v", chk.name, chk.labels, got, chk.want)
			}
		}
		// Everything written was relayed: the backlog is empty again.
		if v := value(after, "partnerhub_outbox_backlog_rows"); v != 0 {
			return fmt.Errorf("outbox backlog %v", v)
		}
		return nil
	})
	if _, ok := after["partnerhub_outbox_oldest_age_seconds"]; !ok {
		t.Error("no outbox oldest-age gauge")
	}
	if v := value(after, "partnerhub_events_redelivered_total", "handler", happenedHandler, "type", typeHappened); v != 0 {
		t.Errorf("redeliveries %v without any retry", v)
	}
}

// TestRedeliveriesAreCounted: a handler that fails its whole first
// delivery (every in-process retry) is redelivered by JetStream; the
// redelivery and the retry outcome are counted.
func TestRedeliveriesAreCounted(t *testing.T) {
	natsURL := testkit.NATS(t)
	cfg := testConfig(t, natsURL)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	decl := platform.Declaration{Name: "registration", Migrations: migrations}
	b, err := platform.Start(ctx, decl, cfg, testkit.Log(t))
	if err != nil {
		t.Fatal(err)
	}
	var calls atomic.Int32
	handled := make(chan struct{}, 1)
	decl.Subscriptions = []bus.Subscription{
		{Type: typeFlaky, Handle: func(ctx context.Context, ev ce.Event) error {
			if calls.Add(1) == 1 { // the first delivery fails
				return errors.New("database blip")
			}
			handled <- struct{}{}
			return nil
		}},
		{Type: typeHappened, Handle: func(ctx context.Context, ev ce.Event) error {
			return apperr.Invalid("test.refused", "refused by the handler")
		}},
	}
	if err := b.Mount(decl); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- b.Run(ctx) }()
	<-b.Router.Running()
	_, js := testkit.JetStream(t, natsURL)
	publishRaw(t, js, ce.Topic(typeFlaky), goodHeaders(typeFlaky), []byte(`{}`))
	select {
	case <-handled:
	case <-time.After(10 * time.Second):
		t.Fatal("flaky event never succeeded")
	}
	// The refused event only once the flaky one is handled: had both come
	// in one batch, the router would have tried each alone after the
	// batch failed, and the flaky one would have succeeded in its first
	// delivery (a CI run saw no redelivery so).
	publishRaw(t, js, ce.Topic(typeHappened), goodHeaders(typeHappened), []byte(`{}`))
	flaky := bus.DurableName("registration", ce.Topic(typeFlaky))
	happened := bus.DurableName("registration", ce.Topic(typeHappened))
	testkit.Eventually(t, 5*time.Second, func() error {
		fams := gather(t, b)
		for _, c := range []struct {
			name   string
			labels []string
			want   float64
		}{
			{"partnerhub_events_redelivered_total", []string{"handler", flaky, "type", typeFlaky}, 1},
			{"partnerhub_events_consumed_total", []string{"handler", flaky, "type", typeFlaky, "outcome", "retry"}, 1},
			{"partnerhub_events_consumed_total", []string{"handler", flaky, "type", typeFlaky, "outcome", "ack"}, 1},
			{"partnerhub_events_dead_lettered_total", []string{"handler", happened, "code", "test.refused"}, 1},
		} {
			if got := value(fams, c.name, c.labels...); got != c.want {
				return fmt.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
			}
		}
		return nil
	})
	cancel()
	<-done
}

// TestOutboxBacklogGauges: rows committed while the relay is not running
// show as the backlog, with the age of the oldest.
func TestOutboxBacklogGauges(t *testing.T) {
	cfg := testConfig(t, testkit.NATS(t))
	ctx := context.Background()
	b, err := platform.Start(ctx, platform.Declaration{Name: "registration", Migrations: migrations}, cfg, testkit.Log(t))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if v := value(gather(t, b), "partnerhub_outbox_backlog_rows"); v != 0 {
		t.Fatalf("backlog %v before any write", v)
	}
	err = pg.InTx(ctx, b.Pool, func(ctx context.Context, tx pgx.Tx) error {
		_, err := b.Outbox.Append(ctx, tx,
			outbox.Draft{Type: typeHappened, Subject: "PG-B1", Data: map[string]string{"n": "1"}},
			outbox.Draft{Type: typeHappened, Subject: "PG-B1", Data: map[string]string{"n": "2"}},
			outbox.Draft{Type: typeChained, Subject: "PG-B2", Data: map[string]string{}})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	fams := gather(t, b)
	if v := value(fams, "partnerhub_outbox_backlog_rows"); v != 3 {
		t.Errorf("backlog rows %v, want 3", v)
	}
	if v := value(fams, "partnerhub_outbox_oldest_age_seconds"); v <= 0 || v > 60 {
		t.Errorf("oldest age %vs, want a small positive age", v)
	}
}

// gather reads the service's /metrics handler (the Prometheus text format).
func gather(t *testing.T, b *platform.Base) map[string]*dto.MetricFamily {
	t.Helper()
	h := b.Telemetry.MetricsHandler()
	if h == nil {
		t.Fatal("metrics are off")
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /metrics: %d", rec.Code)
	}
	return parse(t, rec.Body)
}

func scrape(t *testing.T, base string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %d", resp.StatusCode)
	}
	return parse(t, resp.Body)
}

func parse(t *testing.T, r io.Reader) map[string]*dto.MetricFamily {
	t.Helper()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(r)
	if err != nil {
		t.Fatal(err)
	}
	return fams
}

// value is the value of the series of name with exactly the given label
// pairs (a histogram's sample count); 0 when absent.
func value(fams map[string]*dto.MetricFamily, name string, labels ...string) float64 {
	f, ok := fams[name]
	if !ok {
		return 0
	}
next:
	for _, m := range f.GetMetric() {
		if len(m.GetLabel()) != len(labels)/2 {
			continue
		}
		for _, l := range m.GetLabel() {
			found := false
			for i := 0; i < len(labels); i += 2 {
				if labels[i] == l.GetName() && labels[i+1] == l.GetValue() {
					found = true
				}
			}
			if !found {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue()
		case m.Gauge != nil:
			return m.Gauge.GetValue()
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount())
		case m.Untyped != nil:
			return m.Untyped.GetValue()
		}
	}
	return 0
}
