// Package app holds the agreements service's use cases, one per file, and the
// ports they need. Authorization with auth.Principal happens here; the domain
// enforces the rules that need only domain facts.
package app

import (
	"context"
	"time"

	"github.com/partnerhub/onboarding/services/agreements/internal/domain"
)

// Clock tells the server time, which is authoritative for acceptances.
type Clock interface {
	Now() time.Time
}

// IDs issues new unique ids (UUIDs in production).
type IDs interface {
	NewID() string
}

// Every repository writes the events its aggregates recorded (PullEvents) to
// the outbox in the same transaction as the state change.

// VersionRepository stores agreement versions. Terms are written once by Add;
// Update exists for retirement and fan-out bookkeeping only.
type VersionRepository interface {
	// Add stores a newly published version; domain.ErrVersionExists when the id is taken.
	Add(ctx context.Context, v *domain.Version) error
	// Get returns a version or domain.ErrVersionNotFound.
	Get(ctx context.Context, id string) (*domain.Version, error)
	// ListByProgram returns every version of program, retired ones included.
	ListByProgram(ctx context.Context, program domain.Program) ([]*domain.Version, error)
	// ListAll returns every version, retired ones included.
	ListAll(ctx context.Context) ([]*domain.Version, error)
	// ListFanOutPending returns versions whose re-acceptance fan-out is unfinished.
	ListFanOutPending(ctx context.Context) ([]*domain.Version, error)
	// Update runs fn on the stored version in one transaction and saves it.
	Update(ctx context.Context, id string, fn func(*domain.Version) error) error
}

// PartnerRepository stores the partner projection.
type PartnerRepository interface {
	// Get returns the partner or domain.ErrPartnerNotFound.
	Get(ctx context.Context, partnerID string) (*domain.Partner, error)
	// GetByLocation returns the registered partner with that location id or
	// domain.ErrPartnerNotFound.
	GetByLocation(ctx context.Context, locationID string) (*domain.Partner, error)
	// Upsert runs fn on the stored partner, or on domain.NewPartner(partnerID)
	// when there is none, in one transaction, and saves it.
	Upsert(ctx context.Context, partnerID string, fn func(*domain.Partner) error) error
}

// AcceptanceRepository is append-only: records are inserted, never updated
// or deleted (the Postgres role has INSERT and SELECT only). The current
// acceptance of a key is the record no other record supersedes.
type AcceptanceRepository interface {
	// Append inserts a. It returns domain.ErrAcceptanceRace, inserting
	// nothing, when a.SupersedesID is not the key's current record (or is
	// empty while the key already has one): another acceptance won a race.
	// In Postgres: UNIQUE (location_id, program, market, COALESCE(supersedes_id, '')).
	// then, when not nil, runs once a is written, in the same transaction:
	// its error undoes the append.
	Append(ctx context.Context, a *domain.Acceptance, then func(ctx context.Context) error) error
	// Current returns the key's current record or domain.ErrAcceptanceNotFound.
	Current(ctx context.Context, key domain.AcceptanceKey) (*domain.Acceptance, error)
	// ListByPartner returns every record of a partner, oldest first.
	ListByPartner(ctx context.Context, partnerID string) ([]*domain.Acceptance, error)
	// ListCurrentByProgram returns the current record of every key of program.
	ListCurrentByProgram(ctx context.Context, program domain.Program) ([]*domain.Acceptance, error)
}

// KeyReader reads at once what deciding an acceptance of a key needs.
type KeyReader interface {
	// ReadKey returns the key's current record (nil when it has none), its
	// open requirements and every version of its program, retired ones
	// included: one round trip instead of three or more.
	ReadKey(ctx context.Context, key domain.AcceptanceKey) (KeyState, error)
}

// KeyState is what KeyReader.ReadKey read, at one moment.
type KeyState struct {
	Current  *domain.Acceptance
	Open     []*domain.Requirement
	Versions []*domain.Version // of the key's program
}

// RequirementRepository stores re-acceptance requirements.
type RequirementRepository interface {
	// Add inserts r unless the key already has a requirement for the same
	// version; it reports whether it inserted.
	Add(ctx context.Context, r *domain.Requirement) (bool, error)
	// ListOpen returns the key's open requirements.
	ListOpen(ctx context.Context, key domain.AcceptanceKey) ([]*domain.Requirement, error)
	// ListOpenByVersion returns the open requirements to accept versionID.
	ListOpenByVersion(ctx context.Context, versionID string) ([]*domain.Requirement, error)
	// ListOpenByPartner returns the partner's open requirements.
	ListOpenByPartner(ctx context.Context, partnerID string) ([]*domain.Requirement, error)
	// ListOpenOfRetired returns open requirements whose version is retired
	// (a bounded batch).
	ListOpenOfRetired(ctx context.Context) ([]*domain.Requirement, error)
	// ListOpenDue returns open requirements due at or before now whose overdue
	// event is not yet recorded (OverdueAt nil), so a poller's work stays bounded.
	ListOpenDue(ctx context.Context, now time.Time) ([]*domain.Requirement, error)
	// Update runs fn on the stored requirement in one transaction and saves it.
	Update(ctx context.Context, id string, fn func(*domain.Requirement) error) error
}

// PendingRepository stores acceptances made before this service heard of
// the partner's approval.
type PendingRepository interface {
	// Add stores pa under the partner's row lock (a placeholder row when the
	// partner is unknown yet), unless stillPending, given the partner as
	// stored (nil when unknown), says this service heard its verification
	// meanwhile: then it stores nothing and runs decided with the partner,
	// still under the lock and in the same transaction (what decided writes
	// commits with it; its error rolls back). Event handlers take the same
	// row exclusively before they complete pending acceptances, so none is
	// left behind.
	Add(ctx context.Context, pa *domain.PendingAcceptance, stillPending func(*domain.Partner) bool,
		decided func(ctx context.Context, p *domain.Partner) error) error
	// ListOpen returns the partner's open pending acceptances, oldest first.
	ListOpen(ctx context.Context, partnerID string) ([]*domain.PendingAcceptance, error)
	// ListByPartner returns all of the partner's pending acceptances, oldest first.
	ListByPartner(ctx context.Context, partnerID string) ([]*domain.PendingAcceptance, error)
	// Update runs fn on the stored one in a transaction and saves it with its events.
	Update(ctx context.Context, id string, fn func(*domain.PendingAcceptance) error) error
}
