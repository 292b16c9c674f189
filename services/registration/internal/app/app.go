// Package app holds the registration service's use cases: one file each,
// authorization with auth.Principal inside every one, domain errors turned
// into coded apperr errors here. Adapters (HTTP, intake events, consumers)
// call these methods and never the domain directly.
package app

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/partnerhub/onboarding/services/registration/internal/domain"
)

// Repository stores partners and duplicate attempts. Every write runs in one
// transaction together with the events the aggregate recorded (PullEvents),
// which the adapter writes to the outbox: no change without its events.
type Repository interface {
	// Create inserts a new partner, its location, enrollments and identity
	// keys (unique per market), and its events. It returns a
	// *domain.DuplicateError naming every matched key kind and the existing
	// partner when identity keys clash, or domain.ErrIDCollision when an
	// issued ID (partner, location, enrollment) is taken.
	Create(ctx context.Context, p *domain.Partner) error
	// Get loads a partner, or returns domain.ErrPartnerNotFound.
	Get(ctx context.Context, id domain.PartnerID) (*domain.Partner, error)
	// Update loads the partner with a row lock, calls fn, and if fn returns
	// nil stores the partner and its events in the same transaction; when
	// !p.HoldsIdentity() the partner's identity keys are released. It returns
	// fn's error unchanged, or domain.ErrPartnerNotFound. fn gets the
	// transaction's context: what it reads through the repository runs in
	// the transaction, on its connection (a read on another connection while
	// the transaction holds one starved the pool: a few concurrent profile
	// changes held every connection and waited for one more, until the
	// request timed out).
	Update(ctx context.Context, id domain.PartnerID, fn func(ctx context.Context, p *domain.Partner) error) error
	// RecordDuplicateAttempt stores a refused duplicate registration (its
	// events too, none today); domain.ErrIDCollision when its ID is taken.
	RecordDuplicateAttempt(ctx context.Context, a *domain.DuplicateAttempt) error
	// UpdateDuplicateAttempt is Update for duplicate attempts (filing a claim
	// records DuplicateClaimFiled); domain.ErrDuplicateAttemptNotFound when absent.
	UpdateDuplicateAttempt(ctx context.Context, id domain.DuplicateAttemptID, fn func(a *domain.DuplicateAttempt) error) error
	// DuplicateAttemptByClaim loads the attempt a claim was filed on;
	// domain.ErrDuplicateAttemptNotFound when no attempt has that claim.
	DuplicateAttemptByClaim(ctx context.Context, id domain.ClaimID) (*domain.DuplicateAttempt, error)
	// Touch records that the partner was active at (a cheap write that
	// skips recent activity); an unknown partner is no error.
	Touch(ctx context.Context, id domain.PartnerID, at time.Time) error
	// InactivityCandidates lists up to limit approved partners not yet
	// inactive whose last activity is at or before cutoff, oldest first.
	InactivityCandidates(ctx context.Context, cutoff time.Time, limit int) ([]domain.PartnerID, error)
	// OldestActivity is the last activity of the approved partner not yet
	// inactive that has been idle longest (zero: none).
	OldestActivity(ctx context.Context) (time.Time, error)
	ReviewRequirements
	ContactReports
	IdentityChecker
}

// ReviewRequirements is registration's read model of what verification
// asks the applicant for (documents, or a domain proof), per check, for the
// requirements view. It is fed by verification's documents.requested and
// documents.satisfied events only: nothing on an onboarding that needs no
// documents.
type ReviewRequirements interface {
	// SetDocumentsDue replaces the check's open request.
	SetDocumentsDue(ctx context.Context, d DocumentsDue) error
	// ClearDocumentsDue forgets the check's open request (check empty: every check).
	ClearDocumentsDue(ctx context.Context, partnerID domain.PartnerID, check string) error
	// DocumentsDue lists the partner's open requests by check.
	DocumentsDue(ctx context.Context, partnerID domain.PartnerID) ([]DocumentsDue, error)
}

// StandingPolicy are the time rules of standing.
type StandingPolicy struct {
	// InactivityPeriod: an approved partner without activity for this long
	// becomes inactive (seed 000: 18 months).
	InactivityPeriod domain.Period
	// ReactivationReviewAfter: a partner inactive this long is reviewed by
	// verification again when it is reactivated.
	ReactivationReviewAfter domain.Period
	// Batch bounds the partners one inactivity run handles.
	Batch int
}

// DefaultStandingPolicy is 18 months of inactivity, and a re-review after
// 6 more months.
func DefaultStandingPolicy() StandingPolicy {
	return StandingPolicy{InactivityPeriod: domain.Period{Months: 18}, ReactivationReviewAfter: domain.Period{Months: 6}, Batch: 100}
}

// IDGenerator issues identifiers; domain.RandomIDs is the production one.
// Uniqueness is the repository's job: on domain.ErrIDCollision the use case
// asks for new IDs.
type IDGenerator interface {
	domain.IDIssuer
	NewDuplicateAttemptID() domain.DuplicateAttemptID
	NewClaimID() domain.ClaimID
}

// Clock tells the time; tests control it.
type Clock interface {
	Now() time.Time
}

// ClockFunc adapts a function such as time.Now to Clock.
type ClockFunc func() time.Time

// Now implements Clock.
func (f ClockFunc) Now() time.Time { return f() }

// maxIDAttempts bounds retries after an ID collision (50 random bits: a
// second collision in a row means something else is wrong).
const maxIDAttempts = 3

// App is the registration application: every use case is a method.
type App struct {
	// Finder answers partner searches (SearchPartners).
	Finder PartnerFinder

	repo  Repository
	ids   IDGenerator
	clock Clock
	// policies is the validation policy per market, swapped whole when the
	// operator's policy file changes (SetPolicies).
	policies atomic.Pointer[domain.PolicySet]
	// Standing are the standing time rules (DefaultStandingPolicy unless set).
	Standing StandingPolicy
}

// New builds the application from its ports and the validation policy
// (domain.DefaultPolicy() unless configured).
func New(repo Repository, ids IDGenerator, clock Clock, policy domain.Policy) *App {
	a := &App{repo: repo, ids: ids, clock: clock, Standing: DefaultStandingPolicy()}
	a.SetPolicies(domain.PolicySet{Default: policy})
	return a
}

// SetPolicies replaces the validation policy per market; requests already
// running finish under the one they started with.
func (a *App) SetPolicies(s domain.PolicySet) { a.policies.Store(&s) }

// Policies returns the validation policy per market in force.
func (a *App) Policies() domain.PolicySet { return *a.policies.Load() }

// now is the clock's time in UTC at microsecond precision, so that what is
// stored in Postgres reads back equal.
func (a *App) now() time.Time { return a.clock.Now().UTC().Truncate(time.Microsecond) }

// domain.RandomIDs is the production IDGenerator.
var _ IDGenerator = domain.RandomIDs{}
