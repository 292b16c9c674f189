// Package service wires the registration service: platform, Postgres
// repository, use cases, bus handlers and the HTTP API.
package service

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/partnerhub/onboarding/pkg/httpx"
	"github.com/partnerhub/onboarding/pkg/platform"
	"github.com/partnerhub/onboarding/services/registration/internal/adapters/events"
	api "github.com/partnerhub/onboarding/services/registration/internal/adapters/http"
	"github.com/partnerhub/onboarding/services/registration/internal/adapters/postgres"
	"github.com/partnerhub/onboarding/services/registration/internal/app"
	"github.com/partnerhub/onboarding/services/registration/internal/domain"
)

// Name is the service's name: its CloudEvents source, schema and durables.
const Name = "registration"

// Config is the registration service's configuration.
type Config struct {
	platform.Config
	// IdempotencyRetention is how long Idempotency-Key responses are kept.
	IdempotencyRetention time.Duration `env:"IDEMPOTENCY_RETENTION" envDefault:"48h"`
}

// Validate lists every problem.
func (c Config) Validate() error {
	var errs []error
	errs = append(errs, c.Config.Validate())
	if c.IdempotencyRetention < 24*time.Hour {
		errs = append(errs, errors.New("IDEMPOTENCY_RETENTION must be at least 24h"))
	}
	return errors.Join(errs...)
}

// Service is a running registration service.
type Service struct {
	Base   *platform.Base
	App    *app.App
	Repo   *postgres.Repository
	server *httpx.Server
	cfg    Config
}

// New provisions, connects and wires the service.
func New(ctx context.Context, cfg Config, log *slog.Logger) (*Service, error) {
	base, err := platform.Start(ctx, Name, cfg.Config, postgres.Migrations, log)
	if err != nil {
		return nil, err
	}
	repo := postgres.NewRepository(base.Pool, base.Outbox, events.Draft)
	a := app.New(repo, domain.RandomIDs{}, app.ClockFunc(time.Now), domain.DefaultPolicy())
	h := &events.Handlers{App: a, Repo: repo, Pool: base.Pool, Outbox: base.Outbox, Directory: base.Guard.Directory}
	h.Register(base.Router)
	routes := (&api.API{App: a, Repo: repo, Pool: base.Pool}).Handler(base.Guard.Protect)
	srv, err := httpx.NewServer(cfg.HTTPAddr, routes, log, base.Checks())
	if err != nil {
		base.Close()
		return nil, err
	}
	return &Service{Base: base, App: a, Repo: repo, server: srv, cfg: cfg}, nil
}

// Addr is where the HTTP API listens.
func (s *Service) Addr() string { return s.server.Addr() }

// Run serves until ctx ends, then shuts down gracefully.
func (s *Service) Run(ctx context.Context) error {
	go s.pruneIdempotencyKeys(ctx)
	return s.Base.Run(ctx, s.server)
}

func (s *Service) pruneIdempotencyKeys(ctx context.Context) {
	t := time.NewTicker(10 * time.Minute)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			_, err := s.Base.Pool.Exec(ctx, `DELETE FROM idempotency_keys WHERE created_at < now() - $1::interval`,
				s.cfg.IdempotencyRetention.String())
			if err != nil && ctx.Err() == nil {
				s.Base.Log.Warn("prune idempotency keys", "err", err)
			}
		}
	}
}
