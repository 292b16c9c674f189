package app

import (
	"context"
	"testing"

	"github.com/partnerhub/onboarding/pkg/apperr"
	"github.com/partnerhub/onboarding/pkg/auth"
	"github.com/partnerhub/onboarding/services/registration/internal/domain"
)

func providerInput() domain.EnrollmentInput {
	return domain.EnrollmentInput{Program: "indirect_provider",
		Affirmations: domain.EnrollmentAffirmationsInput{AuthorityToRepresent: true}}
}

// TestAddEnrollmentAuthorization: the partner's admin, an operator and the
// upstream system that registered the partner may add a program; another
// upstream system and another partner's admin do not see the partner; a
// partner user may not write.
func TestAddEnrollmentAuthorization(t *testing.T) {
	h := newHarness()
	v := h.submit(t)
	pid := string(v.PartnerID)
	ctx := context.Background()
	cmd := AddEnrollmentCmd{PartnerID: pid, Input: providerInput()}
	_, err := h.app.AddEnrollment(ctx, crm, cmd)
	wantAppErr(t, err, apperr.KindNotFound, CodePartnerNotFound)
	_, err = h.app.AddEnrollment(ctx, auth.Principal{Subject: "a", PartnerID: "PG-OTHER", Roles: []auth.Role{auth.RolePartnerAdmin}}, cmd)
	wantAppErr(t, err, apperr.KindNotFound, CodePartnerNotFound)
	_, err = h.app.AddEnrollment(ctx, auth.Principal{Subject: "u", PartnerID: pid, Roles: []auth.Role{auth.RolePartnerUser}}, cmd)
	wantAppErr(t, err, apperr.KindForbidden, "auth.role_required")
	res, err := h.app.AddEnrollment(ctx, upstream, cmd)
	if err != nil || res.Enrollment.Program != domain.ProgramIndirectProvider || len(res.Partner.Enrollments) != 3 {
		t.Fatalf("%+v %v", res, err)
	}
	if added := eventsOf[domain.EnrollmentAdded](h.repo.pullOutbox()); len(added) != 1 || added[0].AddedBy != upstream.Subject {
		t.Fatalf("events %+v", added)
	}
	_, err = h.app.AddEnrollment(ctx, auth.Principal{Subject: "a", PartnerID: pid, Roles: []auth.Role{auth.RolePartnerAdmin}}, cmd)
	wantAppErr(t, err, apperr.KindConflict, CodeAlreadyEnrolled)
	_, err = h.app.AddEnrollment(ctx, operator, AddEnrollmentCmd{PartnerID: pid, Input: domain.EnrollmentInput{Program: "indirect_reseller",
		LocationID: "nonsense"}})
	wantAppErr(t, err, apperr.KindInvalid, CodeInvalidID)
}

// TestAddEnrollmentFollowsTheMarketPolicy: a program the market's policy
// does not offer is refused, and the policy in force is the one set last.
func TestAddEnrollmentFollowsTheMarketPolicy(t *testing.T) {
	h := newHarness()
	v := h.submit(t)
	ps := domain.DefaultPolicySet()
	jp := ps.Default
	jp.Programs = []domain.Program{domain.ProgramPartnerNetwork, domain.ProgramIndirectReseller}
	ps.Markets = map[domain.Country]domain.Policy{"JP": jp}
	h.app.SetPolicies(ps)
	_, err := h.app.AddEnrollment(context.Background(), operator, AddEnrollmentCmd{PartnerID: string(v.PartnerID), Input: providerInput()})
	wantAppErr(t, err, apperr.KindConflict, CodeProgramNotInMarket)
	h.app.SetPolicies(domain.DefaultPolicySet())
	if _, err := h.app.AddEnrollment(context.Background(), operator, AddEnrollmentCmd{PartnerID: string(v.PartnerID), Input: providerInput()}); err != nil {
		t.Fatal(err)
	}
}

func TestAddLocationRefusals(t *testing.T) {
	h := newHarness()
	v := h.submit(t)
	ctx := context.Background()
	_, err := h.app.AddLocation(ctx, operator, AddLocationCmd{PartnerID: string(v.PartnerID), Input: domain.LocationInput{Country: "US",
		Address: domain.AddressInput{Line1: "1 Main St", City: "Austin", Region: "TX", PostalCode: "78701"}}})
	wantAppErr(t, err, apperr.KindConflict, CodeMarketImmutable)
	_, err = h.app.AddLocation(ctx, operator, AddLocationCmd{PartnerID: string(v.PartnerID), Input: domain.LocationInput{
		Address: input().Company.Address}})
	wantAppErr(t, err, apperr.KindConflict, CodeLocationExists)
	_, err = h.app.AddLocation(ctx, operator, AddLocationCmd{PartnerID: string(v.PartnerID), Input: domain.LocationInput{
		Address: domain.AddressInput{Line1: "x", City: "港区", Region: "東京", PostalCode: "1"}}})
	ae := wantAppErr(t, err, apperr.KindInvalid, CodeInvalidInput)
	if len(ae.Fields) == 0 || ae.Fields[0].Field != "address.postal_code" {
		t.Errorf("fields %+v", ae.Fields)
	}
	res, err := h.app.AddLocation(ctx, operator, AddLocationCmd{PartnerID: string(v.PartnerID), Input: domain.LocationInput{
		Address: domain.AddressInput{Line1: "梅田1-1-3", City: "大阪市北区", Region: "大阪府", PostalCode: "530-0001"}}})
	if err != nil || res.Location.Status != domain.LocationStatusPending || len(res.Partner.Locations) != 2 {
		t.Fatalf("%+v %v", res, err)
	}
}
