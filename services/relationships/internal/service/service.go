// Package service wires the relationships service: platform (Postgres
// schema, outbox relay, event router, HTTP server), repositories, app,
// bus handlers, the HTTP API and the timer poller.
package service

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/partnerhub/onboarding/pkg/jobs"
	"github.com/partnerhub/onboarding/pkg/platform"
	"github.com/partnerhub/onboarding/pkg/sealedbox"
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
	// NotifierPublicKey (X25519, base64) seals each invitation link for the
	// notifier, which mails it to the reseller's contact. Empty only in
	// development (DevKeysDir set): <DevKeysDir>/notifier.pub is used.
	NotifierPublicKey string `env:"NOTIFIER_PUBLIC_KEY"`
	DevKeysDir        string `env:"PARTNERHUB_DEV_KEYS"`
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
	if c.NotifierPublicKey == "" && c.DevKeysDir == "" {
		errs = append(errs, errors.New("NOTIFIER_PUBLIC_KEY is required (the notifier's X25519 public key, base64)"))
	} else if c.NotifierPublicKey != "" {
		if _, err := sealedbox.DecodeKey(c.NotifierPublicKey); err != nil {
			errs = append(errs, fmt.Errorf("NOTIFIER_PUBLIC_KEY: %w", err))
		}
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
	Rels   *postgres.Relationships
	events events.Handlers
	api    *apihttp.API
	clock  func() time.Time
	cfg    Config
}

// Declaration is the relationships service as the platform runs it: what
// it consumes, its jobs and its routes. On an unwired Service it is the
// declaration the deployment derives permissions and contracts from.
func (s *Service) Declaration() platform.Declaration {
	return platform.Declaration{
		Name:          Name,
		Migrations:    postgres.Migrations,
		Subscriptions: s.events.Subscriptions(),
		// Due times live in relationships.next_due_at, so timers survive
		// restarts; Update's row lock plus the idempotent Tick make each
		// fire once even with several instances.
		Jobs:   []jobs.Job{{Name: "relationship_timers", Every: s.cfg.TimerInterval, Run: s.fireTimers}},
		Routes: s.routes,
	}
}

// New provisions, connects and wires; Run starts it.
func New(ctx context.Context, cfg Config, log *slog.Logger) (*Service, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s := &Service{cfg: cfg, clock: cfg.Clock}
	if s.clock == nil {
		s.clock = func() time.Time { return time.Now().UTC() }
	}
	pub := cfg.NotifierPublicKey
	if pub == "" {
		var err error
		if pub, _, err = sealedbox.EnsureDevKeyPair(cfg.DevKeysDir); err != nil {
			return nil, fmt.Errorf("development notifier key: %w", err)
		}
		log.Warn("NOTIFIER_PUBLIC_KEY not set: using the development key pair", "dir", cfg.DevKeysDir)
	}
	sealer, err := sealedbox.NewSealer(pub)
	if err != nil {
		return nil, err
	}
	baseURL, _ := invitationBase(cfg.InvitationBaseURL) // validated above
	base, err := platform.Start(ctx, s.Declaration(), cfg.Config, log)
	if err != nil {
		return nil, err
	}
	policy := cfg.Policy()
	s.Rels = postgres.NewRelationships(base.Pool, base.Outbox, events.ToDrafts)
	a, err := app.New(app.Deps{
		Partners:      postgres.NewPartners(base.Pool),
		Relationships: s.Rels,
		Clock:         s.clock,
		Policy:        &policy,
		MFA:           base.Guard.MFA,
		// The link the provider gets is mailed to the reseller too, sealed
		// to the notifier in the request's event.
		SealInvitation: func(requestID, token string) ([]byte, error) {
			return sealer.SealPayload(sealedbox.Payload{ChallengeID: requestID, Link: apihttp.InvitationURL(baseURL, token)})
		},
	})
	if err != nil {
		base.Close()
		return nil, err
	}
	s.Base, s.App = base, a
	s.events = events.Handlers{App: a}
	s.api = &apihttp.API{App: a, InvitationBaseURL: baseURL, Protect: base.Guard.Protect}
	if err := base.Mount(s.Declaration()); err != nil {
		base.Close()
		return nil, err
	}
	return s, nil
}

func (s *Service) routes() http.Handler { return s.api.Handler() }

// Addr is the address the HTTP server listens on.
func (s *Service) Addr() string { return s.Base.Addr() }

// Run serves until ctx ends, then shuts down in order.
func (s *Service) Run(ctx context.Context) error { return s.Base.Run(ctx) }

// fireTimers fires what is due by the service's clock (which tests move)
// and returns when the next timer falls, in real time.
func (s *Service) fireTimers(ctx context.Context, _ time.Time) (time.Time, error) {
	if _, err := s.App.FireDueTimers(ctx, s.clock()); err != nil {
		return time.Time{}, err
	}
	next, err := s.Rels.NextDueAt(ctx)
	if err != nil || next.IsZero() {
		return time.Time{}, err
	}
	return time.Now().Add(next.Sub(s.clock())), nil
}
