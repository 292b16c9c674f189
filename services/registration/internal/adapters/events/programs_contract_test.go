package events_test

import (
	"testing"
	"time"

	regv1 "github.com/partnerhub/onboarding/pkg/events/registration/v1"
	"github.com/partnerhub/onboarding/services/registration/internal/domain"
)

// TestAddedProgramsAndLocationsMatchTheirSchemas: a network member that adds
// a location and a program there publishes location.added and
// enrollment.added that validate against schemas/.
func TestAddedProgramsAndLocationsMatchTheirSchemas(t *testing.T) {
	now := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
	ids := &seqIDs{}
	p := verifiedMember(t, ids, now)
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
	seen := mustMatchSchemas(t, p.PullEvents())
	for _, want := range []string{regv1.TypeLocationAdded, regv1.TypeEnrollmentAdded} {
		if seen[want] == 0 {
			t.Errorf("no %s (saw %v)", want, seen)
		}
	}
}
