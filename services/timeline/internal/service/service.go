// Package service wires the timeline service: platform, store, the
// catch-all bus consumers and the HTTP API. It is a read model: it
// publishes no event (the platform's outbox stays empty).
package service

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/partnerhub/onboarding/pkg/jobs"
	"github.com/partnerhub/onboarding/pkg/platform"
	"github.com/partnerhub/onboarding/services/timeline/internal/adapters/events"
	timelinehttp "github.com/partnerhub/onboarding/services/timeline/internal/adapters/http"
	"github.com/partnerhub/onboarding/services/timeline/internal/adapters/postgres"
	"github.com/partnerhub/onboarding/services/timeline/internal/app"
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
	// Clock is the recording clock; nil means the system clock (tests set it).
	Clock func() time.Time `env:"-"`
}

// Validate lists every problem.
func (c Config) Validate() error {
	var errs []error
	if c.Retention != 0 && c.Retention < app.MinRetention { // zero: the default
		errs = append(errs, fmt.Errorf("TIMELINE_RETENTION must be at least %s (the feed keeps 30 days)", app.MinRetention))
	}
	return errors.Join(append(errs, c.Config.Validate())...)
}

// Service is a started timeline service.
type Service struct {
	Base   *platform.Base
	App    *app.App
	events events.Inbound
	api    timelinehttp.API
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
		},
		Routes: s.routes,
	}
}

func (s *Service) prune(ctx context.Context, now time.Time) (time.Time, error) {
	return s.App.Prune(ctx, now)
}

// New starts the platform and wires the service.
func New(ctx context.Context, cfg Config, log *slog.Logger) (*Service, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Retention == 0 {
		cfg.Retention = DefaultRetention
	}
	s := &Service{}
	base, err := platform.Start(ctx, s.Declaration(), cfg.Config, log)
	if err != nil {
		return nil, err
	}
	clock := cfg.Clock
	if clock == nil {
		clock = func() time.Time { return time.Now().UTC() }
	}
	a := &app.App{Store: postgres.New(base.Pool), Now: clock, Retention: cfg.Retention}
	s.Base, s.App = base, a
	s.events = events.Inbound{App: a, Log: log}
	s.api = timelinehttp.API{App: a, Protect: base.Guard.Protect}
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
