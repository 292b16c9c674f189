package service

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/partnerhub/onboarding/pkg/telemetry"
	"github.com/partnerhub/onboarding/services/timeline/internal/app"
)

// webhookMetrics are the dispatcher's series (nil when metrics are off).
type webhookMetrics struct {
	attempts *prometheus.CounterVec
	duration prometheus.Histogram
	disabled prometheus.Counter
	inFlight prometheus.Gauge
}

func newWebhookMetrics(reg *prometheus.Registry) *webhookMetrics {
	if reg == nil {
		return nil
	}
	m := &webhookMetrics{
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: telemetry.Namespace, Name: "webhook_attempts_total",
			Help: "Webhook delivery attempts by what became of the delivery: succeeded, retry (failed, tried again later), failed (no retry left)."},
			[]string{"outcome"}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: telemetry.Namespace, Name: "webhook_attempt_duration_seconds",
			Help: "Time from request to answer of a webhook attempt.", Buckets: []float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}}),
		disabled: prometheus.NewCounter(prometheus.CounterOpts{Namespace: telemetry.Namespace, Name: "webhook_endpoints_disabled_total",
			Help: "Webhook endpoints disabled for persistent failure."}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: telemetry.Namespace, Name: "webhook_requests_in_flight",
			Help: "Webhook requests sent and not yet answered."}),
	}
	for _, o := range []string{"succeeded", "retry", "failed"} {
		m.attempts.WithLabelValues(o) // every series exists from the start
	}
	reg.MustRegister(m.attempts, m.duration, m.disabled, m.inFlight)
	return m
}

func (m *webhookMetrics) observe(r app.DeliveryReport) {
	if m == nil {
		return
	}
	m.attempts.WithLabelValues("succeeded").Add(float64(r.Succeeded))
	m.attempts.WithLabelValues("retry").Add(float64(r.Retrying))
	m.attempts.WithLabelValues("failed").Add(float64(r.Failed))
	for _, a := range r.Attempts {
		if a.Duration > 0 {
			m.duration.Observe(float64(a.Duration) / 1000)
		}
	}
	m.disabled.Add(float64(len(r.Disabled)))
	m.inFlight.Set(float64(r.InFlight))
}
