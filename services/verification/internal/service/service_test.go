package service_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/partnerhub/onboarding/pkg/auth"
	"github.com/partnerhub/onboarding/pkg/bus"
	"github.com/partnerhub/onboarding/pkg/ce"
	emailv1 "github.com/partnerhub/onboarding/pkg/events/email/v1"
	intakev1 "github.com/partnerhub/onboarding/pkg/events/intake/v1"
	registrationv1 "github.com/partnerhub/onboarding/pkg/events/registration/v1"
	verificationv1 "github.com/partnerhub/onboarding/pkg/events/verification/v1"
	"github.com/partnerhub/onboarding/pkg/ids"
	"github.com/partnerhub/onboarding/pkg/testkit"
)

const (
	tOpened   = verificationv1.TypeCaseOpened
	tCreated  = verificationv1.TypeReviewTaskCreated
	tClaimed  = verificationv1.TypeReviewTaskClaimed
	tReleased = verificationv1.TypeReviewTaskReleased
	tDecision = verificationv1.TypeDecisionRecorded
	tApproved = verificationv1.TypeVerificationApproved
	tRejected = verificationv1.TypeVerificationRejected
)

func confirmed(partner string) emailv1.OwnershipConfirmed {
	return emailv1.OwnershipConfirmed{PartnerID: partner, EnrollmentID: "EN-" + partner[3:] + "-1", Program: "partner_network",
		ChallengeID: "ch-1", Address: "taro@sample-shoji.co.jp", Method: "link", ConfirmedAt: time.Now().UTC()}
}

// TestRegistrationToApprovalThroughTheAPI: a registration opens a case and a
// review task event; the e-mail check passes on its event, the employment
// check on the domain match; a verifier claims and approves over HTTP and
// the case is approved once, with the deciding decision id.
func TestRegistrationToApprovalThroughTheAPI(t *testing.T) {
	e := newEnv(t)
	svc := e.start(e.config())
	const partner = "PG-AAAA-1111-00Y"
	subID := e.publish(registrationv1.TypeApplicationSubmitted, partner, submitted(partner, ""), nil)
	task := e.waitEvent(tCreated, partner, 1)
	taskID := task["task_id"].(string)
	if task["check"] != "company" || task["pre_check"].(map[string]any)["result"] != "found" || task["decide"] == nil {
		t.Fatalf("task event lacks what a verifier needs: %v", task)
	}
	e.publish(emailv1.TypeOwnershipConfirmed, partner, confirmed(partner), nil)

	vA := e.token(verifierA)
	// Authorization per route.
	admin := e.token(partnerAdmin(partner))
	other := e.token(partnerAdmin("PG-ZZZZ-9999-00E"))
	authz := []struct {
		name, method, path, token string
		body                      any
		want                      int
	}{
		{"no token", "GET", "/v1/verification/tasks", "", nil, http.StatusUnauthorized},
		{"partner cannot list tasks", "GET", "/v1/verification/tasks", admin, nil, http.StatusForbidden},
		{"partner cannot claim", "POST", "/v1/verification/tasks/" + taskID + "/claim", admin, nil, http.StatusForbidden},
		{"partner cannot decide", "POST", "/v1/verification/tasks/" + taskID + "/decisions", admin, map[string]any{"decision_id": "x", "outcome": "approve"}, http.StatusForbidden},
		{"verifier cannot submit documents", "POST", "/v1/verification/partners/" + partner + "/documents", vA, map[string]any{"check": "employment"}, http.StatusForbidden},
		{"other partner cannot read the case", "GET", "/v1/verification/partners/" + partner + "/case", other, nil, http.StatusNotFound},
		{"other partner cannot read requirements", "GET", "/v1/verification/partners/" + partner + "/requirements", other, nil, http.StatusNotFound},
		{"own partner reads requirements", "GET", "/v1/verification/partners/" + partner + "/requirements", admin, nil, http.StatusOK},
		{"unknown field", "POST", "/v1/verification/tasks/" + taskID + "/decisions", vA, map[string]any{"decision_id": "x", "verdict": "ok"}, http.StatusBadRequest},
		{"unknown task", "POST", "/v1/verification/tasks/nope/claim", vA, nil, http.StatusNotFound},
		{"bad query", "GET", "/v1/verification/tasks?limit=0", vA, nil, http.StatusUnprocessableEntity},
		// a market no case has matched nothing (200, an empty queue): a typo read as "no work"
		{"lower-case market", "GET", "/v1/verification/tasks?market=jp", vA, nil, http.StatusUnprocessableEntity},
		{"reviews of a lower-case market", "GET", "/v1/verification/reviews?market=jp", vA, nil, http.StatusUnprocessableEntity},
		{"a cursor not given here", "GET", "/v1/verification/tasks?after=eyJpIjoieCJ9", vA, nil, http.StatusUnprocessableEntity},
		{"reviews after a cursor not given here", "GET", "/v1/verification/reviews?after=nope", vA, nil, http.StatusUnprocessableEntity},
	}
	for _, c := range authz {
		t.Run(c.name, func(t *testing.T) {
			if got, body := svc.call(t, c.method, c.path, c.token, c.body); got != c.want {
				t.Fatalf("status %d, want %d: %v", got, c.want, body)
			}
		})
	}

	if _, body := svc.call(t, "GET", "/v1/verification/tasks?market=ZZZ", vA, nil); fmt.Sprint(body["errors"]) != "[map[code:query.market_invalid field:query.market message:market must be an ISO 3166-1 alpha-2 code in upper case, such as JP]]" {
		t.Fatalf("market=ZZZ: %v", body)
	}
	// An unknown status names the ones there are, as the reviews' list does.
	if _, body := svc.call(t, "GET", "/v1/verification/tasks?status=closed", vA, nil); fmt.Sprint(body["errors"]) != "[map[code:task.status_unknown field:query.status message:status must be open, pending_confirmation, decided or cancelled]]" {
		t.Fatalf("status=closed: %v", body)
	}
	status, list := svc.call(t, "GET", "/v1/verification/tasks?check=company&unclaimed=true&market=JP", vA, nil)
	if status != http.StatusOK || len(list["tasks"].([]any)) != 1 || list["next"] != "" {
		t.Fatalf("list: %d %v", status, list)
	}
	// A queue is read a page at a time: a second partner's task is on the
	// page after the first's, the last page says so with an empty next.
	second, _ := ids.Format(ids.Partner, "BBBB222200")
	e.publish(registrationv1.TypeApplicationSubmitted, second, submitted(second, ""), nil)
	e.waitEvent(tCreated, second, 1)
	var paged []string
	for q, pages := "/v1/verification/tasks?check=company&limit=1", 0; ; pages++ {
		status, pg := svc.call(t, "GET", q, vA, nil)
		if status != http.StatusOK || len(pg["tasks"].([]any)) != 1 || pages > 1 {
			t.Fatalf("page %d: %d %v", pages, status, pg)
		}
		paged = append(paged, pg["tasks"].([]any)[0].(map[string]any)["partner_id"].(string))
		if pg["next"] == "" {
			break
		}
		q = "/v1/verification/tasks?check=company&limit=1&after=" + url.QueryEscape(pg["next"].(string))
	}
	if len(paged) != 2 || paged[0] == paged[1] {
		t.Fatalf("paged through %v, want both partners once", paged)
	}
	if status, body := svc.call(t, "POST", "/v1/verification/tasks/"+taskID+"/claim", vA, nil); status != http.StatusOK || body["claimed_by"] != "reviewer-a" {
		t.Fatalf("claim: %d %v", status, body)
	}
	if status, body := svc.call(t, "POST", "/v1/verification/tasks/"+taskID+"/claim", e.token(verifierB), nil); status != http.StatusConflict || body["code"] != "verification.task_claimed" {
		t.Fatalf("second claim: %d %v", status, body)
	}
	decision := map[string]any{"decision_id": "dec-api-1", "outcome": "approve", "internal_note": "register matches"}
	if status, body := svc.call(t, "POST", "/v1/verification/tasks/"+taskID+"/decisions", vA, decision); status != http.StatusCreated {
		t.Fatalf("decide: %d %v", status, body)
	}
	if status, body := svc.call(t, "POST", "/v1/verification/tasks/"+taskID+"/decisions", vA, decision); status != http.StatusOK || body["replayed"] != true {
		t.Fatalf("resent decision: %d %v", status, body)
	}
	approved := e.waitEvent(tApproved, partner, 1)
	if approved["decision_id"] != "dec-api-1" || approved["location_id"] != "PL-AAAA-1111-00Y-01" || len(approved["enrollments"].([]any)) != 2 {
		t.Fatalf("approved %v", approved)
	}
	status, c := svc.call(t, "GET", "/v1/verification/partners/"+partner+"/case", admin, nil)
	if status != http.StatusOK || c["status"] != "approved" {
		t.Fatalf("case: %d %v", status, c)
	}
	for _, ck := range c["checks"].([]any) {
		if ck.(map[string]any)["state"] != "passed" {
			t.Fatalf("check not passed: %v", ck)
		}
	}
	if note := c["decisions"].([]any)[0].(map[string]any)["internal_note"]; note != nil {
		t.Fatalf("a partner reads the internal note %q", note)
	}

	// A replayed registration event (same CloudEvent id) has no effect: a
	// marker registration published after it proves it was consumed.
	e.publishRaw("registration.application.submitted.v1", map[string]string{"ce-specversion": "1.0", "ce-id": subID, "ce-source": "/tests",
		"ce-type": registrationv1.TypeApplicationSubmitted, "ce-subject": partner}, mustJSON(t, submitted(partner, "")))
	e.openCase("PG-BBBB-2222-00J", "")
	if n := len(e.events(tOpened, partner)); n != 1 {
		t.Fatalf("case opened %d times", n)
	}
	if n := len(e.events(tApproved, partner)); n != 1 {
		t.Fatalf("approved %d times", n)
	}
}

// TestVerifierServiceOverTheBus: decisions arrive as CloudEvents from a
// verifier service; refused ones are answered with decision.refused and the
// code the HTTP API gives (the verifier reads those; it cannot read the dead
// letters), intakes without a known principal are dead-lettered, a resent
// decision has no effect, and one under a reused event id is refused.
func TestVerifierServiceOverTheBus(t *testing.T) {
	e := newEnv(t)
	svc := e.start(e.config())
	bot := auth.Principal{Kind: auth.KindService, Subject: "verifier-bot", Roles: []auth.Role{auth.RoleVerifier}}
	asBot := map[string]string{"ce-authtype": "service_account", "ce-authid": "verifier-bot"}
	decide := func(taskID, id, outcome string, extra map[string]string) string {
		return e.publish(intakev1.TypeVerificationDecisionSubmitted, "PG-CCCC-3333-006",
			intakev1.VerificationDecisionSubmitted{DecisionID: id, TaskID: taskID, Outcome: outcome}, extra)
	}

	const p1, p2 = "PG-CCCC-3333-006", "PG-DDDD-4444-00T"
	task1, task2 := e.openCase(p1, ""), e.openCase(p2, "")

	cases := []struct {
		name  string
		id    func() string
		code  string
		after func()
	}{
		{"unknown task", func() string { return decide("vc-none-t1", "d-1", "approve", asBot) }, "verification.task_not_found", nil},
		{"before the claim (out of order)", func() string { return decide(task1, "d-2", "approve", asBot) }, "verification.task_not_claimed", nil},
		{"principal without the verifier role", func() string {
			return decide(task1, "d-3", "approve", map[string]string{"ce-authtype": "service_account", "ce-authid": "upstream-portal"})
		}, "auth.role_required", nil},

		{"reason not in the catalog", func() string {
			if status, body := svc.call(t, "POST", "/v1/verification/tasks/"+task1+"/claim", e.token(bot), nil); status != http.StatusOK {
				t.Fatalf("claim as the bot: %d %v", status, body)
			}
			return e.publish(intakev1.TypeVerificationDecisionSubmitted, p1, intakev1.VerificationDecisionSubmitted{DecisionID: "d-6", TaskID: task1,
				Outcome: "reject", ReasonCode: "looks_odd", Mode: "RETRY"}, asBot)
		}, "verification.invalid_decision", nil},
		{"by the wrong verifier", func() string {
			// verifier-bot holds task1; reviewer-b holds task2, so the bot's decision on task2 is refused.
			if status, body := svc.call(t, "POST", "/v1/verification/tasks/"+task2+"/claim", e.token(verifierB), nil); status != http.StatusOK {
				t.Fatalf("claim: %d %v", status, body)
			}
			return decide(task2, "d-7", "approve", asBot)
		}, "verification.task_not_claimed", nil},
	}
	// A refusal names the task's partner when the task was found (it is
	// then on that partner's timeline).
	partnerOf := map[string]string{"before the claim (out of order)": p1, "reason not in the catalog": p1, "by the wrong verifier": p2}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if r := e.refused(c.id()); r.Code != c.code || r.Status < 400 || r.Detail == "" || r.TaskID == "" || r.DecisionID == "" ||
				r.PartnerID != partnerOf[c.name] {
				t.Fatalf("refusal %+v, want code %q, partner %q", r, c.code, partnerOf[c.name])
			}
		})
	}
	if r := e.refused(decide(task1, "", "approve", asBot)); r.Code != "verification.invalid_decision" {
		t.Fatalf("decision without an id: %+v", r)
	}
	// Data read as strictly as the HTTP API's body, and answered with its
	// codes: a misspelt member was ignored, a wrong type dead-lettered.
	for data, want := range map[string]struct{ code, field string }{
		`{"decision_id":"d-8","task_id":"` + task1 + `","outcome":"approve","internal_notte":"x"}`: {"request.unknown_field", "internal_notte"},
		`{"decision_id":"d-9","task_id":"` + task1 + `","outcome":["approve"]}`:                    {"request.wrong_type", "outcome"},
		`{"decision_id":"d-10","task_id":"` + task1 + `","outcome":"approve","outcome":"reject"}`:  {"request.duplicate_member", "outcome"},
	} {
		id := e.publish(intakev1.TypeVerificationDecisionSubmitted, p1, json.RawMessage(data), asBot)
		r := e.refused(id)
		if r.Code != want.code || r.Status != http.StatusBadRequest || len(r.Errors) != 1 || r.Errors[0].Field != want.field || r.TaskID != task1 {
			t.Fatalf("%s: refusal %+v, want %s on %s", data, r, want.code, want.field)
		}
	}
	// Without a known principal the intake answers to no one: dead-lettered.
	for id, code := range map[string]string{
		decide(task1, "d-4", "approve", map[string]string{"ce-authtype": "service_account", "ce-authid": "mallory"}): "auth.principal_unknown",
		decide(task1, "d-5", "approve", nil): "auth.principal_missing",
	} {
		if got := e.deadLetter(id); got != code {
			t.Errorf("dead-letter code %q, want %q", got, code)
		}
	}

	// The accepted decision, then the same decision again (new event id)
	// and a second decision on the decided task.
	ok := decide(task1, "d-ok", "approve", asBot)
	e.waitEvent(tDecision, p1, 1)
	// Its event id reused for another decision: refused, nothing recorded.
	reusedID := map[string]string{ce.HID: ok}
	for k, v := range asBot {
		reusedID[k] = v
	}
	decide(task1, "d-other", "reject", reusedID)
	if r := e.refused(ok); r.Code != bus.CodeIDReused || r.Status != http.StatusConflict || r.DecisionID != "d-other" {
		t.Fatalf("a decision under a reused event id: %+v", r)
	}
	decide(task1, "d-ok", "approve", asBot)
	twice := decide(task1, "d-again", "approve", asBot)
	if r := e.refused(twice); r.Code != "verification.task_already_decided" || r.Status != http.StatusConflict {
		t.Fatalf("second decision: %+v", r)
	}
	if r := e.refused(decide(task1, "d-ok", "reject", asBot)); r.Code != "verification.decision_id_reused" {
		t.Fatalf("a decision id used again for another decision: %+v", r)
	}
	if n := len(e.events(tDecision, p1)); n != 1 {
		t.Fatalf("%d decisions recorded, want 1", n)
	}
	// An e-mail confirmation for a partner without a case, and a malformed
	// registration, are dead-lettered with their reasons.
	unknown := e.publish(emailv1.TypeOwnershipConfirmed, "PG-EEEE-5555-00E", confirmed("PG-EEEE-5555-00E"), nil)
	if code := e.deadLetter(unknown); code != "verification.case_not_found" {
		t.Fatalf("unknown partner: %q", code)
	}
	bad := submitted("PG-FFFF-6666-002", "")
	bad.Market = "Japan"
	badID := e.publish(registrationv1.TypeApplicationSubmitted, "PG-FFFF-6666-002", bad, nil)
	if code := e.deadLetter(badID); code != "verification.invalid_case" {
		t.Fatalf("invalid registration: %q", code)
	}
	wrongEnrollment := confirmed(p2)
	wrongEnrollment.EnrollmentID = "EN-nope"
	weID := e.publish(emailv1.TypeOwnershipConfirmed, p2, wrongEnrollment, nil)
	if code := e.deadLetter(weID); code != "verification.enrollment_not_found" {
		t.Fatalf("unknown enrollment: %q", code)
	}
}

// TestLeaseExpiresAcrossARestart: a verifier claims and disappears; the
// service stops before the lease ends; a new instance on the same database
// releases the task once when the lease expires, and another verifier can
// claim it.
func TestLeaseExpiresAcrossARestart(t *testing.T) {
	e := newEnv(t)
	cfg := e.config()
	cfg.LeaseDuration = 3 * time.Second
	first := e.start(cfg)
	const partner = "PG-GGGG-7777-00M"
	taskID := e.openCase(partner, "")
	status, body := first.call(t, "POST", "/v1/verification/tasks/"+taskID+"/claim", e.token(verifierA), nil)
	if status != http.StatusOK {
		t.Fatalf("claim: %d %v", status, body)
	}
	leaseUntil, err := time.Parse(time.RFC3339Nano, body["lease_until"].(string))
	if err != nil {
		t.Fatal(err)
	}
	if status, _ := first.call(t, "POST", "/v1/verification/tasks/"+taskID+"/claim", e.token(verifierB), nil); status != http.StatusConflict {
		t.Fatalf("claim while leased: %d", status)
	}
	first.stop()
	if time.Now().After(leaseUntil) {
		t.Skip("the first instance took longer than the lease to stop; nothing left to test")
	}
	if n := len(e.events(tReleased, partner)); n != 0 {
		t.Fatalf("released before the lease expired: %d", n)
	}
	second := e.start(cfg)
	released := e.waitEvent(tReleased, partner, 1)
	if released["verifier"] != "reviewer-a" || released["reason"] != "lease_expired" {
		t.Fatalf("released %v", released)
	}
	if status, body := second.call(t, "POST", "/v1/verification/tasks/"+taskID+"/claim", e.token(verifierB), nil); status != http.StatusOK {
		t.Fatalf("claim after expiry: %d %v", status, body)
	}
	e.waitEvent(tClaimed, partner, 2) // published after the release: later polls had their chance
	testkit.Eventually(t, 5*time.Second, func() error {
		var timer *time.Time
		if err := second.svc.Base.Pool.QueryRow(context.Background(), `SELECT timer_at FROM cases WHERE partner_id = $1`, partner).Scan(&timer); err != nil {
			return err
		}
		if timer == nil || !timer.After(time.Now()) {
			return fmt.Errorf("next timer %v is not the new lease", timer)
		}
		return nil
	})
	if n := len(e.events(tReleased, partner)); n != 1 {
		t.Fatalf("released %d times, want once", n)
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestABoundVerifierDecidesOnlyFromItsOwnBusUser: verifier services shared
// one bus user, and an intake names its actor itself, so one could decide,
// as another, a task that other claimed. kyb-checks (bound to a bus user of
// its own in the development directory) claims a task: a decision naming it
// on the shared subject, which any verifier service may publish, is
// dead-lettered (auth.principal_not_publisher) and decides nothing; the
// decision from kyb-checks' own subject is recorded.
func TestABoundVerifierDecidesOnlyFromItsOwnBusUser(t *testing.T) {
	e := newEnv(t)
	svc := e.start(e.config())
	kyb := auth.Principal{Kind: auth.KindService, Subject: "kyb-checks", Roles: []auth.Role{auth.RoleVerifier}}
	const p = "PG-KKKK-7777-002"
	task := e.openCase(p, "")
	if status, body := svc.call(t, "POST", "/v1/verification/tasks/"+task+"/claim", e.token(kyb), nil); status != http.StatusOK {
		t.Fatalf("claim as kyb-checks: %d %v", status, body)
	}
	asKyb := map[string]string{"ce-authtype": "service_account", "ce-authid": "kyb-checks"}
	forged := e.publish(intakev1.TypeVerificationDecisionSubmitted, p,
		intakev1.VerificationDecisionSubmitted{DecisionID: "d-forged", TaskID: task, Outcome: "approve"}, asKyb)
	if code := e.deadLetter(forged); code != auth.CodePrincipalNotPublisher {
		t.Fatalf("a decision naming kyb-checks from the shared verifier subject: dead letter %q, want %s", code, auth.CodePrincipalNotPublisher)
	}
	body, err := json.Marshal(intakev1.VerificationDecisionSubmitted{DecisionID: "d-own", TaskID: task, Outcome: "approve"})
	if err != nil {
		t.Fatal(err)
	}
	h := map[string]string{ce.HSpecVersion: "1.0", ce.HID: ce.NewID(), ce.HSource: "/verifiers/kyb-checks", ce.HType: intakev1.TypeVerificationDecisionSubmitted,
		ce.HSubject: p, ce.HDataContentType: "application/json"}
	for k, v := range asKyb {
		h[k] = v
	}
	e.publishRaw(bus.IntakeSubject(intakev1.TypeVerificationDecisionSubmitted, "kyb-checks"), h, body)
	if d := e.waitEvent(tDecision, p, 1); d["decision_id"] != "d-own" {
		t.Fatalf("recorded decision %v, want kyb-checks' own d-own", d)
	}
	if n := len(e.events(tDecision, p)); n != 1 {
		t.Fatalf("%d decisions recorded, want 1", n)
	}
}
