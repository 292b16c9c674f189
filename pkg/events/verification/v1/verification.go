// Package verificationv1 is what the verification service publishes on the
// VERIFICATION stream (subject and partitionkey: the global partner ID), and
// the decision event verifier services publish on INTAKE.
package verificationv1

import "time"

// Event types consumed by other services. The verification service adds the
// rest of its catalog (case opened, check state changed, review task
// created/claimed/overdue, decision recorded, documents requested) here.
const (
	TypeVerificationApproved = "com.partnerhub.verification.case.approved.v1"
	TypeVerificationRejected = "com.partnerhub.verification.case.rejected.v1"
)

// Enrollment names an enrollment the case covers.
type Enrollment struct {
	EnrollmentID string `json:"enrollment_id"`
	Program      string `json:"program"`
}

// VerificationApproved: every check passed; the partner's IDs may become
// valid. DecisionID is the decision that completed the approval (agreements
// records it as what unlocked an acceptance).
type VerificationApproved struct {
	CaseID      string       `json:"case_id"`
	PartnerID   string       `json:"partner_id"`
	LocationID  string       `json:"location_id"`
	Market      string       `json:"market"`
	DecisionID  string       `json:"decision_id"`
	Enrollments []Enrollment `json:"enrollments"`
	ApprovedAt  time.Time    `json:"approved_at"`
}

// VerificationRejected: a check failed for good (FINAL, or RETRY with no
// appeals left). FailingCheck is email_ownership, employment or company;
// SubStatus names the failing step (e.g. company_check_failed).
type VerificationRejected struct {
	CaseID           string       `json:"case_id"`
	PartnerID        string       `json:"partner_id"`
	LocationID       string       `json:"location_id"`
	Market           string       `json:"market"`
	DecisionID       string       `json:"decision_id,omitempty"`
	Enrollments      []Enrollment `json:"enrollments"`
	FailingCheck     string       `json:"failing_check"`
	SubStatus        string       `json:"sub_status"`
	Reason           string       `json:"reason"`
	Mode             string       `json:"mode"` // RETRY or FINAL
	ApplicantMessage string       `json:"applicant_message,omitempty"`
	RejectedAt       time.Time    `json:"rejected_at"`
}
