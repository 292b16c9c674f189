// Package service wires the agreements service: platform, repositories, use
// cases, bus handlers, durable timers and the HTTP API.
package service

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/partnerhub/onboarding/pkg/auth"
	"github.com/partnerhub/onboarding/pkg/ce"
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
	events events.Inbound
}

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now().UTC() }

type uuidIDs struct{}

func (uuidIDs) NewID() string { return ce.NewID() }

// Declaration is the agreements service as the platform runs it: what it
// consumes and its routes (its deadlines are durable timers, see New). On
// an unwired Service it is the declaration the deployment derives
// permissions and contracts from.
func (s *Service) Declaration() platform.Declaration {
	return platform.Declaration{
		Name:          Name,
		Migrations:    postgres.Migrations,
		Subscriptions: s.events.Subscriptions(),
		Routes:        s.routes,
	}
}

// New starts the platform and wires the service.
func New(ctx context.Context, cfg Config, log *slog.Logger) (*Service, error) {
	s := &Service{}
	base, err := platform.Start(ctx, s.Declaration(), cfg.Config, log)
	if err != nil {
		return nil, err
	}
	store := postgres.New(base.Pool, base.Outbox, events.Draft, base.Timers)
	a := app.New(app.Deps{
		Versions: store.Versions(), Partners: store.Partners(), Acceptances: store.Acceptances(),
		Requirements: store.Requirements(), Keys: store.Keys(), Pending: store.Pending(), Clock: systemClock{}, IDs: uuidIDs{}, MFA: base.Guard.MFA,
	})
	s.Base, s.App = base, a
	if cfg.SeedVersions {
		sctx := auth.WithPrincipal(ctx, servicePrincipal)
		res, err := a.SeedVersions.Handle(sctx)
		if err != nil {
			base.Close()
			return nil, fmt.Errorf("seed versions: %w", err)
		}
		log.Info("seed versions", "published", res.Published, "existing", res.Existing)
	}
	s.events = events.Inbound{App: a, Partners: store.Partners()}
	fire := func(ctx context.Context, tx pgx.Tx, _ timer.Due) error {
		ctx = auth.WithPrincipal(pg.WithTx(ctx, tx), servicePrincipal)
		_, err := a.FireDueTimers.Handle(ctx, time.Now().UTC())
		return err
	}
	base.Timers.Handle(postgres.TimerReacceptanceDue, fire)
	base.Timers.Handle(postgres.TimerFanOut, fire)
	base.Timers.Handle(postgres.TimerRetirement, fire)
	if err := base.Mount(s.Declaration()); err != nil {
		base.Close()
		return nil, err
	}
	return s, nil
}

func (s *Service) routes() http.Handler { return agreementshttp.Handler(s.App, s.Base.Guard) }

// servicePrincipal is the actor of changes the service makes on its own
// (seeds, timers), recorded in the audit log.
var servicePrincipal = auth.Principal{Kind: auth.KindService, Subject: Name}

// Addr is the HTTP address the service listens on.
func (s *Service) Addr() string { return s.Base.Addr() }

// Run serves until ctx ends, then shuts down in order.
func (s *Service) Run(ctx context.Context) error { return s.Base.Run(ctx) }
