package service_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/partnerhub/onboarding/pkg/auth"
)

func hash(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

func doc(check, typ, issued, sha string) map[string]any {
	return map[string]any{"check": check, "type": typ, "issued_on": issued, "sha256": sha, "size_bytes": 240_000,
		"media_type": "application/pdf", "storage_uri": "s3://partnerhub-docs/" + sha[:8] + ".pdf"}
}

// TestDocumentRulesAndTheAppealLimit: with one appeal per check, documents
// of the wrong type or too old are refused, a resent file is a no-op, a
// document request beyond the limit is refused, a rejected file cannot come
// back, and the last RETRY rejection closes the case.
func TestDocumentRulesAndTheAppealLimit(t *testing.T) {
	e := newEnv(t)
	cfg := e.config()
	cfg.AppealLimit = 1
	svc := e.start(cfg)
	const partner = "PG-HHHH-8888-008"
	companyTask := e.openCase(partner, "taro@mail.other.jp") // not the website's domain: employment needs documents
	portalTok, vA, admin := e.token(portal), e.token(verifierA), e.token(partnerAdmin(partner))
	docs := "/v1/verification/partners/" + partner + "/documents"
	recent := time.Now().AddDate(0, 0, -30).Format(time.DateOnly)
	post := func(body map[string]any, want int, code string) map[string]any {
		t.Helper()
		status, out := svc.call(t, "POST", docs, portalTok, body)
		if status != want || (code != "" && out["code"] != code) {
			t.Fatalf("document %v: %d %v, want %d %s", body["type"], status, out, want, code)
		}
		return out
	}
	activeTask := func(check string) string {
		t.Helper()
		status, out := svc.call(t, "GET", "/v1/verification/tasks?check="+check, vA, nil)
		tasks, _ := out["tasks"].([]any)
		if status != http.StatusOK || len(tasks) != 1 {
			t.Fatalf("tasks of %s: %d %v", check, status, out)
		}
		return tasks[0].(map[string]any)["task"].(map[string]any)["id"].(string)
	}
	decide := func(task string, body map[string]any, want int, code string) {
		t.Helper()
		if status, out := svc.call(t, "POST", "/v1/verification/tasks/"+task+"/claim", vA, nil); status != http.StatusOK {
			t.Fatalf("claim %s: %d %v", task, status, out)
		}
		status, out := svc.call(t, "POST", "/v1/verification/tasks/"+task+"/decisions", vA, body)
		if status != want || (code != "" && out["code"] != code) {
			t.Fatalf("decision %v: %d %v, want %d %s", body, status, out, want, code)
		}
	}

	status, req := svc.call(t, "GET", "/v1/verification/partners/"+partner+"/requirements", admin, nil)
	due, _ := req["due"].([]any)
	if status != http.StatusOK || len(due) == 0 {
		t.Fatalf("requirements: %d %v", status, req)
	}
	var employment map[string]any
	for _, d := range due {
		if d.(map[string]any)["check"] == "employment" {
			employment = d.(map[string]any)
		}
	}
	// Two documents, or the domain proof by DNS or HTTPS.
	if employment == nil || employment["appeals_remaining"] != float64(1) || len(employment["accepted_ways"].([]any)) != 4 {
		t.Fatalf("employment requirement: %v", employment)
	}

	post(doc("employment", "company_register_certificate", recent, hash("wrong")), http.StatusUnprocessableEntity, "verification.document_type_not_accepted")
	// A reason code outside the catalog is refused at the request's own
	// field (it was named "reason", a field the request does not have).
	decide(companyTask, map[string]any{"decision_id": "dec-0", "outcome": "request_documents", "reason_code": "COMPANY_NAME_MISMATCH"},
		http.StatusUnprocessableEntity, "verification.invalid_decision")
	for body, want := range map[string]string{
		`{"decision_id":"dec-0","outcome":"request_documents","reason_code":"COMPANY_NAME_MISMATCH"}`: "decision.reason_unknown",
		`{"decision_id":"dec-0","outcome":"approve","reason_code":"company_name_mismatch"}`:           "decision.reason_not_allowed",
	} {
		var in map[string]any
		_ = json.Unmarshal([]byte(body), &in)
		_, out := svc.call(t, "POST", "/v1/verification/tasks/"+companyTask+"/decisions", vA, in)
		errs, _ := out["errors"].([]any)
		if len(errs) != 1 || errs[0].(map[string]any)["field"] != "reason_code" || errs[0].(map[string]any)["code"] != want {
			t.Fatalf("decision %s: %v, want %s at reason_code", body, out, want)
		}
	}
	decide(companyTask, map[string]any{"decision_id": "dec-1", "outcome": "request_documents", "reason_code": "company_name_mismatch"}, http.StatusCreated, "")
	post(doc("company", "company_register_certificate", time.Now().AddDate(-2, 0, 0).Format(time.DateOnly), hash("old")),
		http.StatusUnprocessableEntity, "verification.document_too_old")
	if out := post(doc("company", "company_register_certificate", recent, hash("cert")), http.StatusCreated, ""); out["appeals_remaining"] != float64(0) {
		t.Fatalf("appeals remaining after the only appeal: %v", out)
	}
	if out := post(doc("company", "company_register_certificate", recent, hash("cert")), http.StatusOK, ""); out["replayed"] != true {
		t.Fatalf("resent file: %v", out)
	}
	round2 := activeTask("company")
	decide(round2, map[string]any{"decision_id": "dec-2", "outcome": "request_documents", "reason_code": "address_mismatch"},
		http.StatusConflict, "verification.appeals_exhausted")
	decide(round2, map[string]any{"decision_id": "dec-3", "outcome": "approve"}, http.StatusCreated, "")

	post(doc("employment", "domain_invoice", recent, hash("invoice")), http.StatusCreated, "")
	decide(activeTask("employment"), map[string]any{"decision_id": "dec-4", "outcome": "reject", "reason_code": "domain_not_owned",
		"mode": "RETRY", "applicant_message": "The invoice is addressed to another company."}, http.StatusCreated, "")
	rejected := e.waitEvent(tRejected, partner, 1)
	if rejected["failing_check"] != "employment" || rejected["decision_id"] != "dec-4" || rejected["sub_status"] != "employment_check_failed" {
		t.Fatalf("rejected %v", rejected)
	}
	post(doc("employment", "domain_invoice", recent, hash("invoice")), http.StatusConflict, "verification.document_previously_rejected")
	post(doc("employment", "domain_purchase_proof", recent, hash("another")), http.StatusConflict, "verification.case_closed")
	if n := len(e.events("com.partnerhub.verification.document.accepted.v1", partner)); n != 2 {
		t.Fatalf("%d documents accepted, want 2", n)
	}
}

// TestOnlyTheRegistrantSubmitsForItsPartner: an upstream system that did
// not register the partner (registration.application.submitted.v1's
// submitted_by) submits no documents, asks for no domain proof and reads
// neither the case nor the requirements: 404, as for an unknown partner.
// Before, any upstream system could cure another's applicant's check.
func TestOnlyTheRegistrantSubmitsForItsPartner(t *testing.T) {
	e := newEnv(t)
	svc := e.start(e.config())
	const partner = "PG-HHHH-9999-002"
	e.openCase(partner, "taro@mail.other.jp") // employment awaits documents or the domain proof
	other := e.token(auth.Principal{Kind: auth.KindService, Subject: "other-portal", Roles: []auth.Role{auth.RoleUpstreamSystem}})
	recent := time.Now().AddDate(0, 0, -30).Format(time.DateOnly)
	base := "/v1/verification/partners/" + partner
	for _, c := range []struct {
		method, path string
		body         map[string]any
	}{
		{"POST", base + "/documents", doc("employment", "domain_invoice", recent, hash("invoice"))},
		{"POST", base + "/domain-proofs", map[string]any{"method": "dns_txt"}},
		{"GET", base + "/case", nil},
		{"GET", base + "/requirements", nil},
	} {
		if status, out := svc.call(t, c.method, c.path, other, c.body); status != http.StatusNotFound {
			t.Errorf("another upstream system, %s %s: %d %v", c.method, c.path, status, out)
		}
	}
	if status, out := svc.call(t, "POST", base+"/documents", e.token(portal), doc("employment", "domain_invoice", recent, hash("invoice"))); status != http.StatusCreated {
		t.Fatalf("the registrant's document: %d %v", status, out)
	}
}
