package service_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/partnerhub/onboarding/pkg/contract"
	agreementsv1 "github.com/partnerhub/onboarding/pkg/events/agreements/v1"
	registrationv1 "github.com/partnerhub/onboarding/pkg/events/registration/v1"
	verificationv1 "github.com/partnerhub/onboarding/pkg/events/verification/v1"
)

// TestAcceptanceBeforeTheApprovalArrivesIsNotRefused: the client followed
// registration's "qualified" but this service's approval consumer is
// behind: the acceptance is kept (202) and recorded, with the time it was
// made, when the approval arrives — registration then activates the
// enrollment on acceptance.recorded as usual. An acceptance for a partner
// rejected meanwhile is refused by event.
func TestAcceptanceBeforeTheApprovalArrivesIsNotRefused(t *testing.T) {
	h := start(t)
	pid, rejected := newPartnerID(), newPartnerID()
	for _, p := range []string{pid, rejected} {
		h.register(p, "partner_network", "indirect_reseller")
		h.waitEvents("AGREEMENTS", agreementsv1.TypeAcceptanceRecorded, p, 1)
	}
	body := map[string]any{"version_id": reseller, "market": "JP"}
	r := h.call("POST", acceptPath(pid), h.token(adminOf(pid)), body)
	pending, _ := r.Body["pending_acceptance"].(map[string]any)
	if r.Status != 202 || pending["status"] != "pending" {
		t.Fatalf("accept before the approval reached agreements: %d %v", r.Status, r.Body)
	}
	made, _ := time.Parse(time.RFC3339Nano, pending["requested_at"].(string))
	h.approve(pid, "DEC-LATE")
	rec := h.waitEvents("AGREEMENTS", agreementsv1.TypeAcceptanceRecorded, pid, 2)
	var got agreementsv1.AcceptanceRecorded
	if err := json.Unmarshal(rec[1].Data, &got); err != nil {
		t.Fatal(err)
	}
	if got.Program != "indirect_reseller" || got.VerificationDecisionID != "DEC-LATE" || !got.AcceptedAt.Equal(made) {
		t.Fatalf("recorded %+v (made at %s)", got, made)
	}
	list := h.call("GET", "/v1/partners/"+pid+"/agreements", h.token(adminOf(pid)), nil)
	items := list.Body["pending_acceptances"].([]any)
	if len(items) != 1 || items[0].(map[string]any)["status"] != "recorded" || items[0].(map[string]any)["acceptance_id"] != got.AcceptanceID {
		t.Fatalf("pending acceptances %v", list.Body)
	}

	if r := h.call("POST", acceptPath(rejected), h.token(adminOf(rejected)), body); r.Status != 202 {
		t.Fatalf("accept: %d %v", r.Status, r.Body)
	}
	h.publish(verificationv1.TypeVerificationRejected, rejected, "/services/verification", verificationv1.VerificationRejected{
		CaseID: "CASE-" + rejected, PartnerID: rejected, LocationID: locationOf(rejected), Market: "JP", DecisionID: "DEC-REJ",
		FailingCheck: "company", SubStatus: "company_check_failed", Reason: "company_not_found", Mode: "FINAL", RejectedAt: time.Now().UTC()})
	ref := h.waitEvents("AGREEMENTS", agreementsv1.TypeAcceptanceRefused, rejected, 1)
	if err := contract.ValidateJSON(agreementsv1.TypeAcceptanceRefused, ref[0].Data); err != nil {
		t.Fatal(err)
	}
	var refused agreementsv1.AcceptanceRefused
	json.Unmarshal(ref[0].Data, &refused)
	if refused.Code != "agreements.verification_not_approved" || refused.Program != "indirect_reseller" {
		t.Fatalf("refused %+v", refused)
	}
}

// TestStandingChangesSuspendAndReinstateAcceptances: registration's
// standing change suspends the reseller acceptance (the record stays) and
// refuses new acceptances with a precise code; back to active, it is
// reinstated.
func TestStandingChangesSuspendAndReinstateAcceptances(t *testing.T) {
	h := start(t)
	pid := h.approvedReseller()
	body := map[string]any{"version_id": reseller, "market": "JP"}
	if r := h.call("POST", acceptPath(pid), h.token(adminOf(pid)), body); r.Status != 201 {
		t.Fatalf("accept: %d %v", r.Status, r.Body)
	}
	standing := func(from, to string, at time.Time, reasons ...string) {
		h.publish(registrationv1.TypePartnerStandingChanged, pid, "/services/registration", registrationv1.PartnerStandingChanged{
			PartnerID: pid, From: from, To: to, Reasons: reasons, Added: reasons, Lifted: []string{}, ChangedBy: "ops-1", ChangedAt: at})
	}
	now := time.Now().UTC()
	standing("active", "suspended", now, "compliance_hold")
	sus := h.waitEvents("AGREEMENTS", agreementsv1.TypeAcceptanceSuspended, pid, 1)
	if err := contract.ValidateJSON(agreementsv1.TypeAcceptanceSuspended, sus[0].Data); err != nil {
		t.Fatal(err)
	}
	var s agreementsv1.AcceptanceSuspended
	json.Unmarshal(sus[0].Data, &s)
	if s.Outcome != "suspended" || len(s.Reasons) != 1 || s.Reasons[0] != "compliance_hold" {
		t.Fatalf("suspended %+v", s)
	}
	r := h.call("GET", "/v1/partners/"+pid+"/agreements/status?market=JP", h.token(adminOf(pid)), nil)
	if r.Status != 409 || r.code() != "agreements.partner_not_in_good_standing" || r.Body["standing"] != "suspended" {
		t.Fatalf("status while suspended: %d %v", r.Status, r.Body)
	}
	standing("suspended", "active", now.Add(time.Second))
	h.waitEvents("AGREEMENTS", agreementsv1.TypeAcceptanceReinstated, pid, 1)
	if r := h.call("GET", "/v1/partners/"+pid+"/agreements/status?market=JP", h.token(adminOf(pid)), nil); r.Status != 200 {
		t.Fatalf("status after reinstatement: %d %v", r.Status, r.Body)
	}
}
