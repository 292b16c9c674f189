// Package service wires the reference notifier: platform, Postgres
// repository, sealed-box opener, SMTP sender (or the local mail catcher),
// the mail-request handler and the delivery poller.
package service

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/url"
	"strings"
	"time"

	"github.com/partnerhub/onboarding/pkg/jobs"
	"github.com/partnerhub/onboarding/pkg/platform"
	"github.com/partnerhub/onboarding/pkg/sealedbox"
	"github.com/partnerhub/onboarding/services/notifier/internal/adapters/events"
	"github.com/partnerhub/onboarding/services/notifier/internal/adapters/postgres"
	"github.com/partnerhub/onboarding/services/notifier/internal/adapters/smtp"
	"github.com/partnerhub/onboarding/services/notifier/internal/app"
	"github.com/partnerhub/onboarding/services/notifier/internal/domain"
	"github.com/partnerhub/onboarding/services/notifier/internal/mailcatcher"
)

// Name is the service name (schema notifier, source /services/notifier).
const Name = "notifier"

// Config is the notifier's configuration.
type Config struct {
	platform.Config
	// PrivateKey is the X25519 private key (base64) that opens the sealed
	// secrets; its public half is the e-mail ownership service's
	// NOTIFIER_PUBLIC_KEY. Empty only in development (DevKeysDir set): the
	// pair in <DevKeysDir>/notifier.{pub,key} is used (created if missing).
	PrivateKey string `env:"NOTIFIER_PRIVATE_KEY"`
	DevKeysDir string `env:"PARTNERHUB_DEV_KEYS"`

	// SMTP. Empty SMTPHost is allowed only in development: the notifier
	// then runs its own mail catcher and writes every mail to MailDir.
	SMTPHost     string `env:"SMTP_HOST"`
	SMTPPort     int    `env:"SMTP_PORT"` // default by SMTP_TLS: 587, 465, 25
	SMTPTLS      string `env:"SMTP_TLS" envDefault:"starttls"`
	SMTPUsername string `env:"SMTP_USERNAME"`
	SMTPPassword string `env:"SMTP_PASSWORD"`
	SMTPFrom     string `env:"SMTP_FROM" envDefault:"no-reply@partnerhub.example"`
	SMTPFromName string `env:"SMTP_FROM_NAME" envDefault:"Partner Onboarding"`
	MailDir      string `env:"MAIL_CATCHER_DIR" envDefault:".run/mail"`
	// LinkBaseURL is the e-mail ownership service's public URL; mails link
	// to <LinkBaseURL>/confirm and <LinkBaseURL>/dispute.
	LinkBaseURL string `env:"LINK_BASE_URL" envDefault:"http://127.0.0.1:8082"`

	RetryInitial time.Duration `env:"RETRY_INITIAL_BACKOFF" envDefault:"30s"`
	RetryMax     time.Duration `env:"RETRY_MAX_BACKOFF" envDefault:"30m"`
	MaxAttempts  int           `env:"RETRY_MAX_ATTEMPTS" envDefault:"12"`
	SendLease    time.Duration `env:"SEND_LEASE" envDefault:"2m"`

	// SMTPTLSConfig overrides TLS settings (tests trust a test CA).
	SMTPTLSConfig *tls.Config `env:"-"`
	// Clock overrides the time (tests); nil is the wall clock.
	Clock app.Clock `env:"-"`
}

func (c Config) policy() domain.Policy {
	return domain.Policy{InitialBackoff: c.RetryInitial, MaxBackoff: c.RetryMax, Jitter: 0.2, Lease: c.SendLease, MaxAttempts: c.MaxAttempts}
}

func (c Config) links() app.Links {
	base := strings.TrimRight(c.LinkBaseURL, "/")
	return app.Links{ConfirmURL: base + "/confirm", DisputeURL: base + "/dispute"}
}

// Validate joins the platform's problems and the notifier's.
func (c Config) Validate() error {
	errs := []error{c.Config.Validate(), c.policy().Validate(), c.links().Validate()}
	if c.PrivateKey == "" && c.DevKeysDir == "" {
		errs = append(errs, errors.New("NOTIFIER_PRIVATE_KEY is required (base64 X25519 private key)"))
	} else if c.PrivateKey != "" {
		if _, err := sealedbox.DecodeKey(c.PrivateKey); err != nil {
			errs = append(errs, fmt.Errorf("NOTIFIER_PRIVATE_KEY: %w", err))
		}
	}
	if c.SMTPHost == "" && c.DevKeysDir == "" {
		errs = append(errs, errors.New("SMTP_HOST is required (the local mail catcher runs only in development)"))
	}
	if _, err := url.Parse(c.LinkBaseURL); err != nil {
		errs = append(errs, fmt.Errorf("LINK_BASE_URL: %w", err))
	}
	return errors.Join(errs...)
}

// Service is a wired notifier.
type Service struct {
	Base    *platform.Base
	App     *app.App
	Repo    *postgres.Repository
	Catcher *mailcatcher.Server // the local catcher, nil when SMTP_HOST is set
	events  *events.Handlers
	clock   app.Clock
	cfg     Config
	log     *slog.Logger
}

type wallClock struct{}

func (wallClock) Now() time.Time { return time.Now().UTC() }

// Declaration is the notifier as the platform runs it: what it consumes and
// the delivery job (retries; first attempts happen as requests arrive). It
// serves health, readiness and metrics only. On an unwired Service it is
// the declaration the deployment derives permissions and contracts from.
func (s *Service) Declaration() platform.Declaration {
	return platform.Declaration{
		Name:          Name,
		Migrations:    postgres.Migrations,
		Subscriptions: s.events.Subscriptions(),
		Jobs:          []jobs.Job{{Name: deliveryJob, Every: s.cfg.TimerInterval, Run: s.deliverDue}},
	}
}

const deliveryJob = "deliver_due_mail"

// New starts the platform and wires everything.
func New(ctx context.Context, cfg Config, log *slog.Logger) (*Service, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	priv := cfg.PrivateKey
	if priv == "" {
		var err error
		if _, priv, err = sealedbox.EnsureDevKeyPair(cfg.DevKeysDir); err != nil {
			return nil, fmt.Errorf("development notifier key: %w", err)
		}
		log.Warn("NOTIFIER_PRIVATE_KEY not set: using the development key pair", "dir", cfg.DevKeysDir)
	}
	opener, err := sealedbox.NewOpener(priv)
	if err != nil {
		return nil, err
	}
	s := &Service{cfg: cfg, log: log}
	sc := smtp.Config{Host: cfg.SMTPHost, Port: cfg.SMTPPort, TLSMode: smtp.TLSMode(cfg.SMTPTLS), Username: cfg.SMTPUsername,
		Password: cfg.SMTPPassword, From: cfg.SMTPFrom, FromName: cfg.SMTPFromName, TLSConfig: cfg.SMTPTLSConfig}
	if cfg.SMTPHost == "" {
		s.Catcher, err = mailcatcher.Start(mailcatcher.Options{Dir: cfg.MailDir, OnMessage: func(path string, r mailcatcher.Received) {
			log.Info("mail caught by the local catcher", "path", path, "to", r.To)
		}})
		if err != nil {
			return nil, fmt.Errorf("local mail catcher: %w", err)
		}
		log.Warn("SMTP_HOST not set: mail goes to the local catcher", "smtp", fmt.Sprintf("%s:%d", s.Catcher.Host, s.Catcher.Port), "dir", cfg.MailDir)
		sc.Host, sc.Port, sc.TLSMode, sc.Username = s.Catcher.Host, s.Catcher.Port, smtp.TLSNone, ""
	}
	sender, err := smtp.New(sc)
	if err != nil {
		s.stopCatcher()
		return nil, err
	}
	base, err := platform.Start(ctx, s.Declaration(), cfg.Config, log)
	if err != nil {
		s.stopCatcher()
		return nil, err
	}
	clock := cfg.Clock
	if clock == nil {
		clock = wallClock{}
	}
	repo := postgres.New(base.Pool, base.Outbox, events.Drafts)
	repo.OnRetryScheduled = base.Jobs.Waker(deliveryJob)
	a, err := app.New(app.Deps{Repo: repo, Opener: opener, Sender: sender, Clock: clock, Jitter: rand.Float64,
		Policy: cfg.policy(), Links: cfg.links()})
	if err != nil {
		base.Close()
		s.stopCatcher()
		return nil, err
	}
	s.Base, s.App, s.Repo, s.clock = base, a, repo, clock
	s.events = &events.Handlers{App: a}
	if err := base.Mount(s.Declaration()); err != nil {
		base.Close()
		s.stopCatcher()
		return nil, err
	}
	return s, nil
}

func (s *Service) stopCatcher() {
	if s.Catcher != nil {
		s.Catcher.Stop()
	}
}

// Addr is the HTTP listen address (health and readiness only).
func (s *Service) Addr() string { return s.Base.Addr() }

// Run serves until ctx ends, then stops the local catcher.
func (s *Service) Run(ctx context.Context) error {
	err := s.Base.Run(ctx)
	s.stopCatcher()
	return err
}

// deliverDue attempts every due retry, batch after batch, and returns when
// the next one is due.
func (s *Service) deliverDue(ctx context.Context, _ time.Time) (time.Time, error) {
	for {
		rep, err := s.App.DeliverDue(ctx)
		if err != nil {
			return time.Time{}, err
		}
		if rep.Delivered+rep.Retrying+rep.Failed == 0 {
			break
		}
	}
	next, err := s.Repo.NextAttemptAt(ctx)
	if err != nil || next.IsZero() {
		return time.Time{}, err
	}
	// The schedule is in the service clock's time (tests move it).
	return time.Now().Add(next.Sub(s.clock.Now())), nil
}
