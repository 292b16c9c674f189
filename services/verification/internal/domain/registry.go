package domain

import "time"

// RegistryQuery is what the company pre-check asks the official register.
type RegistryQuery struct {
	Market             string
	RegistrationNumber string
	Facts              CompanyFacts
}

// MatchResult is the outcome of a register lookup.
type MatchResult string

// Register lookup outcomes. Unavailable is recorded when the lookup itself
// failed: the review task is still created, without automatic findings.
const (
	MatchFound           MatchResult = "found"
	MatchNotFound        MatchResult = "not_found"
	MatchNameMismatch    MatchResult = "name_mismatch"
	MatchAddressMismatch MatchResult = "address_mismatch"
	MatchUnavailable     MatchResult = "unavailable"
)

// RegisterRecord is one entry of an official company register.
type RegisterRecord struct {
	Market             string `json:"market"`
	RegistrationNumber string `json:"registration_number"`
	Name               string `json:"name"`
	NameKana           string `json:"name_kana,omitempty"`
	Prefecture         string `json:"prefecture"`
	City               string `json:"city"`
	Street             string `json:"street"`
	PostalCode         string `json:"postal_code,omitempty"`
	Status             string `json:"status,omitempty"` // e.g. "active", "closed"
	// Website is the company's website as the register lists it (e.g. the
	// corporate number system's URL field): the only website that proves
	// an e-mail domain belongs to the company.
	Website string `json:"website,omitempty"`
}

// Difference names one fact that differs from the register, as written on
// both sides and as compared.
type Difference struct {
	Field               string `json:"field"` // legal_name, prefecture, city, street, postal_code, registration_number, status
	Submitted           string `json:"submitted"`
	Register            string `json:"register"`
	SubmittedNormalized string `json:"submitted_normalized,omitempty"`
	RegisterNormalized  string `json:"register_normalized,omitempty"`
	Hint                string `json:"hint,omitempty"`
}

// RegistryMatch is the answer of the registry lookup port.
type RegistryMatch struct {
	Result      MatchResult     `json:"result"`
	Record      *RegisterRecord `json:"record,omitempty"`
	Differences []Difference    `json:"differences,omitempty"`
	Source      string          `json:"source,omitempty"`
}

// PreCheck is the automatic company pre-check as recorded on the check and
// handed to the verifier in the review task.
type PreCheck struct {
	RegistryMatch
	// SuggestedReason is the catalog reason the findings point to, if any.
	SuggestedReason ReasonCode `json:"suggested_reason,omitempty"`
	Error           string     `json:"error,omitempty"`
	CheckedAt       time.Time  `json:"checked_at"`
}

// RegisterWebsite is the website the register lists for the company the
// lookup found ("" when none).
func (p PreCheck) RegisterWebsite() string {
	if p.Record == nil {
		return ""
	}
	return p.Record.Website
}

// NewPreCheck records a lookup result (or its failure) with the reason it suggests.
func NewPreCheck(m RegistryMatch, lookupErr error, at time.Time) PreCheck {
	if lookupErr != nil {
		return PreCheck{RegistryMatch: RegistryMatch{Result: MatchUnavailable}, Error: lookupErr.Error(), CheckedAt: at}
	}
	pc := PreCheck{RegistryMatch: m, CheckedAt: at}
	switch m.Result {
	case MatchNotFound:
		pc.SuggestedReason = ReasonCompanyNotFound
		for _, d := range m.Differences {
			if d.Field == "registration_number" {
				pc.SuggestedReason = ReasonRegistrationNumberMismatch
			}
		}
	case MatchNameMismatch:
		pc.SuggestedReason = ReasonCompanyNameMismatch
	case MatchAddressMismatch:
		pc.SuggestedReason = ReasonAddressMismatch
	}
	return pc
}
