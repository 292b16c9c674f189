package service_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	registrationv1 "github.com/partnerhub/onboarding/pkg/events/registration/v1"
	"github.com/partnerhub/onboarding/pkg/testkit"
)

// TestProfileChangeAppliedKeepsTheCaseCurrent: registration's applied
// profile change replaces the case's facts, contact and domain-proof
// domain; no check moves and nothing is dead-lettered.
func TestProfileChangeAppliedKeepsTheCaseCurrent(t *testing.T) {
	e := newEnv(t)
	r := e.start(e.config())
	const partner = "PG-7K2M-9Q4X-0AW"
	e.openCase(partner, "")
	before, err := r.svc.Repo.GetByPartner(context.Background(), partner)
	if err != nil {
		t.Fatal(err)
	}
	sub := submitted(partner, "")
	applied := registrationv1.ProfileChangeApplied{
		PartnerID: partner, ChangeNumber: 1, Market: "JP", Language: "ja",
		Changes:   []registrationv1.FieldChange{{Field: "company.address.line1", From: "丸の内5-2-3", To: "丸の内1-1-1"}},
		Checks:    []registrationv1.ProfileCheck{{Check: "company", State: "passed", DecidedBy: "verifier-9", DecidedAt: time.Now().UTC()}},
		LegalName: sub.LegalName,
		Address: registrationv1.Address{Raw: registrationv1.AddressLines{Line1: "丸の内１－１－１", City: "千代田区", Region: "東京", PostalCode: "100-0005"},
			Normalized: registrationv1.NormalizedAddress{Line1: "丸の内1-1-1", City: "千代田区", Region: "東京都", RegionCode: "13", PostalCode: "100-0005", Key: "k"}},
		CompanyPhoneE164: sub.CompanyPhoneE164, RegistrationNumber: sub.RegistrationNumber, Website: sub.Website, WebsiteDomain: sub.WebsiteDomain,
		Contact:   registrationv1.Contact{FirstName: "Hanako", LastName: "Sato", Email: "hanako@sample-shoji.co.jp", EmailDomain: "sample-shoji.co.jp", PhoneE164: "+819044445555"},
		AppliedAt: time.Now().UTC(),
	}
	e.publish(registrationv1.TypeProfileChangeApplied, partner, applied, nil)
	testkit.Eventually(t, 10*time.Second, func() error {
		c, err := r.svc.Repo.GetByPartner(context.Background(), partner)
		if err != nil {
			return err
		}
		if c.Contact.Email != "hanako@sample-shoji.co.jp" || c.Submitted.Address.Line1 != "丸の内１－１－１" || c.Normalized.Street == before.Normalized.Street {
			return fmt.Errorf("case facts %+v / %+v / %+v", c.Contact, c.Submitted.Address, c.Normalized)
		}
		if c.Status != before.Status || c.SubStatus != before.SubStatus || len(c.Tasks) != len(before.Tasks) {
			return fmt.Errorf("the case moved: %s/%s, %d tasks", c.Status, c.SubStatus, len(c.Tasks))
		}
		return nil
	})
	if dl := e.msgs("DEADLETTER"); len(dl) != 0 {
		t.Fatalf("%d dead letters", len(dl))
	}
}
