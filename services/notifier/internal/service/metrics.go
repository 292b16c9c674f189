package service

import (
	"strconv"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/partnerhub/onboarding/services/notifier/internal/app"
	"github.com/partnerhub/onboarding/services/notifier/internal/domain"
)

// metrics are the notifier's Prometheus series (GET /metrics), beside the
// platform's. Labels are the template and the SMTP reply code, never an
// address or content.
type metrics struct {
	attempts   *prometheus.CounterVec
	retries    *prometheus.CounterVec
	dead       *prometheus.CounterVec
	suppressed *prometheus.CounterVec
}

// newMetrics registers the series on reg; nil (metrics off) counts nothing.
func newMetrics(reg *prometheus.Registry) app.Metrics {
	if reg == nil {
		return nil
	}
	m := &metrics{
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "partnerhub_mail_attempts_total",
			Help: "Mail delivery attempts by template, outcome (delivered, temporary_failure, permanent_failure) and SMTP reply code (0: none)."},
			[]string{"template", "outcome", "smtp_code"}),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "partnerhub_mail_retries_total",
			Help: "Mail delivery attempts after the first (retries after a failure or a lease that ran out), by template."},
			[]string{"template"}),
		dead: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "partnerhub_mail_dead_total",
			Help: "Mails given up, by template and reason (permanent_error, expired, attempts_exhausted)."},
			[]string{"template", "reason"}),
		suppressed: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "partnerhub_mail_suppressed_total",
			Help: "Reminders not sent because the partner stopped reminders, by template."},
			[]string{"template"}),
	}
	reg.MustRegister(m.attempts, m.retries, m.dead, m.suppressed)
	return m
}

func (m *metrics) Attempt(template string, o domain.Outcome, code int) {
	m.attempts.WithLabelValues(template, string(o), strconv.Itoa(code)).Inc()
}
func (m *metrics) Retry(template string) { m.retries.WithLabelValues(template).Inc() }
func (m *metrics) Dead(template string, r domain.FailReason) {
	m.dead.WithLabelValues(template, string(r)).Inc()
}
func (m *metrics) Suppressed(template string) { m.suppressed.WithLabelValues(template).Inc() }
