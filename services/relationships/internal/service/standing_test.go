package service_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/partnerhub/onboarding/pkg/auth"
	"github.com/partnerhub/onboarding/pkg/contract"
	registrationv1 "github.com/partnerhub/onboarding/pkg/events/registration/v1"
	relv1 "github.com/partnerhub/onboarding/pkg/events/relationships/v1"
	"github.com/partnerhub/onboarding/pkg/testkit"
	"github.com/partnerhub/onboarding/services/relationships/internal/app"
)

func (e *env) standing(id, from, to string, at time.Time, reasons ...string) {
	e.t.Helper()
	if reasons == nil {
		reasons = []string{}
	}
	e.publish(registrationv1.TypePartnerStandingChanged, id, registrationv1.PartnerStandingChanged{PartnerID: id, From: from, To: to,
		Reasons: reasons, Added: reasons, Lifted: []string{}, ChangedBy: "ops-1", Note: "sanctions screening hit", ChangedAt: at})
}

// authorised has the provider invite the reseller and the reseller authorise.
func authorised(t *testing.T, e *env, inst *instance) string {
	t.Helper()
	relID, token := createRequest(t, e, inst, map[string]any{"reseller_location_id": reseller.location})
	if r := e.call(inst, "POST", "/v1/invitation/authorise", resellerAdmin, map[string]any{"token": token, "consent": true}); r.status != http.StatusOK {
		t.Fatalf("authorise: %d %s", r.status, r.raw)
	}
	return relID
}

// TestSuspensionSuspendsGrantsAndRefusesRequests: a reseller suspended by
// registration (its verification revoked) keeps its relationship but the
// grant gives no access, nobody may invite it and it may authorise nothing —
// each with a precise 409; reinstated, the same grant gives access again.
func TestSuspensionSuspendsGrantsAndRefusesRequests(t *testing.T) {
	e, inst := setup(t)
	provider2 := partnerSpec{id: "PG-PR0V-2000-000", location: "PL-PR0V-2000-000", market: "JP", name: "Second Distribution K.K.", program: registrationv1.ProgramIndirectProvider}
	e.register(inst, provider2, registrationv1.StatusActive)
	relID := authorised(t, e, inst)
	// An invitation from a second provider, open when the reseller is suspended.
	p2admin := user("prov2-admin", provider2.id, auth.RoleProviderAdmin)
	r := e.call(inst, "POST", "/v1/relationship-requests", p2admin, map[string]any{"reseller_location_id": reseller.location})
	if r.status != http.StatusCreated {
		t.Fatalf("invite: %d %s", r.status, r.raw)
	}
	openToken := tokenOf(t, r.str("invitation_url"))

	t0 := time.Now().UTC()
	e.standing(reseller.id, "active", "suspended", t0, "verification_revoked")
	evs := e.waitEvent(relv1.TypeAccessSuspended, relID)
	for _, ev := range evs {
		if ev.Type == relv1.TypeAccessSuspended {
			if err := contract.ValidateJSON(relv1.TypeAccessSuspended, ev.Raw); err != nil {
				t.Fatal(err)
			}
			if ev.Data["side"] != "reseller" || ev.Data["reasons"].([]any)[0] != "verification_revoked" {
				t.Fatalf("suspended %v", ev.Data)
			}
		}
	}
	// Both sides see the grant suspended.
	list := e.call(inst, "GET", "/v1/provider/relationships", providerAdmin, nil)
	if g := list.body["relationships"].([]any)[0].(map[string]any)["grant"].(map[string]any); g["state"] != "suspended" {
		t.Fatalf("grant while suspended: %v", g)
	}
	r = e.call(inst, "POST", "/v1/invitation/authorise", resellerAdmin, map[string]any{"token": openToken, "consent": true})
	if r.status != http.StatusConflict || r.str("code") != app.CodeResellerNotInGoodStanding || r.str("standing") != "suspended" {
		t.Fatalf("authorise while suspended: %d %s", r.status, r.raw)
	}
	provider3 := partnerSpec{id: "PG-PR0V-3000-00Z", location: "PL-PR0V-3000-00Z", market: "JP", name: "Third Distribution K.K.", program: registrationv1.ProgramIndirectProvider}
	e.register(inst, provider3, registrationv1.StatusActive)
	// provider3's registration and the reseller's suspension are events of
	// two partners: no order between them, so wait until provider3 is known.
	testkit.Eventually(t, 10*time.Second, func() error {
		r = e.call(inst, "POST", "/v1/relationship-requests", user("prov3-admin", provider3.id, auth.RoleProviderAdmin),
			map[string]any{"reseller_location_id": reseller.location})
		if r.status == http.StatusCreated {
			t.Fatalf("a suspended reseller was invited: %s", r.raw)
		}
		if r.status != http.StatusConflict || r.str("code") != app.CodeResellerNotInGoodStanding {
			return fmt.Errorf("invite a suspended reseller: %d %s", r.status, r.raw)
		}
		return nil
	})
	// A suspended provider may not invite either.
	e.standing(provider3.id, "active", "suspended", t0, "compliance_hold")
	e.register(inst, reseller2, registrationv1.StatusActive)
	testkit.Eventually(t, 10*time.Second, func() error {
		r = e.call(inst, "POST", "/v1/relationship-requests", user("prov3-admin", provider3.id, auth.RoleProviderAdmin),
			map[string]any{"reseller_location_id": reseller2.location})
		if r.status == http.StatusCreated {
			t.Fatalf("a suspended provider invited: %s", r.raw)
		}
		if r.str("code") != app.CodeProviderNotInGoodStanding {
			return fmt.Errorf("%d %s", r.status, r.raw)
		}
		return nil
	})

	e.standing(reseller.id, "suspended", "active", t0.Add(time.Second))
	for _, ev := range e.waitEvent(relv1.TypeAccessReinstated, relID) {
		if ev.Type == relv1.TypeAccessReinstated && ev.Data["side"] != "reseller" {
			t.Fatalf("reinstated %v: the side whose standing suspended it is not named (it went through the stored grant)", ev.Data)
		}
	}
	if r := e.call(inst, "POST", "/v1/invitation/authorise", resellerAdmin, map[string]any{"token": openToken, "consent": true}); r.status != http.StatusOK {
		t.Fatalf("authorise after reinstatement: %d %s", r.status, r.raw)
	}
}

// TestClosureEndsRelationshipsOnBothSides: a provider whose account is
// closed has every relationship ended (grant terminated), which both parties
// read from relationship.ended; a closed reseller's open invitation is
// withdrawn.
func TestClosureEndsRelationshipsOnBothSides(t *testing.T) {
	e, inst := setup(t)
	relID := authorised(t, e, inst)
	e.register(inst, reseller2, registrationv1.StatusActive)
	pending, token := createRequest(t, e, inst, map[string]any{"reseller_location_id": reseller2.location})
	e.standing(provider.id, "active", "closed", time.Now().UTC(), "closed_by_operator")
	evs := e.waitEvent(relv1.TypeRelationshipEnded, relID)
	e.waitEvent(relv1.TypeRelationshipEnded, pending)
	for _, ev := range evs {
		if ev.Type == relv1.TypeRelationshipEnded && ev.Data["relationship_id"] == relID {
			if ev.Data["ended_by"] != "provider" || ev.Data["provider_id"] != provider.id || ev.Data["reseller_id"] != reseller.id {
				t.Fatalf("ended %v", ev.Data)
			}
			// Both sides read the reason: the closure's record (its reason
			// code, the operator's note) is not theirs (since round 47).
			if ev.Data["reason"] != "the provider's partner account was closed" {
				t.Fatalf("the end reason both sides read: %q", ev.Data["reason"])
			}
		}
	}
	if count(e.events(), relv1.TypeAccessTerminated, relID) != 1 {
		t.Fatal("the grant is terminated")
	}
	if r := e.call(inst, "POST", "/v1/invitation/authorise", user("r2", reseller2.id, auth.RolePartnerAdmin), map[string]any{"token": token, "consent": true}); r.status != http.StatusConflict {
		t.Fatalf("authorising a closed provider's invitation: %d %s", r.status, r.raw)
	}
	list := e.call(inst, "GET", "/v1/reseller/relationships?include_closed=true", resellerAdmin, nil)
	if rel := list.body["relationships"].([]any)[0].(map[string]any); rel["state"] != "ended" {
		t.Fatalf("the reseller sees %v", rel)
	}
	if r := e.call(inst, "POST", "/v1/relationships/"+relID+"/end", resellerAdmin, map[string]any{"reason": "終了します"}); r.status != http.StatusOK ||
		r.str("reason") != "the provider's partner account was closed" {
		t.Fatalf("the reseller ends it again: %d %s", r.status, r.raw)
	}
}

// TestPrivilegedActionsNeedMFA: asking for, authorising and widening
// delegated administration need a multi-factor sign-in.
func TestPrivilegedActionsNeedMFA(t *testing.T) {
	e, inst := setup(t)
	noMFA := func(p *auth.Principal) *auth.Principal { q := *p; q.AMR = []string{"pwd"}; return &q }
	r := e.call(inst, "POST", "/v1/relationship-requests", noMFA(providerAdmin), map[string]any{"reseller_location_id": reseller.location})
	if r.status != http.StatusForbidden || r.str("code") != auth.CodeMFARequired {
		t.Fatalf("invite without MFA: %d %s", r.status, r.raw)
	}
	_, token := createRequest(t, e, inst, map[string]any{"reseller_location_id": reseller.location})
	r = e.call(inst, "POST", "/v1/invitation/authorise", noMFA(resellerAdmin), map[string]any{"token": token, "consent": true})
	if r.status != http.StatusForbidden || r.str("code") != auth.CodeMFARequired {
		t.Fatalf("authorise without MFA: %d %s", r.status, r.raw)
	}
}
