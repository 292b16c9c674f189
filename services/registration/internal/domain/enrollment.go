package domain

import (
	"errors"
	"fmt"
	"time"
)

// Program is a partner program a company enrolls in.
type Program string

// The programs.
const (
	ProgramPartnerNetwork   Program = "partner_network"   // membership; always required; gives the partner IDs
	ProgramIndirectReseller Program = "indirect_reseller" // resells through a distributor; needs a support profile and a linked location
	ProgramIndirectProvider Program = "indirect_provider" // the distributor side
)

// Programs lists every program in a stable order.
var Programs = []Program{ProgramPartnerNetwork, ProgramIndirectReseller, ProgramIndirectProvider}

// Valid reports whether p is a known program.
func (p Program) Valid() bool {
	switch p {
	case ProgramPartnerNetwork, ProgramIndirectReseller, ProgramIndirectProvider:
		return true
	}
	return false
}

// EnrollmentStatus is the lifecycle state of one enrollment.
type EnrollmentStatus string

// Enrollment states.
const (
	EnrollmentPendingVerification EnrollmentStatus = "pending_verification"
	// EnrollmentPendingEmailConfirmation: verification approved the partner
	// but the enrollment's own e-mail confirmation is not in (seed 002 step
	// 17: the reseller enrollment confirms the address again).
	EnrollmentPendingEmailConfirmation EnrollmentStatus = "pending_email_confirmation"
	EnrollmentQualified                EnrollmentStatus = "qualified" // verification approved, agreement not yet accepted
	EnrollmentActive                   EnrollmentStatus = "active"
	EnrollmentRejected                 EnrollmentStatus = "rejected"
)

// ErrIllegalTransition is the sentinel behind every *TransitionError.
var ErrIllegalTransition = errors.New("illegal enrollment transition")

// TransitionError says which enrollment refused which transition.
type TransitionError struct {
	EnrollmentID EnrollmentID
	Program      Program
	From, To     EnrollmentStatus
}

func (e *TransitionError) Error() string {
	return fmt.Sprintf("enrollment %s (%s): cannot go from %s to %s", e.EnrollmentID, e.Program, e.From, e.To)
}

// Is makes errors.Is(err, ErrIllegalTransition) true.
func (e *TransitionError) Is(target error) bool { return target == ErrIllegalTransition }

// CanTransition reports whether an enrollment of program may go from → to.
// The partner-network membership skips "qualified": its agreement was accepted
// at registration and its e-mail confirmation is part of the verification,
// so approval activates it directly. The other programs need their own
// e-mail confirmation (pending_email_confirmation until it is in) and become
// active only when their own agreement is accepted as well:
//
//	pending_verification ──approval──▶ qualified ──agreement──▶ active
//	        │    └──approval, e-mail not confirmed──▶ pending_email_confirmation
//	        │                         confirmation ──▶ qualified, or active if the agreement is in
//	        └──rejection──▶ rejected
//	active ──re-acceptance of a new agreement version overdue──▶ qualified
func CanTransition(program Program, from, to EnrollmentStatus) bool {
	switch {
	case from == EnrollmentPendingVerification && to == EnrollmentRejected:
		return true
	case program == ProgramPartnerNetwork:
		return from == EnrollmentPendingVerification && to == EnrollmentActive
	case from == EnrollmentPendingVerification && (to == EnrollmentQualified || to == EnrollmentPendingEmailConfirmation):
		return true
	case from == EnrollmentPendingEmailConfirmation && (to == EnrollmentQualified || to == EnrollmentActive):
		return true
	case from == EnrollmentQualified && to == EnrollmentActive:
		return true
	case from == EnrollmentActive && to == EnrollmentQualified:
		// the agreement's re-acceptance is overdue (Partner.LapseAgreement)
		return true
	}
	return false
}

// Enrollment is one program enrollment of a partner.
type Enrollment struct {
	ID              EnrollmentID     `json:"id"`
	Program         Program          `json:"program"`
	Country         Country          `json:"country"` // the market it was enrolled in
	Status          EnrollmentStatus `json:"status"`
	Support         *SupportProfile  `json:"support,omitempty"`
	LocationID      LocationID       `json:"location_id,omitempty"` // linked location (indirect reseller)
	RejectionReason string           `json:"rejection_reason,omitempty"`
	StatusChangedAt time.Time        `json:"status_changed_at"`
	AgreementID     string           `json:"agreement_id,omitempty"` // the accepted agreement (not partner_network)
	// AgreementVersion is the version of the agreement accepted last
	// (empty for acceptances recorded before round 44).
	AgreementVersion string `json:"agreement_version,omitempty"`
	// AgreementDue: a new version of the program agreement must be accepted
	// by its deadline for the acceptance to keep counting (agreements
	// published it requires_reacceptance); the acceptance of that version
	// clears it, its lapse replaces it by AgreementLapsed.
	AgreementDue *AgreementRevision `json:"agreement_due,omitempty"`
	// AgreementLapsed says why the enrollment has no agreement in force:
	// the partner did not accept the program agreement's new version by its
	// deadline (the acceptance of that version lifts it).
	AgreementLapsed *AgreementRevision `json:"agreement_lapsed,omitempty"`
	// EmailConfirmedAt and EmailAddress: when the enrollment's own e-mail
	// ownership confirmation came in, and for which address.
	EmailConfirmedAt time.Time `json:"email_confirmed_at,omitzero"`
	EmailAddress     string    `json:"email_address,omitempty"`
}

// AgreementRevision is a new version of the program agreement the partner
// must accept by DueBy (agreements.reacceptance.required.v1), or whose
// deadline passed without it, so that the earlier acceptance no longer
// counts (agreements.reacceptance.overdue.v1).
type AgreementRevision struct {
	VersionID string    `json:"version_id"` // the version to accept
	DueBy     time.Time `json:"due_by"`
	At        time.Time `json:"at"` // when agreements asked, or found it overdue
	// PriorAgreementID and PriorAgreementVersion: on a lapse, the
	// acceptance that stopped counting, given back if agreements cancels
	// the requirement (Partner.WithdrawReacceptance; since round 45).
	PriorAgreementID      string `json:"prior_agreement_id,omitempty"`
	PriorAgreementVersion string `json:"prior_agreement_version,omitempty"`
}

// AcceptedBy is what remains due once version is accepted: nothing when it
// is the version due (or the version is not known), else r.
func (r *AgreementRevision) AcceptedBy(version string) *AgreementRevision {
	if r == nil || version == "" || r.VersionID == version {
		return nil
	}
	return r
}

// hasAgreement reports whether the enrollment's program agreement is in
// force: accepted (an operator's activation may name no acceptance).
func (e Enrollment) hasAgreement() bool {
	return e.AgreementID != "" || (e.Status == EnrollmentActive && e.Program != ProgramPartnerNetwork)
}

// NeedsOwnEmailConfirmation reports whether the enrollment waits for its
// own e-mail confirmation before it may be qualified: every program but the
// partner-network membership (whose confirmation verification requires).
func (e Enrollment) NeedsOwnEmailConfirmation() bool {
	return e.Program != ProgramPartnerNetwork && e.EmailConfirmedAt.IsZero()
}

// transition moves e to status `to` or explains why not.
func (e *Enrollment) transition(to EnrollmentStatus, now time.Time) (from EnrollmentStatus, err error) {
	if !CanTransition(e.Program, e.Status, to) {
		return e.Status, &TransitionError{EnrollmentID: e.ID, Program: e.Program, From: e.Status, To: to}
	}
	from, e.Status, e.StatusChangedAt = e.Status, to, now
	return from, nil
}
