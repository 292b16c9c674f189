package domain

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/partnerhub/onboarding/pkg/apperr"
	"github.com/partnerhub/onboarding/pkg/normalize"
)

// Field code of a missing required registration number.
const CodeRegNumberRequired = "registration_number.required"

// PolicySet is the validation policy per market: Default for every market
// not listed in Markets. The service loads it from REGISTRATION_POLICY_FILE
// (see ParsePolicyFile) and swaps it while running.
type PolicySet struct {
	Default Policy
	Markets map[Country]Policy
}

// DefaultPolicySet is the built-in behaviour: DefaultPolicy everywhere.
func DefaultPolicySet() PolicySet { return PolicySet{Default: DefaultPolicy()} }

// For returns the policy of market c.
func (s PolicySet) For(c Country) Policy {
	if p, ok := s.Markets[c]; ok {
		return p
	}
	return s.Default
}

// Offers reports whether the market offers program (every program when
// the policy lists none; the partner network always).
func (p Policy) Offers(program Program) bool {
	return len(p.Programs) == 0 || program == ProgramPartnerNetwork || slices.Contains(p.Programs, program)
}

// PolicyFile is the operator's policy file (JSON or YAML): a default section
// and per-market sections, every member optional. An omitted member keeps
// the built-in value (in a market section: the file's default).
type PolicyFile struct {
	Default PolicySection            `json:"default" yaml:"default"`
	Markets map[string]PolicySection `json:"markets" yaml:"markets"`
}

// PolicySection is one section of the policy file.
type PolicySection struct {
	FreeMailDomains      *[]string `json:"free_mail_domains,omitempty" yaml:"free_mail_domains,omitempty"`
	TenantDomainSuffixes *[]string `json:"tenant_domain_suffixes,omitempty" yaml:"tenant_domain_suffixes,omitempty"`
	RoleLocalParts       *[]string `json:"role_local_parts,omitempty" yaml:"role_local_parts,omitempty"`
	RefuseFreeMail       *bool     `json:"refuse_free_mail,omitempty" yaml:"refuse_free_mail,omitempty"`
	RefuseTenantDomains  *bool     `json:"refuse_tenant_domains,omitempty" yaml:"refuse_tenant_domains,omitempty"`
	RefuseRoleAddresses  *bool     `json:"refuse_role_addresses,omitempty" yaml:"refuse_role_addresses,omitempty"`
	// RequiredRegistrationSchemes: a number of one of these schemes is
	// required (empty list: optional).
	RequiredRegistrationSchemes *[]string `json:"required_registration_schemes,omitempty" yaml:"required_registration_schemes,omitempty"`
	// Programs the market offers (empty list: every program).
	Programs *[]string `json:"programs,omitempty" yaml:"programs,omitempty"`
}

// PolicySet builds the policy set of the file on the built-in defaults, or
// lists every problem (unknown market, scheme or program, a malformed
// domain, a scheme a market cannot have).
func (f PolicyFile) PolicySet() (PolicySet, error) {
	var errs []error
	def := f.Default.apply(DefaultPolicy(), "default", "", &errs)
	set := PolicySet{Default: def, Markets: map[Country]Policy{}}
	for code, sec := range f.Markets {
		c, ok := ParseCountry(code)
		if !ok {
			errs = append(errs, fmt.Errorf("markets.%s: not an ISO 3166-1 alpha-2 country code", code))
			continue
		}
		if _, dup := set.Markets[c]; dup {
			errs = append(errs, fmt.Errorf("markets.%s: the market is listed twice", code))
			continue
		}
		set.Markets[c] = sec.apply(def, "markets."+code, c, &errs)
	}
	if err := errors.Join(errs...); err != nil {
		return PolicySet{}, err
	}
	return set, nil
}

func (s PolicySection) apply(p Policy, at string, market Country, errs *[]error) Policy {
	p.FreeMailDomains = slices.Clone(p.FreeMailDomains)
	domains := func(field string, in *[]string, out *[]string) {
		if in == nil {
			return
		}
		list := []string{}
		for i, d := range *in {
			d = strings.ToLower(normalize.Text(d))
			ascii, err := ASCIIDomain(strings.TrimPrefix(d, "*."))
			if err != nil || !strings.Contains(ascii, ".") {
				*errs = append(*errs, fmt.Errorf("%s.%s[%d]: %q is not a domain name", at, field, i, d))
				continue
			}
			list = append(list, ascii)
		}
		*out = list
	}
	domains("free_mail_domains", s.FreeMailDomains, &p.FreeMailDomains)
	domains("tenant_domain_suffixes", s.TenantDomainSuffixes, &p.TenantDomainSuffixes)
	if s.RoleLocalParts != nil {
		list := []string{}
		for i, l := range *s.RoleLocalParts {
			l = strings.ToLower(normalize.Text(l))
			if l == "" || strings.ContainsAny(l, "@+ ") {
				*errs = append(*errs, fmt.Errorf("%s.role_local_parts[%d]: %q is not a local part (no @, + or spaces)", at, i, l))
				continue
			}
			list = append(list, l)
		}
		p.RoleLocalParts = list
	}
	if s.RefuseFreeMail != nil {
		p.AllowFreeMail = !*s.RefuseFreeMail
	}
	if s.RefuseTenantDomains != nil {
		p.AllowTenantDomains = !*s.RefuseTenantDomains
	}
	if s.RefuseRoleAddresses != nil {
		p.AllowRoleAddresses = !*s.RefuseRoleAddresses
	}
	if s.RequiredRegistrationSchemes != nil {
		list := []RegistrationScheme{}
		for i, v := range *s.RequiredRegistrationSchemes {
			switch sc := RegistrationScheme(strings.ToLower(v)); sc {
			case SchemeJPCorporateNumber, SchemeDUNS:
				if sc == SchemeJPCorporateNumber && market != "" && market != "JP" {
					*errs = append(*errs, fmt.Errorf("%s.required_registration_schemes[%d]: %s exists only in the JP market", at, i, sc))
					continue
				}
				list = append(list, sc)
			default:
				*errs = append(*errs, fmt.Errorf("%s.required_registration_schemes[%d]: %q is not a scheme (%s, %s)", at, i, v,
					SchemeJPCorporateNumber, SchemeDUNS))
			}
		}
		p.RequiredSchemes = list
	}
	if s.Programs != nil {
		list := []Program{}
		for i, v := range *s.Programs {
			pr := Program(strings.ToLower(v))
			if !pr.Valid() {
				*errs = append(*errs, fmt.Errorf("%s.programs[%d]: %q is not a program", at, i, v))
				continue
			}
			list = append(list, pr)
		}
		p.Programs = list
	}
	return p
}

// marketRules applies the per-market rules of policy to a normalized
// registration: a required registration-number scheme, the programs offered.
func (v *validator) marketRules(out NormalizedRegistration, policy Policy) {
	if req := policy.RequiredSchemes; len(req) > 0 {
		rn := out.Company.RegistrationNumber
		names := make([]string, len(req))
		for i, s := range req {
			names[i] = string(s)
		}
		switch {
		case rn == nil && !v.has("company.registration_number"):
			v.add("company.registration_number", CodeRegNumberRequired, "a registration number is required in %s (%s)",
				out.Market, strings.Join(names, " or "))
		case rn != nil && !slices.Contains(req, rn.Scheme):
			v.add("company.registration_number.scheme", CodeRegNumberSchemeForMarket, "the %s market requires %s",
				out.Market, strings.Join(names, " or "))
		}
	}
	for _, p := range out.Programs {
		if !policy.Offers(p.Program) {
			v.add("programs."+string(p.Program), CodeProgramNotInMarket, "%s is not offered in the %s market", p.Program, out.Market)
		}
	}
}

// Field code of a program the market does not offer.
const CodeProgramNotInMarket = "program.not_in_market"

// has reports whether a problem was recorded under field or below it.
func (v *validator) has(field string) bool {
	return slices.ContainsFunc(v.fields, func(f apperr.FieldError) bool { return f.Field == field || strings.HasPrefix(f.Field, field+".") })
}
