package telemetry

import (
	"context"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Label values of partnerhub_events_consumed_total{outcome}.
const (
	OutcomeAck        = "ack"
	OutcomeRetry      = "retry"
	OutcomeDeadLetter = "dead_letter"
)

// OtherType labels events whose type has no handler of its own on the
// subscription (unknown types, catch-all handlers): a metric label never
// takes a value chosen by whoever published the event.
const OtherType = "other"

// UnmatchedRoute labels requests no route pattern matched.
const UnmatchedRoute = "unmatched"

// HTTPMetrics records the latency of every request by route pattern,
// method and status code.
type HTTPMetrics struct {
	duration *prometheus.HistogramVec
	mu       sync.RWMutex
	series   map[httpSeries]prometheus.Observer
}

type httpSeries struct {
	route, method string
	code          int
}

func newHTTPMetrics(reg prometheus.Registerer) *HTTPMetrics {
	m := &HTTPMetrics{
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: Namespace, Subsystem: "http", Name: "request_duration_seconds",
			Help:    "Time to answer an HTTP request, by route pattern (never the raw path), method and status code.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"route", "method", "code"}),
		series: map[httpSeries]prometheus.Observer{},
	}
	reg.MustRegister(m.duration)
	return m
}

// Observe records one request. route is the matched ServeMux pattern
// without its method (see Route); method is normalised by Method.
func (m *HTTPMetrics) Observe(route, method string, code int, d time.Duration) {
	if m == nil {
		return
	}
	k := httpSeries{route, method, code}
	m.mu.RLock()
	o, ok := m.series[k]
	m.mu.RUnlock()
	if !ok {
		// Routes, methods and codes are bounded sets, so this map is too.
		o = m.duration.WithLabelValues(route, method, statusText(code))
		m.mu.Lock()
		m.series[k] = o
		m.mu.Unlock()
	}
	o.Observe(d.Seconds())
}

// Route is the route label and span name part of a Go 1.22 ServeMux
// pattern: "GET /v1/partners/{id}" → "/v1/partners/{id}"; "" → unmatched.
func Route(pattern string) string {
	if pattern == "" {
		return UnmatchedRoute
	}
	if i := strings.IndexByte(pattern, ' '); i >= 0 {
		return strings.TrimLeft(pattern[i+1:], " \t")
	}
	return pattern
}

// Method bounds the method label to the standard methods.
func Method(m string) string {
	switch m {
	case "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "CONNECT", "TRACE":
		return m
	}
	return "OTHER"
}

var statusTexts = func() (s [600]string) {
	for i := range s {
		s[i] = strconv.Itoa(i)
	}
	return s
}()

func statusText(code int) string {
	if code >= 0 && code < len(statusTexts) {
		return statusTexts[code]
	}
	return strconv.Itoa(code)
}

// BusMetrics records consumed events, their handling time, redeliveries
// and dead letters.
type BusMetrics struct {
	consumed     *prometheus.CounterVec
	duration     *prometheus.HistogramVec
	redelivered  *prometheus.CounterVec
	deadLettered *prometheus.CounterVec
	recreated    prometheus.Counter
	floors       prometheus.Counter
}

func newBusMetrics(reg prometheus.Registerer) *BusMetrics {
	m := &BusMetrics{
		consumed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Subsystem: "events", Name: "consumed_total",
			Help: "Deliveries of events to a handler (durable), by event type and outcome: ack, retry (nak, redelivered later) or dead_letter.",
		}, []string{"handler", "type", "outcome"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: Namespace, Subsystem: "events", Name: "handling_duration_seconds",
			Help:    "Time to handle one delivery of an event, in-process retries and dead-lettering included.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"handler", "type"}),
		redelivered: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Subsystem: "events", Name: "redelivered_total",
			Help: "Deliveries that JetStream had made before (NumDelivered > 1).",
		}, []string{"handler", "type"}),
		deadLettered: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Subsystem: "events", Name: "dead_lettered_total",
			Help: "Events sent to deadletter.<service>, by handler and dlq-code.",
		}, []string{"handler", "code"}),
		recreated: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: Namespace, Subsystem: "bus", Name: "durables_recreated_total",
			Help: "Durables the server had lost (a restart loses those held in memory) that the service created again from their recorded ack floor.",
		}),
		floors: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: Namespace, Subsystem: "bus", Name: "ack_floors_recorded_total",
			Help: "Ack floors of durables copied to the service's database (bus_floors).",
		}),
	}
	reg.MustRegister(m.consumed, m.duration, m.redelivered, m.deadLettered, m.recreated, m.floors)
	return m
}

// DurableRecreated counts a lost durable created again.
func (m *BusMetrics) DurableRecreated() {
	if m != nil {
		m.recreated.Inc()
	}
}

// FloorsRecorded counts n ack floors copied to the database.
func (m *BusMetrics) FloorsRecorded(n int) {
	if m != nil {
		m.floors.Add(float64(n))
	}
}

// Subscription returns the series of one handler (durable) and the event
// types it handles, created now so that the hot path only increments (and
// so that every series exists at 0 before its first event).
func (m *BusMetrics) Subscription(handler string, types []string) *SubscriptionMetrics {
	if m == nil {
		return nil
	}
	s := &SubscriptionMetrics{m: m, handler: handler, byType: make(map[string]*TypeMetrics, len(types))}
	for _, t := range types {
		s.byType[t] = m.forType(handler, t)
	}
	s.other = m.forType(handler, OtherType)
	return s
}

func (m *BusMetrics) forType(handler, typ string) *TypeMetrics {
	return &TypeMetrics{
		Ack:         m.consumed.WithLabelValues(handler, typ, OutcomeAck),
		Retry:       m.consumed.WithLabelValues(handler, typ, OutcomeRetry),
		DeadLetter:  m.consumed.WithLabelValues(handler, typ, OutcomeDeadLetter),
		Redelivered: m.redelivered.WithLabelValues(handler, typ),
		Duration:    m.duration.WithLabelValues(handler, typ),
	}
}

// SubscriptionMetrics are the pre-built series of one handler.
type SubscriptionMetrics struct {
	m       *BusMetrics
	handler string
	byType  map[string]*TypeMetrics
	other   *TypeMetrics
}

// TypeMetrics are the series of one (handler, event type).
type TypeMetrics struct {
	Ack, Retry, DeadLetter prometheus.Counter
	Redelivered            prometheus.Counter
	Duration               prometheus.Observer
}

// For returns the series of eventType (those of OtherType when the
// subscription has no handler for it); nil on a nil receiver.
func (s *SubscriptionMetrics) For(eventType string) *TypeMetrics {
	if s == nil {
		return nil
	}
	if t, ok := s.byType[eventType]; ok {
		return t
	}
	return s.other
}

// DeadLettered counts one dead letter with its code (dead letters are
// rare; the code is one of a bounded vocabulary of error codes).
func (s *SubscriptionMetrics) DeadLettered(code string) {
	if s == nil {
		return
	}
	s.m.deadLettered.WithLabelValues(s.handler, code).Inc()
}

// OutboxMetrics records what the relay publishes.
type OutboxMetrics struct {
	published     *prometheus.CounterVec
	publishErrors prometheus.Counter
	reads         prometheus.Counter
	mu            sync.RWMutex
	byType        map[string]prometheus.Counter
}

func newOutboxMetrics(reg prometheus.Registerer) *OutboxMetrics {
	m := &OutboxMetrics{
		published: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Subsystem: "outbox", Name: "published_total",
			Help: "Events the outbox relay published to JetStream, by CloudEvents type.",
		}, []string{"type"}),
		publishErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: Namespace, Subsystem: "outbox", Name: "publish_errors_total",
			Help: "Failed publish attempts of the outbox relay (the rows stay and are retried).",
		}),
		reads: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: Namespace, Subsystem: "outbox", Name: "reads_total",
			Help: "Reads of the outbox table by the relay (rows its own instance committed are handed over and published without one when their partition's order is known).",
		}),
		byType: map[string]prometheus.Counter{},
	}
	reg.MustRegister(m.published, m.publishErrors, m.reads)
	return m
}

// Published counts one published event of eventType (a type this service
// wrote itself, so a bounded set).
func (m *OutboxMetrics) Published(eventType string) {
	if m == nil {
		return
	}
	m.mu.RLock()
	c, ok := m.byType[eventType]
	m.mu.RUnlock()
	if !ok {
		c = m.published.WithLabelValues(eventType)
		m.mu.Lock()
		m.byType[eventType] = c
		m.mu.Unlock()
	}
	c.Inc()
}

// Read counts one read of the outbox table.
func (m *OutboxMetrics) Read() {
	if m == nil {
		return
	}
	m.reads.Inc()
}

// PublishFailed counts one failed publish attempt.
func (m *OutboxMetrics) PublishFailed() {
	if m == nil {
		return
	}
	m.publishErrors.Inc()
}

// BacklogFunc reports the outbox backlog: rows waiting and the age of the
// oldest (outbox.Stats).
type BacklogFunc func(ctx context.Context) (rows int64, oldest time.Duration, err error)

// RegisterOutboxBacklog exposes the backlog, read at each scrape (one
// cheap query on a table that is empty when all is well). A failed read
// is logged and leaves the two gauges out of that scrape.
func (t *Telemetry) RegisterOutboxBacklog(stats BacklogFunc, log *slog.Logger) {
	if t == nil || t.Registry == nil {
		return
	}
	t.Registry.MustRegister(&backlogCollector{stats: stats, log: log})
}

var (
	backlogRowsDesc = prometheus.NewDesc(prometheus.BuildFQName(Namespace, "outbox", "backlog_rows"),
		"Outbox rows committed but not yet published.", nil, nil)
	backlogAgeDesc = prometheus.NewDesc(prometheus.BuildFQName(Namespace, "outbox", "oldest_age_seconds"),
		"Age of the oldest unpublished outbox row (0 when empty).", nil, nil)
)

type backlogCollector struct {
	stats BacklogFunc
	log   *slog.Logger
}

func (c *backlogCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- backlogRowsDesc
	ch <- backlogAgeDesc
}

func (c *backlogCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	rows, oldest, err := c.stats(ctx)
	if err != nil {
		if c.log != nil {
			c.log.Warn("metrics: outbox backlog not readable", "err", err)
		}
		return
	}
	ch <- prometheus.MustNewConstMetric(backlogRowsDesc, prometheus.GaugeValue, float64(rows))
	ch <- prometheus.MustNewConstMetric(backlogAgeDesc, prometheus.GaugeValue, oldest.Seconds())
}
