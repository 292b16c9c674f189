package events_test

import (
	"testing"
	"time"

	regv1 "github.com/partnerhub/onboarding/pkg/events/registration/v1"
	"github.com/partnerhub/onboarding/services/registration/internal/domain"
)

// TestProfileChangeEventsMatchTheirSchemas drives a partner through a
// change applied at once, one applied after its checks and one rejected, and
// validates every event against schemas/.
func TestProfileChangeEventsMatchTheirSchemas(t *testing.T) {
	now := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
	p := verifiedMember(t, &seqIDs{}, now)
	phone := "03-9999-0000"
	if _, err := p.RequestProfileChange(domain.ProfileChangeInput{Phone: &phone}, domain.DefaultPolicy(), "admin-1", now); err != nil {
		t.Fatal(err)
	}
	c, err := p.RequestProfileChange(domain.ProfileChangeInput{
		Contact: &domain.ContactInput{FirstName: "花子", LastName: "山田", Email: "hanako@mirai-group.co.jp", Phone: "090-1234-5678"},
		Address: &domain.AddressInput{Line1: "丸の内1-1-1", City: "千代田区", Region: "東京", PostalCode: "100-0005"},
	}, domain.DefaultPolicy(), "admin-1", now)
	if err != nil {
		t.Fatal(err)
	}
	p.ConfirmProfileEmail(p.Enrollments()[0].ID, "hanako@mirai-group.co.jp", now, now)
	if err := p.DecideProfileCheck(c.Number, domain.RecheckEmployment, true, "", "verifier-1", now); err != nil {
		t.Fatal(err)
	}
	if err := p.DecideProfileCheck(c.Number, domain.RecheckCompany, true, "", "verifier-1", now); err != nil {
		t.Fatal(err)
	}
	name := "みらいクラウド合同会社"
	c, err = p.RequestProfileChange(domain.ProfileChangeInput{LegalName: &name}, domain.DefaultPolicy(), "admin-1", now)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.DecideProfileCheck(c.Number, domain.RecheckCompany, false, "the register shows 株式会社", "verifier-1", now); err != nil {
		t.Fatal(err)
	}
	seen := mustMatchSchemas(t, p.PullEvents())
	if seen[regv1.TypeProfileChangeRequested] != 3 || seen[regv1.TypeProfileChangeApplied] != 2 || seen[regv1.TypeProfileChangeRejected] != 1 {
		t.Fatalf("events %v", seen)
	}
}
