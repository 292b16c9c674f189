package app

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/partnerhub/onboarding/services/registration/internal/domain"
)

// TestContactRemovalInRequirements: an upheld dispute of the contact
// address replaces the enrollment's e-mail confirmation requirement with
// contact_email_removed, while the partner's contact is still that address;
// the partner's standing and the enrollment's status stay as they were.
func TestContactRemovalInRequirements(t *testing.T) {
	ctx := context.Background()
	h := newHarness()
	v := h.submit(t)
	id := string(v.PartnerID)
	admin := adminOf(v.PartnerID)
	before, err := h.app.EnrollmentRequirements(ctx, admin, id, "indirect_reseller")
	if err != nil {
		t.Fatal(err)
	}
	kinds := func(rv RequirementsView) map[string]bool {
		m := map[string]bool{}
		for _, r := range rv.Requirements {
			m[r.Kind] = true
		}
		return m
	}
	if !kinds(before)[RequirementEmailConfirmation] {
		t.Fatalf("no e-mail confirmation requirement before: %+v", before.Requirements)
	}
	// Whether the confirmation mail could be delivered is e-mail
	// ownership's to say: the requirement points at its status.
	for _, r := range before.Requirements {
		if r.Kind == RequirementEmailConfirmation && !slices.ContainsFunc(r.Cures, func(c Cure) bool {
			return c.Action == "check_confirmation_mail" && c.Method == "GET" && c.Path == "/v1/enrollments/"+string(before.EnrollmentID)+"/ownership"
		}) {
			t.Errorf("no cure to see the confirmation's mail: %+v", r.Cures)
		}
	}
	record := func(address string) {
		t.Helper()
		if err := h.app.RecordContactRemoved(ctx, ContactRemoval{PartnerID: v.PartnerID, EnrollmentID: before.EnrollmentID,
			ChallengeID: "ch-1", Address: address, RemovedAt: t0}); err != nil {
			t.Fatal(err)
		}
	}
	record("someone.else@test-shoji.co.jp")
	if got, _ := h.app.EnrollmentRequirements(ctx, admin, id, "indirect_reseller"); kinds(got)[RequirementContactRemoved] {
		t.Fatal("a removal of another address than the contact's counted")
	}
	record("Taro@test-shoji.co.jp")
	got, err := h.app.EnrollmentRequirements(ctx, admin, id, "indirect_reseller")
	if err != nil {
		t.Fatal(err)
	}
	k := kinds(got)
	if !k[RequirementContactRemoved] || k[RequirementEmailConfirmation] || got.EnrollmentStatus != before.EnrollmentStatus ||
		got.PartnerStatus != domain.PartnerStatusPending {
		t.Fatalf("requirements after removal %+v", got)
	}
	// The cure, a profile change, keeps the e-mail domain while the partner
	// is under review: the view says so rather than send the partner to a
	// 409 registration.not_yet_approved.
	for _, r := range got.Requirements {
		if r.Kind == RequirementContactRemoved && (len(r.Cures) != 1 || r.Cures[0].Action != "change_contact_email" ||
			!strings.Contains(r.Cures[0].Description, "an address on the same domain")) {
			t.Fatalf("cure of a pending partner's removed address: %+v", r.Cures)
		}
	}
	// The other enrollment keeps its own confirmation requirement (e-mail
	// ownership reports a removal per enrollment).
	if other, _ := h.app.EnrollmentRequirements(ctx, admin, id, "partner_network"); kinds(other)[RequirementContactRemoved] {
		t.Fatal("the removal leaked to another enrollment")
	}
}
