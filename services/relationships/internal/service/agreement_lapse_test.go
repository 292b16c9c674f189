package service_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/partnerhub/onboarding/pkg/contract"
	registrationv1 "github.com/partnerhub/onboarding/pkg/events/registration/v1"
	relv1 "github.com/partnerhub/onboarding/pkg/events/relationships/v1"
	"github.com/partnerhub/onboarding/services/relationships/internal/app"
)

func (e *env) enrollment(p partnerSpec, from, to, reason string, at time.Time) {
	e.t.Helper()
	e.publish(registrationv1.TypeEnrollmentStatusChanged, p.id, registrationv1.EnrollmentStatusChanged{
		PartnerID: p.id, EnrollmentID: "EN-" + p.id, Program: p.program, From: from, To: to, Reason: reason, At: at})
}

// TestALapsedAgreementHoldsTheGrant: the provider did not accept a new
// version of its agreement in time, and registration took its enrollment
// back to qualified (since round 44). Its grant over the reseller is held
// (access.suspended, side provider, the reason), it may send no request;
// its standing suspended and active again meanwhile does not give the
// access back while the agreement is not in force; the acceptance of the
// version (enrollment active) does.
func TestALapsedAgreementHoldsTheGrant(t *testing.T) {
	e, inst := setup(t)
	relID := authorised(t, e, inst)
	t0 := time.Now().UTC()
	e.enrollment(provider, "active", "qualified", "agreement_reacceptance_overdue", t0)
	for _, ev := range e.waitEvent(relv1.TypeAccessSuspended, relID) {
		if ev.Type != relv1.TypeAccessSuspended {
			continue
		}
		if err := contract.ValidateJSON(relv1.TypeAccessSuspended, ev.Raw); err != nil {
			t.Fatal(err)
		}
		if ev.Data["side"] != "provider" || ev.Data["reasons"].([]any)[0] != "agreement_reacceptance_overdue" {
			t.Fatalf("suspended %v", ev.Data)
		}
	}
	list := e.call(inst, "GET", "/v1/reseller/relationships", resellerAdmin, nil)
	// Since round 44 the view says since when and whose side holds it (never why).
	if g := list.body["relationships"].([]any)[0].(map[string]any)["grant"].(map[string]any); g["state"] != "suspended" ||
		g["suspended_by"] != "provider" || g["suspended_at"] == nil {
		t.Fatalf("grant while the provider's agreement lapsed: %v", g)
	}
	e.register(inst, reseller2, registrationv1.StatusActive)
	if r := e.call(inst, "POST", "/v1/relationship-requests", providerAdmin, map[string]any{"reseller_location_id": reseller2.location}); r.status != http.StatusConflict ||
		r.str("code") != app.CodeProviderNotActive {
		t.Fatalf("a request of the lapsed provider: %d %s", r.status, r.raw)
	}

	// A standing hold placed and lifted meanwhile: the agreement still holds it.
	e.standing(provider.id, "active", "suspended", t0.Add(time.Second), "compliance_hold")
	e.standing(provider.id, "suspended", "active", t0.Add(2*time.Second))
	time.Sleep(time.Second)
	if n := count(e.events(), relv1.TypeAccessReinstated, relID); n != 0 {
		t.Fatalf("the standing gave the access back while the agreement is not in force (%d reinstated)", n)
	}

	e.enrollment(provider, "qualified", "active", "agreement_accepted", t0.Add(3*time.Second))
	e.waitEvent(relv1.TypeAccessReinstated, relID)
	list = e.call(inst, "GET", "/v1/reseller/relationships", resellerAdmin, nil)
	if g := list.body["relationships"].([]any)[0].(map[string]any)["grant"].(map[string]any); g["state"] != "active" ||
		g["suspended_by"] != nil || g["suspended_at"] != nil {
		t.Fatalf("grant after the acceptance: %v", g)
	}
	if n := count(e.events(), relv1.TypeAccessSuspended, relID); n != 1 {
		t.Fatalf("%d suspensions, want 1", n)
	}
}
