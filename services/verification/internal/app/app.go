// Package app holds the verification use cases. Authorization happens here;
// the domain holds the rules; ports are the small interfaces below and next
// to the use cases that need them.
package app

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/partnerhub/onboarding/pkg/auth"
	"github.com/partnerhub/onboarding/services/verification/internal/domain"
)

// Clock tells the time; tests control it.
type Clock interface{ Now() time.Time }

// IDGenerator issues case ids.
type IDGenerator interface{ NewID() string }

// CaseRepository stores cases. Add and Update must write the events the
// aggregate recorded (c.PullEvents()) to the outbox in the same transaction
// as the state, and store c.TimerAt so DueCases finds it; Update runs fn
// inside the transaction and stores nothing when fn fails.
type CaseRepository interface {
	// Add stores a new case; domain.ErrCaseExists when the partner already has one.
	Add(ctx context.Context, c *domain.Case) error
	// Get loads a case; domain.ErrCaseNotFound when absent.
	Get(ctx context.Context, id string) (*domain.Case, error)
	// GetByPartner loads the case of a partner; domain.ErrCaseNotFound when absent.
	GetByPartner(ctx context.Context, partnerID string) (*domain.Case, error)
	// Update loads, changes and stores a case under a lock.
	Update(ctx context.Context, id string, fn func(*domain.Case) error) error
	// UpdateByPartner is Update of the case of a partner: it finds and locks
	// it at once (domain.ErrCaseNotFound when absent).
	UpdateByPartner(ctx context.Context, partnerID string, fn func(*domain.Case) error) error
	// UpdateByTask is Update of the case owning a review task: it finds and
	// locks it at once (domain.ErrTaskNotFound when there is no such task).
	UpdateByTask(ctx context.Context, taskID string, fn func(*domain.Case) error) error
}

// Config is the tunable part of the app.
type Config struct {
	Policy domain.Policy
	// Calendars are the business calendars per market; markets without one
	// count weekends only, in UTC.
	Calendars map[string]domain.Calendar
	// TimerBatch bounds how many cases one FireDueTimers call handles.
	TimerBatch int
}

// DefaultConfig is the default policy with the Japanese calendar.
func DefaultConfig() Config {
	return Config{Policy: domain.DefaultPolicy(), Calendars: map[string]domain.Calendar{"JP": domain.JapanCalendar()}, TimerBatch: 100}
}

// Validate reports every invalid setting.
func (c Config) Validate() error {
	var errs []error
	if err := c.Policy.Validate(); err != nil {
		errs = append(errs, err)
	}
	if c.TimerBatch < 1 {
		errs = append(errs, errors.New("TimerBatch must be at least 1"))
	}
	return errors.Join(errs...)
}

// Deps are the ports the app needs.
type Deps struct {
	Cases    CaseRepository
	Tasks    TaskQueries
	Due      DueCases
	Registry RegistryLookup
	Clock    Clock
	IDs      IDGenerator
	// DomainProofs reads the applicant's domain proof (DNS, HTTPS).
	DomainProofs DomainProofLookup
	// Reviews stores duplicate-claim and dispute reviews; without it (unit
	// tests of cases) the review use cases answer errNoReviews.
	Reviews ReviewRepository
}

// App is the verification application.
type App struct {
	cfg Config
	Deps
}

// New validates cfg and deps and builds the app.
func New(cfg Config, deps Deps) (*App, error) {
	errs := []error{cfg.Validate()}
	for name, missing := range map[string]bool{
		"Cases": deps.Cases == nil, "Tasks": deps.Tasks == nil, "Due": deps.Due == nil,
		"Registry": deps.Registry == nil, "Clock": deps.Clock == nil, "IDs": deps.IDs == nil, "DomainProofs": deps.DomainProofs == nil,
	} {
		if missing {
			errs = append(errs, errors.New("app: missing dependency "+name))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return &App{cfg: cfg, Deps: deps}, nil
}

// rules returns the policy with the calendar of market.
func (a *App) rules(market string) domain.Rules {
	cal, ok := a.cfg.Calendars[strings.ToUpper(market)]
	if !ok {
		cal, _ = domain.NewCalendar(domain.MarketLocation(market, ""), nil)
	}
	return domain.Rules{Policy: a.cfg.Policy, Calendar: cal}
}

// requireVerifier admits verifier services and human verifiers.
func requireVerifier(p auth.Principal) error { return p.Require(auth.RoleVerifier) }
