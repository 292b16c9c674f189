package domain

import (
	"fmt"
	"strings"

	"github.com/partnerhub/onboarding/pkg/apperr"
)

// CodeRequired is a field problem's code for a field that is missing or
// blank: the same in every service.
const CodeRequired = apperr.CodeFieldRequired

// FieldProblem names one problem with one input field; the app layer turns it
// into an apperr.FieldError.
type FieldProblem struct {
	Field   string `json:"field"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Error is a domain rule violation with a stable dotted code. The exported
// ErrX values are sentinels; violations returned by the aggregate carry the
// same code plus a precise message and details, and match their sentinel with
// errors.Is (comparison is by code).
type Error struct {
	Code    string
	Message string
	Details map[string]any
	Fields  []FieldProblem
}

func (e *Error) Error() string {
	if len(e.Fields) == 0 {
		return e.Code + ": " + e.Message
	}
	parts := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		parts[i] = f.Field + ": " + f.Code
	}
	return e.Code + ": " + e.Message + " (" + strings.Join(parts, "; ") + ")"
}

// Is makes a detailed violation match its sentinel.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code
}

// Sentinel errors of the verification domain.
var (
	ErrInvalidCase             = &Error{Code: "verification.invalid_case", Message: "the case input is invalid"}
	ErrCaseExists              = &Error{Code: "verification.case_exists", Message: "a case already exists for this partner"}
	ErrCaseNotFound            = &Error{Code: "verification.case_not_found", Message: "no verification case"}
	ErrCaseClosed              = &Error{Code: "verification.case_closed", Message: "the case is already decided"}
	ErrEnrollmentNotFound      = &Error{Code: "verification.enrollment_not_found", Message: "no such enrollment in the case"}
	ErrEmailMismatch           = &Error{Code: "verification.email_mismatch", Message: "the confirmed address is not the case's contact address"}
	ErrIllegalTransition       = &Error{Code: "verification.illegal_transition", Message: "illegal check state transition"}
	ErrTaskNotFound            = &Error{Code: "verification.task_not_found", Message: "no such review task"}
	ErrTaskClaimed             = &Error{Code: "verification.task_claimed", Message: "the task is claimed by another verifier"}
	ErrTaskNotClaimed          = &Error{Code: "verification.task_not_claimed", Message: "the task is not claimed by the decider"}
	ErrTaskAlreadyDecided      = &Error{Code: "verification.task_already_decided", Message: "the task is already decided"}
	ErrFourEyes                = &Error{Code: "verification.four_eyes_required", Message: "a FINAL rejection needs a second, different verifier"}
	ErrConfirmationMismatch    = &Error{Code: "verification.confirmation_mismatch", Message: "the confirmation does not match the proposed rejection"}
	ErrOwnPartner              = &Error{Code: "verification.own_partner", Message: "a verifier may not review its own partner"}
	ErrInvalidDecision         = &Error{Code: "verification.invalid_decision", Message: "the decision is invalid"}
	ErrDecisionIDReused        = &Error{Code: "verification.decision_id_reused", Message: "the decision id was already used for a different decision"}
	ErrAppealsExhausted        = &Error{Code: "verification.appeals_exhausted", Message: "no appeals left"}
	ErrNoDocumentsDue          = &Error{Code: "verification.no_documents_due", Message: "the check does not await documents"}
	ErrInvalidDocument         = &Error{Code: "verification.invalid_document", Message: "the document metadata is invalid"}
	ErrDocumentTypeNotAccepted = &Error{Code: "verification.document_type_not_accepted", Message: "this document type does not cure the open reason"}
	ErrDocumentTooOld          = &Error{Code: "verification.document_too_old", Message: "the document was issued too long ago"}
	ErrDocumentRejected        = &Error{Code: "verification.document_previously_rejected", Message: "this file was already rejected"}
	ErrDocumentDuplicate       = &Error{Code: "verification.document_duplicate", Message: "this file was already submitted"}
	ErrInvalidRevocation       = &Error{Code: "verification.invalid_revocation", Message: "the revocation is invalid"}
	ErrCaseNotApproved         = &Error{Code: "verification.case_not_approved", Message: "only an approved case can be revoked"}
	ErrCaseAlreadyRevoked      = &Error{Code: "verification.case_already_revoked", Message: "the case's approval was already revoked"}
	ErrCaseNotReopenable       = &Error{Code: "verification.case_not_reopenable", Message: "only an approved or revoked case is reviewed again"}
	ErrPartnerClosed           = &Error{Code: "verification.partner_closed", Message: "the partner's account was closed; its case is not reviewed again"}
	ErrInvalidDomainProof      = &Error{Code: "verification.invalid_domain_proof", Message: "the domain proof request is invalid"}
	ErrDomainProofNotFound     = &Error{Code: "verification.domain_proof_not_found", Message: "the domain proof was not found"}
)

// violation returns a copy of sentinel with a precise message and details
// given as alternating key, value pairs.
func violation(sentinel *Error, msg string, kv ...any) *Error {
	e := &Error{Code: sentinel.Code, Message: msg}
	if msg == "" {
		e.Message = sentinel.Message
	}
	for i := 0; i+1 < len(kv); i += 2 {
		if e.Details == nil {
			e.Details = map[string]any{}
		}
		e.Details[fmt.Sprint(kv[i])] = kv[i+1]
	}
	return e
}

func invalid(sentinel *Error, fields []FieldProblem) *Error {
	return &Error{Code: sentinel.Code, Message: sentinel.Message, Fields: fields}
}
