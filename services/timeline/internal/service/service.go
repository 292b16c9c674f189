// Package service wires the timeline service: platform, store, the
// catch-all bus consumers, the webhook dispatcher and the HTTP API. It is a
// read model of every producer's events; the only events it publishes are
// its notices about webhook endpoints it disabled.
package service

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"
	"slices"
	"time"

	"github.com/partnerhub/onboarding/pkg/auth"
	"github.com/partnerhub/onboarding/pkg/ce"
	"github.com/partnerhub/onboarding/pkg/jobs"
	"github.com/partnerhub/onboarding/pkg/platform"
	"github.com/partnerhub/onboarding/services/timeline/internal/adapters/events"
	timelinehttp "github.com/partnerhub/onboarding/services/timeline/internal/adapters/http"
	"github.com/partnerhub/onboarding/services/timeline/internal/adapters/postgres"
	"github.com/partnerhub/onboarding/services/timeline/internal/adapters/webhook"
	"github.com/partnerhub/onboarding/services/timeline/internal/app"
	"github.com/partnerhub/onboarding/services/timeline/internal/domain"
)

// Name is the service name (schema, roles, durables, NATS user).
const Name = "timeline"

// DefaultRetention is TIMELINE_RETENTION's default: 90 days.
const DefaultRetention = 90 * 24 * time.Hour

// Config is the service's configuration.
type Config struct {
	platform.Config
	// Retention is how long an event is kept after it arrived: the feed's
	// promise to a consumer that was down (at least 30 days; zero: 90 days).
	Retention time.Duration `env:"TIMELINE_RETENTION" envDefault:"2160h"`
	// WebhookSecretKey encrypts the webhooks' signing secrets at rest:
	// base64 of 32 random bytes. Empty only in development (DevKeysDir
	// set): <DevKeysDir>/webhook-secret.key is used (created if missing).
	WebhookSecretKey string `env:"WEBHOOK_SECRET_KEY"`
	// DevKeysDir enables the development key above (`make run` sets it).
	DevKeysDir string `env:"PARTNERHUB_DEV_KEYS"`
	// WebhookAllowInsecure admits http URLs and loopback, private and
	// link-local addresses (development and tests only).
	WebhookAllowInsecure bool `env:"WEBHOOK_ALLOW_INSECURE" envDefault:"false"`
	// WebhookRetrySchedule are the delays between a failed attempt and the
	// next; when they are used up the delivery has failed.
	WebhookRetrySchedule []time.Duration `env:"WEBHOOK_RETRY_SCHEDULE" envSeparator:"," envDefault:"5s,5m,30m,2h,5h,10h,10h"`
	// WebhookTimeout bounds one attempt (connect, send, answer).
	WebhookTimeout time.Duration `env:"WEBHOOK_TIMEOUT" envDefault:"10s"`
	// WebhookConcurrency bounds the requests in flight per replica.
	WebhookConcurrency int `env:"WEBHOOK_CONCURRENCY" envDefault:"8"`
	// Clock is the recording clock; nil means the system clock (tests set it).
	Clock func() time.Time `env:"-"`
}

// WebhookKeyFile is the development webhook secret key's file under DevKeysDir.
const WebhookKeyFile = "webhook-secret.key"

// Validate lists every problem.
func (c Config) Validate() error {
	var errs []error
	if c.Retention != 0 && c.Retention < app.MinRetention { // zero: the default
		errs = append(errs, fmt.Errorf("TIMELINE_RETENTION must be at least %s (the feed keeps 30 days)", app.MinRetention))
	}
	if c.WebhookSecretKey == "" && c.DevKeysDir == "" {
		errs = append(errs, errors.New("WEBHOOK_SECRET_KEY is required (base64 of 32 random bytes; PARTNERHUB_DEV_KEYS in development)"))
	}
	if c.WebhookSecretKey != "" {
		if k, err := base64.StdEncoding.DecodeString(c.WebhookSecretKey); err != nil || len(k) != 32 {
			errs = append(errs, errors.New("WEBHOOK_SECRET_KEY must be the base64 of 32 bytes (openssl rand -base64 32)"))
		}
	}
	if len(c.WebhookRetrySchedule) > 20 || slices.ContainsFunc(c.WebhookRetrySchedule, func(d time.Duration) bool { return d <= 0 || d > 48*time.Hour }) {
		errs = append(errs, errors.New("WEBHOOK_RETRY_SCHEDULE must be at most 20 durations, each in (0, 48h]"))
	}
	if c.WebhookTimeout != 0 && (c.WebhookTimeout < 100*time.Millisecond || c.WebhookTimeout > time.Minute) {
		errs = append(errs, errors.New("WEBHOOK_TIMEOUT must be in [100ms, 1m]"))
	}
	if c.WebhookConcurrency < 0 || c.WebhookConcurrency > 64 {
		errs = append(errs, errors.New("WEBHOOK_CONCURRENCY must be in [1, 64]"))
	}
	return errors.Join(append(errs, c.Config.Validate())...)
}

func (c Config) withDefaults() Config {
	if c.Retention == 0 {
		c.Retention = DefaultRetention
	}
	if c.WebhookRetrySchedule == nil {
		c.WebhookRetrySchedule = domain.DefaultRetrySchedule
	}
	if c.WebhookTimeout == 0 {
		c.WebhookTimeout = 10 * time.Second
	}
	if c.WebhookConcurrency == 0 {
		c.WebhookConcurrency = 8
	}
	return c
}

// Service is a started timeline service.
type Service struct {
	Base     *platform.Base
	App      *app.App
	Webhooks *app.Webhooks
	cfg      Config
	events   events.Inbound
	api      timelinehttp.API
	metrics  *webhookMetrics
}

// Declaration is the timeline service as the platform runs it: what it
// reads and its routes. On an unwired Service it is the declaration the
// deployment derives permissions and contracts from.
func (s *Service) Declaration() platform.Declaration {
	return platform.Declaration{
		Name:          Name,
		Migrations:    postgres.Migrations,
		Subscriptions: s.events.Subscriptions(),
		Jobs: []jobs.Job{
			// Retention: deletes in batches, at once again while a batch was full.
			{Name: "prune_expired", Every: time.Hour, Run: s.prune},
			// Woken when a recording transaction that created deliveries
			// commits; sleeps until the next retry it knows of, and sweeps
			// for the rest every TIMER_INTERVAL.
			{Name: WebhooksJob, Every: s.sweepEvery(), Run: s.deliverWebhooks},
			// Runs for as long as the service runs: when the platform
			// stops the jobs, the webhook requests in flight end and are
			// recorded before the outbox relay's last flush.
			{Name: webhookRequestsJob, Every: time.Minute, Run: s.drainWebhooks},
		},
		Routes: s.routes,
	}
}

// WebhooksJob is the webhook dispatcher's job.
const WebhooksJob = "deliver_webhooks"

const webhookRequestsJob = "webhook_requests"

// drainWebhooks waits for the service to stop, then lets the webhook
// requests in flight end and records them (Webhooks.Drain).
func (s *Service) drainWebhooks(ctx context.Context, _ time.Time) (time.Time, error) {
	<-ctx.Done()
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	report, err := s.Webhooks.Drain(rctx)
	if err != nil {
		s.Base.Log.Warn("webhook attempts in flight at shutdown not recorded: sent again after their lease", "err", err)
		return time.Time{}, nil
	}
	s.metrics.observe(report)
	if n := len(report.Attempts); n > 0 {
		s.Base.Log.Info("webhook attempts in flight at shutdown recorded", "attempts", n, "succeeded", report.Succeeded)
	}
	return time.Time{}, nil
}

// webhookLease is how long a webhook delivery is left to the replica that
// claimed it: renewed every third of it while the replica holds the
// delivery (waiting, in flight up to WEBHOOK_TIMEOUT, being recorded), so
// only a replica that is gone lets it run out.
const webhookLease = 6 * time.Second

// sweepEvery is the dispatcher's safety sweep: TIMER_INTERVAL, or half a
// lease when that is shorter. A delivery another replica claimed leaves no
// due time here; its lease running out (that replica gone) is found by
// this bound, at most a lease and a half after its last renewal.
func (s *Service) sweepEvery() time.Duration {
	every := s.cfg.TimerInterval
	if every <= 0 {
		every = 30 * time.Second
	}
	return min(every, webhookLease/2)
}

func (s *Service) deliverWebhooks(ctx context.Context, now time.Time) (time.Time, error) {
	report, next, err := s.Webhooks.DeliverWebhooks(ctx, now)
	if err != nil {
		return time.Time{}, err
	}
	s.metrics.observe(report)
	if report.LeaseError != nil {
		s.Base.Log.Warn("webhook delivery leases not renewed: tried again within a second", "err", report.LeaseError)
	}
	for _, d := range report.Disabled {
		s.Base.Log.Warn("webhook endpoint disabled: it failed for the whole retry schedule", "endpoint_id", d.EndpointID,
			"consumer", d.Consumer, "url", d.URL, "failing_since", d.FailingSince, "last_status", d.LastStatus,
			"last_error", d.LastError, "cancelled", d.Cancelled)
	}
	return next, nil
}

func (s *Service) prune(ctx context.Context, now time.Time) (time.Time, error) {
	return s.App.Prune(ctx, now)
}

// New starts the platform and wires the service.
func New(ctx context.Context, cfg Config, log *slog.Logger) (*Service, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	key, err := webhookKey(cfg, log)
	if err != nil {
		return nil, err
	}
	keyring, err := webhook.NewKeyring(key)
	if err != nil {
		return nil, err
	}
	s := &Service{cfg: cfg}
	base, err := platform.Start(ctx, s.Declaration(), cfg.Config, log)
	if err != nil {
		return nil, err
	}
	clock := cfg.Clock
	if clock == nil {
		clock = func() time.Time { return time.Now().UTC() }
	}
	lease := webhookLease
	a := &app.App{Store: postgres.New(base.Pool), Now: clock, Retention: cfg.Retention, DeliveryLease: lease}
	wh := &app.Webhooks{
		Store:  postgres.NewWebhooks(base.Pool, base.Outbox, events.DisabledNotice),
		Keys:   keyring,
		Sender: webhook.NewSender(cfg.WebhookTimeout, cfg.WebhookAllowInsecure),
		Policy: app.WebhookPolicy{Retry: domain.RetryPolicy{Schedule: cfg.WebhookRetrySchedule}, Lease: lease, Batch: 100,
			Concurrency: cfg.WebhookConcurrency, AllowInsecure: cfg.WebhookAllowInsecure, Every: s.sweepEvery(), Window: 20 * time.Millisecond},
		Now:   clock,
		NewID: ce.NewID,
		Wake:  base.Jobs.Waker(WebhooksJob),
	}
	s.Base, s.App, s.Webhooks = base, a, wh
	s.metrics = newWebhookMetrics(base.Telemetry.Registry)
	s.events = events.Inbound{App: a, Log: log, HandOff: wh.HandOffRecorded}
	s.api = timelinehttp.API{App: a, Webhooks: wh, Protect: base.Guard.Protect}
	if err := base.Mount(s.Declaration()); err != nil {
		base.Close()
		return nil, err
	}
	return s, nil
}

func (s *Service) routes() http.Handler { return s.api.Handler() }

// Addr is the HTTP address the service listens on.
func (s *Service) Addr() string { return s.Base.Addr() }

// Run serves until ctx ends, then shuts down in order.
func (s *Service) Run(ctx context.Context) error { return s.Base.Run(ctx) }

// webhookKey is WEBHOOK_SECRET_KEY, or in development the key kept under
// PARTNERHUB_DEV_KEYS.
func webhookKey(cfg Config, log *slog.Logger) ([]byte, error) {
	if cfg.WebhookSecretKey != "" {
		return base64.StdEncoding.DecodeString(cfg.WebhookSecretKey)
	}
	key, err := auth.EnsureDevSecret(cfg.DevKeysDir, WebhookKeyFile, 32)
	if err != nil {
		return nil, fmt.Errorf("development webhook secret key: %w", err)
	}
	log.Warn("WEBHOOK_SECRET_KEY not set: using the development key", "file", filepath.Join(cfg.DevKeysDir, WebhookKeyFile))
	return key, nil
}
