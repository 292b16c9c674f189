// Package service wires the verification service: platform, repositories,
// registry lookup, app, bus handlers, the timer poller and the HTTP API.
package service

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/partnerhub/onboarding/pkg/jobs"
	"github.com/partnerhub/onboarding/pkg/platform"
	"github.com/partnerhub/onboarding/services/verification/internal/adapters/domainproof"
	"github.com/partnerhub/onboarding/services/verification/internal/adapters/events"
	vhttp "github.com/partnerhub/onboarding/services/verification/internal/adapters/http"
	"github.com/partnerhub/onboarding/services/verification/internal/adapters/postgres"
	"github.com/partnerhub/onboarding/services/verification/internal/adapters/registry"
	"github.com/partnerhub/onboarding/services/verification/internal/app"
	"github.com/partnerhub/onboarding/services/verification/internal/domain"
)

// Name is the service name (schema, durables, event source).
const Name = "verification"

// Config is the service configuration: the platform's plus the
// verification policy. Zero values of the policy fields mean the defaults
// (tests build Config literals).
type Config struct {
	platform.Config
	// RegistryFile is a JSON array of company register records for the
	// company pre-check; empty: the embedded sample register.
	RegistryFile string `env:"REGISTRY_FILE"`
	// HolidayFiles are business-day calendars (JSON: market, time_zone,
	// holidays); a market's file replaces the default (Japan is built in).
	HolidayFiles []string `env:"VERIFICATION_HOLIDAY_FILES" envSeparator:","`
	// LeaseDuration is how long a verifier's claim protects a task.
	LeaseDuration time.Duration `env:"VERIFICATION_LEASE_DURATION" envDefault:"30m"`
	// ReviewBusinessDays is the SLA of a review task.
	ReviewBusinessDays int `env:"VERIFICATION_REVIEW_BUSINESS_DAYS" envDefault:"3"`
	// ApplicantBusinessDays is how long applicants have to upload documents.
	ApplicantBusinessDays int `env:"VERIFICATION_APPLICANT_BUSINESS_DAYS" envDefault:"10"`
	// MaxDocumentAgeMonths bounds the issue date of company documents.
	MaxDocumentAgeMonths int `env:"VERIFICATION_MAX_DOCUMENT_AGE_MONTHS" envDefault:"12"`
	// AppealLimit is how many document submissions a check accepts.
	AppealLimit int `env:"VERIFICATION_APPEAL_LIMIT" envDefault:"3"`
	// EmploymentAlwaysDocuments turns off the automatic employment pass on
	// the register's own website (documents or a domain proof are needed).
	EmploymentAlwaysDocuments bool `env:"VERIFICATION_EMPLOYMENT_ALWAYS_DOCUMENTS"`
	// DNSServer is the resolver (host:port) the domain proof's TXT records
	// are read from; empty: the system's.
	DNSServer string `env:"VERIFICATION_DNS_SERVER"`
	// DomainProofTimeout bounds one domain proof lookup (DNS or HTTPS).
	DomainProofTimeout time.Duration `env:"VERIFICATION_DOMAIN_PROOF_TIMEOUT" envDefault:"5s"`
	// DomainProofClient fetches well-known proofs (nil: a default HTTPS
	// client); tests point it at a local server.
	DomainProofClient *http.Client `env:"-"`
	// ReminderLeads are the times before a document deadline at which applicants are reminded.
	ReminderLeads []time.Duration `env:"VERIFICATION_REMINDER_LEADS" envSeparator:"," envDefault:"72h,24h"`
	// TimerBatch bounds the cases one timer poll handles.
	TimerBatch int `env:"VERIFICATION_TIMER_BATCH" envDefault:"100"`
	// ConfirmationGrace is how long an e-mail confirmation that arrives
	// before its case is retried before it is dead-lettered.
	ConfirmationGrace time.Duration `env:"VERIFICATION_CONFIRMATION_GRACE" envDefault:"2m"`
}

func (c Config) withDefaults() Config {
	d := domain.DefaultPolicy()
	if c.LeaseDuration == 0 {
		c.LeaseDuration = d.LeaseDuration
	}
	if c.ReviewBusinessDays == 0 {
		c.ReviewBusinessDays = d.ReviewBusinessDays
	}
	if c.ApplicantBusinessDays == 0 {
		c.ApplicantBusinessDays = d.ApplicantBusinessDays
	}
	if c.MaxDocumentAgeMonths == 0 {
		c.MaxDocumentAgeMonths = d.MaxCompanyDocumentAgeMonths
	}
	if c.AppealLimit == 0 {
		c.AppealLimit = d.AppealLimit
	}
	if c.ReminderLeads == nil {
		c.ReminderLeads = d.ReminderLeads
	}
	if c.TimerBatch == 0 {
		c.TimerBatch = 100
	}
	if c.ConfirmationGrace == 0 {
		c.ConfirmationGrace = 2 * time.Minute
	}
	if c.DomainProofTimeout == 0 {
		c.DomainProofTimeout = 5 * time.Second
	}
	return c
}

// AppConfig is the app configuration c describes.
func (c Config) AppConfig() (app.Config, error) {
	c = c.withDefaults()
	p := domain.DefaultPolicy()
	p.LeaseDuration, p.ReviewBusinessDays, p.ApplicantBusinessDays = c.LeaseDuration, c.ReviewBusinessDays, c.ApplicantBusinessDays
	p.MaxCompanyDocumentAgeMonths, p.AppealLimit, p.ReminderLeads = c.MaxDocumentAgeMonths, c.AppealLimit, c.ReminderLeads
	p.AutoPassEmploymentOnRegisterWebsite = !c.EmploymentAlwaysDocuments
	ac := app.DefaultConfig()
	ac.Policy, ac.TimerBatch = p, c.TimerBatch
	var errs []error
	for _, path := range c.HolidayFiles {
		if path = strings.TrimSpace(path); path == "" {
			continue
		}
		data, err := os.ReadFile(path)
		if err != nil {
			errs = append(errs, fmt.Errorf("VERIFICATION_HOLIDAY_FILES: %w", err))
			continue
		}
		market, cal, err := domain.ParseHolidayFile(data)
		if err != nil {
			errs = append(errs, fmt.Errorf("VERIFICATION_HOLIDAY_FILES %s: %w", path, err))
			continue
		}
		ac.Calendars[market] = cal
	}
	errs = append(errs, ac.Validate())
	return ac, errors.Join(errs...)
}

// Validate joins the platform's problems and the service's own.
func (c Config) Validate() error {
	var errs []error
	errs = append(errs, c.Config.Validate())
	if _, err := c.AppConfig(); err != nil {
		errs = append(errs, err)
	}
	if c.ConfirmationGrace < 0 {
		errs = append(errs, errors.New("VERIFICATION_CONFIRMATION_GRACE must not be negative"))
	}
	return errors.Join(errs...)
}

// Service is the wired verification service.
type Service struct {
	Base   *platform.Base
	App    *app.App
	Repo   *postgres.Repository
	events *events.Handlers
	api    *vhttp.Handler
	cfg    Config
}

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

type caseIDs struct{}

// NewID returns a time-ordered case id; task and document ids derive from it.
func (caseIDs) NewID() string { return "vc-" + uuid.Must(uuid.NewV7()).String() }

// Declaration is the verification service as the platform runs it: what
// it consumes, its jobs and its routes. On an unwired Service it is the
// declaration the deployment derives permissions and contracts from.
func (s *Service) Declaration() platform.Declaration {
	return platform.Declaration{
		Name:          Name,
		Migrations:    postgres.Migrations,
		Subscriptions: s.events.Subscriptions(),
		// The cases' timer column is the durable timer: the row lock and
		// the aggregate's record of what fired make each fire once across
		// restarts and replicas.
		Jobs:   []jobs.Job{{Name: "case_timers", Every: s.cfg.TimerInterval, Run: s.fireCaseTimers}},
		Routes: s.routes,
	}
}

// New starts the platform and wires the service; Run runs it.
func New(ctx context.Context, cfg Config, log *slog.Logger) (*Service, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	appCfg, _ := cfg.AppConfig()
	lookup, err := registry.Open(cfg.RegistryFile)
	if err != nil {
		return nil, fmt.Errorf("REGISTRY_FILE: %w", err)
	}
	s := &Service{cfg: cfg}
	base, err := platform.Start(ctx, s.Declaration(), cfg.Config, log)
	if err != nil {
		return nil, err
	}
	repo := postgres.New(base.Pool, base.Outbox, events.ToDrafts)
	proofs := domainproof.New(cfg.DNSServer, cfg.DomainProofTimeout, cfg.DomainProofClient)
	a, err := app.New(appCfg, app.Deps{Cases: repo, Tasks: repo, Due: repo, Registry: lookup, Clock: systemClock{}, IDs: caseIDs{},
		DomainProofs: proofs, Reviews: repo})
	if err != nil {
		base.Close()
		return nil, err
	}
	s.Base, s.App, s.Repo = base, a, repo
	s.events = &events.Handlers{App: a, Pool: base.Pool, Outbox: base.Outbox, Directory: base.Guard.Directory, ConfirmationGrace: cfg.ConfirmationGrace}
	s.api = &vhttp.Handler{App: a, Protect: base.Guard.Protect, Policy: appCfg.Policy}
	if err := base.Mount(s.Declaration()); err != nil {
		base.Close()
		return nil, err
	}
	return s, nil
}

func (s *Service) routes() http.Handler { return s.api.Routes() }

// Addr is the HTTP listen address (useful with HTTP_ADDR=127.0.0.1:0).
func (s *Service) Addr() string { return s.Base.Addr() }

// Run serves until ctx ends, then shuts down in order.
func (s *Service) Run(ctx context.Context) error { return s.Base.Run(ctx) }

func (s *Service) fireCaseTimers(ctx context.Context, now time.Time) (time.Time, error) {
	if _, err := s.App.FireDueTimers(ctx, now); err != nil {
		return time.Time{}, err
	}
	return s.Repo.NextTimerAt(ctx)
}
