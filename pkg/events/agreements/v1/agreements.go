// Package agreementsv1 is what the agreements service publishes on the
// AGREEMENTS stream. Subject and partitionkey are the global partner ID,
// except for version events, which concern no partner: their subject is the
// version ID.
package agreementsv1

import "time"

// Event types.
const (
	TypeVersionPublished     = "com.partnerhub.agreements.version.published.v1"
	TypeVersionRetired       = "com.partnerhub.agreements.version.retired.v1"
	TypeAcceptanceRecorded   = "com.partnerhub.agreements.acceptance.recorded.v1"
	TypeReacceptanceRequired = "com.partnerhub.agreements.reacceptance.required.v1"
	TypeReacceptanceOverdue  = "com.partnerhub.agreements.reacceptance.overdue.v1"
	// TypeReacceptanceCancelled: since round 45.
	TypeReacceptanceCancelled = "com.partnerhub.agreements.reacceptance.cancelled.v1"
	TypeAcceptanceSuspended   = "com.partnerhub.agreements.acceptance.suspended.v1"
	TypeAcceptanceReinstated  = "com.partnerhub.agreements.acceptance.reinstated.v1"
	TypeAcceptanceRefused     = "com.partnerhub.agreements.acceptance.refused.v1"
)

// Version policies.
const (
	PolicyAutoEffective        = "auto_effective"
	PolicyRequiresReacceptance = "requires_reacceptance"
)

// VersionPublished: a new agreement version exists; it can be accepted from
// EffectiveFrom. A published version is never edited.
type VersionPublished struct {
	VersionID     string    `json:"version_id"`
	Program       string    `json:"program"`
	Name          string    `json:"name"`
	Languages     []string  `json:"languages"`
	Markets       []string  `json:"markets,omitempty"` // empty: every market
	EffectiveFrom time.Time `json:"effective_from"`
	TextURL       string    `json:"text_url"`
	TextSHA256    string    `json:"text_sha256"`
	Policy        string    `json:"policy"`
	// ReacceptanceWindowSeconds is set with requires_reacceptance.
	ReacceptanceWindowSeconds int64     `json:"reacceptance_window_seconds,omitempty"`
	PublishedAt               time.Time `json:"published_at"`
	PublishedBy               string    `json:"published_by"`
}

// VersionRetired: the version can no longer be accepted; acceptances of it stand.
type VersionRetired struct {
	VersionID string    `json:"version_id"`
	Program   string    `json:"program"`
	RetiredAt time.Time `json:"retired_at"`
	RetiredBy string    `json:"retired_by"`
}

// AcceptanceRecorded: a partner accepted an agreement version. Registration
// consumes it to move the program's enrollment qualified → active.
type AcceptanceRecorded struct {
	AcceptanceID string `json:"acceptance_id"`
	PartnerID    string `json:"partner_id"`
	LocationID   string `json:"location_id"`
	// EnrollmentID is the partner's enrollment in Program, when known.
	EnrollmentID   string    `json:"enrollment_id,omitempty"`
	Program        string    `json:"program"`
	Market         string    `json:"market"`
	VersionID      string    `json:"version_id"`
	TextSHA256     string    `json:"text_sha256"`
	AcceptorUserID string    `json:"acceptor_user_id"`
	AcceptorRole   string    `json:"acceptor_role"`
	AcceptedAt     time.Time `json:"accepted_at"`
	EffectiveAt    time.Time `json:"effective_at"`
	// VerificationDecisionID is the approval that unlocked a gated
	// acceptance; empty for the partner-network agreement.
	VerificationDecisionID string `json:"verification_decision_id,omitempty"`
	// SupersedesID is the acceptance this re-acceptance replaces.
	SupersedesID string `json:"supersedes_id,omitempty"`
}

// ReacceptanceRequired: a requires_reacceptance version was published; the
// partner must accept it by DueBy or its current acceptance stops counting.
type ReacceptanceRequired struct {
	RequirementID       string    `json:"requirement_id"`
	PartnerID           string    `json:"partner_id"`
	LocationID          string    `json:"location_id"`
	Program             string    `json:"program"`
	Market              string    `json:"market"`
	VersionID           string    `json:"version_id"`
	CurrentAcceptanceID string    `json:"current_acceptance_id"`
	DueBy               time.Time `json:"due_by"`
}

// ReacceptanceOverdue: the deadline passed without a new acceptance; the old
// acceptance is no longer effective. Emitted once per requirement.
type ReacceptanceOverdue struct {
	RequirementID string    `json:"requirement_id"`
	PartnerID     string    `json:"partner_id"`
	LocationID    string    `json:"location_id"`
	Program       string    `json:"program"`
	Market        string    `json:"market"`
	VersionID     string    `json:"version_id"`
	DueBy         time.Time `json:"due_by"`
	OverdueAt     time.Time `json:"overdue_at"`
}

// ReacceptanceCancelled: a requirement to accept a new version ended without
// an acceptance, and the current acceptance (CurrentAcceptanceID) counts as
// before — also when the deadline had passed (OverdueAt set): the version
// was retired (Reason version_retired: nobody can accept it any more), or
// the partner's account was closed (Reason partner_closed: closure is
// final, nobody is asked). Emitted once per requirement.
type ReacceptanceCancelled struct {
	RequirementID       string     `json:"requirement_id"`
	PartnerID           string     `json:"partner_id"`
	LocationID          string     `json:"location_id"`
	Program             string     `json:"program"`
	Market              string     `json:"market"`
	VersionID           string     `json:"version_id"`
	CurrentAcceptanceID string     `json:"current_acceptance_id"`
	DueBy               time.Time  `json:"due_by"`
	OverdueAt           *time.Time `json:"overdue_at,omitempty"`
	Reason              string     `json:"reason"`
	CancelledAt         time.Time  `json:"cancelled_at"`
}

// Why a re-acceptance requirement was cancelled.
const (
	CancelledVersionRetired = "version_retired"
	CancelledPartnerClosed  = "partner_closed"
)

// AcceptanceSuspended: after the partner accepted a gated agreement, its
// verification stopped being approved (Outcome rejected or revoked), or it
// left good standing (Outcome suspended, inactive or closed; Reasons are
// registration's). The record stands but is not effective. DecisionID is
// the decision, or "standing:<event id>" of registration's standing change.
type AcceptanceSuspended struct {
	AcceptanceID string    `json:"acceptance_id"`
	PartnerID    string    `json:"partner_id"`
	LocationID   string    `json:"location_id"`
	Program      string    `json:"program"`
	Market       string    `json:"market"`
	DecisionID   string    `json:"decision_id"`
	Outcome      string    `json:"outcome"`
	Reasons      []string  `json:"reasons,omitempty"`
	At           time.Time `json:"at"`
}

// AcceptanceReinstated: a new approval, or the partner's return to good
// standing (DecisionID "standing:<event id>"), made a suspended acceptance
// effective again.
type AcceptanceReinstated struct {
	AcceptanceID string    `json:"acceptance_id"`
	PartnerID    string    `json:"partner_id"`
	LocationID   string    `json:"location_id"`
	Program      string    `json:"program"`
	Market       string    `json:"market"`
	DecisionID   string    `json:"decision_id"`
	At           time.Time `json:"at"`
}

// AcceptanceRefused: an acceptance made before this service heard of the
// partner's approval (answered 202, pending) could not be recorded when the
// verification arrived — the partner was rejected, is not in good standing,
// or the version no longer applies. Code is the error code a direct
// acceptance would get; the partner's administrator may accept again.
type AcceptanceRefused struct {
	PendingAcceptanceID string    `json:"pending_acceptance_id"`
	PartnerID           string    `json:"partner_id"`
	Program             string    `json:"program,omitempty"`
	Market              string    `json:"market"`
	VersionID           string    `json:"version_id"`
	Code                string    `json:"code"`
	RequestedAt         time.Time `json:"requested_at"`
	RefusedAt           time.Time `json:"refused_at"`
}
