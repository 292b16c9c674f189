package events

import (
	"testing"
	"time"

	"github.com/partnerhub/onboarding/pkg/contract"
	verificationv1 "github.com/partnerhub/onboarding/pkg/events/verification/v1"
	"github.com/partnerhub/onboarding/services/verification/internal/domain"
)

// TestProfileReviewPayloadsMatchTheirSchemas: a profile change's review
// task and its decision, as published.
func TestProfileReviewPayloadsMatchTheirSchemas(t *testing.T) {
	at := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	meta := domain.EventMeta{CaseID: "vc-1", PartnerID: "PG-7K3M9Q2X", At: at}
	for _, e := range []domain.Event{
		domain.ProfileCheckDecided{EventMeta: meta, ChangeNumber: 2, TaskID: "vc-1-t5", Check: domain.CheckCompany, Passed: false,
			Reason: "address_mismatch", ApplicantMessage: "the register shows another address", DecisionID: "d-5", Verifier: "v-2"},
		domain.ProfileCheckDecided{EventMeta: meta, ChangeNumber: 3, TaskID: "vc-1-t6", Check: domain.CheckEmployment, Passed: true, DecisionID: "d-6", Verifier: "v-2"},
		domain.ReviewTaskCreated{EventMeta: meta, TaskID: "vc-1-t5", Check: domain.CheckCompany, Round: 2, DueAt: at,
			Content: domain.TaskContent{PartnerID: meta.PartnerID, Market: "JP", Check: domain.CheckCompany,
				Submitted:    domain.CompanyFacts{LegalName: "株式会社サンプル商事", Address: domain.Address{Line1: "芝浦3-4-1", City: "港区", Prefecture: "東京都", PostalCode: "108-0023"}},
				ContactEmail: "hanako@sample.co.jp", ContactDomain: "sample.co.jp", DueAt: at, ProfileChange: 2}},
	} {
		typ, data, err := Payload(e)
		if err != nil {
			t.Fatal(err)
		}
		contract.MustValidate(t, typ, data)
		if p, ok := data.(verificationv1.ReviewTaskCreated); ok && p.ProfileChange != 2 {
			t.Errorf("task created without its profile change: %+v", p)
		}
	}
}
