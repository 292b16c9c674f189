package domain

import (
	"errors"
	"strings"
	"testing"
)

func boolp(b bool) *bool          { return &b }
func listp(s ...string) *[]string { return &s }

func TestPolicyFileDefaultsAreTheBuiltIn(t *testing.T) {
	set, err := PolicyFile{}.PolicySet()
	if err != nil {
		t.Fatal(err)
	}
	jp, def := set.For("JP"), DefaultPolicy()
	if !jp.IsFreeMail("gmail.com") || !jp.IsTenantDomain("x.onmicrosoft.com") || !jp.IsRoleAddress("info") ||
		len(jp.RequiredSchemes) != 0 || !jp.Offers(ProgramIndirectProvider) || len(jp.FreeMailDomains) != len(def.FreeMailDomains) {
		t.Errorf("empty file is not the built-in policy: %+v", jp)
	}
}

func TestPolicyFilePerMarket(t *testing.T) {
	f := PolicyFile{
		Default: PolicySection{FreeMailDomains: listp("gmail.com", "Example-Mail.COM")},
		Markets: map[string]PolicySection{
			"jp": {RefuseRoleAddresses: boolp(false), RequiredRegistrationSchemes: listp("jp_corporate_number")},
			"US": {RefuseFreeMail: boolp(false), Programs: listp("partner_network", "indirect_provider"), RoleLocalParts: listp("sales")},
		},
	}
	set, err := f.PolicySet()
	if err != nil {
		t.Fatal(err)
	}
	jp, us, de := set.For("JP"), set.For("US"), set.For("DE")
	switch {
	case !de.IsFreeMail("example-mail.com") || de.IsFreeMail("yahoo.com"):
		t.Error("default free-mail list not replaced")
	case jp.IsRoleAddress("info") || !de.IsRoleAddress("info"):
		t.Error("JP role addresses not switched off alone")
	case !jp.IsFreeMail("example-mail.com"):
		t.Error("a market section does not inherit the file's default")
	case us.IsFreeMail("gmail.com") || !us.IsRoleAddress("sales") || us.IsRoleAddress("info"):
		t.Error("US switches or lists")
	case us.Offers(ProgramIndirectReseller) || !us.Offers(ProgramIndirectProvider) || !jp.Offers(ProgramIndirectReseller):
		t.Error("programs per market")
	}

	in := validInput()
	in.Company.RegistrationNumber = nil
	_, err = NormalizeRegistration(in, jp, t0)
	var ve *ValidationError
	if !errors.As(err, &ve) || ve.Fields[0].Field != "company.registration_number" || ve.Fields[0].Code != CodeRegNumberRequired {
		t.Errorf("JP without a corporate number: %v", err)
	}
	if _, err := NormalizeRegistration(validInput(), jp, t0); err != nil {
		t.Errorf("JP with a corporate number: %v", err)
	}
	in = validInput()
	in.Contact.Email = "info@test-shoji.co.jp"
	if _, err := NormalizeRegistration(in, jp, t0); err != nil {
		t.Errorf("role address allowed in JP: %v", err)
	}
	in = validInput()
	in.Market, in.Company.RegistrationNumber = "US", nil
	in.Company.Address = AddressInput{Line1: "1 Main St", City: "Austin", Region: "TX", PostalCode: "78701"}
	in.Company.Phone, in.Contact.Phone = "+1 512 555 0100", "+1 512 555 0101"
	_, err = NormalizeRegistration(in, us, t0)
	if !errors.As(err, &ve) || len(ve.Fields) != 1 || ve.Fields[0].Code != CodeProgramNotInMarket {
		t.Errorf("reseller in US: %v", err)
	}
}

func TestPolicyFileRefusesMistakes(t *testing.T) {
	f := PolicyFile{
		Default: PolicySection{FreeMailDomains: listp("not a domain"), RoleLocalParts: listp("info@x")},
		Markets: map[string]PolicySection{
			"XX": {},
			"US": {RequiredRegistrationSchemes: listp("jp_corporate_number", "vat"), Programs: listp("reseller")},
		},
	}
	_, err := f.PolicySet()
	if err == nil {
		t.Fatal("accepted")
	}
	for _, want := range []string{"default.free_mail_domains[0]", "default.role_local_parts[0]", "markets.XX",
		"markets.US.required_registration_schemes[0]", "markets.US.required_registration_schemes[1]", "markets.US.programs[0]"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("no problem at %s in:\n%v", want, err)
		}
	}
}
