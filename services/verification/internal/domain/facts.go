package domain

import (
	"net/url"
	"strings"
	"time"
)

// Address is a postal address as submitted (DOMAIN.md §1).
type Address struct {
	Line1      string `json:"line1"`
	Line2      string `json:"line2,omitempty"`
	City       string `json:"city"`
	Prefecture string `json:"prefecture"`
	PostalCode string `json:"postal_code"`
}

// CompanyFacts are the legal facts as the applicant submitted them.
type CompanyFacts struct {
	LegalName          string  `json:"legal_name"`
	Address            Address `json:"address"`
	Phone              string  `json:"phone,omitempty"`
	RegistrationNumber string  `json:"registration_number,omitempty"`
}

// NormalizedFacts are the comparison keys derived from CompanyFacts.
type NormalizedFacts struct {
	LegalName          string `json:"legal_name"`
	Prefecture         string `json:"prefecture"`
	City               string `json:"city"`
	Street             string `json:"street"` // line1 + line2
	PostalCode         string `json:"postal_code"`
	RegistrationNumber string `json:"registration_number,omitempty"`
}

// Normalize derives the comparison keys of f.
func (f CompanyFacts) Normalize() NormalizedFacts {
	return NormalizedFacts{
		LegalName:          NormalizeName(f.LegalName),
		Prefecture:         NormalizeAddressPart(f.Address.Prefecture),
		City:               NormalizeAddressPart(f.Address.City),
		Street:             NormalizeAddressPart(f.Address.Line1 + f.Address.Line2),
		PostalCode:         digitsOnly(f.Address.PostalCode),
		RegistrationNumber: digitsOnly(f.RegistrationNumber),
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

func digitsOnly(s string) string {
	var b strings.Builder
	for _, r := range foldWidth(s) {
		if r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	return b.String()
}
