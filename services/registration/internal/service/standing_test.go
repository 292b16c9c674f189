package service_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/partnerhub/onboarding/pkg/auth"
	"github.com/partnerhub/onboarding/pkg/ce"
	"github.com/partnerhub/onboarding/pkg/contract"
	regv1 "github.com/partnerhub/onboarding/pkg/events/registration/v1"
	verificationv1 "github.com/partnerhub/onboarding/pkg/events/verification/v1"
	"github.com/partnerhub/onboarding/pkg/testkit"
	"github.com/partnerhub/onboarding/services/registration/internal/domain"
	"github.com/partnerhub/onboarding/services/registration/internal/service"
)

var operator = auth.Principal{Subject: "ops-1", Roles: []auth.Role{auth.RoleOperator}}

// approved registers the test company, confirms both enrollments' e-mail
// and approves it at approvedAt; it returns the registration answer.
func (e *env) approved(t *testing.T, approvedAt time.Time) map[string]any {
	t.Helper()
	r := e.do(t, "POST", "/v1/registrations", e.token(t, upstream), "application/json", mustJSON(t, registration()))
	if r.Status != 201 {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
	view := r.json(t)
	pid := view["partner_id"].(string)
	for _, prog := range []string{"partner_network", "indirect_reseller"} {
		e.confirmEmail(t, pid, enrollmentID(t, view, prog), prog)
	}
	e.publish(t, verificationv1.TypeVerificationApproved, mustJSON(t, verificationv1.VerificationApproved{CaseID: "c1", PartnerID: pid,
		LocationID: view["location_id"].(string), Market: "JP", DecisionID: "d1", ApprovedAt: approvedAt}), nil)
	e.waitStanding(t, pid, "active")
	// The confirmations and the approval come on different durables, so
	// the approval may be applied first; the confirmations follow (they
	// linger, bus.ProjectionLinger). Approved here means both applied.
	testkit.Eventually(t, 10*time.Second, func() error {
		for _, en := range e.partner(t, pid).Enrollments {
			if en.Status == "pending_email_confirmation" {
				return fmt.Errorf("%s still waits for its address confirmation", en.Program)
			}
		}
		return nil
	})
	return view
}

type standingView struct {
	Status   string `json:"status"`
	Standing struct {
		Reasons []string `json:"reasons"`
	} `json:"standing"`
	Enrollments []struct{ Program, Status string }
}

func (e *env) partner(t *testing.T, pid string) standingView {
	t.Helper()
	var v standingView
	if err := json.Unmarshal(e.do(t, "GET", "/v1/partners/"+pid, e.token(t, operator), "", nil).Body, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

// waitStanding waits until the partner's status is status with exactly reasons.
func (e *env) waitStanding(t *testing.T, pid, status string, reasons ...string) {
	t.Helper()
	if reasons == nil {
		reasons = []string{}
	}
	testkit.Eventually(t, 10*time.Second, func() error {
		v := e.partner(t, pid)
		if v.Status != status || !slices.Equal(v.Standing.Reasons, reasons) {
			return fmt.Errorf("standing %s %v, want %s %v", v.Status, v.Standing.Reasons, status, reasons)
		}
		return nil
	})
}

// standingChanges are the standing events about pid, validated against the schema.
func (e *env) standingChanges(t *testing.T, pid string) []regv1.PartnerStandingChanged {
	t.Helper()
	var out []regv1.PartnerStandingChanged
	for _, m := range e.streamEvents(t, "REGISTRATION", ce.Topic(regv1.TypePartnerStandingChanged)) {
		ev, err := decodeRaw(m)
		if err != nil || ev.Subject != pid {
			continue
		}
		if err := contract.ValidateJSON(regv1.TypePartnerStandingChanged, ev.Data); err != nil {
			t.Fatal(err)
		}
		var c regv1.PartnerStandingChanged
		if err := json.Unmarshal(ev.Data, &c); err != nil {
			t.Fatal(err)
		}
		out = append(out, c)
	}
	return out
}

// TestRevocationSuspendsUntilApprovedAgain: verification's revocation
// reaches registration (it used to reach agreements only): the partner is
// suspended and every service is told; a later approval reinstates it, and
// a revocation older than that approval (another durable, arriving late)
// changes nothing.
func TestRevocationSuspendsUntilApprovedAgain(t *testing.T) {
	e := start(t)
	t0 := time.Now().UTC().Add(-time.Hour)
	view := e.approved(t, t0)
	pid, lid := view["partner_id"].(string), view["location_id"].(string)
	revoke := func(decision string, at time.Time) {
		e.publish(t, verificationv1.TypeVerificationRevoked, mustJSON(t, verificationv1.VerificationRevoked{CaseID: "c1", PartnerID: pid,
			LocationID: lid, Market: "JP", DecisionID: decision, Reason: "the register entry was false", RevokedAt: at}), nil)
	}
	revoke("rev-1", t0.Add(10*time.Minute))
	e.waitStanding(t, pid, "suspended", "verification_revoked")
	if v := e.partner(t, pid); v.Enrollments[1].Status != "qualified" {
		t.Fatalf("the enrollments keep their progress; the standing gates them: %+v", v.Enrollments)
	}
	e.publish(t, verificationv1.TypeVerificationApproved, mustJSON(t, verificationv1.VerificationApproved{CaseID: "c1", PartnerID: pid,
		LocationID: lid, Market: "JP", DecisionID: "d2", ApprovedAt: t0.Add(20 * time.Minute)}), nil)
	e.waitStanding(t, pid, "active")
	revoke("rev-0", t0.Add(5*time.Minute)) // decided before the re-approval: stale
	e.publish(t, verificationv1.TypeVerificationRevoked, mustJSON(t, verificationv1.VerificationRevoked{CaseID: "c1", PartnerID: pid,
		LocationID: lid, Market: "JP", DecisionID: "rev-marker", Reason: "marker", RevokedAt: t0.Add(30 * time.Minute)}), nil)
	e.waitStanding(t, pid, "suspended", "verification_revoked") // the marker, handled after the stale one
	var changes []regv1.PartnerStandingChanged
	testkit.Eventually(t, 10*time.Second, func() error {
		changes = e.standingChanges(t, pid)
		var got []string
		for _, c := range changes {
			got = append(got, c.From+"→"+c.To)
		}
		if want := []string{"active→suspended", "suspended→active", "active→suspended"}; !slices.Equal(got, want) {
			return fmt.Errorf("standing changes %v, want %v", got, want)
		}
		return nil
	})
	if c := changes[0]; !slices.Equal(c.Added, []string{"verification_revoked"}) || c.ChangedBy != "verification" {
		t.Fatalf("first change %+v", c)
	}
	if n := len(e.deadLetters(t)); n != 0 {
		t.Fatalf("%d dead letters", n)
	}
}

// TestStandingRoutes: an operator's compliance hold and an upstream
// system's MFA report stack; each is lifted on its own; the requirements
// view names them with their cures; the partner's administrator closes
// the account for good.
func TestStandingRoutes(t *testing.T) {
	e := start(t)
	view := e.approved(t, time.Now().UTC())
	pid := view["partner_id"].(string)
	op, up := e.token(t, operator), e.token(t, upstream)
	admin := e.token(t, auth.Principal{Subject: "admin-1", PartnerID: pid, Roles: []auth.Role{auth.RolePartnerAdmin}, AMR: []string{"pwd", "mfa"}})

	if r := e.do(t, "PUT", "/v1/partners/"+pid+"/compliance-hold", admin, "application/json", []byte(`{"note":"x"}`)); r.Status != 403 {
		t.Fatalf("a partner admin placing a hold: %d %s", r.Status, r.Body)
	}
	// A note is kept and shown as written: one that would read as something
	// else changes nothing.
	for body, code := range map[string]string{`{"note":"sanctions \u202egnineercs"}`: "field.bidi_control",
		`{"note":"sanctions\u200b screening"}`: "field.invisible_characters"} {
		r := e.do(t, "PUT", "/v1/partners/"+pid+"/compliance-hold", op, "application/json", []byte(body))
		if errs, _ := r.json(t)["errors"].([]any); r.Status != 422 || len(errs) != 1 || errs[0].(map[string]any)["code"] != code {
			t.Fatalf("a note %s: %d %s, want 422 with %s", body, r.Status, r.Body, code)
		}
	}
	if r := e.do(t, "DELETE", "/v1/partners/"+pid+"/compliance-hold?note=ok%E2%80%AE", op, "", nil); r.Status != 422 {
		t.Fatalf("lifting with a bidi override in the note: %d %s", r.Status, r.Body)
	}
	r := e.do(t, "PUT", "/v1/partners/"+pid+"/compliance-hold", op, "application/json", []byte(`{"note":"sanctions screening"}`))
	if r.Status != 200 || r.json(t)["changed"] != true {
		t.Fatalf("place hold: %d %s", r.Status, r.Body)
	}
	// A report the rules refuse names each field at fault; an explicit
	// zero measured_at was taken as "now" before.
	for body, want := range map[string]string{
		`{"status":"noncompliant","mfa_enforced_users_percent":101,"mfa_requests_percent":-1}`: "mfa_enforced_users_percent:security.percent_out_of_range mfa_requests_percent:security.percent_out_of_range",
		`{"status":"noncompliant","measured_at":"0001-01-01T00:00:00Z"}`:                       "measured_at:security.measured_at_invalid",
		`{"status":"maybe"}`: "status:security.status_invalid",
	} {
		r := e.do(t, "PUT", "/v1/partners/"+pid+"/security-requirements", up, "application/json", []byte(body))
		var got []string
		errs, _ := r.json(t)["errors"].([]any)
		for _, fe := range errs {
			got = append(got, fmt.Sprint(fe.(map[string]any)["field"], ":", fe.(map[string]any)["code"]))
		}
		if r.Status != 422 || strings.Join(got, " ") != want {
			t.Fatalf("report %s: %d %s, want 422 with %s", body, r.Status, r.Body, want)
		}
	}
	r = e.do(t, "PUT", "/v1/partners/"+pid+"/security-requirements", up, "application/json",
		[]byte(`{"status":"noncompliant","mfa_enforced_users_percent":70,"mfa_requests_percent":88.5}`))
	if r.Status != 200 {
		t.Fatalf("report: %d %s", r.Status, r.Body)
	}
	e.waitStanding(t, pid, "suspended", "compliance_hold", "mfa_noncompliant")
	sec := e.do(t, "GET", "/v1/partners/"+pid+"/security-requirements", admin, "", nil).json(t)
	if sec["status"] != "noncompliant" || sec["gating"] != true || sec["mfa_requests_percent"] != 88.5 || sec["reported_by"] != "upstream-portal" {
		t.Fatalf("security view %v", sec)
	}
	req := e.do(t, "GET", "/v1/partners/"+pid+"/enrollments/indirect_reseller/requirements", admin, "", nil).json(t)
	var kinds []string
	for _, x := range req["requirements"].([]any) {
		m := x.(map[string]any)
		kinds = append(kinds, fmt.Sprint(m["kind"], ":", m["reason"]))
	}
	if want := []string{"agreement:<nil>", "standing:compliance_hold", "security_requirements:mfa_noncompliant"}; !slices.Equal(kinds, want) ||
		req["can_transact"] != false {
		t.Fatalf("requirements %v (%v)", kinds, req)
	}

	if r := e.do(t, "DELETE", "/v1/partners/"+pid+"/compliance-hold?note=cleared", op, "", nil); r.Status != 200 {
		t.Fatalf("lift: %d %s", r.Status, r.Body)
	}
	e.waitStanding(t, pid, "suspended", "mfa_noncompliant") // lifting one hold restores only what it held
	e.do(t, "PUT", "/v1/partners/"+pid+"/security-requirements", up, "application/json", []byte(`{"status":"compliant","mfa_enforced_users_percent":100}`))
	e.waitStanding(t, pid, "active")
	if r := e.do(t, "POST", "/v1/partners/"+pid+"/reactivation", admin, "", nil); r.Status != 409 || r.json(t)["code"] != "registration.not_inactive" {
		t.Fatalf("reactivating an active partner: %d %s", r.Status, r.Body)
	}
	var secChanges []*jetstream.RawStreamMsg
	testkit.Eventually(t, 10*time.Second, func() error {
		if secChanges = e.streamEvents(t, "REGISTRATION", ce.Topic(regv1.TypeSecurityStatusChanged)); len(secChanges) != 2 {
			return fmt.Errorf("%d security status changes, want unknown→noncompliant→compliant", len(secChanges))
		}
		return nil
	})
	for _, m := range secChanges {
		if err := contract.ValidateJSON(regv1.TypeSecurityStatusChanged, m.Data); err != nil {
			t.Fatal(err)
		}
	}

	r = e.do(t, "POST", "/v1/partners/"+pid+"/closure", admin, "application/json", []byte(`{"note":"we stop reselling"}`))
	if r.Status != 200 {
		t.Fatalf("close: %d %s", r.Status, r.Body)
	}
	e.waitStanding(t, pid, "closed", "closed_by_partner")
	if r := e.do(t, "PUT", "/v1/partners/"+pid+"/compliance-hold", op, "application/json", []byte(`{"note":"x"}`)); r.Status != 409 ||
		r.json(t)["code"] != "registration.partner_closed" {
		t.Fatalf("hold on a closed partner: %d %s", r.Status, r.Body)
	}
	testkit.Eventually(t, 10*time.Second, func() error {
		last := e.standingChanges(t, pid)
		if c := last[len(last)-1]; c.To != "closed" || c.ChangedBy != "admin-1" || c.Note != "we stop reselling" {
			return fmt.Errorf("closure event %+v", c)
		}
		return nil
	})
}

// TestDocumentsRequestedShowInTheRequirementsView: verification's request
// for documents (and the domain proof it offers) is listed with its
// deadline until verification says it is satisfied.
func TestDocumentsRequestedShowInTheRequirementsView(t *testing.T) {
	e := start(t)
	r := e.do(t, "POST", "/v1/registrations", e.token(t, upstream), "application/json", mustJSON(t, registration()))
	pid := r.json(t)["partner_id"].(string)
	due := time.Now().UTC().Add(240 * time.Hour).Truncate(time.Second)
	e.publish(t, verificationv1.TypeDocumentsRequested, mustJSON(t, verificationv1.DocumentsRequested{CaseID: "c1", PartnerID: pid,
		Check: "employment", Reason: "email_domain_unverified", AcceptedDocuments: []string{"domain_invoice"}, DueAt: due, AppealsRemaining: 3,
		ContactEmail: "taro.yamada@mirai-cloud.co.jp", At: time.Now().UTC(), DomainProof: &verificationv1.DomainProof{Domain: "mirai-cloud.co.jp",
			DNSTXTName: "_partnerhub-verification.mirai-cloud.co.jp", DNSTXTValue: "partnerhub-verification=tok",
			HTTPURL: "https://mirai-cloud.co.jp/.well-known/partnerhub-verification.txt", HTTPBody: "partnerhub-verification=tok"}}), nil)
	admin := e.token(t, auth.Principal{Subject: "a", PartnerID: pid, Roles: []auth.Role{auth.RolePartnerAdmin}})
	documents := func() []map[string]any {
		var out []map[string]any
		v := e.do(t, "GET", "/v1/partners/"+pid+"/enrollments/partner_network/requirements", admin, "", nil).json(t)
		for _, x := range v["requirements"].([]any) {
			if m := x.(map[string]any); m["kind"] == "documents" {
				out = append(out, m)
			}
		}
		return out
	}
	testkit.Eventually(t, 10*time.Second, func() error {
		if d := documents(); len(d) != 1 || d[0]["due_at"] != due.Format(time.RFC3339) {
			return fmt.Errorf("documents %v", d)
		}
		return nil
	})
	e.publish(t, verificationv1.TypeDocumentsSatisfied, mustJSON(t, verificationv1.DocumentsSatisfied{CaseID: "c1", PartnerID: pid,
		Check: "employment", By: "dns_txt", At: time.Now().UTC()}), nil)
	testkit.Eventually(t, 10*time.Second, func() error {
		if d := documents(); len(d) != 0 {
			return fmt.Errorf("still listed: %v", d)
		}
		return nil
	})
}

// TestInactivityJobAndReactivation: the job makes a partner without
// activity for INACTIVITY_PERIOD inactive (and tells every service); its
// administrator reactivates it at once (a short inactivity needs no
// review).
func TestInactivityJobAndReactivation(t *testing.T) {
	e := startWith(t, func(c *service.Config) {
		c.InactivityPeriod, c.ReactivationReviewAfter = domain.Period{Duration: 1500 * time.Millisecond}, domain.Period{Months: 6}
	})

	view := e.approved(t, time.Now().UTC())
	pid := view["partner_id"].(string)
	e.waitStanding(t, pid, "inactive", "inactivity")
	admin := e.token(t, auth.Principal{Subject: "admin-1", PartnerID: pid, Roles: []auth.Role{auth.RolePartnerAdmin}})
	r := e.do(t, "POST", "/v1/partners/"+pid+"/reactivation", admin, "", nil)
	if r.Status != 200 || r.json(t)["review_required"] != false {
		t.Fatalf("reactivate: %d %s", r.Status, r.Body)
	}
	if st := e.partner(t, pid).Status; st != "active" {
		t.Fatalf("after reactivation: %s", st)
	}
	testkit.Eventually(t, 10*time.Second, func() error {
		changes := e.standingChanges(t, pid)
		if len(changes) < 2 || changes[0].To != "inactive" || changes[0].ChangedBy != "registration" || changes[1].To != "active" ||
			!slices.Equal(changes[1].Lifted, []string{"inactivity"}) {
			return fmt.Errorf("standing changes %+v", changes)
		}
		return nil
	})
}

// TestAClosedAccountLetsTheCompanyRegisterAgain: a closed account lets go
// of its company's identity keys, as a rejected registration does (since
// round 46; before, the company was refused as a duplicate of its closed
// account for good, and a claim on the refusal asked the closed account's
// administrator to add the claimant). A claim on a refusal made while the
// account was open is refused with registration.duplicate_released.
func TestAClosedAccountLetsTheCompanyRegisterAgain(t *testing.T) {
	e := start(t)
	pid := e.approved(t, time.Now().UTC())["partner_id"].(string)
	up := e.token(t, upstream)
	r := e.do(t, "POST", "/v1/registrations", up, "application/json", mustJSON(t, registration()))
	if r.Status != 409 || r.json(t)["code"] != "registration.duplicate_entity" {
		t.Fatalf("the same company while the account is open: %d %s", r.Status, r.Body)
	}
	attempt := r.json(t)["duplicate_attempt_id"].(string)

	if r := e.do(t, "POST", "/v1/partners/"+pid+"/closure", e.token(t, operator), "application/json", []byte(`{"note":"the company asked"}`)); r.Status != 200 {
		t.Fatalf("close: %d %s", r.Status, r.Body)
	}
	e.waitStanding(t, pid, "closed", "closed_by_operator")

	claim := e.do(t, "POST", "/v1/duplicate-claims", up, "application/json",
		mustJSON(t, map[string]string{"duplicate_attempt_id": attempt, "statement": "We are the company."}))
	if claim.Status != 409 || claim.json(t)["code"] != "registration.duplicate_released" {
		t.Fatalf("a claim on the closed account: %d %s", claim.Status, claim.Body)
	}
	again := e.do(t, "POST", "/v1/registrations", up, "application/json", mustJSON(t, registration()))
	if again.Status != 201 {
		t.Fatalf("the same company after the closure: %d %s", again.Status, again.Body)
	}
	next, _ := again.json(t)["partner_id"].(string)
	if next == pid || next == "" {
		t.Fatalf("registered again as %v (the closed account is %s)", next, pid)
	}
	// The new registration names the closed account for its reviewers.
	var submitted map[string]any
	testkit.Eventually(t, 10*time.Second, func() error {
		for _, m := range e.streamEvents(t, "REGISTRATION", ce.Topic(regv1.TypeApplicationSubmitted)) {
			if m.Header.Get(ce.HSubject) == next {
				if err := contract.ValidateJSON(regv1.TypeApplicationSubmitted, m.Data); err != nil {
					t.Fatal(err)
				}
				return json.Unmarshal(m.Data, &submitted)
			}
		}
		return fmt.Errorf("no submitted event of %s", next)
	})
	earlier, _ := submitted["earlier_accounts"].([]any)
	if len(earlier) != 1 {
		t.Fatalf("earlier accounts %v", submitted["earlier_accounts"])
	}
	if a := earlier[0].(map[string]any); a["partner_id"] != pid || a["status"] != "closed" || len(a["matched_on"].([]any)) != 3 || a["released_at"] == nil {
		t.Fatalf("earlier account %v", a)
	}
	if st := e.partner(t, pid).Status; st != "closed" {
		t.Fatalf("the closed account is %s now", st)
	}
	// An operator reads the earlier account on the registration; the
	// upstream system that registered it does not (nor did its answer).
	if _, named := again.json(t)["earlier_accounts"]; named {
		t.Fatalf("the upstream system's answer names the earlier account: %s", again.Body)
	}
	ops := e.do(t, "GET", "/v1/registrations/"+next, e.token(t, operator), "", nil).json(t)
	if as, _ := ops["earlier_accounts"].([]any); len(as) != 1 || as[0].(map[string]any)["partner_id"] != pid {
		t.Fatalf("the operator's view: %v", ops["earlier_accounts"])
	}
	if _, named := e.do(t, "GET", "/v1/registrations/"+next, up, "", nil).json(t)["earlier_accounts"]; named {
		t.Fatal("the upstream system's view names the earlier account")
	}
}
