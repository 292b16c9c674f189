package service_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/partnerhub/onboarding/pkg/ce"
	"github.com/partnerhub/onboarding/pkg/contract"
	"github.com/partnerhub/onboarding/pkg/events"
	emailv1 "github.com/partnerhub/onboarding/pkg/events/email/v1"
	registrationv1 "github.com/partnerhub/onboarding/pkg/events/registration/v1"
	registrationv2 "github.com/partnerhub/onboarding/pkg/events/registration/v2"
	verificationv1 "github.com/partnerhub/onboarding/pkg/events/verification/v1"
	verificationv2 "github.com/partnerhub/onboarding/pkg/events/verification/v2"
	"github.com/partnerhub/onboarding/pkg/testkit"
	"github.com/partnerhub/onboarding/services/verification/internal/adapters/domainproof/domainprooftest"
)

// TestEmploymentPassesOnlyOnEvidence: a contact e-mail on a domain the
// register does not list for the company needs documents or a domain
// proof. The proof is looked up for real — a DNS server the applicant
// publishes a TXT record on, an HTTPS server serving the well-known file —
// and the check's state says which evidence passed it.
func TestEmploymentPassesOnlyOnEvidence(t *testing.T) {
	e := newEnv(t)
	dns, web := domainprooftest.StartDNS(t), domainprooftest.StartWeb(t)
	cfg := e.config()
	cfg.DNSServer, cfg.DomainProofClient = dns.Addr, web.Client
	svc := e.start(cfg)
	const viaDNS, viaWeb = "PG-PR00-F111-104", "PG-PR00-F222-20Y"
	e.openCase(viaDNS, "taro@shoji-group.jp")
	e.openCase(viaWeb, "hanako@shoji-web.jp")
	req := e.waitEvent(verificationv1.TypeDocumentsRequested, viaDNS, 1)
	if err := contract.ValidateJSON(verificationv1.TypeDocumentsRequested, mustMarshal(t, req)); err != nil {
		t.Fatal(err)
	}
	proof := req["domain_proof"].(map[string]any)
	if proof["domain"] != "shoji-group.jp" || proof["dns_txt_name"] != "_partnerhub-verification.shoji-group.jp" || req["reason"] != "email_domain_mismatch" {
		t.Fatalf("documents requested %v", req)
	}
	admin := e.token(partnerAdmin(viaDNS))
	status, body := svc.call(t, "POST", "/v1/verification/partners/"+viaDNS+"/domain-proofs", admin, map[string]any{"method": "dns_txt"})
	if status != http.StatusConflict || body["code"] != "verification.domain_proof_not_found" || body["looked_at"] != proof["dns_txt_name"] {
		t.Fatalf("before publishing: %d %v", status, body)
	}
	dns.SetTXT(proof["dns_txt_name"].(string), "v=spf1 -all", proof["dns_txt_value"].(string))
	status, body = svc.call(t, "POST", "/v1/verification/partners/"+viaDNS+"/domain-proofs", admin, map[string]any{"method": "dns_txt"})
	if status != http.StatusOK {
		t.Fatalf("prove: %d %v", status, body)
	}
	var emp map[string]any
	for _, ck := range body["checks"].([]any) {
		if ck.(map[string]any)["kind"] == "employment" {
			emp = ck.(map[string]any)
		}
	}
	if ev, _ := emp["evidence"].(map[string]any); emp["state"] != "passed" || ev["kind"] != "dns_txt" || ev["detail"] != proof["dns_txt_name"] {
		t.Fatalf("employment %v", emp)
	}
	sat := e.waitEvent(verificationv1.TypeDocumentsSatisfied, viaDNS, 1)
	if sat["check"] != "employment" || sat["by"] != "dns_txt" {
		t.Fatalf("documents satisfied %v", sat)
	}
	for _, ch := range e.events(verificationv1.TypeCheckStateChanged, viaDNS) {
		if ch["check"] == "employment" && ch["to"] == "passed" {
			if ev, _ := ch["evidence"].(map[string]any); ev["kind"] != "dns_txt" {
				t.Fatalf("the event says which evidence passed it: %v", ch)
			}
		}
	}

	req = e.waitEvent(verificationv1.TypeDocumentsRequested, viaWeb, 1)
	proof = req["domain_proof"].(map[string]any)
	web.Serve("shoji-web.jp", "/.well-known/partnerhub-verification.txt", proof["http_body"].(string)+"\n")
	status, body = svc.call(t, "POST", "/v1/verification/partners/"+viaWeb+"/domain-proofs", e.token(portal), map[string]any{"method": "http_well_known"})
	if status != http.StatusOK {
		t.Fatalf("prove over HTTPS: %d %v", status, body)
	}
	if sat := e.waitEvent(verificationv1.TypeDocumentsSatisfied, viaWeb, 1); sat["by"] != "http_well_known" {
		t.Fatalf("documents satisfied %v", sat)
	}
}

// TestReviewedAgainAfterRevocationAndReactivation: a revoked case is
// reviewed again on a reviewer's request and its approval is published
// again; registration's reactivation with a review re-opens an approved
// case.
func TestReviewedAgainAfterRevocationAndReactivation(t *testing.T) {
	e := newEnv(t)
	svc := e.start(e.config())
	const revoked, idle = "PG-AGA1-N111-10E", "PG-AGA1-N222-208"
	approve := func(taskID, decision string) {
		t.Helper()
		vA := e.token(verifierA)
		svc.call(t, "POST", "/v1/verification/tasks/"+taskID+"/claim", vA, nil)
		if status, body := svc.call(t, "POST", "/v1/verification/tasks/"+taskID+"/decisions", vA,
			map[string]any{"decision_id": decision, "outcome": "approve"}); status != http.StatusCreated {
			t.Fatalf("decide: %d %v", status, body)
		}
	}
	for _, p := range []string{revoked, idle} {
		task := e.openCase(p, "")
		e.publish(emailv1.TypeOwnershipConfirmed, p, confirmed(p), nil)
		approve(task, "approve-"+p)
	}
	caseID := e.waitEvent(tApproved, revoked, 1)["case_id"].(string)
	vB := e.token(verifierB)
	if status, body := svc.call(t, "POST", "/v1/verification/cases/"+caseID+"/revocations", vB,
		map[string]any{"decision_id": "rev-1", "reason": "the register extract was forged"}); status != http.StatusCreated {
		t.Fatalf("revoke: %d %v", status, body)
	}
	if status, body := svc.call(t, "POST", "/v1/verification/cases/"+caseID+"/reviews", e.token(partnerAdmin(revoked)),
		map[string]any{"note": "x"}); status != http.StatusForbidden {
		t.Fatalf("a partner re-opening its own review: %d %v", status, body)
	}
	status, body := svc.call(t, "POST", "/v1/verification/cases/"+caseID+"/reviews", vB, map[string]any{"note": "a new register certificate arrived"})
	if status != http.StatusCreated || body["status"] != "pending" {
		t.Fatalf("reopen: %d %v", status, body)
	}
	reopened := e.waitEvent(verificationv1.TypeCaseReopened, revoked, 1)
	if reopened["from"] != "revoked" || reopened["reason"] != "revocation" || reopened["reopened_by"] != "reviewer-b" {
		t.Fatalf("reopened %v", reopened)
	}
	approve(reopened["task_id"].(string), "approve-again")
	if again := e.waitEvent(tApproved, revoked, 2); again["decision_id"] != "approve-again" {
		t.Fatalf("approved again %v", again)
	}
	// Staff's own re-review of the approved case is a review, not a
	// reactivation (as it was published before round 45).
	if status, body := svc.call(t, "POST", "/v1/verification/cases/"+caseID+"/reviews", e.token(verifierB),
		map[string]any{"note": "periodic re-check"}); status != http.StatusCreated {
		t.Fatalf("re-review of an approved case: %d %v", status, body)
	}
	if r := e.waitEvent(verificationv1.TypeCaseReopened, revoked, 2); r["from"] != "approved" || r["reason"] != "review" {
		t.Fatalf("re-review of an approved case %v", r)
	}

	e.waitEvent(tApproved, idle, 1)
	e.publish(registrationv1.TypePartnerStandingChanged, idle, registrationv1.PartnerStandingChanged{PartnerID: idle, From: "inactive", To: "suspended",
		Reasons: []string{"reverification_required"}, Added: []string{"reverification_required"}, Lifted: []string{"inactivity"},
		ChangedBy: "admin-1", ChangedAt: time.Now().UTC()}, nil)
	if r := e.waitEvent(verificationv1.TypeCaseReopened, idle, 1); r["from"] != "approved" || r["reason"] != "reactivation" || r["reopened_by"] != "registration" {
		t.Fatalf("reopened for reactivation %v", r)
	}
}

func mustMarshal(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestAClosedPartnersReviewIsWithdrawn: a partner whose approval was
// revoked, its review re-opened, closes its account. Before round 45
// verification heard nothing of it: the review task stayed in the
// verifiers' queue (and a documents request in it stayed due and
// reminded). Now the case is withdrawn (verification.case.withdrawn.v1,
// valid against the contract, naming the cancelled task), the task cannot
// be claimed, and neither that case nor a closed partner's approved one is
// reviewed again or revoked (409 verification.partner_closed); the news
// again changes nothing.
func TestAClosedPartnersReviewIsWithdrawn(t *testing.T) {
	e := newEnv(t)
	svc := e.start(e.config())
	const reviewing, approved = "PG-CL05-E111-10K", "PG-CL05-E222-20B"
	vA, vB := e.token(verifierA), e.token(verifierB)
	for _, p := range []string{reviewing, approved} {
		task := e.openCase(p, "")
		e.publish(emailv1.TypeOwnershipConfirmed, p, confirmed(p), nil)
		svc.call(t, "POST", "/v1/verification/tasks/"+task+"/claim", vA, nil)
		if status, body := svc.call(t, "POST", "/v1/verification/tasks/"+task+"/decisions", vA,
			map[string]any{"decision_id": "approve-" + p, "outcome": "approve"}); status != http.StatusCreated {
			t.Fatalf("decide: %d %v", status, body)
		}
	}
	caseID := e.waitEvent(tApproved, reviewing, 1)["case_id"].(string)
	if status, body := svc.call(t, "POST", "/v1/verification/cases/"+caseID+"/revocations", vB,
		map[string]any{"decision_id": "rev-1", "reason": "the register extract was forged"}); status != http.StatusCreated {
		t.Fatalf("revoke: %d %v", status, body)
	}
	if status, body := svc.call(t, "POST", "/v1/verification/cases/"+caseID+"/reviews", vB, map[string]any{"note": "a new certificate"}); status != http.StatusCreated {
		t.Fatalf("reopen: %d %v", status, body)
	}
	task := e.waitEvent(verificationv1.TypeCaseReopened, reviewing, 1)["task_id"].(string)

	closure := func(p, from string) registrationv1.PartnerStandingChanged {
		return registrationv1.PartnerStandingChanged{PartnerID: p, From: from, To: "closed", Reasons: []string{"closed_by_partner"},
			Added: []string{"closed_by_partner"}, ChangedBy: "admin-1", ChangedAt: time.Now().UTC()}
	}
	e.publish(registrationv1.TypePartnerStandingChanged, reviewing, closure(reviewing, "suspended"), nil)
	w := e.waitEvent(verificationv1.TypeCaseWithdrawn, reviewing, 1)
	if err := contract.ValidateJSON(verificationv1.TypeCaseWithdrawn, mustMarshal(t, w)); err != nil {
		t.Fatal(err)
	}
	if tc, _ := w["tasks_cancelled"].([]any); w["from"] != "pending" || w["to"] != "withdrawn" || w["reason"] != "partner_closed" ||
		len(tc) != 1 || tc[0] != task || w["case_id"] != caseID {
		t.Fatalf("withdrawn %v", w)
	}
	status, body := svc.call(t, "GET", "/v1/verification/cases/"+caseID, vB, nil)
	if status != http.StatusOK || body["status"] != "withdrawn" || body["sub_status"] != "partner_closed" || body["partner_closed_at"] == nil {
		t.Fatalf("case: %d %v", status, body)
	}
	if status, body := svc.call(t, "POST", "/v1/verification/tasks/"+task+"/claim", vA, nil); status != http.StatusConflict {
		t.Fatalf("claiming the withdrawn review's task: %d %v", status, body)
	}
	if status, body := svc.call(t, "POST", "/v1/verification/cases/"+caseID+"/reviews", vB, map[string]any{"note": "again"}); status != http.StatusConflict ||
		body["code"] != "verification.partner_closed" {
		t.Fatalf("reviewing a closed partner's case again: %d %v", status, body)
	}

	e.publish(registrationv1.TypePartnerStandingChanged, approved, closure(approved, "active"), nil)
	other := e.waitEvent(tApproved, approved, 1)["case_id"].(string)
	testkit.Eventually(t, 10*time.Second, func() error { // the closure applied (a revocation before it is one, and replays as one)
		if status, body := svc.call(t, "GET", "/v1/verification/cases/"+other, vB, nil); status != http.StatusOK || body["partner_closed_at"] == nil {
			return fmt.Errorf("the approved partner's case: %d %v", status, body)
		}
		return nil
	})
	if status, body := svc.call(t, "POST", "/v1/verification/cases/"+other+"/revocations", vB, map[string]any{"decision_id": "rev-2", "reason": "closed"}); status != http.StatusConflict ||
		body["code"] != "verification.partner_closed" {
		t.Fatalf("revoking a closed partner's approval: %d %v", status, body)
	}
	e.publish(registrationv1.TypePartnerStandingChanged, reviewing, closure(reviewing, "suspended"), nil) // the news again
	time.Sleep(300 * time.Millisecond)
	if n := len(e.events(verificationv1.TypeCaseWithdrawn, reviewing)); n != 1 {
		t.Fatalf("withdrawn events: %d, want 1", n)
	}
	if n := len(e.events(verificationv1.TypeCaseWithdrawn, approved)); n != 0 {
		t.Fatalf("a case with nothing under way published %d withdrawn events", n)
	}
}

// TestAnEarlierAccountIsNamedToTheReviewers: a company registering again
// after its account was closed (or its registration rejected) is a new
// partner; since round 46 registration names the earlier account in the
// submission, and the review task (its event, valid against the contract,
// and the queue) and the case show it to staff — never to the partner's
// side, which reads the case without it.
func TestAnEarlierAccountIsNamedToTheReviewers(t *testing.T) {
	e := newEnv(t)
	svc := e.start(e.config())
	const again, earlier = "PG-AG41-N111-10M", "PG-CL05-E444-40F"
	released := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
	sub := submitted(again, "")
	sub.EarlierAccounts = []registrationv1.EarlierAccount{{PartnerID: earlier, Status: "closed",
		MatchedOn: []string{"name+address", "registration_number"}, ReleasedAt: released}}
	e.publish(registrationv1.TypeApplicationSubmitted, again, sub, nil)
	task := e.waitEvent(verificationv1.TypeReviewTaskCreated, again, 1)
	if err := contract.ValidateJSON(verificationv1.TypeReviewTaskCreated, mustMarshal(t, task)); err != nil {
		t.Fatal(err)
	}
	named := func(v any) error {
		as, _ := v.([]any)
		if len(as) != 1 {
			return fmt.Errorf("earlier accounts %v", v)
		}
		if a := as[0].(map[string]any); a["partner_id"] != earlier || a["status"] != "closed" || len(a["matched_on"].([]any)) != 2 ||
			a["released_at"] != released.Format(time.RFC3339) {
			return fmt.Errorf("earlier account %v", a)
		}
		return nil
	}
	if err := named(task["earlier_accounts"]); err != nil {
		t.Fatalf("the task event: %v", err)
	}
	status, body := svc.call(t, "GET", "/v1/verification/tasks?unclaimed=true", e.token(verifierA), nil)
	found := false
	for _, x := range body["tasks"].([]any) {
		if c := x.(map[string]any)["task"].(map[string]any)["content"].(map[string]any); c["partner_id"] == again {
			found = true
			if err := named(c["earlier_accounts"]); err != nil {
				t.Fatalf("the queue: %v", err)
			}
		}
	}
	if status != http.StatusOK || !found {
		t.Fatalf("queue: %d %v", status, body)
	}
	if status, body := svc.call(t, "GET", "/v1/verification/partners/"+again+"/case", e.token(verifierA), nil); status != http.StatusOK || named(body["earlier_accounts"]) != nil {
		t.Fatalf("the case for a verifier: %d %v", status, body)
	}
	if status, body := svc.call(t, "GET", "/v1/verification/partners/"+again+"/case", e.token(partnerAdmin(again)), nil); status != http.StatusOK ||
		body["earlier_accounts"] != nil {
		t.Fatalf("the case for the partner: %d %v", status, body)
	}
}

// TestClaimsOnAReleasedPartnerAreRefused: a duplicate claim is about an
// existing partner whose administrator is asked, when the claim is upheld,
// to add the claimant to the account. Before round 46 the claims about a
// partner that had let go of the company's registration stayed in the
// verifiers' queue: an upheld one asked a closed account to add a user, or
// mailed a rejected applicant (the company registered twice, or someone
// registered it first) the claimant's contact. Now the closure
// (registration's standing change to closed) or the rejection
// (registration.partner.rejected.v1) refuses them
// (verification.duplicate_claim.refused.v2, reason existing_partner_closed
// or existing_partner_rejected, decided by this service, valid against the
// contract), a claim that crossed it is refused when it arrives, neither is
// listed for verifiers, and the news again refuses nothing more.
func TestClaimsOnAReleasedPartnerAreRefused(t *testing.T) {
	for _, tc := range []struct {
		name, existing, reason string
		release                func(existing string) (string, any)
	}{
		{"closed", "PG-CL05-E333-30C", "existing_partner_closed", func(p string) (string, any) {
			return registrationv1.TypePartnerStandingChanged, registrationv1.PartnerStandingChanged{PartnerID: p, From: "active", To: "closed",
				Reasons: []string{"closed_by_operator"}, Added: []string{"closed_by_operator"}, ChangedBy: "ops-1", ChangedAt: time.Now().UTC()}
		}},
		{"rejected", "PG-RJ05-E555-50G", "existing_partner_rejected", func(p string) (string, any) {
			return registrationv1.TypePartnerRejected, registrationv1.PartnerRejected{PartnerID: p, Reason: "company_check_failed", At: time.Now().UTC()}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			svc := e.start(e.config())
			e.openCase(tc.existing, "")
			claim := func(id string) registrationv2.DuplicateClaimFiled {
				return registrationv2.DuplicateClaimFiled{ClaimID: id, DuplicateAttemptID: "DA-" + id[3:], ExistingPartnerID: tc.existing, Market: "JP",
					MatchedOn: []string{"registration_number"}, LegalName: registrationv1.LegalName{Raw: "株式会社サンプル商事", Normalized: "株式会社サンプル商事"},
					Contact:   &registrationv1.Contact{FirstName: "花子", LastName: "佐藤", Email: "hanako@example.jp", EmailDomain: "example.jp", PhoneE164: "+81312345678"},
					Statement: "We are this company.", FiledBy: "upstream-crm", FiledAt: time.Now().UTC()}
			}
			e.publish(registrationv2.TypeDuplicateClaimFiled, tc.existing, claim("DC-AAAA-BBBB-CC1"), nil)
			e.waitEvent(verificationv1.TypeReviewOpened, tc.existing, 1)

			typ, news := tc.release(tc.existing)
			e.publish(typ, tc.existing, news, nil)
			refused := e.waitEvent(verificationv2.TypeDuplicateClaimRefused, tc.existing, 1)
			if err := contract.ValidateJSON(verificationv2.TypeDuplicateClaimRefused, mustMarshal(t, refused)); err != nil {
				t.Fatal(err)
			}
			if refused["claim_id"] != "DC-AAAA-BBBB-CC1" || refused["reason"] != tc.reason || refused["decided_by"] != "verification" ||
				refused["reason_text"] == "" {
				t.Fatalf("refused %v", refused)
			}

			// Filed before the closure, heard after, and by the code before
			// round 47 (v1).
			late := claim("DC-AAAA-BBBB-CC2")
			e.publish(registrationv1.TypeDuplicateClaimFiled, tc.existing, registrationv1.DuplicateClaimFiled{ClaimID: late.ClaimID,
				DuplicateAttemptID: late.DuplicateAttemptID, ExistingPartnerID: late.ExistingPartnerID, Market: late.Market, MatchedOn: late.MatchedOn,
				LegalName: late.LegalName, Contact: *late.Contact, Statement: late.Statement, FiledBy: late.FiledBy, FiledAt: late.FiledAt}, nil)
			if late := e.waitEvent(verificationv2.TypeDuplicateClaimRefused, tc.existing, 2); late["claim_id"] != "DC-AAAA-BBBB-CC2" ||
				late["reason"] != tc.reason {
				t.Fatalf("the late claim: %v", late)
			}
			status, body := svc.call(t, "GET", "/v1/verification/reviews?kind=duplicate_claim", e.token(verifierA), nil)
			if items, ok := body["reviews"].([]any); status != http.StatusOK || !ok || len(items) != 0 {
				t.Fatalf("open claim reviews: %d %v", status, body)
			}

			e.publish(typ, tc.existing, news, nil) // the news again
			time.Sleep(300 * time.Millisecond)
			if n := len(e.events(verificationv2.TypeDuplicateClaimRefused, tc.existing)); n != 2 {
				t.Fatalf("refused events: %d, want 2", n)
			}
		})
	}
}

// TestAClaimWithoutTheClaimantsContactIsDeadLettered: since round 47 a
// filed claim's contact reads null where the partner's side reads the event
// (registration.duplicate_claim.filed.v2); registration always sets it. A
// filed claim without it (that reading published again, say) is
// dead-lettered with a reason, and no review is opened.
func TestAClaimWithoutTheClaimantsContactIsDeadLettered(t *testing.T) {
	e := newEnv(t)
	e.start(e.config())
	existing := "PG-NC07-E777-70K"
	e.openCase(existing, "")
	id := e.publish(registrationv2.TypeDuplicateClaimFiled, existing, registrationv2.DuplicateClaimFiled{ClaimID: "DC-AAAA-BBBB-CC7",
		DuplicateAttemptID: "DA-AAAA-BBBB-CC7", ExistingPartnerID: existing, Market: "JP", MatchedOn: []string{"registration_number"},
		LegalName: registrationv1.LegalName{Raw: "株式会社サンプル商事", Normalized: "株式会社サンプル商事"},
		Statement: events.Redacted, FiledBy: "upstream-crm", FiledAt: time.Now().UTC()}, nil)
	if code := e.deadLetter(id); code != ce.CodeSchemaViolation {
		t.Fatalf("dead-letter code %q, want %q", code, ce.CodeSchemaViolation)
	}
	if n := len(e.events(verificationv1.TypeReviewOpened, existing)); n != 0 {
		t.Fatalf("%d reviews opened for a claim without the claimant's contact", n)
	}
}
