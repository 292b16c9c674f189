package domain

import "time"

// Event is a domain event: a fact, recorded by an aggregate, that the
// repository adapter writes to the outbox in the same transaction as the
// state change. Aggregates hand them over through PullEvents.
type Event interface {
	EventName() string
}

// AgreementVersionPublished: a new agreement version exists and can be
// accepted from its effective date.
type AgreementVersionPublished struct {
	VersionID          string
	Program            Program
	Name               string
	Languages          []string
	Markets            []Market // empty: every market
	EffectiveFrom      time.Time
	TextURL            string
	TextSHA256         TextHash
	Policy             VersionPolicy
	ReacceptanceWindow time.Duration
	PublishedAt        time.Time
	PublishedBy        string
}

// AgreementVersionRetired: the version can no longer be accepted; existing
// acceptances of it stand.
type AgreementVersionRetired struct {
	VersionID string
	Program   Program
	RetiredAt time.Time
	RetiredBy string
}

// AcceptanceRecorded: a partner accepted an agreement version. It carries
// what downstream needs to act (registration activates the enrollment).
type AcceptanceRecorded struct {
	AcceptanceID           string
	PartnerID              string
	LocationID             string
	EnrollmentID           string // the partner's enrollment in Program, if known
	Program                Program
	Market                 Market
	VersionID              string
	TextSHA256             TextHash
	AcceptorUserID         string
	AcceptorRole           string
	AcceptedAt             time.Time
	EffectiveAt            time.Time
	VerificationDecisionID string
	SupersedesID           string // the acceptance this one replaces, if any
}

// ReacceptanceRequired: a partner must accept a new version by DueBy.
type ReacceptanceRequired struct {
	RequirementID       string
	PartnerID           string
	LocationID          string
	Program             Program
	Market              Market
	VersionID           string
	CurrentAcceptanceID string
	DueBy               time.Time
}

// ReacceptanceOverdue: the deadline passed without a new acceptance; the old
// acceptance no longer counts as effective. Emitted once per requirement.
type ReacceptanceOverdue struct {
	RequirementID string
	PartnerID     string
	LocationID    string
	Program       Program
	Market        Market
	VersionID     string
	DueBy         time.Time
	OverdueAt     time.Time
}

// ReacceptanceCancelled: the requirement ended without an acceptance (its
// version retired, the partner closed); CurrentAcceptanceID counts as
// before, also after OverdueAt. Emitted once per requirement.
type ReacceptanceCancelled struct {
	RequirementID       string
	PartnerID           string
	LocationID          string
	Program             Program
	Market              Market
	VersionID           string
	CurrentAcceptanceID string
	DueBy               time.Time
	OverdueAt           *time.Time
	Reason              string
	CancelledAt         time.Time
}

// AcceptanceSuspended: after it accepted a gated agreement, the partner's
// verification stopped being approved (Outcome rejected or revoked), or it
// left good standing (Outcome suspended, inactive or closed, with the
// standing's Reasons); the record stands but is not effective.
type AcceptanceSuspended struct {
	AcceptanceID string
	PartnerID    string
	LocationID   string
	Program      Program
	Market       Market
	DecisionID   string // the decision, or "standing:<event id>"
	Outcome      string
	Reasons      []string
	At           time.Time
}

// AcceptanceReinstated: a new approval, or the partner's return to good
// standing, made a suspended acceptance effective again.
type AcceptanceReinstated struct {
	AcceptanceID string
	PartnerID    string
	LocationID   string
	Program      Program
	Market       Market
	DecisionID   string
	At           time.Time
}

func (AgreementVersionPublished) EventName() string { return "AgreementVersionPublished" }
func (AgreementVersionRetired) EventName() string   { return "AgreementVersionRetired" }
func (AcceptanceRecorded) EventName() string        { return "AcceptanceRecorded" }
func (ReacceptanceRequired) EventName() string      { return "ReacceptanceRequired" }
func (ReacceptanceOverdue) EventName() string       { return "ReacceptanceOverdue" }
func (ReacceptanceCancelled) EventName() string     { return "ReacceptanceCancelled" }
func (AcceptanceSuspended) EventName() string       { return "AcceptanceSuspended" }
func (AcceptanceReinstated) EventName() string      { return "AcceptanceReinstated" }

// events is embedded by aggregates to record and hand over domain events.
type events struct {
	pending []Event
}

func (e *events) record(ev Event) { e.pending = append(e.pending, ev) }

// PullEvents returns the events recorded since the last call and forgets them.
func (e *events) PullEvents() []Event {
	out := e.pending
	e.pending = nil
	return out
}

// AcceptanceRefused: an acceptance made while the partner's approval had not
// reached this service yet (pending) could not be recorded once it did: the
// partner was rejected, left good standing, or the version no longer
// applies. Code is the refusal's error code.
type AcceptanceRefused struct {
	PendingID   string
	PartnerID   string
	Program     Program
	Market      Market
	VersionID   string
	Code        string
	RequestedAt time.Time
	RefusedAt   time.Time
}

func (AcceptanceRefused) EventName() string { return "AcceptanceRefused" }
