// Package intakev1 is what upstream systems publish on the INTAKE stream.
package intakev1

// TypeRegistrationRequested asks the registration service to register a
// company; it answers with registration.application.submitted.v1 or
// registration.application.rejected.v1 whose causationid is this event's id.
const TypeRegistrationRequested = "com.partnerhub.intake.registration.requested.v1"

// RegistrationRequested is the same document as the HTTP POST body of
// /v1/registrations.
type RegistrationRequested struct {
	Market       string       `json:"market"`
	Language     string       `json:"language,omitempty"`
	Company      Company      `json:"company"`
	Contact      Contact      `json:"contact"`
	Programs     []Program    `json:"programs"`
	Affirmations Affirmations `json:"affirmations"`
}

// Company holds the company facts as written in the official register.
type Company struct {
	LegalName          string              `json:"legal_name"`
	Address            Address             `json:"address"`
	Phone              string              `json:"phone"`
	Website            string              `json:"website,omitempty"`
	RegistrationNumber *RegistrationNumber `json:"registration_number,omitempty"`
}

// Address is a postal address; Region is the prefecture or state.
type Address struct {
	Line1      string `json:"line1"`
	Line2      string `json:"line2,omitempty"`
	City       string `json:"city"`
	Region     string `json:"region"`
	PostalCode string `json:"postal_code"`
}

// RegistrationNumber is an official number: jp_corporate_number or duns.
type RegistrationNumber struct {
	Scheme string `json:"scheme"`
	Value  string `json:"value"`
}

// Contact is the primary contact.
type Contact struct {
	FirstName string `json:"first_name"`
	LastName  string `json:"last_name"`
	Email     string `json:"email"`
	Phone     string `json:"phone"`
}

// Program asks for partner_network, indirect_reseller or indirect_provider.
type Program struct {
	Program string          `json:"program"`
	Support *SupportProfile `json:"support,omitempty"`
}

// SupportProfile is shown to the reseller's own customers.
type SupportProfile struct {
	Website string `json:"website"`
	Email   string `json:"email"`
	Phone   string `json:"phone,omitempty"`
}

// Affirmations are the statements the applicant ticks.
type Affirmations struct {
	AuthorityToRepresent  bool `json:"authority_to_represent"`
	ConsentToVerification bool `json:"consent_to_verification"`
	AcceptNetworkTerms    bool `json:"accept_network_terms"`
	CanProvideSupport     bool `json:"can_provide_support"`
}
