package domain

import (
	"errors"
	"net/url"
	"regexp"
	"strings"

	"github.com/nyaruka/phonenumbers"
	"golang.org/x/net/idna"

	"github.com/partnerhub/onboarding/pkg/normalize"
)

// Sentinel errors of phone numbers.
var (
	ErrPhoneInvalid   = errors.New("not a valid phone number")
	ErrPhoneExtension = errors.New("phone number with an extension")
)

// extension matches an extension written after a number: "ext. 123",
// "extension 123", "x123", "#123", "内線123", "内123".
var extension = regexp.MustCompile(`(?i)(?:\bext\b\.?|\bextension\b|\bx|#|内線|内)\s*[:.]?\s*\d+\s*\)?\s*$`)

// NormalizePhone parses a phone number written as in market (national form
// with its trunk "0", or international; "+81 03-…" with a stray trunk "0" is
// fixed too) and returns it in E.164. A number with an extension, in any
// notation, is refused with ErrPhoneExtension: the register and the
// reviewers call the main number, and E.164 has no place for it.
func NormalizePhone(market Country, s string) (string, error) {
	s = normalize.Text(s)
	if s == "" {
		return "", ErrPhoneInvalid
	}
	if extension.MatchString(s) {
		return "", ErrPhoneExtension
	}
	if strings.HasPrefix(s, "00") { // international call prefix written instead of "+"
		s = "+" + s[2:]
	}
	n, err := phonenumbers.Parse(s, string(market))
	if err != nil || !phonenumbers.IsValidNumber(n) {
		return "", ErrPhoneInvalid
	}
	if n.GetExtension() != "" {
		return "", ErrPhoneExtension
	}
	return phonenumbers.Format(n, phonenumbers.E164), nil
}

// Sentinel errors of web addresses and domains.
var (
	ErrWebsiteInvalid = errors.New("not a web address or domain name")
	ErrDomainIDNA     = errors.New("not a valid internationalized domain name")
)

// NormalizeWebsite accepts a URL ("https://www.example.co.jp/ja/") or a bare
// domain ("example.co.jp", "例え.jp") and returns the canonical URL (https
// when no scheme, host in lower-case ASCII — an internationalized name as
// its punycode A-label, "xn--r8jz45g.jp" —, no query, fragment or trailing
// slash) and the domain without "www.".
func NormalizeWebsite(s string) (website, domain string, err error) {
	s = normalize.Text(s)
	if s == "" || strings.ContainsAny(s, " ") {
		return "", "", ErrWebsiteInvalid
	}
	if !strings.Contains(s, "://") {
		s = "https://" + s
	}
	u, perr := url.Parse(s)
	if perr != nil || (u.Scheme != "http" && u.Scheme != "https") || u.User != nil || u.Hostname() == "" || !normalize.URLPort(u.Port()) {
		return "", "", ErrWebsiteInvalid
	}
	host, err := ASCIIDomain(u.Hostname())
	if err != nil {
		return "", "", err
	}
	u.Scheme = strings.ToLower(u.Scheme)
	if p := u.Port(); p != "" {
		u.Host = host + ":" + p
	} else {
		u.Host = host
	}
	u.Fragment, u.RawQuery, u.RawFragment = "", "", ""
	website = strings.TrimSuffix(u.String(), "/")
	return website, strings.TrimPrefix(host, "www."), nil
}

// ASCIIDomain returns a domain name in lower-case ASCII: an
// internationalized name ("例え.jp", "BÜCHER.de") as its punycode A-label
// (UTS #46 mapping, IDNA2008 rules, via golang.org/x/net/idna). It refuses
// names that IDNA refuses (ErrDomainIDNA) and names without a dot and an
// alphabetic top-level label (ErrWebsiteInvalid).
func ASCIIDomain(h string) (string, error) {
	h = strings.TrimSuffix(h, ".")
	a, err := idna.Lookup.ToASCII(h)
	if err != nil {
		return "", ErrDomainIDNA
	}
	a = strings.ToLower(a)
	if !isDomainName(a) {
		return "", ErrWebsiteInvalid
	}
	return a, nil
}

// isDomainName checks a lower-case ASCII host name with a dot and an
// alphabetic (or punycode) top-level label of at least two letters.
func isDomainName(h string) bool {
	if len(h) > 253 || !strings.Contains(h, ".") {
		return false
	}
	labels := strings.Split(h, ".")
	for _, l := range labels {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for _, r := range l {
			if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
				return false
			}
		}
	}
	tld := labels[len(labels)-1]
	if len(tld) < 2 {
		return false
	}
	for _, r := range tld {
		if !(r >= 'a' && r <= 'z') && !strings.HasPrefix(tld, "xn--") {
			return false
		}
	}
	return true
}

// SameOrSubdomain reports whether a and b are the same domain or one is a
// subdomain of the other ("mail.example.co.jp" and "example.co.jp").
func SameOrSubdomain(a, b string) bool {
	if a == "" || b == "" {
		return false
	}
	return a == b || strings.HasSuffix(a, "."+b) || strings.HasSuffix(b, "."+a)
}
