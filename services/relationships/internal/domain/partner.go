package domain

import (
	"fmt"
	"slices"
	"time"
)

// Program is a partner program this service cares about.
type Program string

// Programs whose enrollment status gates relationships.
const (
	ProgramIndirectReseller Program = "indirect_reseller"
	ProgramIndirectProvider Program = "indirect_provider"
)

// Valid reports whether p is a known program.
func (p Program) Valid() bool {
	return p == ProgramIndirectReseller || p == ProgramIndirectProvider
}

// EnrollmentStatus is the status of one enrollment as published by the
// registration service; only active (program agreement accepted) counts here.
type EnrollmentStatus string

// Enrollment statuses of the registration service. Statuses this service does
// not know are stored as they come (an upstream addition must not dead-letter
// our events) and count as not active.
const (
	EnrollmentPendingVerification EnrollmentStatus = "pending_verification"
	EnrollmentQualified           EnrollmentStatus = "qualified" // approved, agreement not yet accepted
	EnrollmentActive              EnrollmentStatus = "active"
	EnrollmentRejected            EnrollmentStatus = "rejected"
)

// Valid reports whether s is usable: a non-empty lower-case word.
func (s EnrollmentStatus) Valid() bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, c := range s {
		if (c < 'a' || c > 'z') && c != '_' {
			return false
		}
	}
	return true
}

// Enrollment is a partner's standing in one program. ChangedAt is the time of
// the upstream fact, used to ignore stale or replayed events.
type Enrollment struct {
	Program   Program
	Status    EnrollmentStatus
	ChangedAt time.Time
	// WasActive: the enrollment has been active (it may have left it since:
	// a lapsed agreement). Only then can it hold grants to give back.
	WasActive bool
}

// Address is a partner's postal address as registered; shown on the consent view.
type Address struct {
	Line1      string
	Line2      string
	City       string
	Region     string // prefecture or state
	PostalCode string
	Country    string
}

// Partner is this service's projection of a registered partner, keyed by its
// global ID. A partner known only through enrollment events (they can arrive
// before the registration event) has Registered false and is treated as unknown.
type Partner struct {
	ID           string // global ID, PG-…
	LocationIDs  []string
	Market       string
	LegalName    string
	Address      Address
	Registered   bool
	RegisteredAt time.Time // time of the newest registration fact applied
	Enrollments  map[Program]Enrollment
	// Standing is registration's standing of the partner (zero: as
	// registered, which is good standing).
	Standing Standing
}

// Standing is the partner's standing as registration published it.
type Standing struct {
	Status    string // active, suspended, inactive, closed
	Reasons   []string
	ChangedAt time.Time
}

// Partner standings as registration publishes them.
const (
	StandingActive = "active"
	StandingClosed = "closed"
)

// InGoodStanding reports whether registration lets the partner transact.
func (p Partner) InGoodStanding() bool {
	return p.Standing.Status == "" || p.Standing.Status == StandingActive
}

// ApplyStanding records registration's standing change as of at, unless a
// newer one was applied; it reports whether it changed anything.
func (p *Partner) ApplyStanding(s Standing) (bool, error) {
	if s.Status == "" || s.ChangedAt.IsZero() {
		return false, fmt.Errorf("%w: a standing change needs a status and a time", ErrInvalidPartner)
	}
	if !p.Standing.ChangedAt.IsZero() && !s.ChangedAt.After(p.Standing.ChangedAt) {
		return false, nil
	}
	s.Reasons = slices.Clone(s.Reasons)
	p.Standing = s
	return true, nil
}

// PartnerRegistration is the fact "partner registered (or its facts changed)"
// as consumed from the registration service.
type PartnerRegistration struct {
	PartnerID   string
	LocationIDs []string
	Market      string
	LegalName   string
	Address     Address
	OccurredAt  time.Time
}

// Validate checks that the fact is usable.
func (r PartnerRegistration) Validate() error {
	switch {
	case !IsGlobalID(r.PartnerID):
		return fmt.Errorf("%w: partner_id %q is not a global ID", ErrInvalidPartner, r.PartnerID)
	case r.Market == "":
		return fmt.Errorf("%w: market missing", ErrInvalidPartner)
	case r.LegalName == "":
		return fmt.Errorf("%w: legal_name missing", ErrInvalidPartner)
	case r.OccurredAt.IsZero():
		return fmt.Errorf("%w: occurred_at missing", ErrInvalidPartner)
	}
	for _, l := range r.LocationIDs {
		if !IsLocationID(l) {
			return fmt.Errorf("%w: location id %q is not a location ID", ErrInvalidPartner, l)
		}
	}
	return nil
}

// ApplyRegistration folds a registration fact into the projection and reports
// whether anything changed. It is idempotent and order-tolerant: location IDs
// only accumulate, a fact older than the one applied does not overwrite name
// or address, and the market, chosen once, may never change.
func (p *Partner) ApplyRegistration(r PartnerRegistration) (bool, error) {
	if err := r.Validate(); err != nil {
		return false, err
	}
	if p.ID != "" && p.ID != r.PartnerID {
		return false, fmt.Errorf("%w: partner %s got a fact for %s", ErrInvalidPartner, p.ID, r.PartnerID)
	}
	if p.Registered && p.Market != r.Market {
		return false, fmt.Errorf("%w: %s → %s", ErrMarketChanged, p.Market, r.Market)
	}
	changed := false
	if !p.Registered || r.OccurredAt.After(p.RegisteredAt) {
		changed = !p.Registered || p.LegalName != r.LegalName || p.Address != r.Address || !p.RegisteredAt.Equal(r.OccurredAt)
		p.ID, p.Market, p.LegalName, p.Address = r.PartnerID, r.Market, r.LegalName, r.Address
		p.Registered, p.RegisteredAt = true, r.OccurredAt
	}
	for _, l := range r.LocationIDs {
		if !slices.Contains(p.LocationIDs, l) {
			p.LocationIDs = append(p.LocationIDs, l)
			changed = true
		}
	}
	return changed, nil
}

// ApplyEnrollmentStatus records a program's status as of at and reports
// whether it changed. A fact older than the one applied is ignored, so
// replayed and reordered events leave the newest status in place.
func (p *Partner) ApplyEnrollmentStatus(program Program, status EnrollmentStatus, at time.Time) (bool, error) {
	if !program.Valid() {
		return false, fmt.Errorf("%w: unknown program %q", ErrInvalidPartner, program)
	}
	if !status.Valid() {
		return false, fmt.Errorf("%w: unknown enrollment status %q", ErrInvalidPartner, status)
	}
	if at.IsZero() {
		return false, fmt.Errorf("%w: occurred_at missing", ErrInvalidPartner)
	}
	cur, ok := p.Enrollments[program]
	if ok && (at.Before(cur.ChangedAt) || (at.Equal(cur.ChangedAt) && cur.Status == status)) {
		return false, nil
	}
	if p.Enrollments == nil {
		p.Enrollments = map[Program]Enrollment{}
	}
	p.Enrollments[program] = Enrollment{Program: program, Status: status, ChangedAt: at,
		WasActive: cur.WasActive || cur.Status == EnrollmentActive || status == EnrollmentActive}
	return true, nil
}

// ActiveIn reports whether the partner is registered, in good standing and
// its enrollment in program is active: whether it may transact in program.
func (p Partner) ActiveIn(program Program) bool {
	e, ok := p.Enrollments[program]
	return p.Registered && ok && e.Status == EnrollmentActive && p.InGoodStanding()
}

// MayHoldAccess reports whether the partner may hold delegated access on
// side (as the provider) or give it (as the reseller): registration lets it
// transact and, where its enrollment in the side's program is known, that
// enrollment is active — its agreement in force (since round 44 a new
// agreement version not accepted in time takes it back to qualified).
func (p Partner) MayHoldAccess(side Side) bool {
	if !p.InGoodStanding() {
		return false
	}
	e, ok := p.Enrollments[side.Program()]
	return !ok || e.Status == EnrollmentActive
}

// EnrolledIn reports whether the partner has any enrollment in program.
func (p Partner) EnrolledIn(program Program) bool {
	_, ok := p.Enrollments[program]
	return ok
}

// HasLocation reports whether id is one of the partner's location IDs.
func (p Partner) HasLocation(id string) bool { return slices.Contains(p.LocationIDs, id) }
