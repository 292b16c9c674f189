// Package service wires the relationships service: platform (Postgres
// schema, outbox relay, event router, HTTP server), repositories, app,
// bus handlers, the HTTP API and the timer poller.
package service

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"sync"
	"time"

	registrationv1 "github.com/partnerhub/onboarding/pkg/events/registration/v1"
	"github.com/partnerhub/onboarding/pkg/httpx"
	"github.com/partnerhub/onboarding/pkg/platform"
	"github.com/partnerhub/onboarding/services/relationships/internal/adapters/events"
	apihttp "github.com/partnerhub/onboarding/services/relationships/internal/adapters/http"
	"github.com/partnerhub/onboarding/services/relationships/internal/adapters/postgres"
	"github.com/partnerhub/onboarding/services/relationships/internal/app"
	"github.com/partnerhub/onboarding/services/relationships/internal/domain"
)

// Name is the service name: CloudEvents source /services/relationships,
// Postgres schema relationships, durable prefix relationships.
const Name = "relationships"

// Config is the service configuration (environment variables).
type Config struct {
	platform.Config
	// InvitationBaseURL is the reseller-facing page that opens an
	// invitation; the link handed to the provider is this URL with the
	// token in its fragment.
	InvitationBaseURL string `env:"INVITATION_BASE_URL" envDefault:"http://localhost:3000/invitations"`
	// InvitationTTL is how long a request stays open.
	InvitationTTL time.Duration `env:"INVITATION_TTL" envDefault:"2160h"`
	// ReminderLead is how long before an invitation expires its reminder is due.
	ReminderLead time.Duration `env:"INVITATION_REMINDER_LEAD" envDefault:"168h"`
	// ExpiringLead is how long before a grant expires it is announced as expiring.
	ExpiringLead time.Duration `env:"GRANT_EXPIRING_LEAD" envDefault:"336h"`
	// Clock is the time source (tests move it); nil means the wall clock.
	Clock func() time.Time `env:"-"`
}

// Policy is the domain policy of the configured durations.
func (c Config) Policy() domain.Policy {
	return domain.Policy{InvitationTTL: c.InvitationTTL, ReminderLead: c.ReminderLead, ExpiringLead: c.ExpiringLead}
}

// Validate lists every problem.
func (c Config) Validate() error {
	errs := []error{c.Config.Validate(), c.Policy().Validate()}
	if _, err := invitationBase(c.InvitationBaseURL); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func invitationBase(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.Fragment != "" {
		return nil, fmt.Errorf("INVITATION_BASE_URL %q must be an absolute http(s) URL without a fragment", s)
	}
	return u, nil
}

// Service is the wired service.
type Service struct {
	Base   *platform.Base
	App    *app.App
	server *httpx.Server
	clock  func() time.Time
}

// New provisions, connects and wires; Run starts it.
func New(ctx context.Context, cfg Config, log *slog.Logger) (*Service, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	base, err := platform.Start(ctx, Name, cfg.Config, postgres.Migrations, log)
	if err != nil {
		return nil, err
	}
	ok := false
	defer func() {
		if !ok {
			base.Close()
		}
	}()
	clock := cfg.Clock
	if clock == nil {
		clock = func() time.Time { return time.Now().UTC() }
	}
	policy := cfg.Policy()
	a, err := app.New(app.Deps{
		Partners:      postgres.NewPartners(base.Pool),
		Relationships: postgres.NewRelationships(base.Pool, base.Outbox, events.ToDrafts),
		Clock:         clock,
		Policy:        &policy,
	})
	if err != nil {
		return nil, err
	}
	h := events.Handlers{Pool: base.Pool, App: a}
	base.Router.On(registrationv1.TypeApplicationSubmitted, h.OnApplicationSubmitted)
	base.Router.On(registrationv1.TypeEnrollmentStatusChanged, h.OnEnrollmentStatusChanged)

	baseURL, _ := invitationBase(cfg.InvitationBaseURL) // validated above
	api := apihttp.API{App: a, InvitationBaseURL: baseURL, Protect: base.Guard.Protect}
	srv, err := httpx.NewServer(cfg.HTTPAddr, api.Handler(), log, base.Checks())
	if err != nil {
		return nil, err
	}
	ok = true
	return &Service{Base: base, App: a, server: srv, clock: clock}, nil
}

// Addr is the address the HTTP server listens on.
func (s *Service) Addr() string { return s.server.Addr() }

// Run serves until ctx ends. Beside the platform it runs the timer poller:
// due times live in relationships.next_due_at, so timers survive restarts,
// and Update's row lock plus the idempotent Tick make each fire once even
// with several instances polling.
func (s *Service) Run(ctx context.Context) error {
	pollCtx, stopPoll := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		s.pollTimers(pollCtx)
	}()
	err := s.Base.Run(ctx, s.server)
	stopPoll()
	wg.Wait()
	return err
}

func (s *Service) pollTimers(ctx context.Context) {
	t := time.NewTicker(s.Base.Config.TimerInterval)
	defer t.Stop()
	for {
		if _, err := s.App.FireDueTimers(ctx, s.clock()); err != nil && ctx.Err() == nil {
			s.Base.Log.Error("firing due timers failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
