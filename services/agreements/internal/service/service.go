// Package service wires the agreements service: platform, repositories, use
// cases, bus handlers, durable timers and the HTTP API.
package service

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/partnerhub/onboarding/pkg/auth"
	"github.com/partnerhub/onboarding/pkg/ce"
	"github.com/partnerhub/onboarding/pkg/httpx"
	"github.com/partnerhub/onboarding/pkg/pg"
	"github.com/partnerhub/onboarding/pkg/platform"
	"github.com/partnerhub/onboarding/pkg/timer"
	"github.com/partnerhub/onboarding/services/agreements/internal/adapters/events"
	agreementshttp "github.com/partnerhub/onboarding/services/agreements/internal/adapters/http"
	"github.com/partnerhub/onboarding/services/agreements/internal/adapters/postgres"
	"github.com/partnerhub/onboarding/services/agreements/internal/app"
)

// Name is the service name (schema, roles, durables, event source).
const Name = "agreements"

// Config is the service's configuration: the platform's plus its own.
type Config struct {
	platform.Config
	// SeedVersions publishes the development default versions at start-up
	// (idempotent; a published version is never edited).
	SeedVersions bool `env:"AGREEMENTS_SEED_VERSIONS" envDefault:"true"`
}

// Validate lists every problem.
func (c Config) Validate() error { return errors.Join(c.Config.Validate()) }

// Service is a started agreements service.
type Service struct {
	Base   *platform.Base
	App    app.Application
	server *httpx.Server
}

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now().UTC() }

type uuidIDs struct{}

func (uuidIDs) NewID() string { return ce.NewID() }

// New starts the platform and wires the service.
func New(ctx context.Context, cfg Config, log *slog.Logger) (*Service, error) {
	base, err := platform.Start(ctx, Name, cfg.Config, postgres.Migrations, log)
	if err != nil {
		return nil, err
	}
	store := postgres.New(base.Pool, base.Outbox, events.Draft)
	a := app.New(app.Deps{
		Versions: store.Versions(), Partners: store.Partners(), Acceptances: store.Acceptances(),
		Requirements: store.Requirements(), Clock: systemClock{}, IDs: uuidIDs{},
	})
	s := &Service{Base: base, App: a}
	if cfg.SeedVersions {
		sctx := auth.WithPrincipal(ctx, servicePrincipal)
		res, err := a.SeedVersions.Handle(sctx)
		if err != nil {
			base.Close()
			return nil, fmt.Errorf("seed versions: %w", err)
		}
		log.Info("seed versions", "published", res.Published, "existing", res.Existing)
	}
	in := events.Inbound{App: a, Pool: base.Pool, Partners: store.Partners()}
	for t, h := range in.Handlers() {
		base.Router.On(t, h)
	}
	fire := func(ctx context.Context, tx pgx.Tx, _ timer.Due) error {
		ctx = auth.WithPrincipal(pg.WithTx(ctx, tx), servicePrincipal)
		_, err := a.FireDueTimers.Handle(ctx, time.Now().UTC())
		return err
	}
	base.Timers.Handlers[postgres.TimerReacceptanceDue] = fire
	base.Timers.Handlers[postgres.TimerFanOut] = fire
	s.server, err = httpx.NewServer(cfg.HTTPAddr, agreementshttp.Handler(a, base.Guard), log, base.Checks())
	if err != nil {
		base.Close()
		return nil, err
	}
	return s, nil
}

// servicePrincipal is the actor of changes the service makes on its own
// (seeds, timers), recorded in the audit log.
var servicePrincipal = auth.Principal{Kind: auth.KindService, Subject: Name}

// Addr is the HTTP address the service listens on.
func (s *Service) Addr() string { return s.server.Addr() }

// Run serves until ctx ends, then shuts down in order.
func (s *Service) Run(ctx context.Context) error { return s.Base.Run(ctx, s.server) }
