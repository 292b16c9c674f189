package registrationv1

import "time"

// Profile change event types: a partner's request to change its profile,
// and its outcome once the checks it re-opened are decided.
const (
	TypeProfileChangeRequested = "com.partnerhub.registration.profile_change.requested.v1"
	TypeProfileChangeApplied   = "com.partnerhub.registration.profile_change.applied.v1"
	TypeProfileChangeRejected  = "com.partnerhub.registration.profile_change.rejected.v1"
)

// The checks a profile change can re-open (ProfileChangeRequested.Reopens).
const (
	RecheckEmailOwnership = "email_ownership"
	RecheckCompany        = "company"
	RecheckEmployment     = "employment"
)

// ProfileChangeRequested: the partner asked to change its profile. Reopens
// are the checks it waits for; with none it is applied at once (status
// applied, ProfileChangeApplied follows). The partner keeps transacting on
// its verified profile meanwhile. A change re-opening email_ownership asks
// for a new challenge to Contact.Email on ContactEnrollmentID.
type ProfileChangeRequested struct {
	PartnerID                 string              `json:"partner_id"`
	ChangeNumber              int                 `json:"change_number"`
	Market                    string              `json:"market"`
	Language                  string              `json:"language"`
	Status                    string              `json:"status"` // pending_verification or applied
	Changes                   []FieldChange       `json:"changes"`
	Reopens                   []string            `json:"reopens"`
	Supersedes                int                 `json:"supersedes,omitempty"` // the pending change this one replaces
	ContactEnrollmentID       string              `json:"contact_enrollment_id"`
	Contact                   Contact             `json:"contact"`
	LegalName                 LegalName           `json:"legal_name"`
	Address                   Address             `json:"address"`
	RegistrationNumber        *RegistrationNumber `json:"registration_number,omitempty"`
	Website                   string              `json:"website,omitempty"`
	WebsiteDomain             string              `json:"website_domain,omitempty"`
	EmailDomainMatchesWebsite bool                `json:"email_domain_matches_website"`
	RequestedBy               string              `json:"requested_by"`
	RequestedAt               time.Time           `json:"requested_at"`
}

// FieldChange is one changed profile field, normalized.
type FieldChange struct {
	Field string `json:"field"`
	From  string `json:"from"`
	To    string `json:"to"`
}

// FieldContactEmail is the Field of a change of the contact e-mail address.
const FieldContactEmail = "contact.email"

// ContactEmailChange returns the change of the contact e-mail address
// among changes, if there is one.
func ContactEmailChange(changes []FieldChange) (FieldChange, bool) {
	for _, c := range changes {
		if c.Field == FieldContactEmail {
			return c, true
		}
	}
	return FieldChange{}, false
}

// Passed reports whether checks hold check, passed: e.g. whether an
// applied change proved its new contact address first
// (RecheckEmailOwnership), or was applied without that proof (a pending
// partner's correction while registration knew of no confirmed address).
func Passed(checks []ProfileCheck, check string) bool {
	for _, c := range checks {
		if c.Check == check && c.State == "passed" {
			return true
		}
	}
	return false
}

// ProfileCheck is one re-opened check and its outcome.
type ProfileCheck struct {
	Check     string    `json:"check"`
	State     string    `json:"state"` // pending, passed, failed
	DecidedBy string    `json:"decided_by,omitempty"`
	DecidedAt time.Time `json:"decided_at,omitzero"`
	Reason    string    `json:"reason,omitempty"`
}

// ProfileChangeApplied: every re-opened check passed (or none was re-opened);
// the change is the partner's verified profile now, carried whole:
// verification keeps its case's facts current with it, and the notifier
// mails the partner's contact from it (a new contact takes over).
type ProfileChangeApplied struct {
	PartnerID    string         `json:"partner_id"`
	ChangeNumber int            `json:"change_number"`
	Market       string         `json:"market"`
	Language     string         `json:"language"`
	Changes      []FieldChange  `json:"changes"`
	Checks       []ProfileCheck `json:"checks"`
	// The verified profile now.
	LegalName                 LegalName           `json:"legal_name"`
	Address                   Address             `json:"address"`
	CompanyPhoneE164          string              `json:"company_phone_e164"`
	RegistrationNumber        *RegistrationNumber `json:"registration_number,omitempty"`
	Website                   string              `json:"website,omitempty"`
	WebsiteDomain             string              `json:"website_domain,omitempty"`
	Contact                   Contact             `json:"contact"`
	EmailDomainMatchesWebsite bool                `json:"email_domain_matches_website"`
	AppliedAt                 time.Time           `json:"applied_at"`
}

// ProfileChangeRejected: a re-opened check failed; the verified profile
// stays as it was. The notifier mails the partner's contact the reason.
type ProfileChangeRejected struct {
	PartnerID    string         `json:"partner_id"`
	ChangeNumber int            `json:"change_number"`
	Market       string         `json:"market"`
	Check        string         `json:"check"`
	Reason       string         `json:"reason"`
	Checks       []ProfileCheck `json:"checks"`
	RejectedBy   string         `json:"rejected_by"`
	RejectedAt   time.Time      `json:"rejected_at"`
}
