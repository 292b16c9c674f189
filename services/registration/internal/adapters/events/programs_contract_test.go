package events_test

import (
	"testing"
	"time"

	"github.com/partnerhub/onboarding/pkg/contract"
	regv1 "github.com/partnerhub/onboarding/pkg/events/registration/v1"
	"github.com/partnerhub/onboarding/services/registration/internal/adapters/events"
	"github.com/partnerhub/onboarding/services/registration/internal/domain"
)

// TestAddedProgramsAndLocationsMatchTheirSchemas: a network member that adds
// a location and a program there publishes location.added and
// enrollment.added that validate against schemas/.
func TestAddedProgramsAndLocationsMatchTheirSchemas(t *testing.T) {
	now := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
	in := domain.RegistrationInput{
		Market: "JP",
		Company: domain.CompanyInput{LegalName: "（株）みらいクラウド", Phone: "03-1234-5678", Website: "mirai-cloud.co.jp",
			Address: domain.AddressInput{Line1: "丸の内5-2-3", City: "千代田区", Region: "東京都", PostalCode: "1000005"}},
		Contact:      domain.ContactInput{FirstName: "太郎", LastName: "山田", Email: "taro@mirai-cloud.co.jp", Phone: "090-1234-5678"},
		Programs:     []domain.ProgramInput{{Program: "partner_network"}},
		Affirmations: domain.AffirmationsInput{AuthorityToRepresent: true, ConsentToVerification: true, AcceptNetworkTerms: true},
	}
	reg, err := domain.NormalizeRegistration(in, domain.DefaultPolicy(), now)
	if err != nil {
		t.Fatal(err)
	}
	ids := &seqIDs{}
	p := domain.NewPartner(reg, ids, "upstream-portal", now)
	if _, err := p.ApproveVerification(now, now); err != nil {
		t.Fatal(err)
	}
	p.PullEvents()
	addr, err := domain.NormalizeLocation(domain.LocationInput{Address: domain.AddressInput{Line1: "梅田1-1-3", City: "大阪市北区",
		Region: "大阪府", PostalCode: "530-0001"}}, "JP")
	if err != nil {
		t.Fatal(err)
	}
	loc, err := p.AddLocation(addr, ids, "admin-1", now)
	if err != nil {
		t.Fatal(err)
	}
	req, err := domain.NormalizeEnrollment(domain.EnrollmentInput{Program: "indirect_reseller",
		Support:      &domain.SupportProfileInput{Website: "https://mirai-cloud.co.jp/support", Email: "support@mirai-cloud.co.jp"},
		Affirmations: domain.EnrollmentAffirmationsInput{AuthorityToRepresent: true, CanProvideSupport: true}}, "JP", domain.DefaultPolicy())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.AddEnrollment(req, loc.ID, ids, "admin-1", now); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, ev := range p.PullEvents() {
		d, err := events.Draft(ev)
		if err != nil {
			t.Fatal(err)
		}
		contract.MustValidate(t, d.Type, d.Data)
		seen[d.Type] = true
	}
	for _, want := range []string{regv1.TypeLocationAdded, regv1.TypeEnrollmentAdded} {
		if !seen[want] {
			t.Errorf("no %s (saw %v)", want, seen)
		}
	}
}
