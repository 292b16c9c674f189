// Package registrationv2 holds the registration events whose v1 had to
// change incompatibly. Registration publishes these instead of their v1
// (which its consumers still read, for events published before); every
// other registration event is in registrationv1.
package registrationv2

import (
	"time"

	registrationv1 "github.com/partnerhub/onboarding/pkg/events/registration/v1"
)

// TypeDuplicateClaimFiled replaces registrationv1.TypeDuplicateClaimFiled
// since round 47: the claimant's contact is staff-only (the existing
// partner's side read it on its timeline from the filing on, while the mail
// gives it only once a verifier upheld the claim), and a staff-only object
// reads null there, which v1's schema did not allow.
const TypeDuplicateClaimFiled = "com.partnerhub.registration.duplicate_claim.filed.v2"

// DuplicateClaimFiled: an applicant refused as a duplicate claims the
// existing partner; a reviewer decides. Subject is the existing partner.
// It is registrationv1.DuplicateClaimFiled with Contact nullable: the
// producer always sets it; the partner's side reads it null.
type DuplicateClaimFiled struct {
	ClaimID            string                   `json:"claim_id"`
	DuplicateAttemptID string                   `json:"duplicate_attempt_id"`
	ExistingPartnerID  string                   `json:"existing_partner_id"`
	Market             string                   `json:"market"`
	MatchedOn          []string                 `json:"matched_on"`
	LegalName          registrationv1.LegalName `json:"legal_name"`
	// Contact is the claimant's (staff only).
	Contact            *registrationv1.Contact            `json:"contact"`
	Address            *registrationv1.Address            `json:"address,omitempty"`
	CompanyPhoneE164   string                             `json:"company_phone_e164,omitempty"`
	RegistrationNumber *registrationv1.RegistrationNumber `json:"registration_number,omitempty"`
	WebsiteDomain      string                             `json:"website_domain,omitempty"`
	Statement          string                             `json:"statement"`
	FiledBy            string                             `json:"filed_by"`
	FiledAt            time.Time                          `json:"filed_at"`
}
