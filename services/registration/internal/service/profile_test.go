package service_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/partnerhub/onboarding/pkg/auth"
	"github.com/partnerhub/onboarding/pkg/ce"
	emailv1 "github.com/partnerhub/onboarding/pkg/events/email/v1"
	regv1 "github.com/partnerhub/onboarding/pkg/events/registration/v1"
	verificationv1 "github.com/partnerhub/onboarding/pkg/events/verification/v1"
	"github.com/partnerhub/onboarding/pkg/testkit"
)

type profileView struct {
	Verified struct {
		Company struct {
			LegalName string `json:"legal_name"`
			Address   struct {
				Line1 string `json:"line1"`
			} `json:"address"`
		} `json:"company"`
		Contact struct {
			Email string `json:"email"`
		} `json:"contact"`
	} `json:"verified"`
	Change *struct {
		Number int    `json:"number"`
		Status string `json:"status"`
		Checks []struct {
			Check, State string
		} `json:"checks"`
		Normalization []struct{ Field, Submitted, Normalized string } `json:"normalization"`
	} `json:"change"`
}

func (e *env) profile(t *testing.T, pid string) profileView {
	t.Helper()
	r := e.do(t, "GET", "/v1/partners/"+pid+"/profile", e.token(t, operator), "", nil)
	if r.Status != 200 {
		t.Fatalf("profile: %d %s", r.Status, r.Body)
	}
	var v profileView
	if err := json.Unmarshal(r.Body, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

// TestProfileChangeWithTargetedReverification: a new contact address and a
// new address re-open email_ownership and company; the partner keeps its
// verified profile (and stays active) until the confirmation of the new
// address and a verifier's decision are in, then the change is applied
// with its events and identity keys. A second change is rejected and leaves
// the verified profile as it was; a change onto another partner's identity
// and a market change are refused.
func TestProfileChangeWithTargetedReverification(t *testing.T) {
	e := start(t)
	view := e.approved(t, time.Now().UTC())
	pid := view["partner_id"].(string)
	admin := auth.Principal{Subject: "admin-1", PartnerID: pid, Roles: []auth.Role{auth.RolePartnerAdmin}}
	verifier := auth.Principal{Subject: "verifier-1", Roles: []auth.Role{auth.RoleVerifier}}
	ops := auth.Principal{Subject: "ops-1", Roles: []auth.Role{auth.RoleOperator}}
	post := func(p auth.Principal, path string, body any) response {
		return e.do(t, "POST", path, e.token(t, p), "application/json", mustJSON(t, body))
	}

	r := post(admin, "/v1/partners/"+pid+"/profile-changes", map[string]any{
		"contact": map[string]any{"first_name": "花子", "last_name": "山田", "email": "hanako.yamada@mirai-cloud.co.jp", "phone": "090-1234-5678"},
		"address": map[string]any{"line1": "丸の内１－１－１", "city": "千代田区", "region": "東京", "postal_code": "100-0005"},
	})
	if r.Status != 201 {
		t.Fatalf("request: %d %s", r.Status, r.Body)
	}
	p := e.profile(t, pid)
	if p.Change == nil || p.Change.Status != "pending_verification" || len(p.Change.Checks) != 2 ||
		p.Change.Checks[0].Check != "email_ownership" || p.Change.Checks[1].Check != "company" {
		t.Fatalf("change %+v", p.Change)
	}
	if p.Verified.Contact.Email != "taro.yamada@mirai-cloud.co.jp" || p.Verified.Company.Address.Line1 != "丸の内5-2-3" {
		t.Fatalf("the verified profile moved before its checks: %+v", p.Verified)
	}
	if s := e.partner(t, pid); s.Status != "active" {
		t.Fatalf("the partner keeps transacting while the change is reviewed: %s", s.Status)
	}
	req := e.waitEvent(t, "REGISTRATION", ce.Topic(regv1.TypeProfileChangeRequested), func(ev ce.Event) bool { return ev.Subject == pid })
	var rq regv1.ProfileChangeRequested
	if err := json.Unmarshal(req.Data, &rq); err != nil {
		t.Fatal(err)
	}
	net := enrollmentID(t, view, "partner_network")
	if rq.ContactEnrollmentID != net || rq.Contact.Email != "hanako.yamada@mirai-cloud.co.jp" || rq.Address.Normalized.Region != "東京都" {
		t.Fatalf("requested %+v", rq)
	}

	// Deciding the e-mail check by hand is refused; the confirmation decides it.
	r = post(ops, fmt.Sprintf("/v1/partners/%s/profile-changes/%d/decisions", pid, p.Change.Number), map[string]any{"check": "email_ownership", "outcome": "passed"})
	if r.Status != 409 || r.json(t)["code"] != "registration.check_decided_by_email_ownership" {
		t.Fatalf("email check by hand: %d %s", r.Status, r.Body)
	}
	e.publish(t, emailv1.TypeOwnershipConfirmed, mustJSON(t, emailv1.OwnershipConfirmed{PartnerID: pid, EnrollmentID: net,
		Program: "partner_network", ChallengeID: "ch-new", Address: "hanako.yamada@mirai-cloud.co.jp", Method: "link", ConfirmedAt: time.Now().UTC()}), nil)
	testkit.Eventually(t, 10*time.Second, func() error {
		if c := e.profile(t, pid).Change; c.Checks[0].State != "passed" {
			return fmt.Errorf("email check %s", c.Checks[0].State)
		}
		return nil
	})
	if p := e.profile(t, pid); p.Change.Status != "pending_verification" || p.Verified.Contact.Email != "taro.yamada@mirai-cloud.co.jp" {
		t.Fatalf("applied before the company check: %+v", p)
	}
	// Verifiers decide in verification's queue; the route is the operators' override.
	r = post(verifier, fmt.Sprintf("/v1/partners/%s/profile-changes/%d/decisions", pid, p.Change.Number), map[string]any{"check": "company", "outcome": "passed"})
	if r.Status != 403 {
		t.Fatalf("a verifier on the override: %d %s", r.Status, r.Body)
	}
	r = post(ops, fmt.Sprintf("/v1/partners/%s/profile-changes/%d/decisions", pid, p.Change.Number), map[string]any{"check": "company", "outcome": "passed"})
	if r.Status != 200 {
		t.Fatalf("decide: %d %s", r.Status, r.Body)
	}
	p = e.profile(t, pid)
	if p.Change.Status != "applied" || p.Verified.Contact.Email != "hanako.yamada@mirai-cloud.co.jp" || p.Verified.Company.Address.Line1 != "丸の内1-1-1" {
		t.Fatalf("after the checks: %+v / %+v", p.Change, p.Verified)
	}
	e.waitEvent(t, "REGISTRATION", ce.Topic(regv1.TypeProfileChangeApplied), func(ev ce.Event) bool { return ev.Subject == pid })

	// The old identity is free (without the registration number, which
	// did not change), the new one is this partner's.
	old := registration()
	delete(old["company"].(map[string]any), "registration_number")
	old["contact"].(map[string]any)["email"] = "jiro@mirai-cloud.co.jp"
	r = e.do(t, "POST", "/v1/registrations", e.token(t, upstream), "application/json", mustJSON(t, old))
	if r.Status != 201 {
		t.Fatalf("the old identity should be free: %d %s", r.Status, r.Body)
	}
	// A pending registration has a profile but nothing verified yet, and cannot change it.
	pending := r.json(t)["partner_id"].(string)
	if r := e.do(t, "GET", "/v1/partners/"+pending+"/profile", e.token(t, operator), "", nil); r.Status != 200 || r.json(t)["verified_at"] != nil {
		t.Fatalf("pending profile: %d %s", r.Status, r.Body)
	}
	if r := post(ops, "/v1/partners/"+pending+"/profile-changes", map[string]any{"phone": "03-9999-0000"}); r.Status != 409 ||
		r.json(t)["code"] != "registration.not_yet_approved" {
		t.Fatalf("pending change: %d %s", r.Status, r.Body)
	}

	// A change that fails its check leaves the verified profile as it was.
	r = post(admin, "/v1/partners/"+pid+"/profile-changes", map[string]any{"legal_name": "みらいクラウド合同会社"})
	if r.Status != 201 {
		t.Fatalf("second request: %d %s", r.Status, r.Body)
	}
	// Verification's decision (its queue) rejects it.
	e.publish(t, verificationv1.TypeProfileCheckDecided, mustJSON(t, verificationv1.ProfileCheckDecided{CaseID: "c1", PartnerID: pid,
		ChangeNumber: 2, TaskID: "c1-t9", Check: "company", Outcome: "failed", Reason: "company_name_mismatch",
		ApplicantMessage: "the register shows 株式会社", DecisionID: "d-9", Verifier: "verifier-1", DecidedAt: time.Now().UTC()}), nil)
	testkit.Eventually(t, 10*time.Second, func() error {
		if p := e.profile(t, pid); p.Change.Status != "rejected" || p.Verified.Company.LegalName != "株式会社みらいクラウド" {
			return fmt.Errorf("after the rejection: %+v / %+v", p.Change, p.Verified)
		}
		return nil
	})
	e.waitEvent(t, "REGISTRATION", ce.Topic(regv1.TypeProfileChangeRejected), func(ev ce.Event) bool { return ev.Subject == pid })

	// Onto the other partner's identity: the registration's duplicate rule.
	r = post(admin, "/v1/partners/"+pid+"/profile-changes", map[string]any{
		"address": map[string]any{"line1": "丸の内5-2-3", "line2": "ミライビル 10F", "city": "千代田区", "region": "東京都", "postal_code": "100-0005"}})
	if r.Status != 409 || r.json(t)["code"] != "registration.duplicate_entity" {
		t.Fatalf("duplicate: %d %s", r.Status, r.Body)
	}
	r = post(admin, "/v1/partners/"+pid+"/profile-changes", map[string]any{"market": "US", "phone": "03-9999-0000"})
	if r.Status != 409 || r.json(t)["code"] != "registration.market_immutable" {
		t.Fatalf("market: %d %s", r.Status, r.Body)
	}
	r = post(admin, "/v1/partners/"+pid+"/profile-changes", map[string]any{"phone": "03-1234-5678 ext. 12"})
	if r.Status != 422 || r.json(t)["code"] != "registration.invalid_input" {
		t.Fatalf("invalid: %d %s", r.Status, r.Body)
	}
	r = post(admin, "/v1/partners/"+pid+"/profile-changes", map[string]any{"fax": "03-1234-5678"})
	if r.Status != 400 {
		t.Fatalf("unknown member: %d %s", r.Status, r.Body)
	}
	if dl := e.deadLetters(t); len(dl) != 0 {
		t.Fatalf("%d dead letters", len(dl))
	}
}

// TestConcurrentContactCorrectionsRightAfterRegistering: upstream systems
// correct the contacts of partners they have just registered, many at once
// (more than the service's connections). Every correction is answered
// 201. Before round 50 a correction read the removed contact addresses on
// a second connection while its transaction held the first: a few at once
// held every connection of the pool and waited for one more, and all of
// them — and everything else the service did meanwhile — hung until the
// request timed out (503 service.busy after 20 s; found by registering
// and correcting twelve partners at once from outside).
func TestConcurrentContactCorrectionsRightAfterRegistering(t *testing.T) {
	e := start(t)
	tok := e.token(t, upstream)
	const n = 12
	pids := make([]string, n)
	for i := range pids {
		m := registration()
		c := m["company"].(map[string]any)
		delete(c, "registration_number")
		c["legal_name"] = fmt.Sprintf("株式会社みらい訂正%02d", i)
		c["address"].(map[string]any)["line1"] = fmt.Sprintf("丸の内%d-2-3", i+1)
		r := e.do(t, "POST", "/v1/registrations", tok, "application/json", mustJSON(t, m))
		if r.Status != http.StatusCreated {
			t.Fatalf("registration %d: %d %s", i, r.Status, r.Body)
		}
		pids[i] = r.json(t)["partner_id"].(string)
	}
	body := mustJSON(t, map[string]any{"contact": map[string]any{"first_name": "花子", "last_name": "佐藤",
		"email": "hanako.sato@mirai-cloud.co.jp", "phone": "090-2222-3333"}})
	var wg sync.WaitGroup
	answers := make([]response, n)
	for i, pid := range pids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			answers[i] = e.do(t, "POST", "/v1/partners/"+pid+"/profile-changes", tok, "application/json", body)
		}()
	}
	wg.Wait()
	for i, r := range answers {
		if r.Status != http.StatusCreated {
			t.Errorf("correction of %s: %d %s", pids[i], r.Status, r.Body)
		}
	}
}
