package events_test

import (
	"testing"
	"time"

	"github.com/partnerhub/onboarding/pkg/contract"
	regv1 "github.com/partnerhub/onboarding/pkg/events/registration/v1"
	"github.com/partnerhub/onboarding/services/registration/internal/adapters/events"
	"github.com/partnerhub/onboarding/services/registration/internal/domain"
)

// TestProfileChangeEventsMatchTheirSchemas drives a partner through a
// change applied at once, one applied after its checks and one rejected, and
// validates every event against schemas/.
func TestProfileChangeEventsMatchTheirSchemas(t *testing.T) {
	now := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
	in := domain.RegistrationInput{
		Market: "JP", Language: "ja",
		Company: domain.CompanyInput{LegalName: "（株）みらいクラウド", Phone: "03-1234-5678", Website: "mirai-cloud.co.jp",
			Address:            domain.AddressInput{Line1: "丸の内5-2-3", City: "千代田区", Region: "東京都", PostalCode: "1000005"},
			RegistrationNumber: &domain.RegistrationNumberInput{Scheme: "jp_corporate_number", Value: "7000012050002"}},
		Contact:      domain.ContactInput{FirstName: "太郎", LastName: "山田", Email: "taro@mirai-cloud.co.jp", Phone: "090-1234-5678"},
		Programs:     []domain.ProgramInput{{Program: "partner_network"}},
		Affirmations: domain.AffirmationsInput{AuthorityToRepresent: true, ConsentToVerification: true, AcceptNetworkTerms: true},
	}
	reg, err := domain.NormalizeRegistration(in, domain.DefaultPolicy(), now)
	if err != nil {
		t.Fatal(err)
	}
	p := domain.NewPartner(reg, &seqIDs{}, "upstream-portal", now)
	if _, err := p.ApproveVerification(now, now); err != nil {
		t.Fatal(err)
	}
	p.PullEvents()
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
	seen := map[string]int{}
	for _, ev := range p.PullEvents() {
		d, err := events.Draft(ev)
		if err != nil {
			t.Fatal(err)
		}
		contract.MustValidate(t, d.Type, d.Data)
		seen[d.Type]++
	}
	if seen[regv1.TypeProfileChangeRequested] != 3 || seen[regv1.TypeProfileChangeApplied] != 2 || seen[regv1.TypeProfileChangeRejected] != 1 {
		t.Fatalf("events %v", seen)
	}
}
