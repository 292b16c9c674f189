package intakev1

// TypeVerificationDecisionSubmitted is a verifier service's decision on a
// review task (verificationv1.TypeReviewTaskCreated). The event must
// declare its principal (authtype/authid extensions) and that principal
// needs the verifier role and a claim on the task; refused decisions are
// dead-lettered with their reason code.
const TypeVerificationDecisionSubmitted = "com.partnerhub.intake.verification.decision_submitted.v1"

// Decision outcomes and rejection modes.
const (
	OutcomeApprove          = "approve"
	OutcomeReject           = "reject"
	OutcomeRequestDocuments = "request_documents"
	ModeRetry               = "RETRY"
	ModeFinal               = "FINAL"
)

// VerificationDecisionSubmitted is the same document as the HTTP body of
// POST /v1/verification/tasks/{task_id}/decisions plus the task id.
// DecisionID is chosen by the verifier: a decision resent with the same id
// has no effect. ReasonCode comes from the reason catalog (required for
// reject and request_documents); Mode is RETRY or FINAL (reject only);
// Documents optionally narrows the requested document types.
type VerificationDecisionSubmitted struct {
	DecisionID       string   `json:"decision_id"`
	TaskID           string   `json:"task_id"`
	Outcome          string   `json:"outcome"`
	ReasonCode       string   `json:"reason_code,omitempty"`
	Mode             string   `json:"mode,omitempty"`
	ApplicantMessage string   `json:"applicant_message,omitempty"`
	InternalNote     string   `json:"internal_note,omitempty"`
	Documents        []string `json:"documents,omitempty"`
}
