package domain

import (
	"errors"
	"slices"
	"strings"

	"github.com/partnerhub/onboarding/pkg/normalize"
)

// Policy holds the configurable lists the validation applies. Start from
// DefaultPolicy and append or replace; all domains are lower case.
type Policy struct {
	// FreeMailDomains are web-mail services whose addresses are refused
	// (a subdomain of a listed domain is refused too).
	FreeMailDomains []string
	// TenantDomainSuffixes are vendor tenant domains ("onmicrosoft.com"
	// refuses "contoso.onmicrosoft.com").
	TenantDomainSuffixes []string
	// RoleLocalParts are shared-mailbox local parts refused for the primary
	// contact, who must be a person ("info", "sales"…). A "+tag" is ignored.
	RoleLocalParts []string
	// AllowFreeMail, AllowTenantDomains and AllowRoleAddresses switch the
	// three refusals off (an operator's per-market policy; all refused by
	// default).
	AllowFreeMail, AllowTenantDomains, AllowRoleAddresses bool
	// RequiredSchemes: a registration number of one of these schemes is
	// required in the market (none: the number is optional).
	RequiredSchemes []RegistrationScheme
	// Programs the market offers (none listed: every program).
	Programs []Program
}

// DefaultPolicy returns the lists shipped with the service.
func DefaultPolicy() Policy {
	return Policy{
		FreeMailDomains: []string{
			"gmail.com", "googlemail.com", "yahoo.com", "yahoo.co.jp", "ymail.com", "rocketmail.com",
			"outlook.com", "outlook.jp", "hotmail.com", "hotmail.co.jp", "live.com", "live.jp", "msn.com",
			"icloud.com", "me.com", "mac.com", "aol.com", "protonmail.com", "proton.me", "pm.me",
			"gmx.com", "gmx.net", "mail.com", "yandex.com", "yandex.ru", "zoho.com", "tutanota.com",
			"qq.com", "163.com", "126.com", "naver.com", "daum.net",
			"docomo.ne.jp", "ezweb.ne.jp", "au.com", "softbank.ne.jp", "i.softbank.jp", "ymobile.ne.jp",
			"disney.ne.jp", "uqmobile.jp", "rakuten.jp", "nifty.com", "excite.co.jp", "livedoor.com",
		},
		TenantDomainSuffixes: []string{"onmicrosoft.com", "onmicrosoft.de", "partner.onmschina.cn"},
		RoleLocalParts: []string{
			"info", "information", "admin", "administrator", "root", "marketing", "sales", "support", "help",
			"helpdesk", "contact", "contactus", "noreply", "no-reply", "donotreply", "do-not-reply",
			"webmaster", "postmaster", "hostmaster", "abuse", "office", "hello", "billing", "accounts",
			"accounting", "finance", "hr", "jobs", "recruit", "careers", "press", "pr", "privacy",
			"security", "team", "staff", "mail", "inquiry", "enquiry", "otoiawase", "toiawase", "eigyo",
			"soumu", "somu", "all",
		},
	}
}

// Email is a syntactically valid e-mail address split into its parts.
type Email struct {
	Address string // local@domain, all lower case, domain in ASCII (punycode)
	Local   string
	Domain  string
}

// Sentinel errors of e-mail addresses.
var (
	ErrEmailSyntax        = errors.New("not a valid e-mail address")
	ErrEmailNonASCIILocal = errors.New("e-mail address with a non-ASCII local part")
)

// ParseEmail width-folds and trims s and checks its syntax: one "@", a
// dot-atom local part of at most 64 ASCII characters, a domain name with an
// alphabetic top-level label, 254 characters at most. An internationalized
// domain ("taro@例え.jp") is accepted and kept as its punycode A-label
// ("taro@xn--r8jz45g.jp"), which every mail system delivers to; a non-ASCII
// local part is refused with ErrEmailNonASCIILocal (it needs SMTPUTF8 end to
// end, which the notifier does not promise), an invalid internationalized
// domain with ErrDomainIDNA. The whole address is lower-cased: no mail system
// this service meets treats case as meaningful.
func ParseEmail(s string) (Email, error) {
	s = strings.ToLower(normalize.Text(s))
	local, domain, ok := strings.Cut(s, "@")
	if !ok || strings.Contains(domain, "@") || len(local) == 0 {
		return Email{Address: s}, ErrEmailSyntax
	}
	if strings.ContainsFunc(local, func(r rune) bool { return r > 127 }) {
		return Email{Address: s}, ErrEmailNonASCIILocal
	}
	if len(local) > 64 || local[0] == '.' || local[len(local)-1] == '.' || strings.Contains(local, "..") {
		return Email{Address: s}, ErrEmailSyntax
	}
	for _, r := range local {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || strings.ContainsRune(".!#$%&'*+/=?^_`{|}~-", r)) {
			return Email{Address: s}, ErrEmailSyntax
		}
	}
	ascii, err := ASCIIDomain(domain)
	if errors.Is(err, ErrWebsiteInvalid) {
		err = ErrEmailSyntax
	}
	if err != nil {
		return Email{Address: s}, err
	}
	addr := local + "@" + ascii
	if len(addr) > 254 {
		return Email{Address: s}, ErrEmailSyntax
	}
	return Email{Address: addr, Local: local, Domain: ascii}, nil
}

// IsFreeMail reports whether domain is, or is under, a free-mail domain.
func (p Policy) IsFreeMail(domain string) bool {
	return !p.AllowFreeMail && slices.ContainsFunc(p.FreeMailDomains, func(d string) bool { return domain == d || strings.HasSuffix(domain, "."+d) })
}

// IsTenantDomain reports whether domain is a vendor tenant domain.
func (p Policy) IsTenantDomain(domain string) bool {
	return !p.AllowTenantDomains && slices.ContainsFunc(p.TenantDomainSuffixes, func(d string) bool {
		d = strings.TrimPrefix(d, "*.")
		return domain == d || strings.HasSuffix(domain, "."+d)
	})
}

// IsRoleAddress reports whether local names a shared mailbox rather than a
// person; "+tag" sub-addressing is ignored ("sales+jp" is "sales").
func (p Policy) IsRoleAddress(local string) bool {
	base, _, _ := strings.Cut(local, "+")
	return !p.AllowRoleAddresses && slices.Contains(p.RoleLocalParts, base)
}
