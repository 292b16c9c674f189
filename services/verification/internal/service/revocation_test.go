package service_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/partnerhub/onboarding/pkg/auth"
	"github.com/partnerhub/onboarding/pkg/ce"
	"github.com/partnerhub/onboarding/pkg/contract"
	"github.com/partnerhub/onboarding/pkg/events"
	emailv1 "github.com/partnerhub/onboarding/pkg/events/email/v1"
	verificationv1 "github.com/partnerhub/onboarding/pkg/events/verification/v1"
	"github.com/partnerhub/onboarding/pkg/testkit"
)

// TestRevokeAnApprovedCaseThroughTheAPI: a case approved through the API is
// revoked by a second reviewer; the route refuses every other role, the
// approving verifier (four eyes) and bad bodies; case.revoked is published
// once on VERIFICATION with the request's correlation and the reviewer as
// actor (and audited); the case view shows the case revoked.
func TestRevokeAnApprovedCaseThroughTheAPI(t *testing.T) {
	e := newEnv(t)
	svc := e.start(e.config())
	const partner, pendingPartner = "PG-RVKE-1111-00W", "PG-RVKE-2222-00P"
	taskID := e.openCase(partner, "")
	e.publish(emailv1.TypeOwnershipConfirmed, partner, confirmed(partner), nil)
	vA, vB := e.token(verifierA), e.token(verifierB)
	if status, body := svc.call(t, "POST", "/v1/verification/tasks/"+taskID+"/claim", vA, nil); status != http.StatusOK {
		t.Fatalf("claim: %d %v", status, body)
	}
	if status, body := svc.call(t, "POST", "/v1/verification/tasks/"+taskID+"/decisions", vA,
		map[string]any{"decision_id": "dec-approve", "outcome": "approve"}); status != http.StatusCreated {
		t.Fatalf("decide: %d %v", status, body)
	}
	caseID := e.waitEvent(tApproved, partner, 1)["case_id"].(string)
	e.openCase(pendingPartner, "")
	pendingCaseID := e.waitEvent(tOpened, pendingPartner, 1)["case_id"].(string)

	path := "/v1/verification/cases/" + caseID + "/revocations"
	body := map[string]any{"decision_id": "rev-1", "reason": "the register extract was forged"}
	ownVerifier := e.token(auth.Principal{Kind: auth.KindUser, Subject: "reviewer-own", PartnerID: partner, Roles: []auth.Role{auth.RoleVerifier}})
	operator := e.token(auth.Principal{Kind: auth.KindUser, Subject: "ops-1", Roles: []auth.Role{auth.RoleOperator}})
	refused := []struct {
		name, path, token string
		body              any
		want              int
		code              string
	}{
		{"no token", path, "", body, http.StatusUnauthorized, ""},
		{"partner admin", path, e.token(partnerAdmin(partner)), body, http.StatusForbidden, "auth.role_required"},
		{"upstream system", path, e.token(portal), body, http.StatusForbidden, "auth.role_required"},
		{"verifier of the partner itself", path, ownVerifier, body, http.StatusForbidden, "verification.own_partner"},
		{"the approving verifier", path, vA, body, http.StatusConflict, "verification.four_eyes_required"},
		{"unknown field", path, vB, map[string]any{"decision_id": "rev-1", "reason": "x", "note": "y"}, http.StatusBadRequest, "request.unknown_field"},
		{"unknown case", "/v1/verification/cases/vc-nope/revocations", vB, body, http.StatusNotFound, "verification.case_not_found"},
		{"case not approved", "/v1/verification/cases/" + pendingCaseID + "/revocations", operator, body, http.StatusConflict, "verification.case_not_approved"},
	}
	for _, c := range refused {
		t.Run(c.name, func(t *testing.T) {
			got, b := svc.call(t, "POST", c.path, c.token, c.body)
			if got != c.want || (c.code != "" && b["code"] != c.code) {
				t.Fatalf("status %d, want %d %s: %v", got, c.want, c.code, b)
			}
		})
	}
	t.Run("per-field problems", func(t *testing.T) {
		for in, want := range map[string][]string{
			`{}`: {"decision_id:field.required", "reason:field.required"},
			`{"decision_id":"` + strings.Repeat("d", 129) + `","reason":"` + strings.Repeat("r", 2001) + `"}`: {"decision_id:decision.id_too_long", "reason:too_long"},
		} {
			var raw map[string]any
			_ = json.Unmarshal([]byte(in), &raw)
			status, b := svc.call(t, "POST", path, vB, raw)
			if status != http.StatusUnprocessableEntity || b["code"] != "verification.invalid_revocation" {
				t.Fatalf("%.40s: %d %v", in, status, b)
			}
			var got []string
			for _, f := range b["errors"].([]any) {
				fe := f.(map[string]any)
				got = append(got, fe["field"].(string)+":"+fe["code"].(string))
			}
			if strings.Join(got, ",") != strings.Join(want, ",") {
				t.Fatalf("fields %v, want %v", got, want)
			}
		}
	})
	if n := len(e.events(verificationv1.TypeVerificationRevoked, partner)); n != 0 {
		t.Fatalf("refused revocations published %d events", n)
	}

	// The second reviewer revokes; the request id becomes the correlation id.
	status, view := do(t, svc, "POST", path, vB, body, map[string]string{"X-Request-Id": "req-revoke-1"})
	if status != http.StatusCreated || view["status"] != "revoked" || view["sub_status"] != "approval_revoked" {
		t.Fatalf("revoke: %d %v", status, view)
	}
	if rv := view["revocation"].(map[string]any); rv["decision_id"] != "rev-1" || rv["revoked_approval_id"] != "dec-approve" ||
		rv["revoked_by"] != "reviewer-b" || rv["reason"] != body["reason"] {
		t.Fatalf("revocation %v", rv)
	}
	if status, again := svc.call(t, "POST", path, vB, body); status != http.StatusOK || again["status"] != "revoked" {
		t.Fatalf("resent revocation: %d %v", status, again)
	}
	if status, b := svc.call(t, "POST", path, operator, map[string]any{"decision_id": "rev-2", "reason": "again"}); status != http.StatusConflict ||
		b["code"] != "verification.case_already_revoked" {
		t.Fatalf("second revocation: %d %v", status, b)
	}

	ev := e.waitEvent(verificationv1.TypeVerificationRevoked, partner, 1)
	if ev["case_id"] != caseID || ev["decision_id"] != "rev-1" || ev["revoked_approval_id"] != "dec-approve" ||
		ev["location_id"] != "PL-RVKE-1111-00W-01" || ev["market"] != "JP" || ev["reason"] != body["reason"] {
		t.Fatalf("revoked event %v", ev)
	}
	var msgs int
	for _, m := range e.msgs("VERIFICATION") {
		if m.Header.Get(ce.HType) != verificationv1.TypeVerificationRevoked {
			continue
		}
		msgs++
		contract.MustValidate(t, verificationv1.TypeVerificationRevoked, json.RawMessage(m.Data))
		if m.Subject != testkit.Subject(verificationv1.TypeVerificationRevoked, partner) || m.Header.Get(ce.HSubject) != partner ||
			m.Header.Get(ce.HCorrelationID) != "req-revoke-1" || m.Header.Get(ce.HAuthType) != "user" || m.Header.Get(ce.HAuthID) != "reviewer-b" {
			t.Fatalf("revoked event envelope: %s %v", m.Subject, m.Header)
		}
	}
	if msgs != 1 {
		t.Fatalf("%d case.revoked events, want exactly 1", msgs)
	}
	// The outbox audited who revoked, with the request id.
	var actor, actorKind, requestID string
	if err := svc.svc.Base.Pool.QueryRow(context.Background(), `SELECT actor_sub, actor_kind, request_id FROM audit_log
		WHERE event_type = $1 AND subject = $2`, verificationv1.TypeVerificationRevoked, partner).Scan(&actor, &actorKind, &requestID); err != nil ||
		actor != "reviewer-b" || actorKind != "user" || requestID != "req-revoke-1" {
		t.Fatalf("audit row: %q %q %q %v", actor, actorKind, requestID, err)
	}

	// The case view shows the revocation to staff and to the partner; its
	// reason, the reviewer's words for staff, and who revoked and decided
	// (verifiers' subjects) only to staff.
	for _, v := range []struct {
		name, token string
		reason      any
		by          string
	}{{"verifier", vB, body["reason"], "reviewer-b"}, {"operator", operator, body["reason"], "reviewer-b"},
		{"partner admin", e.token(partnerAdmin(partner)), nil, events.Redacted}} {
		status, c := svc.call(t, "GET", "/v1/verification/cases/"+caseID, v.token, nil)
		if status != http.StatusOK || c["status"] != "revoked" || c["revocation"].(map[string]any)["decision_id"] != "rev-1" {
			t.Fatalf("case view (%s): %d %v", v.name, status, c)
		}
		if got := c["revocation"].(map[string]any)["reason"]; got != v.reason {
			t.Fatalf("case view (%s): reason %v, want %v", v.name, got, v.reason)
		}
		if got := c["revocation"].(map[string]any)["revoked_by"]; got != v.by {
			t.Errorf("case view (%s): revoked by %v, want %v", v.name, got, v.by)
		}
		decisions, _ := c["decisions"].([]any)
		if len(decisions) == 0 {
			t.Fatalf("case view (%s): no decisions: %v", v.name, c)
		}
		for _, d := range decisions {
			if who := d.(map[string]any)["verifier"]; (v.by == events.Redacted) != (who == events.Redacted) || who == "" {
				t.Errorf("case view (%s): a decision by %v", v.name, who)
			}
		}
	}
}

// do is running.call with extra request headers.
func do(t *testing.T, r *running, method, path, token string, body any, headers map[string]string) (int, map[string]any) {
	t.Helper()
	b, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest(method, r.base+path, bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := r.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, out
}
