// Package registrationv1 is what the registration service publishes on the
// REGISTRATION stream. Subject and partitionkey are the global partner ID.
package registrationv1

import (
	"time"

	intakev1 "github.com/partnerhub/onboarding/pkg/events/intake/v1"
)

// Event types.
const (
	TypeApplicationSubmitted     = "com.partnerhub.registration.application.submitted.v1"
	TypeApplicationRejected      = "com.partnerhub.registration.application.rejected.v1"
	TypeDuplicateClaimFiled      = "com.partnerhub.registration.duplicate_claim.filed.v1"
	TypeEnrollmentStatusChanged  = "com.partnerhub.registration.enrollment.status_changed.v1"
	TypePartnerActivated         = "com.partnerhub.registration.partner.activated.v1"
	TypePartnerRejected          = "com.partnerhub.registration.partner.rejected.v1"
	TypeEnrollmentLocationLinked = "com.partnerhub.registration.enrollment.location_linked.v1"
	TypePartnerStandingChanged   = "com.partnerhub.registration.partner.standing_changed.v1"
	TypeSecurityStatusChanged    = "com.partnerhub.registration.partner.security_status_changed.v1"
)

// Programs.
const (
	ProgramPartnerNetwork   = "partner_network"
	ProgramIndirectReseller = "indirect_reseller"
	ProgramIndirectProvider = "indirect_provider"
)

// Enrollment statuses.
const (
	StatusPendingVerification      = "pending_verification"
	StatusPendingEmailConfirmation = "pending_email_confirmation" // approved; the enrollment's own e-mail confirmation is not in
	StatusQualified                = "qualified"
	StatusActive                   = "active"
	StatusRejected                 = "rejected"
)

// Partner statuses (the standing): pending until verification decides,
// then active, suspended, inactive or closed; rejected by verification.
const (
	StandingPending   = "pending"
	StandingActive    = "active"
	StandingSuspended = "suspended"
	StandingInactive  = "inactive"
	StandingClosed    = "closed"
	StandingRejected  = "rejected"
)

// Standing reasons: why a partner is not active. The first four are holds
// (suspension), each lifted on its own.
const (
	ReasonVerificationRevoked    = "verification_revoked"    // lifted by a new approval (re-review)
	ReasonReverificationRequired = "reverification_required" // reactivated after a long inactivity: reviewed again
	ReasonComplianceHold         = "compliance_hold"         // an operator's hold
	ReasonMFANoncompliant        = "mfa_noncompliant"        // the tenant does not enforce MFA (seed 003)
	ReasonInactivity             = "inactivity"              // no activity for the inactivity period (seed 000)
	ReasonClosedByPartner        = "closed_by_partner"
	ReasonClosedByOperator       = "closed_by_operator"
)

// ApplicationSubmitted: a registration was accepted; the partner, its
// location and enrollments exist, all pending verification. It carries what
// e-mail ownership, verification and agreements need.
type ApplicationSubmitted struct {
	PartnerID                 string              `json:"partner_id"`
	LocationID                string              `json:"location_id"`
	Market                    string              `json:"market"`
	Language                  string              `json:"language"`
	LegalName                 LegalName           `json:"legal_name"`
	Address                   Address             `json:"address"`
	CompanyPhoneE164          string              `json:"company_phone_e164"`
	RegistrationNumber        *RegistrationNumber `json:"registration_number,omitempty"`
	Website                   string              `json:"website,omitempty"`
	WebsiteDomain             string              `json:"website_domain,omitempty"`
	Contact                   Contact             `json:"contact"`
	EmailDomainMatchesWebsite bool                `json:"email_domain_matches_website"`
	Enrollments               []Enrollment        `json:"enrollments"`
	Affirmations              Affirmations        `json:"affirmations"`
	SubmittedBy               string              `json:"submitted_by"`
	SubmittedAt               time.Time           `json:"submitted_at"`
	// EarlierAccounts are the company's accounts in the market that had let
	// go of its identity (rejected, or closed) when it registered again
	// (since round 46; for staff: the event feed and webhooks redact it
	// outside staff).
	EarlierAccounts []EarlierAccount `json:"earlier_accounts,omitempty"`
}

// EarlierAccount is an earlier account of the same company (an identity
// key equal), with the keys that matched.
type EarlierAccount struct {
	PartnerID  string    `json:"partner_id"`
	Status     string    `json:"status"`
	MatchedOn  []string  `json:"matched_on"`
	ReleasedAt time.Time `json:"released_at"`
}

// LegalName as submitted and normalized (legal forms expanded, widths folded).
type LegalName struct {
	Raw        string `json:"raw"`
	Normalized string `json:"normalized"`
}

// Address as submitted and normalized.
type Address struct {
	Raw        AddressLines      `json:"raw"`
	Normalized NormalizedAddress `json:"normalized"`
}

// AddressLines is an address as submitted.
type AddressLines struct {
	Line1      string `json:"line1"`
	Line2      string `json:"line2,omitempty"`
	City       string `json:"city"`
	Region     string `json:"region"`
	PostalCode string `json:"postal_code"`
}

// NormalizedAddress is the display form plus a comparison key.
type NormalizedAddress struct {
	Line1      string `json:"line1"`
	Line2      string `json:"line2,omitempty"`
	City       string `json:"city"`
	Region     string `json:"region"`
	RegionCode string `json:"region_code,omitempty"`
	PostalCode string `json:"postal_code"`
	Key        string `json:"key"`
}

// RegistrationNumber is jp_corporate_number (13 digits) or duns (9 digits).
type RegistrationNumber struct {
	Scheme string `json:"scheme"`
	Value  string `json:"value"`
}

// Contact is the normalized primary contact.
type Contact struct {
	FirstName   string `json:"first_name"`
	LastName    string `json:"last_name"`
	Email       string `json:"email"`
	EmailDomain string `json:"email_domain"`
	PhoneE164   string `json:"phone_e164"`
}

// Enrollment is one program enrollment.
type Enrollment struct {
	EnrollmentID string          `json:"enrollment_id"`
	Program      string          `json:"program"`
	Status       string          `json:"status"`
	Support      *SupportProfile `json:"support,omitempty"`
}

// SupportProfile is the reseller's customer support profile.
type SupportProfile struct {
	Website   string `json:"website"`
	Email     string `json:"email"`
	PhoneE164 string `json:"phone_e164,omitempty"`
}

// Affirmations are what the applicant affirmed, and when.
type Affirmations struct {
	AuthorityToRepresent  bool      `json:"authority_to_represent"`
	ConsentToVerification bool      `json:"consent_to_verification"`
	AcceptNetworkTerms    bool      `json:"accept_network_terms"`
	CanProvideSupport     bool      `json:"can_provide_support"`
	AffirmedAt            time.Time `json:"affirmed_at"`
}

// ApplicationRejected answers an intake event that could not be registered.
// Subject and partitionkey are the intake event's id (there is no partner);
// causationid is that id too.
type ApplicationRejected struct {
	IntakeEventID string `json:"intake_event_id"`
	intakev1.Refusal
	// MatchedOn and DuplicateAttemptID are set for duplicates: file a claim
	// with POST /v1/duplicate-claims.
	MatchedOn          []string `json:"matched_on,omitempty"`
	DuplicateAttemptID string   `json:"duplicate_attempt_id,omitempty"`
}

// DuplicateClaimFiled: an applicant refused as a duplicate claims the
// existing partner; a reviewer decides. Subject is the existing partner.
type DuplicateClaimFiled struct {
	ClaimID            string    `json:"claim_id"`
	DuplicateAttemptID string    `json:"duplicate_attempt_id"`
	ExistingPartnerID  string    `json:"existing_partner_id"`
	Market             string    `json:"market"`
	MatchedOn          []string  `json:"matched_on"`
	LegalName          LegalName `json:"legal_name"`
	Contact            Contact   `json:"contact"`
	// The attempted registration's other company facts (additive: absent
	// in claims filed before they were published).
	Address            *Address            `json:"address,omitempty"`
	CompanyPhoneE164   string              `json:"company_phone_e164,omitempty"`
	RegistrationNumber *RegistrationNumber `json:"registration_number,omitempty"`
	WebsiteDomain      string              `json:"website_domain,omitempty"`
	Statement          string              `json:"statement"`
	FiledBy            string              `json:"filed_by"`
	FiledAt            time.Time           `json:"filed_at"`
}

// EnrollmentStatusChanged: an enrollment moved in its lifecycle
// (pending_verification → qualified|pending_email_confirmation|active|rejected,
// pending_email_confirmation → qualified|active, qualified → active).
type EnrollmentStatusChanged struct {
	PartnerID    string    `json:"partner_id"`
	EnrollmentID string    `json:"enrollment_id"`
	Program      string    `json:"program"`
	From         string    `json:"from"`
	To           string    `json:"to"`
	Reason       string    `json:"reason"`
	LocationID   string    `json:"location_id,omitempty"`
	AgreementID  string    `json:"agreement_id,omitempty"`
	At           time.Time `json:"at"`
}

// PartnerActivated: verification approved; the global ID and these location
// IDs are now valid.
type PartnerActivated struct {
	PartnerID   string    `json:"partner_id"`
	Market      string    `json:"market"`
	LocationIDs []string  `json:"location_ids"`
	At          time.Time `json:"at"`
}

// PartnerRejected: verification rejected the registration.
type PartnerRejected struct {
	PartnerID string    `json:"partner_id"`
	Reason    string    `json:"reason"`
	At        time.Time `json:"at"`
}

// EnrollmentLocationLinked: a location ID was linked to an enrollment.
type EnrollmentLocationLinked struct {
	PartnerID          string    `json:"partner_id"`
	EnrollmentID       string    `json:"enrollment_id"`
	Program            string    `json:"program"`
	LocationID         string    `json:"location_id"`
	PreviousLocationID string    `json:"previous_location_id,omitempty"`
	At                 time.Time `json:"at"`
}

// PartnerStandingChanged: the partner's standing changed — its status
// (active, suspended, inactive, closed), or the reasons it is not active.
// Reasons are every reason in force afterwards; Added and Lifted what this
// change placed and lifted. Every service reacts: only an active partner
// transacts. Not published for pending → active (that is PartnerActivated).
type PartnerStandingChanged struct {
	PartnerID string    `json:"partner_id"`
	From      string    `json:"from"`
	To        string    `json:"to"`
	Reasons   []string  `json:"reasons"`
	Added     []string  `json:"added"`
	Lifted    []string  `json:"lifted"`
	ChangedBy string    `json:"changed_by,omitempty"`
	Note      string    `json:"note,omitempty"`
	ChangedAt time.Time `json:"changed_at"`
}

// InGoodStanding reports whether the partner may transact afterwards.
func (e PartnerStandingChanged) InGoodStanding() bool { return e.To == StandingActive }

// SecurityStatusChanged: an upstream system's report changed the verdict
// on the partner tenant's security requirements (MFA for every user, seed
// 003). A noncompliant tenant is suspended (reason mfa_noncompliant).
type SecurityStatusChanged struct {
	PartnerID               string    `json:"partner_id"`
	From                    string    `json:"from"` // unknown, compliant or noncompliant
	To                      string    `json:"to"`
	MFAEnforcedUsersPercent *float64  `json:"mfa_enforced_users_percent,omitempty"`
	MFARequestsPercent      *float64  `json:"mfa_requests_percent,omitempty"`
	MeasuredAt              time.Time `json:"measured_at"`
	ReportedBy              string    `json:"reported_by,omitempty"`
	ChangedAt               time.Time `json:"changed_at"`
}
