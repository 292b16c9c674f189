package service_test

import (
	"testing"

	"github.com/partnerhub/onboarding/pkg/auth"
)

// TestAnUpstreamSystemActsOnlyForThePartnersItRegistered: another upstream
// system reads nothing of a partner it did not register and changes
// nothing — before, it could request a profile change to a contact e-mail
// it owns (the challenge was mailed to it) and suspend the partner with a
// noncompliant security report. It is answered as for an unknown partner.
func TestAnUpstreamSystemActsOnlyForThePartnersItRegistered(t *testing.T) {
	e := start(t)
	pid, _ := e.approvedNetworkMember(t)

	other := e.token(t, auth.Principal{Subject: "other-portal", Kind: auth.KindService, Roles: []auth.Role{auth.RoleUpstreamSystem}})
	contact := map[string]any{"contact": map[string]any{"first_name": "悪", "last_name": "者", "email": "someone@attacker.example", "phone": "090-1111-2222"}}
	noncompliant := map[string]any{"status": "noncompliant", "mfa_enforced_users_percent": 0, "mfa_requests_percent": 0}
	for _, c := range []struct {
		method, path string
		body         any
	}{
		{"GET", "/v1/registrations/" + pid, nil},
		{"GET", "/v1/partners/" + pid, nil},
		{"GET", "/v1/partners/" + pid + "/profile", nil},
		{"GET", "/v1/partners/" + pid + "/security-requirements", nil},
		{"GET", "/v1/partners/" + pid + "/enrollments/partner_network/requirements", nil},
		{"POST", "/v1/partners/" + pid + "/profile-changes", contact},
		{"PUT", "/v1/partners/" + pid + "/security-requirements", noncompliant},
		{"PUT", "/v1/partners/" + pid + "/market", map[string]any{"market": "JP"}},
	} {
		var body []byte
		ct := ""
		if c.body != nil {
			body, ct = mustJSON(t, c.body), "application/json"
		}
		if r := e.do(t, c.method, c.path, other, ct, body); r.Status != 404 || problemCode(t, r) != "registration.partner_not_found" {
			t.Errorf("another upstream system, %s %s: %d %s", c.method, c.path, r.Status, r.Body)
		}
	}
	if r := e.do(t, "GET", "/v1/partners/"+pid+"/profile", e.token(t, upstream), "", nil); r.Status != 200 {
		t.Fatalf("the registrant reads the profile: %d %s", r.Status, r.Body)
	} else if p := r.json(t); p["change"] != nil {
		t.Fatalf("a change was recorded: %s", r.Body)
	}
	if r := e.do(t, "GET", "/v1/partners/"+pid, e.token(t, upstream), "", nil); r.Status != 200 || r.json(t)["status"] != "active" {
		t.Fatalf("the partner after the refusals: %d %s", r.Status, r.Body)
	}
	// The upstream system that registered the partner still acts for it.
	if r := e.do(t, "PUT", "/v1/partners/"+pid+"/security-requirements", e.token(t, upstream), "application/json",
		mustJSON(t, map[string]any{"status": "compliant", "mfa_enforced_users_percent": 100, "mfa_requests_percent": 100})); r.Status != 200 {
		t.Fatalf("the registrant's security report: %d %s", r.Status, r.Body)
	}
}
