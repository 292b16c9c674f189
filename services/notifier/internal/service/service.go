// Package service wires the notifier: platform, Postgres repository and
// directory, sealed-box opener, the mail templates, SMTP sender (or the
// local mail catcher), the event handlers (one per mail of the catalog and
// the contact projection), the delivery job, metrics, and the HTTP API
// (operators' mail status, the unsubscribe page).
package service

import (
	"cmp"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/partnerhub/onboarding/pkg/httpx"
	"github.com/partnerhub/onboarding/pkg/jobs"
	"github.com/partnerhub/onboarding/pkg/pg"
	"github.com/partnerhub/onboarding/pkg/platform"
	"github.com/partnerhub/onboarding/pkg/sealedbox"
	"github.com/partnerhub/onboarding/services/notifier/internal/adapters/events"
	apihttp "github.com/partnerhub/onboarding/services/notifier/internal/adapters/http"
	"github.com/partnerhub/onboarding/services/notifier/internal/adapters/postgres"
	"github.com/partnerhub/onboarding/services/notifier/internal/adapters/smtp"
	"github.com/partnerhub/onboarding/services/notifier/internal/app"
	"github.com/partnerhub/onboarding/services/notifier/internal/domain"
	"github.com/partnerhub/onboarding/services/notifier/internal/mailcatcher"
	"github.com/partnerhub/onboarding/services/notifier/mails"
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
	// SMTPConnections is how many connections are kept open between mails
	// (0: dial per mail).
	SMTPConnections int `env:"SMTP_CONNECTIONS" envDefault:"4"`
	// MailSenders is how many mails are sent at once (0: as many as
	// SMTPConnections, or 4 when that is 0), each by a sender goroutine
	// with its SMTP connection.
	MailSenders int    `env:"MAIL_SENDERS" envDefault:"0"`
	MailDir     string `env:"MAIL_CATCHER_DIR" envDefault:".run/mail"`
	// LinkBaseURL is the e-mail ownership service's public URL; mails link
	// to <LinkBaseURL>/confirm and <LinkBaseURL>/dispute.
	LinkBaseURL string `env:"LINK_BASE_URL" envDefault:"http://127.0.0.1:8082"`
	// PortalURL is the partner portal; mails link to
	// <PortalURL>/partners/<id>/{verification,agreements,relationships}.
	PortalURL string `env:"PORTAL_BASE_URL" envDefault:"http://localhost:3000"`
	// PublicURL is where this service's public pages are reached
	// (<PublicURL>/unsubscribe, the reminders' unsubscribe link).
	PublicURL string `env:"PUBLIC_BASE_URL" envDefault:"http://127.0.0.1:8086"`
	// TemplatesDir, when set, is a copy of services/notifier/mails/templates
	// to send mails from instead of the embedded templates (edited wording
	// without a rebuild; checked completely at start).
	TemplatesDir string `env:"MAIL_TEMPLATES_DIR"`

	RetryInitial time.Duration `env:"RETRY_INITIAL_BACKOFF" envDefault:"30s"`
	RetryMax     time.Duration `env:"RETRY_MAX_BACKOFF" envDefault:"30m"`
	MaxAttempts  int           `env:"RETRY_MAX_ATTEMPTS" envDefault:"12"`
	// SendLease bounds how long an attempt in flight blocks others; the
	// sender renews it every third of it, so a crashed sender's mail is
	// sent again one lease later — by any replica: each looks for leases
	// that ran out every half lease (deliveryEvery).
	SendLease time.Duration `env:"SEND_LEASE" envDefault:"5s"`
	// MailSettle is how long news about a state that may change back soon
	// (a partner's standing, a grant's access on hold or given back) waits
	// before it is mailed: changes meanwhile fold into one mail of the net
	// change, or none when the state is back where it was. 0: each change
	// mailed at once.
	MailSettle time.Duration `env:"MAIL_SETTLE" envDefault:"1m"`

	// SMTPTLSConfig overrides TLS settings (tests trust a test CA).
	SMTPTLSConfig *tls.Config `env:"-"`
	// Clock overrides the time (tests); nil is the wall clock.
	Clock app.Clock `env:"-"`
}

// deliveryEvery bounds the delivery job's sleep: TIMER_INTERVAL, or half
// the send lease when that is shorter. Another replica's attempt leaves no
// due time in this one's memory (it was claimed there), so a sender that
// died mid-send is found by this bound: its mail goes again at most one
// lease and a half after its last heartbeat, not a TIMER_INTERVAL later.
func (c Config) deliveryEvery() time.Duration {
	if half := c.SendLease / 2; half > 0 && half < c.TimerInterval {
		return half
	}
	return c.TimerInterval
}

func (c Config) policy() domain.Policy {
	return domain.Policy{InitialBackoff: c.RetryInitial, MaxBackoff: c.RetryMax, Jitter: 0.2, Lease: c.SendLease, MaxAttempts: c.MaxAttempts}
}

// senders is how many mails are sent at once.
func (c Config) senders() int {
	if c.MailSenders > 0 {
		return c.MailSenders
	}
	return cmp.Or(c.SMTPConnections, 4)
}

func (c Config) links() app.Links {
	base := strings.TrimRight(c.LinkBaseURL, "/")
	return app.Links{ConfirmURL: base + "/confirm", DisputeURL: base + "/dispute", PortalURL: c.PortalURL, PublicURL: c.PublicURL}
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
	if c.SMTPConnections < 0 || c.SMTPConnections > 64 {
		errs = append(errs, errors.New("SMTP_CONNECTIONS must be between 0 (dial per mail) and 64"))
	}
	if c.MailSenders < 0 || c.MailSenders > 64 {
		errs = append(errs, errors.New("MAIL_SENDERS must be between 0 (as many as SMTP_CONNECTIONS) and 64"))
	}
	if c.SMTPHost == "" && c.DevKeysDir == "" {
		errs = append(errs, errors.New("SMTP_HOST is required (the local mail catcher runs only in development)"))
	}
	if _, err := url.Parse(c.LinkBaseURL); err != nil {
		errs = append(errs, fmt.Errorf("LINK_BASE_URL: %w", err))
	}
	if c.MailSettle < 0 || c.MailSettle > time.Hour {
		errs = append(errs, errors.New("MAIL_SETTLE must be between 0 (news mailed at once) and 1h"))
	}
	if c.SendLease > 0 && c.SendLease < 3*time.Second {
		errs = append(errs, errors.New("SEND_LEASE must be at least 3s (it is renewed every third of it)"))
	}
	return errors.Join(errs...)
}

// Service is a wired notifier.
type Service struct {
	Base    *platform.Base
	App     *app.App
	Repo    *postgres.Repository
	Dir     *postgres.Directory
	Catcher *mailcatcher.Server // the local catcher, nil when SMTP_HOST is set
	events  *events.Handlers
	api     *apihttp.API
	clock   app.Clock
	cfg     Config
	log     *slog.Logger
	sender  *smtp.Sender
}

type wallClock struct{}

func (wallClock) Now() time.Time { return time.Now().UTC() }

// Declaration is the notifier as the platform runs it: what it consumes
// (the contact projection and one event per mail of the catalog), the
// delivery job (retries; first attempts happen as events arrive) and its
// routes. On an unwired Service it is the declaration the deployment
// derives permissions and contracts from.
func (s *Service) Declaration() platform.Declaration {
	return platform.Declaration{
		Name:          Name,
		Migrations:    postgres.Migrations,
		Subscriptions: s.events.Subscriptions(),
		Jobs: []jobs.Job{{Name: deliveryJob, Every: s.cfg.deliveryEvery(), Run: s.deliverDue},
			{Name: sendersJob, Every: time.Minute, Run: s.runSenders}},
		Routes: s.routes,
		Checks: s.checks(),
	}
}

// checks are the notifier's own readiness checks: its SMTP server.
func (s *Service) checks() map[string]httpx.Check {
	if s.sender == nil {
		return nil
	}
	return map[string]httpx.Check{"smtp": s.sender.Check}
}

func (s *Service) routes() http.Handler { return s.api.Handler() }

const (
	deliveryJob = "deliver_due_mail"
	// sendersJob runs the senders for as long as the service runs: the
	// platform stops it after the event router (no more mails are
	// accepted) and before the outbox relay's last flush, so the attempts
	// in flight finish and are recorded, and their events published.
	sendersJob = "send_mail"
)

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
	set, err := loadTemplates(cfg.TemplatesDir)
	if err != nil {
		return nil, err
	}
	s := &Service{cfg: cfg, log: log}
	sc := smtp.Config{Host: cfg.SMTPHost, Port: cfg.SMTPPort, TLSMode: smtp.TLSMode(cfg.SMTPTLS), Username: cfg.SMTPUsername,
		Password: cfg.SMTPPassword, From: cfg.SMTPFrom, FromName: cfg.SMTPFromName, TLSConfig: cfg.SMTPTLSConfig,
		Connections: cmp.Or(cfg.SMTPConnections, -1)}
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
	dir := postgres.NewDirectory(base.Pool)
	dir.OnMailsDue = base.Jobs.Waker(deliveryJob)
	a, err := app.New(app.Deps{Repo: repo, Directory: dir, Opener: opener, Sender: sender, Clock: clock, Jitter: rand.Float64,
		Policy: cfg.policy(), Settle: cfg.MailSettle, Links: cfg.links(), Mails: set, LinkKey: linkKey(priv), Metrics: newMetrics(base.Telemetry.Registry),
		Log: log, Senders: cfg.senders(), AfterCommit: pg.AfterCommit})
	if err != nil {
		base.Close()
		s.stopCatcher()
		return nil, err
	}
	registerSenders(base.Telemetry.Registry, a)
	s.Base, s.App, s.Repo, s.Dir, s.clock, s.sender = base, a, repo, dir, clock, sender
	s.events = &events.Handlers{App: a}
	s.api = &apihttp.API{App: a, Protect: base.Guard.Protect, Limit: base.Guard.Limiter.Middleware, MessageIDDomain: sender.MessageIDDomain()}
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

// Addr is the HTTP listen address.
func (s *Service) Addr() string { return s.Base.Addr() }

// Run serves until ctx ends, then stops the local catcher.
func (s *Service) Run(ctx context.Context) error {
	err := s.Base.Run(ctx)
	s.sender.Close()
	s.stopCatcher()
	return err
}

// loadTemplates parses the mail templates: the embedded ones, or the
// directory MAIL_TEMPLATES_DIR names (every mail, both languages, checked
// now rather than at the first send).
func loadTemplates(dir string) (*mails.Set, error) {
	if dir == "" {
		return mails.Default()
	}
	set, err := mails.Load(os.DirFS(dir))
	if err != nil {
		return nil, fmt.Errorf("MAIL_TEMPLATES_DIR %s: %w", dir, err)
	}
	return set, nil
}

// linkKey signs the unsubscribe links: derived from the notifier's private
// key, so there is no further secret to manage (rotating the key retires
// the links of earlier mails; later mails carry new ones).
func linkKey(privateKey string) []byte {
	h := sha256.New()
	h.Write([]byte("partnerhub/notifier/unsubscribe-links/v1\x00"))
	h.Write([]byte(privateKey))
	return h.Sum(nil)
}

// runSenders sends mails until ctx ends (the senders job).
func (s *Service) runSenders(ctx context.Context, _ time.Time) (time.Time, error) {
	return time.Time{}, s.App.RunSenders(ctx)
}

// deliverDue attempts every due retry, batch after batch, drops sealed
// secrets whose time is over, and returns when the next retry is due.
func (s *Service) deliverDue(ctx context.Context, _ time.Time) (time.Time, error) {
	if err := s.Dir.PurgeSealed(ctx, s.clock.Now()); err != nil {
		return time.Time{}, err
	}
	for {
		rep, err := s.App.DeliverDue(ctx)
		if err != nil {
			return time.Time{}, err
		}
		if rep.Delivered+rep.Retrying+rep.Failed+rep.Dispatched == 0 {
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
