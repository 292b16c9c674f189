package domain

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/partnerhub/onboarding/pkg/apperr"
)

var t0 = time.Date(2026, 4, 1, 9, 0, 0, 0, time.UTC)

// validInput is a complete Japanese reseller registration; tests mutate copies.
func validInput() RegistrationInput {
	return RegistrationInput{
		Market: "JP",
		Company: CompanyInput{
			LegalName: "（株）テスト商事",
			Address: AddressInput{Line1: "六本木５－２－３", Line2: "テストビル５階", City: "港区",
				Region: "東京都", PostalCode: "〒１０６－００３２"},
			Phone:              "03-1234-5678",
			Website:            "www.test-shoji.co.jp",
			RegistrationNumber: &RegistrationNumberInput{Scheme: "jp_corporate_number", Value: "7000-0120-50002"},
		},
		Contact: ContactInput{FirstName: "太郎", LastName: "山田", Email: "Taro.Yamada@Test-Shoji.co.jp", Phone: "090-1234-5678"},
		Programs: []ProgramInput{
			{Program: "partner_network"},
			{Program: "indirect_reseller", Support: &SupportProfileInput{Website: "support.test-shoji.co.jp", Email: "support@test-shoji.co.jp"}},
		},
		Affirmations: AffirmationsInput{AuthorityToRepresent: true, ConsentToVerification: true, AcceptNetworkTerms: true, CanProvideSupport: true},
	}
}

func TestNormalizeRegistrationValid(t *testing.T) {
	reg, err := NormalizeRegistration(validInput(), DefaultPolicy(), t0)
	if err != nil {
		t.Fatalf("valid input refused: %v", err)
	}
	n := reg.Normalized
	checks := []struct{ name, got, want string }{
		{"market", string(n.Market), "JP"},
		{"language defaults from market", string(n.Language), "ja"},
		{"legal name", n.Company.LegalName, "株式会社テスト商事"},
		{"line1", n.Company.Address.Line1, "六本木5-2-3"},
		{"region", n.Company.Address.Region, "東京都"},
		{"region code", n.Company.Address.RegionCode, "13"},
		{"postal code", n.Company.Address.PostalCode, "106-0032"},
		{"company phone", n.Company.PhoneE164, "+81312345678"},
		{"website", n.Company.Website, "https://www.test-shoji.co.jp"},
		{"website domain", n.Company.WebsiteDomain, "test-shoji.co.jp"},
		{"registration number", n.Company.RegistrationNumber.Value, "7000012050002"},
		{"contact email", n.Contact.Email, "taro.yamada@test-shoji.co.jp"},
		{"contact email domain", n.Contact.EmailDomain, "test-shoji.co.jp"},
		{"contact phone", n.Contact.PhoneE164, "+819012345678"},
		{"support email", n.Programs[1].Support.Email, "support@test-shoji.co.jp"},
		{"raw kept", reg.Input.Company.LegalName, "（株）テスト商事"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.name, c.got, c.want)
		}
	}
	if !n.EmailDomainMatchesWebsite {
		t.Error("e-mail domain should match the website")
	}
	if !n.Affirmations.AffirmedAt.Equal(t0) {
		t.Errorf("affirmations time = %v, want %v", n.Affirmations.AffirmedAt, t0)
	}
}

func TestNormalizeRegistrationProblems(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*RegistrationInput)
		field  string
		code   string
	}{
		{"missing market", func(in *RegistrationInput) { in.Market = "" }, "market", CodeRequired},
		{"unknown country", func(in *RegistrationInput) { in.Market = "XX" }, "market", CodeCountryInvalid},
		{"alpha-3 country", func(in *RegistrationInput) { in.Market = "JPN" }, "market", CodeCountryInvalid},
		{"language", func(in *RegistrationInput) { in.Language = "fr" }, "language", CodeLanguageUnsupported},
		{"missing legal name", func(in *RegistrationInput) { in.Company.LegalName = "  " }, "company.legal_name", CodeRequired},
		{"legal name too long", func(in *RegistrationInput) { in.Company.LegalName = strings.Repeat("あい", 101) }, "company.legal_name", CodeTooLong},
		{"invalid utf-8", func(in *RegistrationInput) { in.Company.LegalName = "ABC\xff" }, "company.legal_name", CodeInvalidEncoding},
		{"control character", func(in *RegistrationInput) { in.Company.LegalName = "AB\x00C" }, "company.legal_name", CodeInvalidCharacters},
		{"single character name", func(in *RegistrationInput) { in.Company.LegalName = "X" }, "company.legal_name", CodeNameTooShort},
		{"single character besides legal form", func(in *RegistrationInput) { in.Company.LegalName = "(株)X" }, "company.legal_name", CodeNameTooShort},
		{"only punctuation", func(in *RegistrationInput) { in.Company.LegalName = "...・！" }, "company.legal_name", CodeNameOnlyPunctuation},
		{"repeated character", func(in *RegistrationInput) { in.Company.LegalName = "ＡＡＡａ" }, "company.legal_name", CodeNameRepeatedCharacter},
		{"repeated character with legal form", func(in *RegistrationInput) { in.Company.LegalName = "あああ株式会社" }, "company.legal_name", CodeNameRepeatedCharacter},
		{"zero-width space in legal name", func(in *RegistrationInput) { in.Company.LegalName = "（株）テスト\u200b商事" }, "company.legal_name", CodeInvisibleCharacters},
		{"word joiner in legal name", func(in *RegistrationInput) { in.Company.LegalName = "（株）テスト\u2060商事" }, "company.legal_name", CodeInvisibleCharacters},
		{"BOM in legal name", func(in *RegistrationInput) { in.Company.LegalName = "\ufeff（株）テスト商事" }, "company.legal_name", CodeInvisibleCharacters},
		{"variation selector in legal name", func(in *RegistrationInput) { in.Company.LegalName = "（株）テスト商事\ufe0f" }, "company.legal_name", CodeInvisibleCharacters},
		{"bidi override in legal name", func(in *RegistrationInput) { in.Company.LegalName = "ABC\u202eDEF Inc" }, "company.legal_name", CodeBidiControl},
		{"bidi isolate in city", func(in *RegistrationInput) { in.Company.Address.City = "港区\u2066" }, "company.address.city", CodeBidiControl},
		{"emoji in legal name", func(in *RegistrationInput) { in.Company.LegalName = "（株）テスト商事🚀" }, "company.legal_name", CodeEmoji},
		{"pictograph in address", func(in *RegistrationInput) { in.Company.Address.Line1 = "六本木５－２－３★" }, "company.address.line1", CodeEmoji},
		{"emoji in contact name", func(in *RegistrationInput) { in.Contact.FirstName = "太郎😀" }, "contact.first_name", CodeEmoji},
		{"invisible in e-mail", func(in *RegistrationInput) { in.Contact.Email = "taro\u200b@test-shoji.co.jp" }, "contact.email", CodeInvisibleCharacters},
		{"company phone extension", func(in *RegistrationInput) { in.Company.Phone = "03-1234-5678 ext. 123" }, "company.phone", CodePhoneExtension},
		{"contact phone extension in Japanese", func(in *RegistrationInput) { in.Contact.Phone = "03-1234-5678 内線123" }, "contact.phone", CodePhoneExtension},
		{"non-ASCII local part", func(in *RegistrationInput) { in.Contact.Email = "太郎@test-shoji.co.jp" }, "contact.email", CodeEmailNonASCIILocal},
		{"invalid IDN website", func(in *RegistrationInput) { in.Company.Website = "https://xn--a.jp" }, "company.website", CodeDomainIDNA},
		{"US state unknown", func(in *RegistrationInput) { usMarket(in); in.Company.Address.Region = "ZZ" }, "company.address.region", CodeRegionUnknown},
		{"US state missing", func(in *RegistrationInput) { usMarket(in); in.Company.Address.Region = "" }, "company.address.region", CodeRequired},
		{"US ZIP letters", func(in *RegistrationInput) { usMarket(in); in.Company.Address.PostalCode = "ABCDE" }, "company.address.postal_code", CodePostalCodeInvalid},
		{"US ZIP short", func(in *RegistrationInput) { usMarket(in); in.Company.Address.PostalCode = "9410" }, "company.address.postal_code", CodePostalCodeInvalid},
		{"missing line1", func(in *RegistrationInput) { in.Company.Address.Line1 = "" }, "company.address.line1", CodeRequired},
		{"missing city", func(in *RegistrationInput) { in.Company.Address.City = "" }, "company.address.city", CodeRequired},
		{"missing JP region", func(in *RegistrationInput) { in.Company.Address.Region = "" }, "company.address.region", CodeRequired},
		{"unknown JP prefecture", func(in *RegistrationInput) { in.Company.Address.Region = "California" }, "company.address.region", CodeRegionUnknown},
		{"missing JP postal code", func(in *RegistrationInput) { in.Company.Address.PostalCode = "" }, "company.address.postal_code", CodeRequired},
		{"bad JP postal code", func(in *RegistrationInput) { in.Company.Address.PostalCode = "106-003" }, "company.address.postal_code", CodePostalCodeInvalid},
		{"missing company phone", func(in *RegistrationInput) { in.Company.Phone = "" }, "company.phone", CodeRequired},
		{"bad company phone", func(in *RegistrationInput) { in.Company.Phone = "03-1234" }, "company.phone", CodePhoneInvalid},
		{"bad website", func(in *RegistrationInput) { in.Company.Website = "not a site" }, "company.website", CodeWebsiteInvalid},
		{"registration number without scheme", func(in *RegistrationInput) { in.Company.RegistrationNumber.Scheme = "" }, "company.registration_number.scheme", CodeRequired},
		{"unknown scheme", func(in *RegistrationInput) { in.Company.RegistrationNumber.Scheme = "vat" }, "company.registration_number.scheme", CodeRegNumberUnknownScheme},
		{"corporate number length", func(in *RegistrationInput) { in.Company.RegistrationNumber.Value = "700001205000" }, "company.registration_number.value", CodeRegNumberInvalidFormat},
		{"corporate number check digit", func(in *RegistrationInput) { in.Company.RegistrationNumber.Value = "1000012050002" }, "company.registration_number.value", CodeRegNumberCheckDigit},
		{"corporate number outside JP", func(in *RegistrationInput) {
			in.Market, in.Company.Address.Region, in.Company.Address.PostalCode = "US", "CA", "94105"
			in.Company.Phone, in.Contact.Phone = "+81312345678", "+819012345678"
		}, "company.registration_number.scheme", CodeRegNumberSchemeForMarket},
		{"duns length", func(in *RegistrationInput) {
			in.Company.RegistrationNumber = &RegistrationNumberInput{Scheme: "duns", Value: "12-345-678"}
		}, "company.registration_number.value", CodeRegNumberInvalidFormat},
		{"missing first name", func(in *RegistrationInput) { in.Contact.FirstName = "" }, "contact.first_name", CodeRequired},
		{"punctuation last name", func(in *RegistrationInput) { in.Contact.LastName = "--" }, "contact.last_name", CodeNameOnlyPunctuation},
		{"missing email", func(in *RegistrationInput) { in.Contact.Email = "" }, "contact.email", CodeRequired},
		{"bad email", func(in *RegistrationInput) { in.Contact.Email = "taro@@test.jp" }, "contact.email", CodeEmailInvalid},
		{"email without tld", func(in *RegistrationInput) { in.Contact.Email = "taro@localhost" }, "contact.email", CodeEmailInvalid},
		{"free mail", func(in *RegistrationInput) { in.Contact.Email = "taro@gmail.com" }, "contact.email", CodeEmailFreeMail},
		{"japanese carrier mail", func(in *RegistrationInput) { in.Contact.Email = "taro@docomo.ne.jp" }, "contact.email", CodeEmailFreeMail},
		{"full-width free mail", func(in *RegistrationInput) { in.Contact.Email = "ｔａｒｏ＠ＹＡＨＯＯ.co.jp" }, "contact.email", CodeEmailFreeMail},
		{"tenant domain", func(in *RegistrationInput) { in.Contact.Email = "taro@testshoji.onmicrosoft.com" }, "contact.email", CodeEmailTenantDomain},
		{"role address", func(in *RegistrationInput) { in.Contact.Email = "info@test-shoji.co.jp" }, "contact.email", CodeEmailRoleAddress},
		{"role address with tag", func(in *RegistrationInput) { in.Contact.Email = "sales+jp@test-shoji.co.jp" }, "contact.email", CodeEmailRoleAddress},
		{"bad contact phone", func(in *RegistrationInput) { in.Contact.Phone = "abc" }, "contact.phone", CodePhoneInvalid},
		{"no programs", func(in *RegistrationInput) { in.Programs = nil }, "programs.partner_network", CodeProgramRequired},
		{"unknown program", func(in *RegistrationInput) { in.Programs = append(in.Programs, ProgramInput{Program: "direct"}) }, "programs[2].program", CodeProgramUnknown},
		{"duplicate program", func(in *RegistrationInput) {
			in.Programs = append(in.Programs, ProgramInput{Program: "partner_network"})
		}, "programs[2].program", CodeProgramDuplicate},
		{"reseller without support", func(in *RegistrationInput) { in.Programs[1].Support = nil }, "programs.indirect_reseller.support", CodeSupportProfileRequired},
		{"support website missing", func(in *RegistrationInput) { in.Programs[1].Support.Website = "" }, "programs.indirect_reseller.support.website", CodeRequired},
		{"support email missing", func(in *RegistrationInput) { in.Programs[1].Support.Email = "" }, "programs.indirect_reseller.support.email", CodeRequired},
		{"support email free mail", func(in *RegistrationInput) { in.Programs[1].Support.Email = "help@outlook.jp" }, "programs.indirect_reseller.support.email", CodeEmailFreeMail},
		{"support phone bad", func(in *RegistrationInput) { in.Programs[1].Support.Phone = "12" }, "programs.indirect_reseller.support.phone", CodePhoneInvalid},
		{"authority", func(in *RegistrationInput) { in.Affirmations.AuthorityToRepresent = false }, "affirmations.authority_to_represent", CodeAffirmationRequired},
		{"consent", func(in *RegistrationInput) { in.Affirmations.ConsentToVerification = false }, "affirmations.consent_to_verification", CodeAffirmationRequired},
		{"terms", func(in *RegistrationInput) { in.Affirmations.AcceptNetworkTerms = false }, "affirmations.accept_network_terms", CodeAffirmationRequired},
		{"reseller support affirmation", func(in *RegistrationInput) { in.Affirmations.CanProvideSupport = false }, "affirmations.can_provide_support", CodeAffirmationRequired},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := validInput()
			rn := *in.Company.RegistrationNumber
			in.Company.RegistrationNumber = &rn
			in.Programs = slices.Clone(in.Programs)
			sp := *in.Programs[1].Support
			in.Programs[1].Support = &sp
			tt.mutate(&in)
			_, err := NormalizeRegistration(in, DefaultPolicy(), t0)
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("want *ValidationError, got %v", err)
			}
			if !slices.ContainsFunc(ve.Fields, func(f apperr.FieldError) bool { return f.Field == tt.field && f.Code == tt.code }) {
				t.Fatalf("want %s %s, got %+v", tt.field, tt.code, ve.Fields)
			}
			for _, f := range ve.Fields {
				if f.Message == "" {
					t.Errorf("field %s has no message", f.Field)
				}
			}
		})
	}
}

func TestNormalizeRegistrationReportsEveryProblem(t *testing.T) {
	in := validInput()
	in.Market = "XX"
	in.Company.LegalName = "X"
	in.Contact.Email = "info@gmail.com"
	in.Affirmations = AffirmationsInput{}
	_, err := NormalizeRegistration(in, DefaultPolicy(), t0)
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("want *ValidationError, got %v", err)
	}
	want := map[string]bool{
		"market/" + CodeCountryInvalid: true, "company.legal_name/" + CodeNameTooShort: true,
		"contact.email/" + CodeEmailFreeMail: true, "contact.email/" + CodeEmailRoleAddress: true,
		"affirmations.authority_to_represent/" + CodeAffirmationRequired: true,
		"affirmations.can_provide_support/" + CodeAffirmationRequired:    true,
	}
	for _, f := range ve.Fields {
		delete(want, f.Field+"/"+f.Code)
	}
	if len(want) > 0 {
		t.Fatalf("missing problems %v in %+v", want, ve.Fields)
	}
}

func TestNormalizeRegistrationOptionalParts(t *testing.T) {
	in := validInput()
	in.Market, in.Language = "US", "EN"
	in.Company.Address = AddressInput{Line1: "1 Market St", City: "San Francisco", Region: "CA", PostalCode: "94105"}
	in.Company.Phone, in.Contact.Phone = "+1 415 555 2671", "(415) 555-2672"
	in.Company.Website = ""
	in.Company.RegistrationNumber = &RegistrationNumberInput{Scheme: "DUNS", Value: "15-048-3782"}
	in.Contact.Email = "jane@example.com"
	in.Programs = []ProgramInput{{Program: "partner_network"}, {Program: "indirect_provider"}}
	in.Affirmations.CanProvideSupport = false
	reg, err := NormalizeRegistration(in, DefaultPolicy(), t0)
	if err != nil {
		t.Fatalf("refused: %v", err)
	}
	n := reg.Normalized
	if n.Language != LanguageEnglish || n.Company.RegistrationNumber.Value != "150483782" || n.Company.RegistrationNumber.Scheme != SchemeDUNS {
		t.Errorf("normalized = %+v", n)
	}
	if n.EmailDomainMatchesWebsite {
		t.Error("no website: the e-mail domain cannot match it")
	}
	if n.Programs[1].Program != ProgramIndirectProvider || n.Programs[1].Support != nil {
		t.Errorf("programs = %+v", n.Programs)
	}
}

func TestPolicyIsConfigurable(t *testing.T) {
	p := DefaultPolicy()
	p.FreeMailDomains = append(p.FreeMailDomains, "test-shoji.co.jp")
	_, err := NormalizeRegistration(validInput(), p, t0)
	var ve *ValidationError
	if !errors.As(err, &ve) || ve.Fields[0].Code != CodeEmailFreeMail {
		t.Fatalf("added free-mail domain not applied: %v", err)
	}
	p = DefaultPolicy()
	p.RoleLocalParts = nil
	in := validInput()
	in.Contact.Email = "info@test-shoji.co.jp"
	if _, err := NormalizeRegistration(in, p, t0); err != nil {
		t.Fatalf("emptied role list still applied: %v", err)
	}
}

func TestParseEmail(t *testing.T) {
	tests := []struct {
		in, address string
		ok          bool
	}{
		{"Taro.Yamada@Example.CO.JP", "taro.yamada@example.co.jp", true},
		{" ｔａｒｏ＠ｅｘａｍｐｌｅ．ｊｐ ", "taro@example.jp", true},
		{"a+b@example.com", "a+b@example.com", true},
		{"Taro <taro@example.jp>", "", false},
		{".taro@example.jp", "", false},
		{"ta..ro@example.jp", "", false},
		{"taro@example", "", false},
		{"taro@-example.jp", "", false},
		{"太郎@example.jp", "", false},
		{"taro@example.jp@x.jp", "", false},
		{"taro@例え.jp", "taro@xn--r8jz45g.jp", true},
		{"Taro@ＢÜＣＨＥＲ.de", "taro@xn--bcher-kva.de", true},
	}
	for _, tt := range tests {
		e, err := ParseEmail(tt.in)
		if (err == nil) != tt.ok || (err == nil && e.Address != tt.address) {
			t.Errorf("ParseEmail(%q) = %+v, %v", tt.in, e, err)
		}
	}
	if _, err := ParseEmail("太郎@example.jp"); !errors.Is(err, ErrEmailNonASCIILocal) {
		t.Errorf("a non-ASCII local part: %v, want ErrEmailNonASCIILocal", err)
	}
}

// usMarket turns validInput into a US registration (no Japanese corporate number).
func usMarket(in *RegistrationInput) {
	in.Market = "US"
	in.Company.Address = AddressInput{Line1: "1 Market St", City: "San Francisco", Region: "CA", PostalCode: "94105"}
	in.Company.Phone, in.Contact.Phone = "+1 415 555 2671", "(415) 555-2672"
	in.Company.RegistrationNumber = nil
}

func TestUSAddressIsNormalizedPerMarket(t *testing.T) {
	in := validInput()
	usMarket(&in)
	in.Company.Address.Region, in.Company.Address.PostalCode = "ca", "94105-1234"
	reg, err := NormalizeRegistration(in, DefaultPolicy(), t0)
	if err != nil {
		t.Fatalf("refused: %v", err)
	}
	a := reg.Normalized.Company.Address
	if a.Region != "CA" || a.RegionCode != "CA" || a.PostalCode != "94105-1234" {
		t.Errorf("address = %+v, want region CA and ZIP+4 94105-1234", a)
	}
}
