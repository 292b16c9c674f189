package verificationv1

import (
	"time"

	intakev1 "github.com/partnerhub/onboarding/pkg/events/intake/v1"
	registrationv1 "github.com/partnerhub/onboarding/pkg/events/registration/v1"
)

// The rest of the verification catalog: facts about cases, checks, review
// tasks, decisions and documents. Subject and partitionkey: the global
// partner ID. Verifier services consume TypeReviewTaskCreated and answer
// with intakev1.TypeVerificationDecisionSubmitted; notifiers consume
// TypeDocumentsRequested and TypeReminderDue.
const (
	TypeCaseOpened         = "com.partnerhub.verification.case.opened.v1"
	TypeCheckStateChanged  = "com.partnerhub.verification.check.state_changed.v1"
	TypeReviewTaskCreated  = "com.partnerhub.verification.task.created.v1"
	TypeReviewTaskClaimed  = "com.partnerhub.verification.task.claimed.v1"
	TypeReviewTaskReleased = "com.partnerhub.verification.task.released.v1"
	TypeReviewTaskOverdue  = "com.partnerhub.verification.task.overdue.v1"
	TypeDecisionRecorded   = "com.partnerhub.verification.decision.recorded.v1"
	TypeDecisionRefused    = "com.partnerhub.verification.decision.refused.v1"
	TypeDocumentsRequested = "com.partnerhub.verification.documents.requested.v1"
	TypeDocumentAccepted   = "com.partnerhub.verification.document.accepted.v1"
	TypeDocumentsSatisfied = "com.partnerhub.verification.documents.satisfied.v1"
	TypeCaseReopened       = "com.partnerhub.verification.case.reopened.v1"
	// TypeCaseWithdrawn: since round 45.
	TypeCaseWithdrawn = "com.partnerhub.verification.case.withdrawn.v1"
	TypeReminderDue   = "com.partnerhub.verification.reminder.due.v1"
)

// Check names (the three independent checks of a case).
const (
	CheckEmailOwnership = "email_ownership"
	CheckEmployment     = "employment"
	CheckCompany        = "company"
)

// Document types an applicant may be asked for (AcceptedDocuments) and may
// submit (DocumentAccepted.Type, DocumentMeta.Type).
const (
	DocCompanyRegisterCertificate = "company_register_certificate" // 登記事項証明書
	DocDomainInvoice              = "domain_invoice"               // an invoice to the company that shows the domain
	DocDomainPurchaseProof        = "domain_purchase_proof"        // proof of the domain's purchase
	DocEmploymentCertificate      = "employment_certificate"       // 在籍証明書 issued by the company
)

// DocumentTypes lists every document type; a consumer that shows them to
// people (the notifier's mails) names each.
var DocumentTypes = []string{DocCompanyRegisterCertificate, DocDomainInvoice, DocDomainPurchaseProof, DocEmploymentCertificate}

// ReasonCodes lists every reason a check may fail or need documents for
// (the Reason fields), as verification's reason catalog has them.
var ReasonCodes = []string{"company_name_mismatch", "address_mismatch", "registration_number_mismatch", "company_not_found",
	"document_expired", "document_illegible", "domain_not_owned", "email_domain_mismatch", "email_domain_unverified", "contact_not_employed", "fraud_suspected"}

// CaseOpened: a verification case was opened for a submitted registration.
type CaseOpened struct {
	CaseID      string       `json:"case_id"`
	PartnerID   string       `json:"partner_id"`
	LocationID  string       `json:"location_id,omitempty"`
	Market      string       `json:"market"`
	Enrollments []Enrollment `json:"enrollments"`
	Checks      []string     `json:"checks"`
	OpenedAt    time.Time    `json:"opened_at"`
}

// CheckStateChanged: one check moved between states (pending, in_review,
// action_required, passed, rejected). Reason and Mode are set for
// action_required and rejected; Evidence for passed: what passed it.
type CheckStateChanged struct {
	CaseID    string    `json:"case_id"`
	PartnerID string    `json:"partner_id"`
	Check     string    `json:"check"`
	From      string    `json:"from"`
	To        string    `json:"to"`
	Reason    string    `json:"reason,omitempty"`
	Mode      string    `json:"mode,omitempty"`
	Evidence  *Evidence `json:"evidence,omitempty"`
	At        time.Time `json:"at"`
}

// Evidence kinds: what passed a check.
const (
	EvidenceEmailConfirmed   = "email_confirmed"   // the e-mail ownership service's confirmation
	EvidenceRegisterWebsite  = "register_website"  // the company register's own website is the e-mail domain
	EvidenceDNSTXT           = "dns_txt"           // the applicant published the domain proof as a DNS TXT record
	EvidenceHTTPWellKnown    = "http_well_known"   // the applicant served the domain proof at the well-known URL
	EvidenceVerifierDecision = "verifier_decision" // a verifier decided (documents reviewed, or the facts themselves)
)

// Evidence is what passed a check: its kind and a detail (the register
// website, the TXT record name, the URL, the deciding verifier's decision).
type Evidence struct {
	Kind   string `json:"kind"`
	Detail string `json:"detail,omitempty"`
}

// DomainProof is how an applicant proves control of its contact e-mail's
// domain instead of uploading a document: publish Token as a DNS TXT
// record at DNSTXTName (value DNSTXTValue), or serve it at HTTPURL, then ask
// for the check (POST /v1/verification/partners/{id}/domain-proofs).
type DomainProof struct {
	Domain      string `json:"domain"`
	DNSTXTName  string `json:"dns_txt_name"`
	DNSTXTValue string `json:"dns_txt_value"`
	HTTPURL     string `json:"http_url"`
	HTTPBody    string `json:"http_body"`
}

// ReviewTaskCreated: a check needs a verifier. It carries everything the
// verifier needs: the facts as submitted and as compared, the register
// pre-check's findings, the documents under review, the reason codes the
// verifier may use on this check, and the due time (business days).
type ReviewTaskCreated struct {
	CaseID        string          `json:"case_id"`
	PartnerID     string          `json:"partner_id"`
	TaskID        string          `json:"task_id"`
	Check         string          `json:"check"`
	Round         int             `json:"round"`
	LocationID    string          `json:"location_id,omitempty"`
	Market        string          `json:"market"`
	Submitted     CompanyFacts    `json:"submitted"`
	Normalized    NormalizedFacts `json:"normalized"`
	ContactEmail  string          `json:"contact_email"`
	ContactDomain string          `json:"contact_domain"`
	WebsiteDomain string          `json:"website_domain,omitempty"`
	PreCheck      *PreCheck       `json:"pre_check,omitempty"`
	RespondsTo    string          `json:"responds_to,omitempty"`
	// ProfileChange is the registration profile change whose proposed facts
	// the task reviews (absent: the registration's own review); its decision
	// is published as profile_check.decided.
	ProfileChange int              `json:"profile_change,omitempty"`
	Documents     []DocumentMeta   `json:"documents"`
	ReasonCodes   []string         `json:"reason_codes"`
	CreatedAt     time.Time        `json:"created_at"`
	DueAt         time.Time        `json:"due_at"`
	Decide        DecisionGuidance `json:"decide"`
	// EarlierAccounts are the company's earlier accounts (rejected, closed)
	// that registration named when it registered again (since round 46;
	// registration.application.submitted.v1's, for staff).
	EarlierAccounts []registrationv1.EarlierAccount `json:"earlier_accounts,omitempty"`
}

// DecisionGuidance tells a verifier service how to answer a task.
type DecisionGuidance struct {
	// EventType is the CloudEvent type of the decision (on INTAKE).
	EventType string `json:"event_type"`
	// ClaimPath is the HTTP path that claims the task before deciding.
	ClaimPath string `json:"claim_path"`
}

// CompanyFacts are the legal facts as the applicant submitted them.
type CompanyFacts struct {
	LegalName          string  `json:"legal_name"`
	Address            Address `json:"address"`
	Phone              string  `json:"phone,omitempty"`
	RegistrationNumber string  `json:"registration_number,omitempty"`
}

// Address is a postal address as submitted.
type Address struct {
	Line1      string `json:"line1"`
	Line2      string `json:"line2,omitempty"`
	City       string `json:"city"`
	Prefecture string `json:"prefecture"`
	PostalCode string `json:"postal_code"`
}

// NormalizedFacts are the comparison keys of the submitted facts.
type NormalizedFacts struct {
	LegalName          string `json:"legal_name"`
	Prefecture         string `json:"prefecture"`
	City               string `json:"city"`
	Street             string `json:"street"`
	PostalCode         string `json:"postal_code"`
	RegistrationNumber string `json:"registration_number,omitempty"`
}

// PreCheck is the automatic register lookup: result found, not_found,
// name_mismatch, address_mismatch or unavailable (the lookup failed).
type PreCheck struct {
	Result          string          `json:"result"`
	Record          *RegisterRecord `json:"record,omitempty"`
	Differences     []Difference    `json:"differences,omitempty"`
	Source          string          `json:"source,omitempty"`
	SuggestedReason string          `json:"suggested_reason,omitempty"`
	Error           string          `json:"error,omitempty"`
	CheckedAt       time.Time       `json:"checked_at"`
}

// RegisterRecord is the register entry the lookup found.
type RegisterRecord struct {
	Market             string `json:"market"`
	RegistrationNumber string `json:"registration_number"`
	Name               string `json:"name"`
	NameKana           string `json:"name_kana,omitempty"`
	Prefecture         string `json:"prefecture"`
	City               string `json:"city"`
	Street             string `json:"street"`
	PostalCode         string `json:"postal_code,omitempty"`
	Status             string `json:"status,omitempty"`
	Website            string `json:"website,omitempty"` // as the register lists it
}

// Difference is one fact that differs from the register.
type Difference struct {
	Field               string `json:"field"`
	Submitted           string `json:"submitted"`
	Register            string `json:"register"`
	SubmittedNormalized string `json:"submitted_normalized,omitempty"`
	RegisterNormalized  string `json:"register_normalized,omitempty"`
	Hint                string `json:"hint,omitempty"`
}

// DocumentMeta is submitted document metadata (the bytes are in object storage).
type DocumentMeta struct {
	DocumentID  string    `json:"document_id"`
	Check       string    `json:"check"`
	Type        string    `json:"type"`
	IssuedOn    string    `json:"issued_on"`
	SHA256      string    `json:"sha256"`
	SizeBytes   int64     `json:"size_bytes"`
	MediaType   string    `json:"media_type"`
	StorageURI  string    `json:"storage_uri"`
	SubmittedAt time.Time `json:"submitted_at"`
	Status      string    `json:"status"`
}

// ReviewTaskClaimed: a verifier holds the task until LeaseUntil.
type ReviewTaskClaimed struct {
	CaseID     string    `json:"case_id"`
	PartnerID  string    `json:"partner_id"`
	TaskID     string    `json:"task_id"`
	Check      string    `json:"check"`
	Verifier   string    `json:"verifier"`
	LeaseUntil time.Time `json:"lease_until"`
	Renewed    bool      `json:"renewed"`
	At         time.Time `json:"at"`
}

// DecisionRefused answers a verifier service's decision intake
// (intakev1.TypeVerificationDecisionSubmitted) that could not be recorded,
// with the code and status the same decision gets over HTTP: the task is
// unknown, not claimed by the decision's principal, or decided already, the
// decision id was used for another decision, the decision itself is invalid
// (Errors), or its principal lacks the verifier role. Subject and
// partitionkey are the intake event's id; causationid is that id too. An
// intake without a known principal (authtype/authid) is dead-lettered
// instead: it answers to no one.
type DecisionRefused struct {
	IntakeEventID string `json:"intake_event_id"`
	// PartnerID is the partner of the task's case when the task was found
	// (a decision refused for its principal's role names none).
	PartnerID  string `json:"partner_id,omitempty"`
	DecisionID string `json:"decision_id,omitempty"`
	TaskID     string `json:"task_id,omitempty"`
	intakev1.Refusal
}

// ReviewTaskReleased: a claim ended without a decision (Reason lease_expired);
// the task is free for any verifier again.
type ReviewTaskReleased struct {
	CaseID    string    `json:"case_id"`
	PartnerID string    `json:"partner_id"`
	TaskID    string    `json:"task_id"`
	Check     string    `json:"check"`
	Verifier  string    `json:"verifier"`
	Reason    string    `json:"reason"`
	At        time.Time `json:"at"`
}

// ReviewTaskOverdue: the task passed its SLA due time undecided (an
// escalation, emitted once per task).
type ReviewTaskOverdue struct {
	CaseID    string    `json:"case_id"`
	PartnerID string    `json:"partner_id"`
	TaskID    string    `json:"task_id"`
	Check     string    `json:"check"`
	DueAt     time.Time `json:"due_at"`
	ClaimedBy string    `json:"claimed_by,omitempty"`
	At        time.Time `json:"at"`
}

// DecisionRecorded: a verifier's decision was recorded. Status is final,
// pending_confirmation (a FINAL rejection awaiting a second verifier) or
// confirmation (it confirmed the decision named by Confirms). The internal
// note is never published.
type DecisionRecorded struct {
	CaseID           string    `json:"case_id"`
	PartnerID        string    `json:"partner_id"`
	DecisionID       string    `json:"decision_id"`
	TaskID           string    `json:"task_id"`
	Check            string    `json:"check"`
	Verifier         string    `json:"verifier"`
	Outcome          string    `json:"outcome"` // approve, reject or request_documents
	Reason           string    `json:"reason,omitempty"`
	Mode             string    `json:"mode,omitempty"`
	ApplicantMessage string    `json:"applicant_message,omitempty"`
	Status           string    `json:"status"`
	Confirms         string    `json:"confirms,omitempty"`
	At               time.Time `json:"at"`
}

// DocumentsRequested: the applicant must upload one of AcceptedDocuments for
// Check by DueAt — or, for the employment check, prove the e-mail domain
// (DomainProof); AppealsRemaining submissions are left. BusinessDaysLeft
// is the number of business days (the market's calendar) from At's day,
// exclusive, to DueAt's last day, inclusive — what a person is told.
type DocumentsRequested struct {
	CaseID            string       `json:"case_id"`
	PartnerID         string       `json:"partner_id"`
	Check             string       `json:"check"`
	Reason            string       `json:"reason"`
	ApplicantMessage  string       `json:"applicant_message,omitempty"`
	AcceptedDocuments []string     `json:"accepted_documents"`
	DomainProof       *DomainProof `json:"domain_proof,omitempty"`
	DueAt             time.Time    `json:"due_at"`
	BusinessDaysLeft  int          `json:"business_days_left,omitempty"`
	AppealsRemaining  int          `json:"appeals_remaining"`
	ContactEmail      string       `json:"contact_email"`
	At                time.Time    `json:"at"`
}

// DocumentsSatisfied: the applicant's open documents request on Check is
// met — by a document accepted for review (By "document"), a domain proof
// (dns_txt, http_well_known) or a verifier's decision (verifier_decision) —
// and nothing is asked of the applicant on that check any more.
type DocumentsSatisfied struct {
	CaseID    string    `json:"case_id"`
	PartnerID string    `json:"partner_id"`
	Check     string    `json:"check"`
	By        string    `json:"by"`
	At        time.Time `json:"at"`
}

// DocumentAccepted: submitted document metadata passed the rules and went to review.
type DocumentAccepted struct {
	CaseID           string    `json:"case_id"`
	PartnerID        string    `json:"partner_id"`
	DocumentID       string    `json:"document_id"`
	Check            string    `json:"check"`
	Type             string    `json:"type"`
	SHA256           string    `json:"sha256"`
	AppealsRemaining int       `json:"appeals_remaining"`
	At               time.Time `json:"at"`
}

// ReminderDue: remind the applicant that documents for Check are due at
// DueAt (LeadSeconds before the deadline; BusinessDaysLeft as in
// DocumentsRequested).
type ReminderDue struct {
	CaseID            string    `json:"case_id"`
	PartnerID         string    `json:"partner_id"`
	Check             string    `json:"check"`
	Reason            string    `json:"reason"`
	DueAt             time.Time `json:"due_at"`
	BusinessDaysLeft  int       `json:"business_days_left,omitempty"`
	LeadSeconds       int64     `json:"lead_seconds"`
	AcceptedDocuments []string  `json:"accepted_documents"`
	ContactEmail      string    `json:"contact_email"`
	At                time.Time `json:"at"`
}

// Why a case is reviewed again.
const (
	ReopenedForRevocation   = "revocation"
	ReopenedForReactivation = "reactivation"
	// ReopenedForReview: a verifier or operator asked for a new review of
	// an approved case (since round 45; before, it read reactivation).
	ReopenedForReview = "review"
)

// CaseReopened: a decided case (approved, or revoked) is reviewed again —
// after its approval was revoked, or because registration reactivates the
// partner after a long inactivity. The company check is in review with
// TaskID; a later approval publishes case.approved again.
type CaseReopened struct {
	CaseID     string    `json:"case_id"`
	PartnerID  string    `json:"partner_id"`
	From       string    `json:"from"` // approved or revoked
	Reason     string    `json:"reason"`
	Note       string    `json:"note,omitempty"`
	TaskID     string    `json:"task_id"`
	ReopenedBy string    `json:"reopened_by"`
	ReopenedAt time.Time `json:"reopened_at"`
}

// CaseWithdrawn: the partner's account was closed while its case had work
// under way (a review re-opened after a revocation or a reactivation, a
// profile change's review): a pending case is withdrawn (To withdrawn), the
// open review tasks are cancelled (TasksCancelled) — no verifier takes
// them, no documents are due and no reminder is sent — and the case is never
// reviewed again or revoked. Reason: partner_closed.
type CaseWithdrawn struct {
	CaseID         string    `json:"case_id"`
	PartnerID      string    `json:"partner_id"`
	From           string    `json:"from"`
	To             string    `json:"to"`
	Reason         string    `json:"reason"`
	TasksCancelled []string  `json:"tasks_cancelled,omitempty"`
	WithdrawnAt    time.Time `json:"withdrawn_at"`
}
