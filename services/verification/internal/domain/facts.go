package domain

import (
	"net/url"
	"strings"
	"time"

	"github.com/partnerhub/onboarding/pkg/normalize"
)

// Address is a postal address as submitted (DOMAIN.md §1).
type Address struct {
	Line1      string `json:"line1"`
	Line2      string `json:"line2,omitempty"`
	City       string `json:"city"`
	Prefecture string `json:"prefecture"`
	PostalCode string `json:"postal_code"`
}

// CompanyFacts are the legal facts as the applicant submitted them and, in
// Registered, as the registration service normalized and published them.
type CompanyFacts struct {
	LegalName          string  `json:"legal_name"`
	Address            Address `json:"address"`
	Phone              string  `json:"phone,omitempty"`
	RegistrationNumber string  `json:"registration_number,omitempty"`
	// Registered is the normalized form registration published with the
	// application (legal form expanded, prefecture resolved — 愛知 is 愛知県);
	// nil for events that carried only the raw facts.
	Registered *CompanyFacts `json:"registered,omitempty"`
}

// NormalizedFacts are the facts in the one normalized form (pkg/normalize)
// that both sides of the register comparison are reduced to.
type NormalizedFacts struct {
	LegalName          string `json:"legal_name"`
	Prefecture         string `json:"prefecture"`
	City               string `json:"city"`
	Street             string `json:"street"` // line1 + line2
	PostalCode         string `json:"postal_code"`
	RegistrationNumber string `json:"registration_number,omitempty"`
}

// Normalize returns the normalized facts of market: the published normalized
// form when there is one, else the raw facts through the same normalizer.
func (f CompanyFacts) Normalize(market string) NormalizedFacts {
	src := f
	if f.Registered != nil {
		src = *f.Registered
		if src.RegistrationNumber == "" {
			src.RegistrationNumber = f.RegistrationNumber
		}
	}
	region := normalize.Text(src.Address.Prefecture)
	if _, name, ok := normalize.Region(market, region); ok && name != "" {
		region = name
	}
	postal, _, ok := normalize.PostalCode(market, src.Address.PostalCode)
	if !ok {
		postal = normalize.Text(src.Address.PostalCode)
	}
	number, _ := normalize.Digits(src.RegistrationNumber)
	return NormalizedFacts{
		LegalName:          normalize.LegalName(src.LegalName),
		Prefecture:         region,
		City:               normalize.Text(src.Address.City),
		Street:             normalize.AddressLine(strings.TrimSpace(src.Address.Line1 + " " + src.Address.Line2)),
		PostalCode:         postal,
		RegistrationNumber: number,
	}
}

// Program is a program a partner enrolls in.
type Program string

// Programs (DOMAIN.md §1), spelled as in the registration service's
// published language.
const (
	ProgramPartnerNetwork   Program = "partner_network"
	ProgramResellerIndirect Program = "indirect_reseller"
	ProgramIndirectProvider Program = "indirect_provider"
)

// Enrollment is one enrollment of the registration and whether its e-mail
// confirmation arrived.
type Enrollment struct {
	ID               string    `json:"id"`
	Program          Program   `json:"program"`
	EmailConfirmedAt time.Time `json:"email_confirmed_at,omitzero"`
}

// Contact is the primary contact whose e-mail the checks concern.
type Contact struct {
	FirstName   string `json:"first_name,omitempty"`
	LastName    string `json:"last_name,omitempty"`
	Email       string `json:"email"`
	EmailDomain string `json:"email_domain"`
}

// EmailDomain returns the lower-cased domain of an e-mail address.
func EmailDomain(email string) string {
	i := strings.LastIndexByte(email, '@')
	if i < 0 {
		return ""
	}
	return normalizeDomain(email[i+1:])
}

// WebsiteDomain extracts the host of a website given as URL or bare domain,
// without a leading "www.".
func WebsiteDomain(site string) string {
	site = strings.TrimSpace(site)
	if site == "" {
		return ""
	}
	if !strings.Contains(site, "://") {
		site = "https://" + site
	}
	u, err := url.Parse(site)
	if err != nil {
		return ""
	}
	return strings.TrimPrefix(normalizeDomain(u.Hostname()), "www.")
}

// DomainCovers reports whether emailDomain is websiteDomain or one of its
// subdomains (mail.example.co.jp is covered by example.co.jp).
func DomainCovers(emailDomain, websiteDomain string) bool {
	e, w := normalizeDomain(emailDomain), strings.TrimPrefix(normalizeDomain(websiteDomain), "www.")
	if e == "" || w == "" || !strings.Contains(w, ".") {
		return false
	}
	return e == w || strings.HasSuffix(e, "."+w)
}

func normalizeDomain(d string) string {
	return strings.TrimSuffix(strings.ToLower(strings.TrimSpace(d)), ".")
}
