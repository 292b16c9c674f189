package domain

import "time"

// RequirementStatus is where a re-acceptance requirement stands.
type RequirementStatus string

const (
	RequirementOpen      RequirementStatus = "open"
	RequirementSatisfied RequirementStatus = "satisfied"
	RequirementCancelled RequirementStatus = "cancelled" // the required version was retired, or the partner closed (Cancel)
)

// RequirementState is a requirement's full state.
type RequirementState struct {
	ID                  string
	PartnerID           string
	LocationID          string
	Program             Program
	Market              Market
	VersionID           string // the version that must be accepted (or a newer one)
	CurrentAcceptanceID string // the acceptance that stops counting after DueBy
	DueBy               time.Time
	CreatedAt           time.Time
	Status              RequirementStatus
	OverdueAt           *time.Time // set once, when the overdue event was recorded
	SatisfiedBy         string     // the acceptance that cleared it
	ClosedAt            *time.Time
}

// Requirement is a partner's duty to re-accept an agreement by a deadline,
// created when a requires_reacceptance version is published.
type Requirement struct {
	s RequirementState
	events
}

// NewRequirement creates the requirement for the key of current to accept v,
// with a ReacceptanceRequired event.
func NewRequirement(id string, current *Acceptance, v *Version, now time.Time) *Requirement {
	cs := current.State()
	r := &Requirement{s: RequirementState{
		ID: id, PartnerID: cs.PartnerID, LocationID: cs.LocationID, Program: cs.Program, Market: cs.Market,
		VersionID: v.ID(), CurrentAcceptanceID: cs.ID, DueBy: serverTime(v.ReacceptanceDeadline()),
		CreatedAt: serverTime(now), Status: RequirementOpen,
	}}
	r.record(ReacceptanceRequired{
		RequirementID: id, PartnerID: cs.PartnerID, LocationID: cs.LocationID, Program: cs.Program,
		Market: cs.Market, VersionID: v.ID(), CurrentAcceptanceID: cs.ID, DueBy: r.s.DueBy,
	})
	return r
}

// RestoreRequirement rebuilds a requirement from stored state (repositories only).
func RestoreRequirement(s RequirementState) *Requirement { return &Requirement{s: s} }

// State returns a copy of the requirement.
func (r *Requirement) State() RequirementState { return r.s }

// ID returns the requirement id.
func (r *Requirement) ID() string { return r.s.ID }

// VersionID returns the version that must be accepted.
func (r *Requirement) VersionID() string { return r.s.VersionID }

// Key returns the acceptance key the requirement is about.
func (r *Requirement) Key() AcceptanceKey {
	return AcceptanceKey{LocationID: r.s.LocationID, Program: r.s.Program, Market: r.s.Market}
}

// Open reports whether the requirement still waits for an acceptance.
func (r *Requirement) Open() bool { return r.s.Status == RequirementOpen }

// IsOverdue reports whether the requirement is open and past its deadline at now.
func (r *Requirement) IsOverdue(now time.Time) bool { return r.Open() && !now.Before(r.s.DueBy) }

// MarkOverdue records the overdue event, once, when the deadline has passed.
// It reports whether it did.
func (r *Requirement) MarkOverdue(now time.Time) bool {
	if !r.IsOverdue(now) || r.s.OverdueAt != nil {
		return false
	}
	r.s.OverdueAt = ptrTime(serverTime(now))
	r.record(ReacceptanceOverdue{
		RequirementID: r.s.ID, PartnerID: r.s.PartnerID, LocationID: r.s.LocationID, Program: r.s.Program,
		Market: r.s.Market, VersionID: r.s.VersionID, DueBy: r.s.DueBy, OverdueAt: *r.s.OverdueAt,
	})
	return true
}

// Satisfy closes the requirement with the acceptance that cleared it. Late
// acceptances still satisfy an overdue requirement.
func (r *Requirement) Satisfy(acceptanceID string, now time.Time) {
	if !r.Open() {
		return
	}
	r.s.Status = RequirementSatisfied
	r.s.SatisfiedBy = acceptanceID
	r.s.ClosedAt = ptrTime(serverTime(now))
}

// Why a requirement was cancelled.
const (
	// CancelVersionRetired: nobody can accept a retired version, so the
	// duty lapses.
	CancelVersionRetired = "version_retired"
	// CancelPartnerClosed: a closed account is final; nobody is asked to
	// accept anything for it.
	CancelPartnerClosed = "partner_closed"
)

// Cancel closes the requirement without an acceptance (reason: why), with a
// ReacceptanceCancelled event: the current acceptance counts as before, also
// when the deadline had passed, so the services that acted on the overdue
// event undo it. It reports whether the requirement was open.
func (r *Requirement) Cancel(reason string, now time.Time) bool {
	if !r.Open() {
		return false
	}
	r.s.Status = RequirementCancelled
	r.s.ClosedAt = ptrTime(serverTime(now))
	r.record(ReacceptanceCancelled{
		RequirementID: r.s.ID, PartnerID: r.s.PartnerID, LocationID: r.s.LocationID, Program: r.s.Program,
		Market: r.s.Market, VersionID: r.s.VersionID, CurrentAcceptanceID: r.s.CurrentAcceptanceID, DueBy: r.s.DueBy,
		OverdueAt: r.s.OverdueAt, Reason: reason, CancelledAt: *r.s.ClosedAt,
	})
	return true
}
