package domain

import (
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/partnerhub/onboarding/pkg/apperr"
	"github.com/partnerhub/onboarding/pkg/normalize"
)

// Field codes of validation problems. They are part of the API: clients
// branch on them, so never change a published one.
const (
	CodeRequired                 = apperr.CodeFieldRequired
	CodeTooLong                  = "field.too_long"
	CodeInvalidEncoding          = "field.invalid_encoding"   // not UTF-8
	CodeInvalidCharacters        = "field.invalid_characters" // control characters
	CodeInvisibleCharacters      = "field.invisible_characters"
	CodeBidiControl              = "field.bidi_control"
	CodeEmoji                    = "field.emoji"
	CodeCountryInvalid           = "country.invalid"
	CodeLanguageUnsupported      = "language.unsupported"
	CodeNameTooShort             = "name.too_short"
	CodeNameOnlyPunctuation      = "name.only_punctuation"
	CodeNameRepeatedCharacter    = "name.repeated_character"
	CodePostalCodeInvalid        = "postal_code.invalid_format"
	CodeRegionUnknown            = "region.unknown"
	CodePhoneInvalid             = "phone.invalid"
	CodePhoneExtension           = "phone.extension_not_accepted"
	CodeWebsiteInvalid           = "website.invalid"
	CodeDomainIDNA               = "domain.invalid_idn"
	CodeRegNumberUnknownScheme   = "registration_number.unknown_scheme"
	CodeRegNumberInvalidFormat   = "registration_number.invalid_format"
	CodeRegNumberCheckDigit      = "registration_number.check_digit"
	CodeRegNumberSchemeForMarket = "registration_number.scheme_not_for_market"
	CodeEmailInvalid             = "email.invalid_syntax"
	CodeEmailNonASCIILocal       = "email.non_ascii_local_part"
	CodeEmailFreeMail            = "email.free_mail_domain"
	CodeEmailTenantDomain        = "email.tenant_domain"
	CodeEmailRoleAddress         = "email.role_address"
	CodeProgramUnknown           = "program.unknown"
	CodeProgramDuplicate         = "program.duplicate"
	CodeProgramRequired          = "program.required"
	CodeSupportProfileRequired   = "program.support_profile_required"
	CodeAffirmationRequired      = "affirmation.required"
)

// Length limits, in characters after normalization.
const (
	MaxLegalName   = 200
	MaxAddressLine = 200
	MaxCity        = 100
	MaxRegion      = 100
	MaxPersonName  = 100
	MaxEmail       = 254
	MaxPhone       = 32
	MaxWebsite     = 255
)

// ValidationError lists every problem found in a registration, each with its
// field path and code; the app turns it into an apperr.Invalid.
type ValidationError struct {
	Fields []apperr.FieldError
}

func (e *ValidationError) Error() string {
	parts := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		parts[i] = f.Field + ": " + f.Code
	}
	return "invalid registration: " + strings.Join(parts, "; ")
}

type validator struct{ fields []apperr.FieldError }

func (v *validator) add(field, code, format string, args ...any) {
	v.fields = append(v.fields, apperr.FieldError{Field: field, Code: code, Message: fmt.Sprintf(format, args...)})
}

// text checks the encoding, characters, presence and length of a
// free-text field and returns it normalized; ok is false when a problem was
// recorded. Control, invisible and bidi-control characters are refused in
// every field: they make different strings look alike.
func (v *validator) text(field, raw string, required bool, max int) (string, bool) {
	return v.checked(field, raw, required, max, normalize.CheckText)
}

// registerText is text for the facts a company register holds (legal name,
// address, person names), which also refuses emoji and pictographs.
func (v *validator) registerText(field, raw string, required bool, max int) (string, bool) {
	return v.checked(field, raw, required, max, normalize.CheckRegisterText)
}

var charCodes = map[string]struct{ code, what string }{
	normalize.ProblemControl:   {CodeInvalidCharacters, "a control character"},
	normalize.ProblemInvisible: {CodeInvisibleCharacters, "an invisible character"},
	normalize.ProblemBidi:      {CodeBidiControl, "a bidirectional-text control character"},
	normalize.ProblemEmoji:     {CodeEmoji, "an emoji or pictographic symbol"},
}

// CharCode is the field code of a character problem and what it names
// ("a bidirectional-text control character"), as a registration field
// reports it.
func CharCode(p normalize.CharProblem) (code, what string) {
	c := charCodes[p.Class]
	return c.code, c.what
}

func (v *validator) checked(field, raw string, required bool, max int, check func(string) (normalize.CharProblem, bool)) (string, bool) {
	if !utf8.ValidString(raw) {
		v.add(field, CodeInvalidEncoding, "must be valid UTF-8")
		return "", false
	}
	s := normalize.Text(raw)
	if p, bad := check(s); bad {
		c := charCodes[p.Class]
		v.add(field, c.code, "must not contain %s (%s)", c.what, p)
		return "", false
	}
	if s == "" {
		if required {
			v.add(field, CodeRequired, "is required")
		}
		return "", false
	}
	if n := utf8.RuneCountInString(s); n > max {
		v.add(field, CodeTooLong, "must be at most %d characters (got %d)", max, n)
		return s, false
	}
	return s, true
}

// NormalizeRegistration validates in against policy and returns it with its
// normalized form; at submission time now stamps the affirmations. Every
// problem is reported at once in a *ValidationError.
func NormalizeRegistration(in RegistrationInput, policy Policy, now time.Time) (Registration, error) {
	out, fields := normalizeRegistration(in, policy, now)
	if len(fields) > 0 {
		return Registration{}, &ValidationError{Fields: fields}
	}
	return Registration{Input: in, Normalized: out}, nil
}

// normalizeRegistration is NormalizeRegistration's work: the normalized form
// (as far as it could be built) and every problem found. A profile change
// keeps only the problems of the fields it changes.
func normalizeRegistration(in RegistrationInput, policy Policy, now time.Time) (NormalizedRegistration, []apperr.FieldError) {
	v := &validator{}
	out := NormalizedRegistration{}

	market, marketOK := Country(""), false
	if s, ok := v.text("market", in.Market, true, 8); ok {
		if market, marketOK = ParseCountry(s); !marketOK {
			v.add("market", CodeCountryInvalid, "%q is not an ISO 3166-1 alpha-2 country code", s)
		}
	}
	out.Market = market

	if normalize.Text(in.Language) == "" {
		if marketOK {
			out.Language = DefaultLanguage(market)
		}
	} else if s, ok := v.text("language", in.Language, false, 8); ok {
		switch l := Language(strings.ToLower(s)); l {
		case LanguageJapanese, LanguageEnglish:
			out.Language = l
		default:
			v.add("language", CodeLanguageUnsupported, "must be \"ja\" or \"en\"")
		}
	}

	out.Company = v.company(in.Company, market, marketOK)
	out.Contact = v.contact(in.Contact, market, marketOK, policy)
	out.Programs = v.programs(in.Programs, market, marketOK, policy)
	out.Affirmations = v.affirmations(in.Affirmations, out.Programs, now)
	out.EmailDomainMatchesWebsite = SameOrSubdomain(out.Contact.EmailDomain, out.Company.WebsiteDomain)
	if marketOK {
		v.marketRules(out, policy)
	}
	return out, v.fields
}

func (v *validator) company(in CompanyInput, market Country, marketOK bool) NormalizedCompany {
	var c NormalizedCompany
	if _, ok := v.registerText("company.legal_name", in.LegalName, true, MaxLegalName); ok {
		c.LegalName = normalize.LegalName(in.LegalName)
		c.LegalNameKey = normalize.LegalNameKey(in.LegalName)
		v.legalNameRules("company.legal_name", c.LegalNameKey)
	}
	c.Address = v.address("company.address", in.Address, market, marketOK)
	c.PhoneE164 = v.phone("company.phone", in.Phone, true, market, marketOK)
	c.Website, c.WebsiteDomain = v.website("company.website", in.Website, false)
	if in.RegistrationNumber != nil && (in.RegistrationNumber.Scheme != "" || in.RegistrationNumber.Value != "") {
		c.RegistrationNumber = v.registrationNumber(*in.RegistrationNumber, market, marketOK)
	}
	return c
}

// legalNameRules refuses names that cannot be a company's registered name.
func (v *validator) legalNameRules(field, key string) {
	if key == "" {
		v.add(field, CodeNameOnlyPunctuation, "must contain letters or digits")
		return
	}
	core := []rune(normalize.NameCore(key))
	switch {
	case len(core) < 2:
		v.add(field, CodeNameTooShort, "must be more than one character besides the legal form")
	case strings.Count(string(core), string(core[0])) == len(core):
		v.add(field, CodeNameRepeatedCharacter, "must not be one character repeated")
	}
}

func (v *validator) address(prefix string, in AddressInput, market Country, marketOK bool) NormalizedAddress {
	var a NormalizedAddress
	if _, ok := v.registerText(prefix+".line1", in.Line1, true, MaxAddressLine); ok {
		a.Line1 = normalize.AddressLine(in.Line1)
	}
	if _, ok := v.registerText(prefix+".line2", in.Line2, false, MaxAddressLine); ok {
		a.Line2 = normalize.AddressLine(in.Line2)
	}
	a.City, _ = v.registerText(prefix+".city", in.City, true, MaxCity)
	rules := normalize.MarketOf(string(market))
	if s, ok := v.registerText(prefix+".region", in.Region, rules.RegionRequired, MaxRegion); ok {
		code, name, known := normalize.Region(string(market), s)
		a.Region, a.RegionCode = name, code
		if !known {
			a.Region = s
			v.add(prefix+".region", CodeRegionUnknown, "%q is not %s", s, rules.RegionHint)
		}
	}
	if s, ok := v.text(prefix+".postal_code", in.PostalCode, rules.PostalRequired, 16); ok && marketOK {
		display, key, valid := rules.Postal(s)
		a.PostalCode, a.postalKey = display, key
		if !valid {
			v.add(prefix+".postal_code", CodePostalCodeInvalid, "%q is not %s", s, rules.PostalHint)
		}
	}
	a.Key = AddressKey(a)
	return a
}

// AddressKey is the match key of an address: postal code (its identifying
// part: the 5-digit ZIP of a ZIP+4), region (its code where the market has a
// region table: JIS code in JP, USPS code in US), city and line 1, each
// reduced to its key. Line 2 (building, floor) is left out on purpose: it is
// written in too many ways to identify a company, and the same name at the
// same street address is the same company.
func AddressKey(a NormalizedAddress) string {
	region := normalize.PlaceKey(a.Region)
	if a.RegionCode != "" {
		region = a.RegionCode
	}
	city := normalize.PlaceKey(a.City)
	regionName := normalize.PlaceKey(a.Region)
	city = strings.TrimPrefix(city, regionName)
	line := normalize.AddressLineKey(a.Line1)
	line = strings.TrimPrefix(line, regionName)
	line = strings.TrimPrefix(line, city)
	postal := a.postalKey
	if postal == "" {
		postal = strings.NewReplacer("-", "", " ", "").Replace(strings.ToLower(a.PostalCode))
	}
	return postal + "|" + region + "|" + city + "|" + line
}

func (v *validator) registrationNumber(in RegistrationNumberInput, market Country, marketOK bool) *RegistrationNumber {
	const f = "company.registration_number"
	scheme := RegistrationScheme(strings.ToLower(normalize.Text(in.Scheme)))
	switch scheme {
	case SchemeJPCorporateNumber, SchemeDUNS:
	case "":
		v.add(f+".scheme", CodeRequired, "is required with a registration number")
		return nil
	default:
		v.add(f+".scheme", CodeRegNumberUnknownScheme, "must be %q or %q", SchemeJPCorporateNumber, SchemeDUNS)
		return nil
	}
	if _, ok := v.text(f+".value", in.Value, true, 32); !ok {
		return nil
	}
	digits, ok := normalize.Digits(in.Value)
	switch scheme {
	case SchemeJPCorporateNumber:
		if marketOK && market != "JP" {
			v.add(f+".scheme", CodeRegNumberSchemeForMarket, "a Japanese corporate number needs the JP market")
		}
		if !ok || len(digits) != 13 {
			v.add(f+".value", CodeRegNumberInvalidFormat, "a corporate number has 13 digits")
			return nil
		}
		if !JPCorporateNumberValid(digits) {
			v.add(f+".value", CodeRegNumberCheckDigit, "the check digit (first digit) does not match the other 12 digits")
			return nil
		}
	case SchemeDUNS:
		if !ok || len(digits) != 9 {
			v.add(f+".value", CodeRegNumberInvalidFormat, "a D-U-N-S number has 9 digits")
			return nil
		}
	}
	return &RegistrationNumber{Scheme: scheme, Value: digits}
}

func (v *validator) contact(in ContactInput, market Country, marketOK bool, policy Policy) NormalizedContact {
	var c NormalizedContact
	c.FirstName = v.personName("contact.first_name", in.FirstName)
	c.LastName = v.personName("contact.last_name", in.LastName)
	if e, ok := v.email("contact.email", in.Email, policy, true); ok {
		c.Email, c.EmailDomain = e.Address, e.Domain
	}
	c.PhoneE164 = v.phone("contact.phone", in.Phone, true, market, marketOK)
	return c
}

// phone checks a phone number and returns it in E.164.
func (v *validator) phone(field, raw string, required bool, market Country, marketOK bool) string {
	s, ok := v.text(field, raw, required, MaxPhone)
	if !ok || !marketOK {
		return ""
	}
	e164, err := NormalizePhone(market, s)
	switch {
	case errors.Is(err, ErrPhoneExtension):
		v.add(field, CodePhoneExtension, "%q has an extension; give the number without it (extensions are not accepted in any notation: ext., x, #, 内線)", s)
	case err != nil:
		v.add(field, CodePhoneInvalid, "%q is not a valid phone number for %s", s, market)
	}
	return e164
}

// website checks a web address and returns its canonical URL and domain.
func (v *validator) website(field, raw string, required bool) (string, string) {
	s, ok := v.text(field, raw, required, MaxWebsite)
	if !ok {
		return "", ""
	}
	site, domain, err := NormalizeWebsite(s)
	switch {
	case errors.Is(err, ErrDomainIDNA):
		v.add(field, CodeDomainIDNA, "%q is not a valid internationalized domain name (IDNA2008/UTS #46)", s)
	case err != nil:
		v.add(field, CodeWebsiteInvalid, "must be a web address or a domain name, e.g. https://example.co.jp")
	}
	return site, domain
}

func (v *validator) personName(field, raw string) string {
	s, ok := v.registerText(field, raw, true, MaxPersonName)
	if ok && normalize.Key(s) == "" {
		v.add(field, CodeNameOnlyPunctuation, "must contain letters")
	}
	return s
}

// email checks syntax and the domain policy; personal also refuses role
// addresses (the primary contact must be a person, a support mailbox need not).
func (v *validator) email(field, raw string, policy Policy, personal bool) (Email, bool) {
	s, ok := v.text(field, raw, true, MaxEmail)
	if !ok {
		return Email{}, false
	}
	e, err := ParseEmail(s)
	switch {
	case errors.Is(err, ErrEmailNonASCIILocal):
		v.add(field, CodeEmailNonASCIILocal, "%q has non-ASCII characters before the @, which not every mail system delivers; use an ASCII address (an internationalized domain after the @ is fine)", s)
		return e, false
	case errors.Is(err, ErrDomainIDNA):
		v.add(field, CodeDomainIDNA, "the domain of %q is not a valid internationalized domain name (IDNA2008/UTS #46)", s)
		return e, false
	case err != nil:
		v.add(field, CodeEmailInvalid, "%q is not a valid e-mail address", s)
		return e, false
	}
	valid := true
	if policy.IsFreeMail(e.Domain) {
		v.add(field, CodeEmailFreeMail, "addresses at %s (a free web-mail service) are not accepted; use a company address", e.Domain)
		valid = false
	}
	if policy.IsTenantDomain(e.Domain) {
		v.add(field, CodeEmailTenantDomain, "vendor tenant addresses (%s) are not accepted; use an address at the company's own domain", e.Domain)
		valid = false
	}
	if personal && policy.IsRoleAddress(e.Local) {
		v.add(field, CodeEmailRoleAddress, "%q is a shared mailbox; give a person's own address", e.Local+"@")
		valid = false
	}
	return e, valid
}

// programOf reads a program name as a client wrote it ("Indirect_Reseller",
// full-width letters, spaces around).
func programOf(s string) Program { return Program(strings.ToLower(normalize.Text(s))) }

func (v *validator) programs(in []ProgramInput, market Country, marketOK bool, policy Policy) []ProgramRequest {
	var out []ProgramRequest
	seen := map[Program]bool{}
	for i, p := range in {
		prog := programOf(p.Program)
		if !prog.Valid() {
			v.add(fmt.Sprintf("programs[%d].program", i), CodeProgramUnknown, "%q is not a program (%s, %s or %s)",
				p.Program, ProgramPartnerNetwork, ProgramIndirectReseller, ProgramIndirectProvider)
			continue
		}
		if seen[prog] {
			v.add(fmt.Sprintf("programs[%d].program", i), CodeProgramDuplicate, "%s is requested twice", prog)
			continue
		}
		seen[prog] = true
		req := ProgramRequest{Program: prog}
		switch {
		case prog == ProgramIndirectReseller && p.Support == nil:
			v.add("programs.indirect_reseller.support", CodeSupportProfileRequired, "an indirect reseller needs a customer support profile")
		case prog != ProgramPartnerNetwork && p.Support != nil:
			req.Support = v.support("programs."+string(prog)+".support", *p.Support, market, marketOK, policy)
		}
		out = append(out, req)
	}
	if !seen[ProgramPartnerNetwork] {
		v.add("programs.partner_network", CodeProgramRequired, "the partner network membership is required")
	}
	return out
}

func (v *validator) support(prefix string, in SupportProfileInput, market Country, marketOK bool, policy Policy) *SupportProfile {
	s := &SupportProfile{}
	s.Website, _ = v.website(prefix+".website", in.Website, true)
	if e, ok := v.email(prefix+".email", in.Email, policy, false); ok {
		s.Email = e.Address
	}
	s.PhoneE164 = v.phone(prefix+".phone", in.Phone, false, market, marketOK)
	return s
}

func (v *validator) affirmations(in AffirmationsInput, programs []ProgramRequest, now time.Time) Affirmations {
	req := func(ok bool, name, what string) {
		if !ok {
			v.add("affirmations."+name, CodeAffirmationRequired, "you must affirm %s", what)
		}
	}
	req(in.AuthorityToRepresent, "authority_to_represent", "that you have authority to represent the company")
	req(in.ConsentToVerification, "consent_to_verification", "that the vendor may verify the information submitted")
	req(in.AcceptNetworkTerms, "accept_network_terms", "that you accept the partner network agreement")
	for _, p := range programs {
		if p.Program == ProgramIndirectReseller {
			req(in.CanProvideSupport, "can_provide_support", "that the company can provide admin and technical support to its customers")
		}
	}
	return Affirmations{
		AuthorityToRepresent:  in.AuthorityToRepresent,
		ConsentToVerification: in.ConsentToVerification,
		AcceptNetworkTerms:    in.AcceptNetworkTerms,
		CanProvideSupport:     in.CanProvideSupport,
		AffirmedAt:            now,
	}
}
