package verificationv1

import "time"

// Reviews that belong to no case: a duplicate claim filed with
// registration, and an e-mail ownership dispute ("this wasn't me"). A
// verifier decides each; the outcome goes to registration (claims: it
// records the outcome on the claim), to email-ownership (disputes: it
// removes the address or lets the challenge continue) and to the notifier
// (an upheld claim asks the existing partner's contact to add the
// claimant). Subject and partitionkey: the global ID of the reviewed partner
// (the existing partner of a claim, the disputing partner of a dispute).
const (
	// TypeReviewOpened: a review awaits a verifier; verifier services
	// consume it as they consume TypeReviewTaskCreated, then claim and
	// decide the review over HTTP (ClaimPath, DecidePath).
	TypeReviewOpened                = "com.partnerhub.verification.review.opened.v1"
	TypeDuplicateClaimReviewStarted = "com.partnerhub.verification.duplicate_claim.review_started.v1"
	TypeDuplicateClaimUpheld        = "com.partnerhub.verification.duplicate_claim.upheld.v1"
	TypeDuplicateClaimRefused       = "com.partnerhub.verification.duplicate_claim.refused.v1"
	TypeEmailDisputeUpheld          = "com.partnerhub.verification.email_dispute.upheld.v1"
	TypeEmailDisputeDismissed       = "com.partnerhub.verification.email_dispute.dismissed.v1"
)

// ReviewOpened announces a review: what it decides (Kind: duplicate_claim
// or email_dispute, with the claim or the challenge it is about), its due
// time and where to claim and decide it. The review's content (statement,
// facts, the partner's) is read with GET /v1/verification/reviews/{id}.
// An e-mail dispute's review is about the address: another report of it
// while the review is open joins the review and announces nothing.
type ReviewOpened struct {
	ReviewID    string    `json:"review_id"`
	Kind        string    `json:"kind"`
	PartnerID   string    `json:"partner_id"`
	Market      string    `json:"market,omitempty"`
	ClaimID     string    `json:"claim_id,omitempty"`
	ChallengeID string    `json:"challenge_id,omitempty"`
	DueAt       time.Time `json:"due_at"`
	ClaimPath   string    `json:"claim_path"`
	DecidePath  string    `json:"decide_path"`
	OpenedAt    time.Time `json:"opened_at"`
}

// DuplicateClaimReviewStarted: a verifier took up a duplicate claim.
type DuplicateClaimReviewStarted struct {
	ReviewID           string    `json:"review_id"`
	ClaimID            string    `json:"claim_id"`
	DuplicateAttemptID string    `json:"duplicate_attempt_id"`
	ExistingPartnerID  string    `json:"existing_partner_id"`
	Verifier           string    `json:"verifier"`
	StartedAt          time.Time `json:"started_at"`
}

// Claimant is the contact of the registration refused as a duplicate, as
// the existing partner's contact is asked to add it.
type Claimant struct {
	FirstName   string `json:"first_name"`
	LastName    string `json:"last_name"`
	Email       string `json:"email"`
	CompanyName string `json:"company_name"`
}

// DuplicateClaimDecided is the payload of both TypeDuplicateClaimUpheld
// (Reason empty) and TypeDuplicateClaimRefused (Reason and ReasonText set;
// Message is the verifier's own words to the claimant, optional).
type DuplicateClaimDecided struct {
	ReviewID           string    `json:"review_id"`
	DecisionID         string    `json:"decision_id"`
	ClaimID            string    `json:"claim_id"`
	DuplicateAttemptID string    `json:"duplicate_attempt_id"`
	ExistingPartnerID  string    `json:"existing_partner_id"`
	Market             string    `json:"market"`
	Outcome            string    `json:"outcome"` // upheld | refused
	Reason             string    `json:"reason,omitempty"`
	ReasonText         string    `json:"reason_text,omitempty"`
	Message            string    `json:"message,omitempty"`
	Claimant           Claimant  `json:"claimant"`
	DecidedBy          string    `json:"decided_by"`
	DecidedAt          time.Time `json:"decided_at"`
}

// EmailDisputeDecided is the payload of both TypeEmailDisputeUpheld (the
// address is to be removed from the enrollment) and
// TypeEmailDisputeDismissed (Reason and ReasonText set; the challenge
// continues).
type EmailDisputeDecided struct {
	ReviewID     string    `json:"review_id"`
	DecisionID   string    `json:"decision_id"`
	PartnerID    string    `json:"partner_id"`
	EnrollmentID string    `json:"enrollment_id"`
	Program      string    `json:"program"`
	ChallengeID  string    `json:"challenge_id"`
	Outcome      string    `json:"outcome"` // upheld | dismissed
	Reason       string    `json:"reason,omitempty"`
	ReasonText   string    `json:"reason_text,omitempty"`
	Message      string    `json:"message,omitempty"`
	DecidedBy    string    `json:"decided_by"`
	DecidedAt    time.Time `json:"decided_at"`
}

// ClaimRefusalReasons are the Reason codes of a refused duplicate claim;
// DisputeDismissalReasons those of a dismissed e-mail dispute (ReasonText
// is verification's English text of each).
var (
	ClaimRefusalReasons     = []string{"fraud_suspected", "insufficient_evidence", "not_the_registered_company"}
	DisputeDismissalReasons = []string{"address_belongs_to_contact", "insufficient_evidence"}
)
