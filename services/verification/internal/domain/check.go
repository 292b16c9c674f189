package domain

import (
	"fmt"
	"time"
)

// CheckKind names one of the three independent checks of a case.
type CheckKind string

// The checks of every case (DOMAIN.md §3).
const (
	CheckEmailOwnership CheckKind = "email_ownership"
	CheckEmployment     CheckKind = "employment"
	CheckCompany        CheckKind = "company"
)

// CheckKinds lists the checks in the order they are reported.
var CheckKinds = []CheckKind{CheckEmailOwnership, CheckEmployment, CheckCompany}

// Valid reports whether k is a known check.
func (k CheckKind) Valid() bool {
	return k == CheckEmailOwnership || k == CheckEmployment || k == CheckCompany
}

// CheckState is the state of one check.
type CheckState string

// Check states. pending → in_review → passed; pending|in_review →
// action_required → in_review → …; in_review → rejected (RETRY or FINAL).
const (
	StatePending        CheckState = "pending"
	StateInReview       CheckState = "in_review"
	StateActionRequired CheckState = "action_required"
	StatePassed         CheckState = "passed"
	StateRejected       CheckState = "rejected"
)

// RejectionMode says whether a rejection may be cured (RETRY) or not (FINAL).
type RejectionMode string

// Rejection modes.
const (
	ModeRetry RejectionMode = "RETRY"
	ModeFinal RejectionMode = "FINAL"
)

// Valid reports whether m is RETRY or FINAL.
func (m RejectionMode) Valid() bool { return m == ModeRetry || m == ModeFinal }

// Check is one check of a case with its state and, while the applicant must
// act, the open reason, the documents that cure it and their deadline.
type Check struct {
	Kind  CheckKind     `json:"kind"`
	State CheckState    `json:"state"`
	Mode  RejectionMode `json:"mode,omitempty"` // set while rejected
	// Reason is the open reason while action_required or rejected, and the
	// reason the current review responds to while in_review.
	Reason            ReasonCode     `json:"reason,omitempty"`
	ApplicantMessage  string         `json:"applicant_message,omitempty"`
	AcceptedDocuments []DocumentType `json:"accepted_documents,omitempty"`
	DocumentsDueAt    time.Time      `json:"documents_due_at,omitzero"`
	// RemindersSent holds the reminder leads already emitted for DocumentsDueAt.
	RemindersSent []time.Duration `json:"reminders_sent,omitempty"`
	AppealsUsed   int             `json:"appeals_used"`
	PreCheck      *PreCheck       `json:"pre_check,omitempty"`
	// Evidence is what passed the check (set while passed).
	Evidence  *Evidence `json:"evidence,omitempty"`
	UpdatedAt time.Time `json:"updated_at"`
}

// EvidenceKind names what passed a check. The employment check passes only
// on evidence that ties the e-mail domain to the company: the register's own
// website, a proof the applicant publishes on the domain, or a verifier.
type EvidenceKind string

// Evidence kinds.
const (
	EvidenceEmailConfirmed   EvidenceKind = "email_confirmed"   // the e-mail ownership service's confirmation
	EvidenceRegisterWebsite  EvidenceKind = "register_website"  // the company register's own website is the e-mail domain
	EvidenceDNSTXT           EvidenceKind = "dns_txt"           // the domain proof token as a DNS TXT record
	EvidenceHTTPWellKnown    EvidenceKind = "http_well_known"   // the domain proof token at the well-known URL
	EvidenceVerifierDecision EvidenceKind = "verifier_decision" // a verifier's decision (on documents or the facts)
)

// Evidence is what passed a check, with a detail (the register website,
// the TXT record, the URL, the deciding decision) and when.
type Evidence struct {
	Kind   EvidenceKind `json:"kind"`
	Detail string       `json:"detail,omitempty"`
	At     time.Time    `json:"at"`
}

// AppealsRemaining is how many more document submissions the check accepts.
func (c *Check) AppealsRemaining(p Policy) int {
	return max(p.AppealLimit-c.AppealsUsed, 0)
}

// awaitsDocuments reports whether the applicant may cure the check now.
func (c *Check) awaitsDocuments() bool {
	return c.State == StateActionRequired || (c.State == StateRejected && c.Mode == ModeRetry)
}

// canTransition is the check state machine.
func canTransition(from CheckState, mode RejectionMode, to CheckState) bool {
	switch from {
	case StatePending:
		// pending → passed is the automatic pass (e-mail confirmed, domain match).
		return to == StateInReview || to == StateActionRequired || to == StatePassed
	case StateInReview:
		return to == StatePassed || to == StateActionRequired || to == StateRejected
	case StateActionRequired:
		// → passed: a domain proof cures it without a review.
		return to == StateInReview || to == StatePassed
	case StateRejected:
		return mode == ModeRetry && (to == StateInReview || to == StateActionRequired || to == StatePassed)
	}
	return false // passed is terminal
}

// TransitionError is the precise refusal of an illegal transition; it
// matches ErrIllegalTransition.
type TransitionError struct {
	Check CheckKind
	From  CheckState
	Mode  RejectionMode
	To    CheckState
}

func (e *TransitionError) Error() string {
	from := string(e.From)
	if e.Mode != "" {
		from += "(" + string(e.Mode) + ")"
	}
	return fmt.Sprintf("%s: check %s: %s → %s is not allowed", ErrIllegalTransition.Code, e.Check, from, e.To)
}

// Is matches ErrIllegalTransition.
func (e *TransitionError) Is(target error) bool { return target == ErrIllegalTransition }

// AsError converts e into the coded domain error with details.
func (e *TransitionError) AsError() *Error {
	return violation(ErrIllegalTransition, e.Error(), "check", e.Check, "from", e.From, "to", e.To, "mode", e.Mode)
}

// CheckTransition validates a transition without applying it.
func CheckTransition(kind CheckKind, from CheckState, mode RejectionMode, to CheckState) error {
	if !canTransition(from, mode, to) {
		return &TransitionError{Check: kind, From: from, Mode: mode, To: to}
	}
	return nil
}
