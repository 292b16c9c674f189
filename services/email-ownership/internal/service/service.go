// Package service wires the e-mail ownership service: platform, Postgres
// repository, app, registration event handler, expiry poller and HTTP routes.
package service

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"
	"time"

	"github.com/partnerhub/onboarding/pkg/auth"
	"github.com/partnerhub/onboarding/pkg/jobs"
	"github.com/partnerhub/onboarding/pkg/platform"
	"github.com/partnerhub/onboarding/pkg/sealedbox"
	"github.com/partnerhub/onboarding/services/emailownership/internal/adapters/events"
	httpadapter "github.com/partnerhub/onboarding/services/emailownership/internal/adapters/http"
	"github.com/partnerhub/onboarding/services/emailownership/internal/adapters/postgres"
	"github.com/partnerhub/onboarding/services/emailownership/internal/app"
	"github.com/partnerhub/onboarding/services/emailownership/internal/domain"
)

// Name is the service name (schema email_ownership, source /services/email-ownership).
const Name = "email-ownership"

// Config is the service's configuration.
type Config struct {
	platform.Config
	// CodePepper keys the HMAC of the 6-digit codes (and of addresses typed
	// into the public resend form): at least 32 bytes, kept out of the
	// database. Empty is allowed only in development (DevKeysDir set): the
	// pepper is then read from <DevKeysDir>/email-ownership.pepper, created
	// once, so that codes stay valid across restarts.
	CodePepper string `env:"CODE_PEPPER"`
	// NotifierPublicKey is the notifier's X25519 public key (base64) the
	// secret is sealed to. Empty only in development: the pair in
	// <DevKeysDir>/notifier.{pub,key} is used (created if missing).
	NotifierPublicKey string `env:"NOTIFIER_PUBLIC_KEY"`
	// DevKeysDir enables the development fallbacks above (`make run` sets it
	// to .run/dev-keys).
	DevKeysDir     string        `env:"PARTNERHUB_DEV_KEYS"`
	ChallengeTTL   time.Duration `env:"CHALLENGE_TTL" envDefault:"72h"`
	ResendCooldown time.Duration `env:"RESEND_COOLDOWN" envDefault:"60s"`
	ResendQuota    int           `env:"RESEND_DAILY_QUOTA" envDefault:"5"`
	MaxWrongCodes  int           `env:"MAX_WRONG_CODES" envDefault:"5"`
	// Clock overrides the time (tests); nil is the wall clock.
	Clock app.Clock `env:"-"`
}

// PepperFile is the development pepper's file name under DevKeysDir.
const PepperFile = "email-ownership.pepper"

func (c Config) policy() domain.Policy {
	return domain.Policy{TTL: c.ChallengeTTL, ResendCooldown: c.ResendCooldown, DailyQuota: c.ResendQuota, MaxWrongCodes: c.MaxWrongCodes}
}

// Validate joins the platform's problems and the service's.
func (c Config) Validate() error {
	errs := []error{c.Config.Validate(), c.policy().Validate()}
	if c.CodePepper == "" && c.DevKeysDir == "" {
		errs = append(errs, errors.New("CODE_PEPPER is required (at least 32 bytes; `make run` uses a development pepper under .run/dev-keys)"))
	} else if c.CodePepper != "" && len(c.CodePepper) < 32 {
		errs = append(errs, errors.New("CODE_PEPPER must be at least 32 bytes"))
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

// Service is a wired, startable service.
type Service struct {
	Base   *platform.Base
	App    *app.App
	Repo   *postgres.Repository
	events *events.Handlers
	clock  app.Clock
	cfg    Config
}

type wallClock struct{}

func (wallClock) Now() time.Time { return time.Now().UTC() }

// Declaration is the e-mail ownership service as the platform runs it:
// what it consumes, its jobs and its routes. On an unwired Service it is
// the declaration the deployment derives permissions and contracts from.
func (s *Service) Declaration() platform.Declaration {
	return platform.Declaration{
		Name:          Name,
		Migrations:    postgres.Migrations,
		Subscriptions: s.events.Subscriptions(),
		// The next_deadline column is the durable timer; the row lock and
		// the state check make each expiry happen once across replicas.
		Jobs:   []jobs.Job{{Name: "expire_challenges", Every: s.cfg.TimerInterval, Run: s.expireChallenges}},
		Routes: s.routes,
	}
}

// New starts the platform and wires everything; Run serves.
func New(ctx context.Context, cfg Config, log *slog.Logger) (*Service, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	pepper, pub, err := secrets(cfg, log)
	if err != nil {
		return nil, err
	}
	hasher, err := domain.NewHasher(pepper)
	if err != nil {
		return nil, err
	}
	sealer, err := sealedbox.NewSealer(pub)
	if err != nil {
		return nil, err
	}
	s := &Service{cfg: cfg, clock: cfg.Clock}
	if s.clock == nil {
		s.clock = wallClock{}
	}
	base, err := platform.Start(ctx, s.Declaration(), cfg.Config, log)
	if err != nil {
		return nil, err
	}
	repo := postgres.New(base.Pool, base.Outbox, events.Drafts)
	a, err := app.New(app.Deps{Repo: repo, Throttles: repo, Clock: s.clock, Random: rand.Reader, Sealer: sealer,
		Hasher: hasher, Policy: cfg.policy()})
	if err != nil {
		base.Close()
		return nil, err
	}
	s.Base, s.App, s.Repo = base, a, repo
	s.events = &events.Handlers{App: a}
	if err := base.Mount(s.Declaration()); err != nil {
		base.Close()
		return nil, err
	}
	return s, nil
}

func (s *Service) routes() http.Handler {
	return httpadapter.Handler(s.App, s.Base.Guard, s.Base.Guard.Limiter)
}

// Addr is the HTTP listen address (useful with HTTP_ADDR=127.0.0.1:0).
func (s *Service) Addr() string { return s.Base.Addr() }

// Run serves until ctx ends, then shuts down in order.
func (s *Service) Run(ctx context.Context) error { return s.Base.Run(ctx) }

// expireChallenges expires what is due (by the service's clock, which
// tests move) and returns when the next deadline falls.
func (s *Service) expireChallenges(ctx context.Context, _ time.Time) (time.Time, error) {
	if _, err := s.App.ExpireDue(ctx, s.clock.Now()); err != nil {
		return time.Time{}, err
	}
	next, err := s.Repo.NextDeadline(ctx)
	if err != nil || next.IsZero() {
		return time.Time{}, err
	}
	// Deadlines are in the service clock's time; the runner sleeps in real time.
	return time.Now().Add(next.Sub(s.clock.Now())), nil
}

// secrets resolves the pepper and the notifier public key, with the
// development fallbacks when they are not configured.
func secrets(cfg Config, log *slog.Logger) (pepper []byte, pub string, err error) {
	pepper, pub = []byte(cfg.CodePepper), cfg.NotifierPublicKey
	if len(pepper) == 0 {
		if pepper, err = devPepper(cfg.DevKeysDir); err != nil {
			return nil, "", fmt.Errorf("development pepper: %w", err)
		}
		log.Warn("CODE_PEPPER not set: using the development pepper", "file", filepath.Join(cfg.DevKeysDir, PepperFile))
	}
	if pub == "" {
		if pub, _, err = sealedbox.EnsureDevKeyPair(cfg.DevKeysDir); err != nil {
			return nil, "", fmt.Errorf("development notifier key: %w", err)
		}
		log.Warn("NOTIFIER_PUBLIC_KEY not set: using the development key pair", "dir", cfg.DevKeysDir)
	}
	return pepper, pub, nil
}

// devPepper is the development pepper, kept in dir (auth.EnsureDevSecret:
// 48 random bytes made on first use, concurrent starts agree). The pepper is
// their base64 text, as the file holds it, so that a stack's earlier
// challenges still verify.
func devPepper(dir string) ([]byte, error) {
	b, err := auth.EnsureDevSecret(dir, PepperFile, 48)
	if err != nil {
		return nil, err
	}
	return []byte(base64.StdEncoding.EncodeToString(b)), nil
}
