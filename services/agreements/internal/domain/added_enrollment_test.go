package domain

import "testing"

// TestAddEnrollment: a program added after the registration is enrolled
// here (before or after the registration event), a replay changes nothing
// and the registered location's enrollment is kept.
func TestAddEnrollment(t *testing.T) {
	p := NewPartner("P1")
	if changed, err := p.AddEnrollment("indirect_reseller", "E2"); err != nil || !changed {
		t.Fatalf("before registration: %v %v", changed, err)
	}
	if _, err := p.Register(Registration{PartnerID: "P1", LocationID: "L1", Market: "JP", Programs: []string{"partner_network"},
		Enrollments: map[string]string{"partner_network": "E1"}, RegisteredAt: t0}); err != nil {
		t.Fatal(err)
	}
	if !p.Enrolled(ProgramIndirectReseller) || p.EnrollmentID(ProgramIndirectReseller) != "E2" || p.LocationID() != "L1" {
		t.Fatalf("state %+v", p.State())
	}
	if changed, err := p.AddEnrollment("indirect_reseller", "E3"); err != nil || changed || p.EnrollmentID(ProgramIndirectReseller) != "E2" {
		t.Fatalf("another location's enrollment: %v %v %s", changed, err, p.EnrollmentID(ProgramIndirectReseller))
	}
	if _, err := p.AddEnrollment("not a program!", "E4"); err == nil {
		t.Fatal("invalid program accepted")
	}
}
