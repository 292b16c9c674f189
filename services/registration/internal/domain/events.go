package domain

import "time"

// Event is a domain event recorded by an aggregate. The repository adapter
// pulls an aggregate's events after a successful change and writes them to
// the outbox in the same transaction. PartitionKey is the partner ID every
// event is ordered by (the CloudEvent subject and partitionkey).
type Event interface {
	EventName() string // stable, e.g. "registration.submitted"
	PartitionKey() PartnerID
	OccurredAt() time.Time
}

// RegistrationSubmitted: a registration was accepted and its partner, location
// and enrollments created (all pending). It carries everything downstream
// services need: e-mail ownership (contact e-mail), verification (company
// facts, e-mail domain vs website), agreements (programs and enrollment IDs).
type RegistrationSubmitted struct {
	PartnerID                 PartnerID           `json:"partner_id"`
	LocationID                LocationID          `json:"location_id"`
	Market                    Country             `json:"market"`
	Language                  Language            `json:"language"`
	LegalName                 LegalNameFacts      `json:"legal_name"`
	Address                   AddressFacts        `json:"address"`
	CompanyPhoneE164          string              `json:"company_phone_e164"`
	RegistrationNumber        *RegistrationNumber `json:"registration_number,omitempty"`
	Website                   string              `json:"website,omitempty"`
	WebsiteDomain             string              `json:"website_domain,omitempty"`
	Contact                   NormalizedContact   `json:"contact"` // names, e-mail, e-mail domain, phone E.164
	EmailDomainMatchesWebsite bool                `json:"email_domain_matches_website"`
	Enrollments               []EnrollmentFacts   `json:"enrollments"`
	Affirmations              Affirmations        `json:"affirmations"`
	SubmittedBy               string              `json:"submitted_by"` // principal subject
	SubmittedAt               time.Time           `json:"submitted_at"`
	EarlierAccounts           []EarlierAccount    `json:"earlier_accounts,omitempty"`
}

// LegalNameFacts is a legal name as submitted and normalized.
type LegalNameFacts struct {
	Raw        string `json:"raw"`
	Normalized string `json:"normalized"`
}

// AddressFacts is an address as submitted and normalized.
type AddressFacts struct {
	Raw        AddressInput      `json:"raw"`
	Normalized NormalizedAddress `json:"normalized"`
}

// EnrollmentFacts describes one enrollment in RegistrationSubmitted.
type EnrollmentFacts struct {
	EnrollmentID EnrollmentID     `json:"enrollment_id"`
	Program      Program          `json:"program"`
	Status       EnrollmentStatus `json:"status"`
	Support      *SupportProfile  `json:"support,omitempty"`
}

// EnrollmentStatusChanged: one enrollment moved in its lifecycle.
type EnrollmentStatusChanged struct {
	PartnerID    PartnerID        `json:"partner_id"`
	EnrollmentID EnrollmentID     `json:"enrollment_id"`
	Program      Program          `json:"program"`
	From         EnrollmentStatus `json:"from"`
	To           EnrollmentStatus `json:"to"`
	Reason       string           `json:"reason"` // ReasonVerificationApproved, ReasonAgreementAccepted or the rejection code
	LocationID   LocationID       `json:"location_id,omitempty"`
	AgreementID  string           `json:"agreement_id,omitempty"`
	At           time.Time        `json:"at"`
}

// Reasons of enrollment changes that are not a rejection code.
const (
	ReasonVerificationApproved = "verification_approved"
	ReasonAgreementAccepted    = "agreement_accepted"
	ReasonEmailConfirmed       = "email_confirmed"
	// ReasonReacceptanceOverdue: the program agreement's new version was
	// not accepted by its deadline; the acceptance no longer counts.
	ReasonReacceptanceOverdue = "agreement_reacceptance_overdue"
	// ReasonReacceptanceCancelled: agreements cancelled the overdue
	// re-acceptance (the version was retired): the earlier acceptance
	// counts again.
	ReasonReacceptanceCancelled = "agreement_reacceptance_cancelled"
)

// PartnerStandingChanged: the partner's standing changed (its status, or
// the reasons it is not active). Reasons are every reason in force after the
// change; Added and Lifted what this change placed and lifted.
type PartnerStandingChanged struct {
	PartnerID PartnerID        `json:"partner_id"`
	From      PartnerStatus    `json:"from"`
	To        PartnerStatus    `json:"to"`
	Reasons   []StandingReason `json:"reasons"`
	Added     []StandingReason `json:"added"`
	Lifted    []StandingReason `json:"lifted"`
	ChangedBy string           `json:"changed_by,omitempty"`
	Note      string           `json:"note,omitempty"`
	ChangedAt time.Time        `json:"changed_at"`
}

// SecurityStatusChanged: an upstream system's report changed the verdict
// on the partner tenant's security requirements (MFA for every user).
type SecurityStatusChanged struct {
	PartnerID               PartnerID          `json:"partner_id"`
	From                    SecurityCompliance `json:"from"`
	To                      SecurityCompliance `json:"to"`
	MFAEnforcedUsersPercent *float64           `json:"mfa_enforced_users_percent,omitempty"`
	MFARequestsPercent      *float64           `json:"mfa_requests_percent,omitempty"`
	MeasuredAt              time.Time          `json:"measured_at"`
	ReportedBy              string             `json:"reported_by,omitempty"`
	ChangedAt               time.Time          `json:"changed_at"`
}

// PartnerActivated: verification approved the partner; its global ID and the
// listed location IDs are now valid (one event for partner and locations).
type PartnerActivated struct {
	PartnerID   PartnerID    `json:"partner_id"`
	Market      Country      `json:"market"`
	LocationIDs []LocationID `json:"location_ids"`
	At          time.Time    `json:"at"`
}

// PartnerRejected: verification rejected the registration; its IDs never
// become valid and its identity keys are released.
type PartnerRejected struct {
	PartnerID PartnerID `json:"partner_id"`
	Reason    string    `json:"reason"`
	At        time.Time `json:"at"`
}

// EnrollmentLocationLinked: a location ID was linked to an enrollment
// (indirect reseller), which transactions will use.
type EnrollmentLocationLinked struct {
	PartnerID          PartnerID    `json:"partner_id"`
	EnrollmentID       EnrollmentID `json:"enrollment_id"`
	Program            Program      `json:"program"`
	LocationID         LocationID   `json:"location_id"`
	PreviousLocationID LocationID   `json:"previous_location_id,omitempty"`
	At                 time.Time    `json:"at"`
}

// DuplicateClaimFiled: an applicant refused as a duplicate claims to be the
// legal entity behind the existing partner; reviewers decide.
type DuplicateClaimFiled struct {
	ClaimID           ClaimID            `json:"claim_id"`
	AttemptID         DuplicateAttemptID `json:"duplicate_attempt_id"`
	ExistingPartnerID PartnerID          `json:"existing_partner_id"`
	Market            Country            `json:"market"`
	MatchedOn         []IdentityKeyKind  `json:"matched_on"`
	LegalName         LegalNameFacts     `json:"legal_name"`
	Contact           NormalizedContact  `json:"contact"`
	// The rest of the attempted registration's company facts, for the
	// reviewer to compare with the existing partner's.
	Address            AddressFacts        `json:"address"`
	CompanyPhoneE164   string              `json:"company_phone_e164,omitempty"`
	RegistrationNumber *RegistrationNumber `json:"registration_number,omitempty"`
	WebsiteDomain      string              `json:"website_domain,omitempty"`
	Statement          string              `json:"statement"`
	FiledBy            string              `json:"filed_by"`
	FiledAt            time.Time           `json:"filed_at"`
}

// EventName implements Event.
func (RegistrationSubmitted) EventName() string { return "registration.submitted" }

// EventName implements Event.
func (EnrollmentStatusChanged) EventName() string { return "enrollment.status_changed" }

// EventName implements Event.
func (PartnerActivated) EventName() string { return "partner.activated" }

// EventName implements Event.
func (PartnerRejected) EventName() string { return "partner.rejected" }

// EventName implements Event.
func (EnrollmentLocationLinked) EventName() string { return "enrollment.location_linked" }

// EventName implements Event.
func (DuplicateClaimFiled) EventName() string { return "duplicate_claim.filed" }

// EventName implements Event.
func (PartnerStandingChanged) EventName() string { return "partner.standing_changed" }

// EventName implements Event.
func (SecurityStatusChanged) EventName() string { return "partner.security_status_changed" }

// PartitionKey implements Event.
func (e PartnerStandingChanged) PartitionKey() PartnerID { return e.PartnerID }

// PartitionKey implements Event.
func (e SecurityStatusChanged) PartitionKey() PartnerID { return e.PartnerID }

// OccurredAt implements Event.
func (e PartnerStandingChanged) OccurredAt() time.Time { return e.ChangedAt }

// OccurredAt implements Event.
func (e SecurityStatusChanged) OccurredAt() time.Time { return e.ChangedAt }

// PartitionKey implements Event.
func (e RegistrationSubmitted) PartitionKey() PartnerID { return e.PartnerID }

// PartitionKey implements Event.
func (e EnrollmentStatusChanged) PartitionKey() PartnerID { return e.PartnerID }

// PartitionKey implements Event.
func (e PartnerActivated) PartitionKey() PartnerID { return e.PartnerID }

// PartitionKey implements Event.
func (e PartnerRejected) PartitionKey() PartnerID { return e.PartnerID }

// PartitionKey implements Event.
func (e EnrollmentLocationLinked) PartitionKey() PartnerID { return e.PartnerID }

// PartitionKey implements Event: a claim is ordered with the partner it claims.
func (e DuplicateClaimFiled) PartitionKey() PartnerID { return e.ExistingPartnerID }

// OccurredAt implements Event.
func (e RegistrationSubmitted) OccurredAt() time.Time { return e.SubmittedAt }

// OccurredAt implements Event.
func (e EnrollmentStatusChanged) OccurredAt() time.Time { return e.At }

// OccurredAt implements Event.
func (e PartnerActivated) OccurredAt() time.Time { return e.At }

// OccurredAt implements Event.
func (e PartnerRejected) OccurredAt() time.Time { return e.At }

// OccurredAt implements Event.
func (e EnrollmentLocationLinked) OccurredAt() time.Time { return e.At }

// OccurredAt implements Event.
func (e DuplicateClaimFiled) OccurredAt() time.Time { return e.FiledAt }
