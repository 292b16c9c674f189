package service

import (
	"strconv"
	"time"

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
	send       *prometheus.HistogramVec
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
			Help: "Mails never sent, by template: reminders the partner stopped, news superseded or without net change while it settled."},
			[]string{"template"}),
	}
	m.send = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "partnerhub_mail_send_seconds",
		Help:    "Time a sender spent on one delivery attempt (rendering and SMTP), by template; its sum over the senders' count and the elapsed time is how busy they are.",
		Buckets: []float64{.005, .01, .02, .05, .1, .25, .5, 1, 2.5, 5, 15}}, []string{"template"})
	reg.MustRegister(m.attempts, m.retries, m.dead, m.suppressed, m.send)
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
func (m *metrics) Sent(template string, d time.Duration) {
	m.send.WithLabelValues(template).Observe(d.Seconds())
}

// registerSenders adds the senders' gauges: how many there are and how
// many are sending now.
func registerSenders(reg *prometheus.Registry, a *app.App) {
	if reg == nil {
		return
	}
	reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "partnerhub_mail_senders",
			Help: "Mails the notifier sends at once (MAIL_SENDERS)."},
			func() float64 { _, n := a.Busy(); return float64(n) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "partnerhub_mail_senders_busy",
			Help: "Senders sending a mail now."},
			func() float64 { b, _ := a.Busy(); return float64(b) }))
}
