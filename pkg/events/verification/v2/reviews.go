// Package verificationv2 holds the verification events whose v1 had to
// change incompatibly. Verification publishes these instead of their v1
// (which its consumers still read, for events published before); every
// other verification event is in verificationv1.
package verificationv2

import "time"

// TypeDuplicateClaimRefused replaces verificationv1.TypeDuplicateClaimRefused
// since round 47: it no longer names the claimant. The existing partner's
// side read the claimant's name and address on its timeline, though a
// refused claim never asks it to add anyone; the claimant knows itself, and
// the verifiers have the review. (An upheld claim still names it:
// verificationv1.TypeDuplicateClaimUpheld, the mail to the existing
// partner's contact gives it too.)
const TypeDuplicateClaimRefused = "com.partnerhub.verification.duplicate_claim.refused.v2"

// DuplicateClaimRefused: a verifier, or verification itself (the existing
// partner closed or rejected), refused a duplicate claim, with a reason code
// of the review catalog and its text. Message is the verifier's own words to
// the claimant (optional, staff only). Subject is the existing partner.
type DuplicateClaimRefused struct {
	ReviewID           string    `json:"review_id"`
	DecisionID         string    `json:"decision_id"`
	ClaimID            string    `json:"claim_id"`
	DuplicateAttemptID string    `json:"duplicate_attempt_id"`
	ExistingPartnerID  string    `json:"existing_partner_id"`
	Market             string    `json:"market"`
	Outcome            string    `json:"outcome"` // refused
	Reason             string    `json:"reason"`
	ReasonText         string    `json:"reason_text"`
	Message            string    `json:"message,omitempty"`
	DecidedBy          string    `json:"decided_by"`
	DecidedAt          time.Time `json:"decided_at"`
}
