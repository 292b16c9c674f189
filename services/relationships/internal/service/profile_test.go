package service_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	registrationv1 "github.com/partnerhub/onboarding/pkg/events/registration/v1"
	"github.com/partnerhub/onboarding/pkg/testkit"
)

// TestProfileChangeAppliedShowsOnTheConsentView: after the provider's
// applied profile change, the invitation shows its verified legal name and
// address.
func TestProfileChangeAppliedShowsOnTheConsentView(t *testing.T) {
	e, inst := setup(t)
	_, token := createRequest(t, e, inst, map[string]any{"reseller_location_id": reseller.location})
	applied := registrationv1.ProfileChangeApplied{
		PartnerID: provider.id, ChangeNumber: 1, Market: "JP", Language: "ja",
		Changes:   []registrationv1.FieldChange{{Field: "company.legal_name", From: provider.name, To: "Kaisha Distribution Holdings K.K."}},
		Checks:    []registrationv1.ProfileCheck{{Check: "company", State: "passed", DecidedBy: "verification:v-1", DecidedAt: e.clock()}},
		LegalName: registrationv1.LegalName{Raw: "Kaisha Distribution Holdings K.K.", Normalized: "Kaisha Distribution Holdings K.K."},
		Address: registrationv1.Address{Raw: registrationv1.AddressLines{Line1: "2-7-3 Marunouchi", City: "Chiyoda-ku", Region: "Tokyo", PostalCode: "100-0005"},
			Normalized: registrationv1.NormalizedAddress{Line1: "2-7-3 Marunouchi", City: "Chiyoda-ku", Region: "東京都", PostalCode: "100-0005", Key: "k"}},
		Contact:   registrationv1.Contact{FirstName: "Ken", LastName: "Sato", Email: "ken@kaisha.example.co.jp", EmailDomain: "kaisha.example.co.jp"},
		AppliedAt: e.clock().Add(time.Hour),
	}
	e.publish(registrationv1.TypeProfileChangeApplied, provider.id, applied)
	testkit.Eventually(t, 10*time.Second, func() error {
		v := e.call(inst, "GET", "/v1/invitation", resellerAdmin, nil, "Invitation-Token", token)
		addr, _ := v.body["provider_address"].(map[string]any)
		if v.status != http.StatusOK || v.str("provider_legal_name") != "Kaisha Distribution Holdings K.K." || addr["line1"] != "2-7-3 Marunouchi" {
			return fmt.Errorf("view %d %s", v.status, v.raw)
		}
		return nil
	})
}
