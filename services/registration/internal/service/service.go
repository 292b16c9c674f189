// Package service wires the registration service: platform, Postgres
// repository, use cases, bus handlers and the HTTP API.
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
	"github.com/partnerhub/onboarding/services/registration/internal/adapters/events"
	api "github.com/partnerhub/onboarding/services/registration/internal/adapters/http"
	"github.com/partnerhub/onboarding/services/registration/internal/adapters/policyfile"
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
	// InactivityPeriod: an approved partner without activity for this long
	// becomes inactive ("18mo", "30d" or a duration; seed 000: 18 months).
	InactivityPeriod domain.Period `env:"INACTIVITY_PERIOD" envDefault:"18mo"`
	// ReactivationReviewAfter: a partner inactive at least this long is
	// reviewed by verification again when reactivated.
	ReactivationReviewAfter domain.Period `env:"REACTIVATION_REVIEW_AFTER" envDefault:"6mo"`
	// PolicyFile names the operator's registration policy (JSON or YAML):
	// contact e-mail policy and registration-number schemes per market.
	// Empty: the built-in policy. Re-read on SIGHUP and when it changes.
	PolicyFile string `env:"REGISTRATION_POLICY_FILE"`
	// PolicyPoll is how often the policy file's modification time is checked.
	PolicyPoll time.Duration `env:"REGISTRATION_POLICY_POLL" envDefault:"5s"`
}

// Validate lists every problem.
func (c Config) Validate() error {
	var errs []error
	errs = append(errs, c.Config.Validate())
	if c.IdempotencyRetention < 24*time.Hour {
		errs = append(errs, errors.New("IDEMPOTENCY_RETENTION must be at least 24h"))
	}
	if c.PolicyFile != "" {
		if _, err := policyfile.Load(c.PolicyFile); err != nil {
			errs = append(errs, fmt.Errorf("REGISTRATION_POLICY_FILE: %w", err))
		}
	}
	return errors.Join(errs...)
}

// withDefaults fills the standing periods a Config literal leaves zero.
func (c Config) withDefaults() Config {
	d := app.DefaultStandingPolicy()
	if c.InactivityPeriod.IsZero() {
		c.InactivityPeriod = d.InactivityPeriod
	}
	if c.ReactivationReviewAfter.IsZero() {
		c.ReactivationReviewAfter = d.ReactivationReviewAfter
	}
	return c
}

// Service is a running registration service.
type Service struct {
	Base   *platform.Base
	App    *app.App
	Repo   *postgres.Repository
	events *events.Handlers
	api    *api.API
	cfg    Config
	policy *policyfile.Watcher // nil without REGISTRATION_POLICY_FILE
}

// Declaration is the registration service as the platform runs it: what it
// consumes, its jobs and its routes. On an unwired Service it is the
// declaration the deployment derives permissions and contracts from.
func (s *Service) Declaration() platform.Declaration {
	return platform.Declaration{
		Name:          Name,
		Migrations:    postgres.Migrations,
		Subscriptions: s.events.Subscriptions(),
		Jobs: []jobs.Job{
			{Name: "prune_idempotency_keys", Every: 10 * time.Minute, Run: s.pruneIdempotencyKeys},
			// Sleeps until the longest-idle partner's period ends; activity
			// only moves that later, so a wake-up early costs one query.
			{Name: "mark_inactive_partners", Every: s.cfg.TimerInterval, Run: s.markInactive},
		},
		Routes: s.routes,
	}
}

// New provisions, connects and wires the service.
func New(ctx context.Context, cfg Config, log *slog.Logger) (*Service, error) {
	cfg = cfg.withDefaults()
	s := &Service{cfg: cfg}
	base, err := platform.Start(ctx, s.Declaration(), cfg.Config, log)
	if err != nil {
		return nil, err
	}
	repo := postgres.NewRepository(base.Pool, base.Outbox, events.Draft)
	a := app.New(repo, domain.RandomIDs{}, app.ClockFunc(time.Now), domain.DefaultPolicy())
	if cfg.PolicyFile != "" {
		// The file's state is noted before it is read: a change while it
		// is read is seen by the first poll.
		s.policy = &policyfile.Watcher{Path: cfg.PolicyFile, Interval: cfg.PolicyPoll, Apply: a.SetPolicies, Log: log}
		s.policy.Start()
		set, err := policyfile.Load(cfg.PolicyFile)
		if err != nil {
			base.Close()
			return nil, err
		}
		a.SetPolicies(set)
	}
	a.Standing.InactivityPeriod, a.Standing.ReactivationReviewAfter = cfg.InactivityPeriod, cfg.ReactivationReviewAfter
	a.Finder = repo
	s.Base, s.App, s.Repo = base, a, repo
	s.events = &events.Handlers{App: a, Repo: repo, Pool: base.Pool, Outbox: base.Outbox, Directory: base.Guard.Directory}
	s.api = &api.API{App: a, Repo: repo, Pool: base.Pool}
	if err := base.Mount(s.Declaration()); err != nil {
		base.Close()
		return nil, err
	}
	return s, nil
}

func (s *Service) routes() http.Handler { return s.api.Handler(s.Base.Guard.Protect) }

// Addr is where the HTTP API listens.
func (s *Service) Addr() string { return s.Base.Addr() }

// Run serves until ctx ends, then shuts down gracefully.
func (s *Service) Run(ctx context.Context) error {
	if s.policy != nil {
		wctx, stop := context.WithCancel(ctx)
		defer stop()
		go s.policy.Run(wctx)
	}
	return s.Base.Run(ctx)
}

// markInactive makes inactive the partners idle for the inactivity period.
func (s *Service) markInactive(ctx context.Context, now time.Time) (time.Time, error) {
	return s.App.MarkInactivePartners(ctx, now)
}

// pruneIdempotencyKeys forgets Idempotency-Key answers past their retention.
func (s *Service) pruneIdempotencyKeys(ctx context.Context, _ time.Time) (time.Time, error) {
	_, err := s.Base.Pool.Exec(ctx, `DELETE FROM idempotency_keys WHERE created_at < now() - $1::interval`,
		s.cfg.IdempotencyRetention.String())
	return time.Time{}, err
}
