// Package service wires the timeline service: platform, store, the
// catch-all bus consumers and the HTTP API. It is a read model: it
// publishes no event (the platform's outbox stays empty).
package service

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/partnerhub/onboarding/pkg/httpx"
	"github.com/partnerhub/onboarding/pkg/platform"
	"github.com/partnerhub/onboarding/services/timeline/internal/adapters/events"
	timelinehttp "github.com/partnerhub/onboarding/services/timeline/internal/adapters/http"
	"github.com/partnerhub/onboarding/services/timeline/internal/adapters/postgres"
	"github.com/partnerhub/onboarding/services/timeline/internal/app"
)

// Name is the service name (schema, roles, durables, NATS user).
const Name = "timeline"

// Config is the service's configuration: the platform's only.
type Config struct {
	platform.Config
	// Clock is the recording clock; nil means the system clock (tests set it).
	Clock func() time.Time `env:"-"`
}

// Validate lists every problem.
func (c Config) Validate() error { return errors.Join(c.Config.Validate()) }

// Service is a started timeline service.
type Service struct {
	Base   *platform.Base
	App    *app.App
	server *httpx.Server
}

// New starts the platform and wires the service.
func New(ctx context.Context, cfg Config, log *slog.Logger) (*Service, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	base, err := platform.Start(ctx, Name, cfg.Config, postgres.Migrations, log)
	if err != nil {
		return nil, err
	}
	clock := cfg.Clock
	if clock == nil {
		clock = func() time.Time { return time.Now().UTC() }
	}
	a := &app.App{Store: postgres.New(base.Pool), Now: clock}
	events.Inbound{App: a, Log: log}.Subscribe(base.Router)
	api := timelinehttp.API{App: a, Protect: base.Guard.Protect}
	srv, err := httpx.NewServer(cfg.HTTPAddr, api.Handler(), log, base.Checks())
	if err != nil {
		base.Close()
		return nil, err
	}
	return &Service{Base: base, App: a, server: srv}, nil
}

// Addr is the HTTP address the service listens on.
func (s *Service) Addr() string { return s.server.Addr() }

// Run serves until ctx ends, then shuts down in order.
func (s *Service) Run(ctx context.Context) error { return s.Base.Run(ctx, s.server) }
