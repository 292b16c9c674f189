package app

import (
	"strings"
	"testing"

	"github.com/partnerhub/onboarding/services/registration/internal/domain"
)

// A revoked partner's cures are the calls that cure it: the case's re-review
// (verification takes no documents on a revoked case), and support for the
// partner. A hold placed before holds named their case names where to find
// it instead of a path.
func TestARevocationsCuresAreTheReReviewAndSupport(t *testing.T) {
	r := holdRequirement("PG-1", domain.Hold{Reason: domain.ReasonVerificationRevoked, Note: "dissolved", Ref: "rv-1", Case: "vc-1"})
	if r.Party != PartyVendor || len(r.Cures) != 2 || r.Cures[0].Action != "contact_support" || r.Cures[1] != (Cure{Action: "reopen_review",
		Description: r.Cures[1].Description, Service: "verification", Method: "POST", Path: "/v1/verification/cases/vc-1/reviews"}) {
		t.Fatalf("cures %+v", r.Cures)
	}
	for _, c := range r.Cures {
		if strings.HasSuffix(c.Path, "/documents") {
			t.Fatalf("a cure verification refuses on a revoked case: %+v", c)
		}
	}
	old := holdRequirement("PG-1", domain.Hold{Reason: domain.ReasonVerificationRevoked, Note: "dissolved", Ref: "rv-1"})
	if len(old.Cures) != 2 || old.Cures[1].Path != "" || old.Cures[1].Method != "" ||
		!strings.Contains(old.Cures[1].Description, "GET /v1/verification/partners/PG-1/case") {
		t.Fatalf("cures of a hold without its case %+v", old.Cures)
	}
}
