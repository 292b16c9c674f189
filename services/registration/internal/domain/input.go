package domain

import "time"

// RegistrationInput is a registration exactly as the applicant submitted it.
// It is kept verbatim beside its normalized form (Registration).
type RegistrationInput struct {
	Market       string            `json:"market"`             // ISO 3166-1 alpha-2
	Language     string            `json:"language,omitempty"` // "ja" or "en"; empty: the market's default
	Company      CompanyInput      `json:"company"`
	Contact      ContactInput      `json:"contact"`
	Programs     []ProgramInput    `json:"programs"`
	Affirmations AffirmationsInput `json:"affirmations"`
}

// CompanyInput holds the company facts as submitted.
type CompanyInput struct {
	LegalName          string                   `json:"legal_name"`
	Address            AddressInput             `json:"address"`
	Phone              string                   `json:"phone"`
	Website            string                   `json:"website,omitempty"` // a URL or a bare domain
	RegistrationNumber *RegistrationNumberInput `json:"registration_number,omitempty"`
}

// AddressInput is a postal address as submitted; Region is the prefecture or state.
type AddressInput struct {
	Line1      string `json:"line1"`
	Line2      string `json:"line2,omitempty"`
	City       string `json:"city"`
	Region     string `json:"region"`
	PostalCode string `json:"postal_code"`
}

// RegistrationNumberInput is an optional official registration number.
type RegistrationNumberInput struct {
	Scheme string `json:"scheme"` // "jp_corporate_number" or "duns"
	Value  string `json:"value"`
}

// ContactInput is the primary contact as submitted.
type ContactInput struct {
	FirstName string `json:"first_name"`
	LastName  string `json:"last_name"`
	Email     string `json:"email"`
	Phone     string `json:"phone"`
}

// ProgramInput asks for one program; Support is the customer support profile
// that indirect resellers must (and indirect providers may) give.
type ProgramInput struct {
	Program string               `json:"program"`
	Support *SupportProfileInput `json:"support,omitempty"`
}

// SupportProfileInput is the support contact shown to the partner's customers.
type SupportProfileInput struct {
	Website string `json:"website"`
	Email   string `json:"email"`
	Phone   string `json:"phone,omitempty"`
}

// AffirmationsInput are the statements the applicant ticks.
type AffirmationsInput struct {
	AuthorityToRepresent  bool `json:"authority_to_represent"`
	ConsentToVerification bool `json:"consent_to_verification"`
	AcceptNetworkTerms    bool `json:"accept_network_terms"`
	CanProvideSupport     bool `json:"can_provide_support"` // required with indirect_reseller
}

// Registration is a validated registration: the raw input and its normalized form.
type Registration struct {
	Input      RegistrationInput      `json:"input"`
	Normalized NormalizedRegistration `json:"normalized"`
	// EarlierAccounts are the company's accounts in the market that had let
	// go of its identity when it was submitted (found by the repository;
	// the submission's event names them for the reviewers).
	EarlierAccounts []EarlierAccount `json:"earlier_accounts,omitempty"`
}

// NormalizedRegistration is the canonical form of a registration.
type NormalizedRegistration struct {
	Market   Country           `json:"market"`
	Language Language          `json:"language"`
	Company  NormalizedCompany `json:"company"`
	Contact  NormalizedContact `json:"contact"`
	Programs []ProgramRequest  `json:"programs"`
	// EmailDomainMatchesWebsite says whether the contact e-mail's domain is the
	// website's domain (or a subdomain of it); verification's employment check uses it.
	EmailDomainMatchesWebsite bool         `json:"email_domain_matches_website"`
	Affirmations              Affirmations `json:"affirmations"`
}

// NormalizedCompany holds the company facts in canonical form.
type NormalizedCompany struct {
	LegalName          string              `json:"legal_name"`     // display form, legal forms expanded
	LegalNameKey       string              `json:"legal_name_key"` // match key
	Address            NormalizedAddress   `json:"address"`
	PhoneE164          string              `json:"phone_e164"`
	Website            string              `json:"website,omitempty"`
	WebsiteDomain      string              `json:"website_domain,omitempty"`
	RegistrationNumber *RegistrationNumber `json:"registration_number,omitempty"`
}

// NormalizedAddress is an address in display form plus its match key.
type NormalizedAddress struct {
	Line1      string `json:"line1"`
	Line2      string `json:"line2,omitempty"`
	City       string `json:"city"`
	Region     string `json:"region"`                // for JP the official prefecture name
	RegionCode string `json:"region_code,omitempty"` // the market's region code: JIS X 0401 in JP ("13"), USPS in US ("CA")
	PostalCode string `json:"postal_code"`
	Key        string `json:"key"` // postal|region|city|line1 match key; line 2 is left out

	postalKey string // the identifying part of the postal code (see AddressKey)
}

// NormalizedContact is the primary contact in canonical form.
type NormalizedContact struct {
	FirstName   string `json:"first_name"`
	LastName    string `json:"last_name"`
	Email       string `json:"email"`
	EmailDomain string `json:"email_domain"`
	PhoneE164   string `json:"phone_e164"`
}

// ProgramRequest is one requested program with its support profile.
type ProgramRequest struct {
	Program Program         `json:"program"`
	Support *SupportProfile `json:"support,omitempty"`
}

// SupportProfile is a normalized customer support profile.
type SupportProfile struct {
	Website   string `json:"website"`
	Email     string `json:"email"`
	PhoneE164 string `json:"phone_e164,omitempty"`
}

// Affirmations are the statements affirmed, with the time they were made.
type Affirmations struct {
	AuthorityToRepresent  bool      `json:"authority_to_represent"`
	ConsentToVerification bool      `json:"consent_to_verification"`
	AcceptNetworkTerms    bool      `json:"accept_network_terms"`
	CanProvideSupport     bool      `json:"can_provide_support"`
	AffirmedAt            time.Time `json:"affirmed_at"`
}
