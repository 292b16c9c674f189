package service_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/partnerhub/onboarding/pkg/auth"
	"github.com/partnerhub/onboarding/pkg/ce"
	regv1 "github.com/partnerhub/onboarding/pkg/events/registration/v1"
	verificationv1 "github.com/partnerhub/onboarding/pkg/events/verification/v1"
	"github.com/partnerhub/onboarding/pkg/testkit"
	"github.com/partnerhub/onboarding/services/registration/internal/service"
)

// networkOnly is the test company registered in the partner network only.
func networkOnly() map[string]any {
	r := registration()
	r["programs"] = []any{map[string]any{"program": "partner_network"}}
	return r
}

func resellerBody() map[string]any {
	return map[string]any{"program": "indirect_reseller",
		"support":      map[string]any{"website": "https://support.mirai-cloud.co.jp", "email": "support@mirai-cloud.co.jp"},
		"affirmations": map[string]any{"authority_to_represent": true, "can_provide_support": true}}
}

// approvedNetworkMember registers the test company (upstream) in the
// network only, confirms its e-mail and approves it, and returns its
// partner and location ids once it is active.
func (e *env) approvedNetworkMember(t *testing.T) (partnerID, locationID string) {
	t.Helper()
	r := e.do(t, "POST", "/v1/registrations", e.token(t, upstream), "application/json", mustJSON(t, networkOnly()))
	if r.Status != 201 {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
	view := r.json(t)
	pid, loc := view["partner_id"].(string), view["location_id"].(string)
	e.confirmEmail(t, pid, enrollmentID(t, view, "partner_network"), "partner_network")
	e.publish(t, verificationv1.TypeVerificationApproved, mustJSON(t, verificationv1.VerificationApproved{CaseID: "c1", PartnerID: pid,
		LocationID: loc, Market: "JP", DecisionID: "d1", ApprovedAt: time.Now().UTC()}), nil)
	e.waitStanding(t, pid, "active")
	return pid, loc
}

func problemCode(t *testing.T, r response) string {
	t.Helper()
	code, _ := r.json(t)["code"].(string)
	return code
}

// TestNetworkMemberAddsTheResellerProgram: an approved network member adds
// the reseller program without being refused as a duplicate of itself; the
// enrollment publishes enrollment.added (pending its own e-mail
// confirmation), the confirmation qualifies it and the agreement activates
// it, as for an enrollment of the registration.
func TestNetworkMemberAddsTheResellerProgram(t *testing.T) {
	e := start(t)
	pid, loc := e.approvedNetworkMember(t)

	admin := e.token(t, auth.Principal{Subject: "admin-1", PartnerID: pid, Roles: []auth.Role{auth.RolePartnerAdmin}})
	other := e.token(t, auth.Principal{Subject: "other-portal", Kind: auth.KindService, Roles: []auth.Role{auth.RoleUpstreamSystem}})
	if r := e.do(t, "POST", "/v1/partners/"+pid+"/enrollments", other, "application/json", mustJSON(t, resellerBody())); r.Status != 404 {
		t.Fatalf("another upstream system: %d %s", r.Status, r.Body)
	}
	bad := resellerBody()
	delete(bad, "support")
	if r := e.do(t, "POST", "/v1/partners/"+pid+"/enrollments", admin, "application/json", mustJSON(t, bad)); r.Status != 422 ||
		!strings.Contains(string(r.Body), "program.support_profile_required") {
		t.Fatalf("without support profile: %d %s", r.Status, r.Body)
	}
	r := e.do(t, "POST", "/v1/partners/"+pid+"/enrollments", admin, "application/json", mustJSON(t, resellerBody()))
	if r.Status != 201 {
		t.Fatalf("add reseller: %d %s", r.Status, r.Body)
	}
	en := r.json(t)["enrollment"].(map[string]any)
	eid := en["id"].(string)
	if en["status"] != "pending_email_confirmation" {
		t.Fatalf("enrollment %v", en)
	}
	if r := e.do(t, "POST", "/v1/partners/"+pid+"/enrollments", e.token(t, upstream), "application/json", mustJSON(t, resellerBody())); r.Status != 409 ||
		problemCode(t, r) != "registration.already_enrolled" {
		t.Fatalf("again: %d %s", r.Status, r.Body)
	}
	network := map[string]any{"program": "partner_network", "affirmations": map[string]any{"authority_to_represent": true}}
	if r := e.do(t, "POST", "/v1/partners/"+pid+"/enrollments", admin, "application/json", mustJSON(t, network)); r.Status != 409 ||
		problemCode(t, r) != "registration.already_enrolled" {
		t.Fatalf("network again: %d %s", r.Status, r.Body)
	}
	ev := e.waitEvent(t, "REGISTRATION", ce.Topic(regv1.TypeEnrollmentAdded), func(ev ce.Event) bool { return ev.Subject == pid })
	var added regv1.EnrollmentAdded
	if err := ev.DecodeData(&added, false); err != nil {
		t.Fatal(err)
	}
	if added.EnrollmentID != eid || added.LocationID != loc || added.Contact.Email != "taro.yamada@mirai-cloud.co.jp" || added.AddedBy != "admin-1" {
		t.Fatalf("event %+v", added)
	}
	e.confirmEmail(t, pid, eid, "indirect_reseller")
	e.waitEnrollment(t, pid, "indirect_reseller", "qualified")
	e.publish(t, "com.partnerhub.agreements.acceptance.recorded.v1", mustJSON(t, map[string]any{
		"acceptance_id": "AC-1", "partner_id": pid, "location_id": loc, "program": "indirect_reseller", "market": "JP", "enrollment_id": eid}), nil)
	e.waitEnrollment(t, pid, "indirect_reseller", "active")
	if dl := e.deadLetters(t); len(dl) != 0 {
		t.Fatalf("dead letters: %d", len(dl))
	}
}

func (e *env) waitEnrollment(t *testing.T, pid, program, status string) {
	t.Helper()
	testkit.Eventually(t, 10*time.Second, func() error {
		for _, en := range e.partner(t, pid).Enrollments {
			if en.Program == program && en.Status == status {
				return nil
			}
		}
		return fmt.Errorf("%s not %s yet: %+v", program, status, e.partner(t, pid).Enrollments)
	})
}

// TestPartnerAddsALocation: a second location gets its own ID and its own
// enrollment; the same address twice, another market and another partner's
// address are refused precisely.
func TestPartnerAddsALocation(t *testing.T) {
	e := start(t)
	view := e.approved(t, time.Now().UTC())
	pid := view["partner_id"].(string)
	admin := e.token(t, auth.Principal{Subject: "admin-1", PartnerID: pid, Roles: []auth.Role{auth.RolePartnerAdmin}})
	osaka := map[string]any{"address": map[string]any{"line1": "梅田１－１－３", "city": "大阪市北区", "region": "大阪府", "postal_code": "5300001"}}
	r := e.do(t, "POST", "/v1/partners/"+pid+"/locations", admin, "application/json", mustJSON(t, osaka))
	if r.Status != 201 {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
	loc := r.json(t)["location"].(map[string]any)
	lid := loc["id"].(string)
	norm := loc["address"].(map[string]any)["normalized"].(map[string]any)
	if loc["status"] != "active" || lid == view["location_id"] || norm["postal_code"] != "530-0001" || norm["region_code"] != "27" {
		t.Fatalf("location %v", loc)
	}
	if r := e.do(t, "POST", "/v1/partners/"+pid+"/locations", admin, "application/json", mustJSON(t, osaka)); r.Status != 409 ||
		problemCode(t, r) != "registration.location_exists" {
		t.Fatalf("same address: %d %s", r.Status, r.Body)
	}
	abroad := map[string]any{"country": "US", "address": map[string]any{"line1": "1 Main St", "city": "Austin", "region": "TX", "postal_code": "78701"}}
	if r := e.do(t, "POST", "/v1/partners/"+pid+"/locations", admin, "application/json", mustJSON(t, abroad)); r.Status != 409 ||
		problemCode(t, r) != "registration.market_immutable" {
		t.Fatalf("another market: %d %s", r.Status, r.Body)
	}
	body := resellerBody()
	body["location_id"] = lid
	r = e.do(t, "POST", "/v1/partners/"+pid+"/enrollments", admin, "application/json", mustJSON(t, body))
	if r.Status != 201 {
		t.Fatalf("enroll at Osaka: %d %s", r.Status, r.Body)
	}
	if en := r.json(t)["enrollment"].(map[string]any); en["location_id"] != lid || en["status"] != "pending_email_confirmation" {
		t.Fatalf("enrollment %v", en)
	}
	e.waitEvent(t, "REGISTRATION", ce.Topic(regv1.TypeLocationAdded), func(ev ce.Event) bool { return ev.Subject == pid })
	osakaID := r.json(t)["enrollment"].(map[string]any)["id"].(string)
	req := e.do(t, "GET", "/v1/partners/"+pid+"/enrollments/"+osakaID+"/requirements", admin, "", nil)
	if req.Status != 200 || req.json(t)["enrollment_id"] != osakaID || !strings.Contains(string(req.Body), `"email_confirmation"`) {
		t.Fatalf("requirements of the Osaka enrollment: %d %s", req.Status, req.Body)
	}

	// With an Idempotency-Key a retry gets the first answer.
	kobe := map[string]any{"address": map[string]any{"line1": "加納町6-5-1", "city": "神戸市中央区", "region": "兵庫県", "postal_code": "650-8570"}}
	first := e.do(t, "POST", "/v1/partners/"+pid+"/locations", admin, "application/json", mustJSON(t, kobe), "Idempotency-Key", "kobe-1")
	again := e.do(t, "POST", "/v1/partners/"+pid+"/locations", admin, "application/json", mustJSON(t, kobe), "Idempotency-Key", "kobe-1")
	if first.Status != 201 || again.Status != 201 || again.Header.Get("Idempotent-Replayed") != "true" || string(first.Body) != string(again.Body) {
		t.Fatalf("replay: %d %d %q", first.Status, again.Status, again.Header.Get("Idempotent-Replayed"))
	}

	// A company of the same name registered elsewhere cannot add a location
	// at this partner's address, and the refusal (stored under its key)
	// leaves nothing behind.
	twin := registration()
	twin["company"].(map[string]any)["registration_number"] = nil
	twin["company"].(map[string]any)["address"] = map[string]any{"line1": "栄3-1-1", "city": "名古屋市中区", "region": "愛知県", "postal_code": "460-0008"}
	r = e.do(t, "POST", "/v1/registrations", e.token(t, upstream), "application/json", mustJSON(t, twin))
	if r.Status != 201 {
		t.Fatalf("twin: %d %s", r.Status, r.Body)
	}
	twinID := r.json(t)["partner_id"].(string)
	tokyo := map[string]any{"address": registration()["company"].(map[string]any)["address"]}
	r = e.do(t, "POST", "/v1/partners/"+twinID+"/locations", e.token(t, upstream), "application/json", mustJSON(t, tokyo), "Idempotency-Key", "tokyo-1")
	if r.Status != 409 || problemCode(t, r) != "registration.duplicate_entity" || !strings.Contains(string(r.Body), "name+address") {
		t.Fatalf("twin at the partner's address: %d %s", r.Status, r.Body)
	}
	var twinView struct{ Locations []any }
	if err := json.Unmarshal(e.do(t, "GET", "/v1/partners/"+twinID, e.token(t, operator), "", nil).Body, &twinView); err != nil || len(twinView.Locations) != 1 {
		t.Fatalf("twin's locations after the refusal: %+v %v", twinView, err)
	}
	var held int
	if err := e.svc.Base.Pool.QueryRow(context.Background(), `SELECT count(*) FROM identity_keys WHERE partner_id = $1`, twinID).Scan(&held); err != nil || held != 1 {
		t.Fatalf("twin holds %d identity keys (%v), want 1", held, err)
	}

	// Another company registered at Osaka under the same name: the
	// registration is refused as a duplicate of the location's key.
	reg := registration()
	reg["company"].(map[string]any)["registration_number"] = nil
	reg["company"].(map[string]any)["address"] = osaka["address"]
	if r := e.do(t, "POST", "/v1/registrations", e.token(t, upstream), "application/json", mustJSON(t, reg)); r.Status != 409 ||
		problemCode(t, r) != "registration.duplicate_entity" {
		t.Fatalf("registration at the location: %d %s", r.Status, r.Body)
	}
}

// TestChangedPolicyFileChangesTheDecisionWithoutRestart: the operator's
// policy file is read at start, a change is applied while the service runs
// (modification-time poll), and a broken file keeps the policy in force.
func TestChangedPolicyFileChangesTheDecisionWithoutRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "policy.yaml")
	write := func(s string) {
		t.Helper()
		// Another size too, so that a write within the file system's
		// timestamp granularity is still seen.
		if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("markets:\n  JP:\n    refuse_role_addresses: true\n")
	e := startWith(t, func(c *service.Config) { c.PolicyFile, c.PolicyPoll = path, 50*time.Millisecond })
	reg := registration()
	reg["contact"].(map[string]any)["email"] = "info@mirai-cloud.co.jp"
	submit := func() response {
		return e.do(t, "POST", "/v1/registrations", e.token(t, upstream), "application/json", mustJSON(t, reg))
	}
	if r := submit(); r.Status != 422 || !strings.Contains(string(r.Body), "email.role_address") {
		t.Fatalf("role address with the policy on: %d %s", r.Status, r.Body)
	}
	write("markets:\n  JP:\n    refuse_role_addresses: false   # JP allows info@ now\n")
	testkit.Eventually(t, 10*time.Second, func() error {
		if r := submit(); r.Status != 201 {
			return fmt.Errorf("still %d %s", r.Status, r.Body)
		}
		return nil
	})
	// A broken file is refused; the policy in force (role addresses
	// allowed in JP) stays.
	write("markets:\n  JP:\n    refuse_role_addreses: true\n")
	time.Sleep(300 * time.Millisecond) // several polls: nothing to wait for but their absence of effect
	reg["company"].(map[string]any)["legal_name"] = "（株）みらいクラウド二"
	reg["company"].(map[string]any)["registration_number"] = nil
	if r := submit(); r.Status != 201 {
		t.Fatalf("after a broken file: %d %s", r.Status, r.Body)
	}
}

// TestBrokenPolicyFileIsAStartupError: a policy file that does not
// validate stops the service at start with the problem named.
func TestBrokenPolicyFileIsAStartupError(t *testing.T) {
	path := filepath.Join(t.TempDir(), "policy.json")
	if err := os.WriteFile(path, []byte(`{"markets":{"JP":{"required_registration_schemes":["vat"]}}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	err := service.Config{IdempotencyRetention: 48 * time.Hour, PolicyFile: path}.Validate()
	if err == nil || !strings.Contains(err.Error(), "REGISTRATION_POLICY_FILE") || !strings.Contains(err.Error(), `"vat" is not a scheme`) {
		t.Fatalf("err = %v", err)
	}
}

// TestAChangeRewritesOnlyTheChildrenItChanged: a change of a partner
// (a confirmed e-mail address of one enrollment) stores the partner but
// leaves the rows of the locations and enrollments whose stored columns it
// did not change as they were (no row rewritten to the same values).
func TestAChangeRewritesOnlyTheChildrenItChanged(t *testing.T) {
	e := start(t)
	r := e.do(t, "POST", "/v1/registrations", e.token(t, upstream), "application/json", mustJSON(t, registration()))
	if r.Status != 201 {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
	view := r.json(t)
	pid := view["partner_id"].(string)
	ctx := context.Background()
	pool := e.svc.Base.Pool
	versions := func() (partner string, children map[string]string) {
		t.Helper()
		if err := pool.QueryRow(ctx, `SELECT xmin::text FROM partners WHERE id = $1`, pid).Scan(&partner); err != nil {
			t.Fatal(err)
		}
		rows, _ := pool.Query(ctx, `SELECT 'location ' || id, xmin::text, status FROM locations WHERE partner_id = $1
			UNION ALL SELECT 'enrollment ' || id, xmin::text, status FROM enrollments WHERE partner_id = $1`, pid)
		children = map[string]string{}
		for rows.Next() {
			var id, xmin, status string
			if err := rows.Scan(&id, &xmin, &status); err != nil {
				t.Fatal(err)
			}
			children[id] = xmin + " " + status
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		return partner, children
	}
	partnerBefore, before := versions()
	if len(before) < 3 {
		t.Fatalf("children %v: want a location and two enrollments", before)
	}
	e.confirmEmail(t, pid, enrollmentID(t, view, "indirect_reseller"), "indirect_reseller")
	var after map[string]string
	testkit.Eventually(t, 10*time.Second, func() error {
		var p string
		if p, after = versions(); p == partnerBefore {
			return errors.New("partner not stored yet")
		}
		return nil
	})
	unchanged := 0
	for id, v := range before {
		if after[id] == v {
			unchanged++
		} else if strings.Fields(after[id])[1] == strings.Fields(v)[1] {
			t.Errorf("%s rewritten with its status unchanged: %s -> %s", id, v, after[id])
		}
	}
	if unchanged == 0 {
		t.Fatalf("every child row was rewritten: %v -> %v", before, after)
	}
}
