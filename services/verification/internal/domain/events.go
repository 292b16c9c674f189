package domain

import "time"

// Event is a domain event recorded by the Case aggregate. The repository
// adapter writes the events of a change to the outbox in the same
// transaction; EventName is the stable fact name the event adapter maps to a
// CloudEvent type.
type Event interface {
	EventName() string
}

// EventMeta is carried by every event.
type EventMeta struct {
	CaseID    string    `json:"case_id"`
	PartnerID string    `json:"partner_id"`
	At        time.Time `json:"at"`
}

// Meta returns the metadata every event carries (promoted to each event).
func (m EventMeta) Meta() EventMeta { return m }

// CaseOpened: a verification case was opened for a submitted registration.
type CaseOpened struct {
	EventMeta
	LocationID     string       `json:"location_id,omitempty"`
	RegistrationID string       `json:"registration_id,omitempty"`
	Market         string       `json:"market"`
	Enrollments    []Enrollment `json:"enrollments"`
	Checks         []CheckKind  `json:"checks"`
}

// CheckStateChanged: one check moved from one state to another.
type CheckStateChanged struct {
	EventMeta
	Check  CheckKind     `json:"check"`
	From   CheckState    `json:"from"`
	To     CheckState    `json:"to"`
	Reason ReasonCode    `json:"reason,omitempty"`
	Mode   RejectionMode `json:"mode,omitempty"`
	// Evidence is what passed the check (to passed).
	Evidence *Evidence `json:"evidence,omitempty"`
}

// DocumentsSatisfied: the applicant's open documents request on Check is
// met: By is "document" (accepted for review), dns_txt or http_well_known
// (the domain proof), or verifier_decision.
type DocumentsSatisfied struct {
	EventMeta
	Check CheckKind `json:"check"`
	By    string    `json:"by"`
}

// CaseReopened: a decided case is reviewed again — after its approval was
// revoked, or because the partner is reactivated after a long inactivity.
// The company check is in review again with a new task.
type CaseReopened struct {
	EventMeta
	From   CaseStatus `json:"from"`
	Reason string     `json:"reason"` // revocation | reactivation
	Note   string     `json:"note,omitempty"`
	TaskID string     `json:"task_id"`
	By     string     `json:"by"`
}

// CaseWithdrawal: the partner's account was closed while the case had work
// under way: a pending case is withdrawn (To), the open tasks are cancelled.
type CaseWithdrawal struct {
	EventMeta
	From           CaseStatus `json:"from"`
	To             CaseStatus `json:"to"`
	Reason         string     `json:"reason"`
	TasksCancelled []string   `json:"tasks_cancelled,omitempty"`
}

// ReviewTaskCreated: a check needs a verifier; Content is everything the verifier needs.
type ReviewTaskCreated struct {
	EventMeta
	TaskID  string      `json:"task_id"`
	Check   CheckKind   `json:"check"`
	Round   int         `json:"round"`
	DueAt   time.Time   `json:"due_at"`
	Content TaskContent `json:"content"`
}

// ReviewTaskClaimed: a verifier holds the task until LeaseUntil.
type ReviewTaskClaimed struct {
	EventMeta
	TaskID     string    `json:"task_id"`
	Check      CheckKind `json:"check"`
	Verifier   string    `json:"verifier"`
	LeaseUntil time.Time `json:"lease_until"`
	Renewed    bool      `json:"renewed,omitempty"`
}

// ReviewTaskReleased: a claim ended without a decision (the lease expired).
type ReviewTaskReleased struct {
	EventMeta
	TaskID   string    `json:"task_id"`
	Check    CheckKind `json:"check"`
	Verifier string    `json:"verifier"`
	Reason   string    `json:"reason"`
}

// ReviewTaskOverdue: the task passed its SLA due time undecided (escalation; emitted once).
type ReviewTaskOverdue struct {
	EventMeta
	TaskID    string    `json:"task_id"`
	Check     CheckKind `json:"check"`
	DueAt     time.Time `json:"due_at"`
	ClaimedBy string    `json:"claimed_by,omitempty"`
}

// DecisionRecorded: a verifier's decision was recorded. Status is final,
// pending_confirmation (a FINAL rejection awaiting a second verifier),
// confirmed, or overruled. The internal note is deliberately not published.
type DecisionRecorded struct {
	EventMeta
	DecisionID       string         `json:"decision_id"`
	TaskID           string         `json:"task_id"`
	Check            CheckKind      `json:"check"`
	Verifier         string         `json:"verifier"`
	Outcome          Outcome        `json:"outcome"`
	Reason           ReasonCode     `json:"reason,omitempty"`
	Mode             RejectionMode  `json:"mode,omitempty"`
	ApplicantMessage string         `json:"applicant_message,omitempty"`
	Status           DecisionStatus `json:"status"`
	Confirms         string         `json:"confirms,omitempty"`
}

// DocumentsRequested: the applicant must upload one of AcceptedDocuments by DueAt.
type DocumentsRequested struct {
	EventMeta
	Check             CheckKind      `json:"check"`
	Reason            ReasonCode     `json:"reason"`
	ApplicantMessage  string         `json:"applicant_message,omitempty"`
	AcceptedDocuments []DocumentType `json:"accepted_documents"`
	DueAt             time.Time      `json:"due_at"`
	BusinessDaysLeft  int            `json:"business_days_left"`
	AppealsRemaining  int            `json:"appeals_remaining"`
	ContactEmail      string         `json:"contact_email"`
	// DomainProof (employment) is the alternative to a document.
	DomainProof *DomainProof `json:"domain_proof,omitempty"`
}

// DocumentAccepted: submitted document metadata passed the rules and went to review.
type DocumentAccepted struct {
	EventMeta
	DocumentID       string       `json:"document_id"`
	Check            CheckKind    `json:"check"`
	Type             DocumentType `json:"type"`
	SHA256           string       `json:"sha256"`
	AppealsRemaining int          `json:"appeals_remaining"`
}

// VerificationApproved: all three checks passed; the partner ID may become
// valid. DecisionID is the decision that completed the approval.
type VerificationApproved struct {
	EventMeta
	DecisionID     string       `json:"decision_id,omitempty"`
	LocationID     string       `json:"location_id,omitempty"`
	RegistrationID string       `json:"registration_id,omitempty"`
	Market         string       `json:"market"`
	Enrollments    []Enrollment `json:"enrollments"`
}

// VerificationRejected: the case failed at FailingCheck; DecisionID is the
// decision that rejected it.
type VerificationRejected struct {
	EventMeta
	DecisionID       string        `json:"decision_id,omitempty"`
	LocationID       string        `json:"location_id,omitempty"`
	RegistrationID   string        `json:"registration_id,omitempty"`
	Market           string        `json:"market"`
	Enrollments      []Enrollment  `json:"enrollments"`
	FailingCheck     CheckKind     `json:"failing_check"`
	SubStatus        string        `json:"sub_status"`
	Reason           ReasonCode    `json:"reason"`
	Mode             RejectionMode `json:"mode"`
	ApplicantMessage string        `json:"applicant_message,omitempty"`
}

// VerificationRevoked: a reviewer withdrew the approval of the case.
// DecisionID is the revoking decision, RevokedApprovalID the decision that
// completed the approval.
type VerificationRevoked struct {
	EventMeta
	DecisionID        string `json:"decision_id"`
	RevokedApprovalID string `json:"revoked_approval_id,omitempty"`
	LocationID        string `json:"location_id,omitempty"`
	Market            string `json:"market"`
	Reason            string `json:"reason"`
}

// ReminderDue: the applicant should be reminded of a document deadline.
type ReminderDue struct {
	EventMeta
	Check             CheckKind      `json:"check"`
	Reason            ReasonCode     `json:"reason"`
	DueAt             time.Time      `json:"due_at"`
	BusinessDaysLeft  int            `json:"business_days_left"`
	Lead              time.Duration  `json:"lead"`
	AcceptedDocuments []DocumentType `json:"accepted_documents"`
	ContactEmail      string         `json:"contact_email"`
}

func (CaseOpened) EventName() string           { return "verification.case.opened" }
func (CheckStateChanged) EventName() string    { return "verification.check.state_changed" }
func (ReviewTaskCreated) EventName() string    { return "verification.task.created" }
func (ReviewTaskClaimed) EventName() string    { return "verification.task.claimed" }
func (ReviewTaskReleased) EventName() string   { return "verification.task.released" }
func (ReviewTaskOverdue) EventName() string    { return "verification.task.overdue" }
func (DecisionRecorded) EventName() string     { return "verification.decision.recorded" }
func (DocumentsRequested) EventName() string   { return "verification.documents.requested" }
func (DocumentAccepted) EventName() string     { return "verification.document.accepted" }
func (VerificationApproved) EventName() string { return "verification.case.approved" }
func (VerificationRejected) EventName() string { return "verification.case.rejected" }
func (VerificationRevoked) EventName() string  { return "verification.case.revoked" }
func (ReminderDue) EventName() string          { return "verification.reminder.due" }
func (DocumentsSatisfied) EventName() string   { return "verification.documents.satisfied" }
func (CaseReopened) EventName() string         { return "verification.case.reopened" }
func (CaseWithdrawal) EventName() string       { return "verification.case.withdrawn" }
