package e2e_test

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	regv1 "github.com/partnerhub/onboarding/pkg/events/registration/v1"
	"github.com/partnerhub/onboarding/services/partnerctl/internal/e2e"
)

// TestPartnerAddsProgramsAndLocations runs on a stack of its own (a fresh
// database, so it may use register entries the lifecycle paths use): a
// partner-network member adds the indirect reseller program, confirms the
// address again from the new mail, accepts the reseller agreement with MFA
// and its enrollment becomes active; then it adds a second location with
// its own location ID and a reseller enrollment there, active on its own
// confirmation mail under the agreement the company accepted. Meanwhile the operator's policy file changes without a restart.
func TestPartnerAddsProgramsAndLocations(t *testing.T) {
	policy := filepath.Join(t.TempDir(), "registration-policy.yaml")
	if err := os.WriteFile(policy, []byte("markets:\n  JP:\n    refuse_role_addresses: true\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := e2e.Start(t, e2e.Env("registration", "REGISTRATION_POLICY_FILE="+policy, "REGISTRATION_POLICY_POLL=100ms"))
	validateResponses(t, s, 20)
	c := minato
	reg := registerNetworkOnly(t, s, c)
	pid := reg.PartnerID
	logOnFailure(t, s, pid)
	confirmEmail(t, s, c, pid, 1)
	first := confirmLinks(t, s, c.Email(), 1)[0]
	task := reviewTask(t, s, pid, 1)
	decide(t, s, verifier("verifier-programs"), task.TaskID, map[string]any{"decision_id": "approve-" + task.TaskID, "outcome": "approve"})
	s.Events.WaitFor(t, regv1.TypePartnerActivated, pid)

	// The member adds the reseller program: not a duplicate of itself.
	admin := s.Token(partnerAdmin(pid, "admin-"+pid))
	reseller := map[string]any{"program": "indirect_reseller",
		"support":      map[string]any{"website": "https://www." + c.Domain + "/support", "email": "support@" + c.Domain},
		"affirmations": map[string]any{"authority_to_represent": true, "can_provide_support": true}}
	var added struct {
		Enrollment struct{ ID, Status string } `json:"enrollment"`
	}
	s.Call(t, "POST", s.URL("registration")+"/v1/partners/"+pid+"/enrollments", admin, reseller, http.StatusCreated, &added)
	if added.Enrollment.Status != "pending_email_confirmation" {
		t.Fatalf("added %+v", added)
	}
	e2e.WantProblem(t, s.Do(t, "POST", s.URL("registration")+"/v1/partners/"+pid+"/enrollments", admin, reseller),
		http.StatusConflict, "registration.already_enrolled")

	// Its own confirmation mail (seed 002 step 17), then its agreement.
	confirmNewLinks(t, s, c.Email(), []string{first}, 1)
	waitEnrollment(t, s, pid, added.Enrollment.ID, "qualified")
	acceptAgreement(t, s, pid, "indirect_reseller")
	waitEnrollment(t, s, pid, added.Enrollment.ID, "active")

	// A second location: its own location ID, active at once (the partner
	// is approved), and a reseller enrollment of its own there.
	var loc struct {
		Location struct{ ID, Status string } `json:"location"`
	}
	osaka := map[string]any{"address": map[string]any{"line1": "梅田1-1-3", "line2": "大阪駅前第1ビル 5F", "city": "大阪市北区",
		"region": "大阪府", "postal_code": "530-0001"}}
	s.Call(t, "POST", s.URL("registration")+"/v1/partners/"+pid+"/locations", admin, osaka, http.StatusCreated, &loc)
	if loc.Location.Status != "active" || loc.Location.ID == reg.LocationID {
		t.Fatalf("location %+v", loc)
	}
	abroad := map[string]any{"country": "US", "address": map[string]any{"line1": "1 Main St", "city": "Austin", "region": "TX", "postal_code": "78701"}}
	e2e.WantProblem(t, s.Do(t, "POST", s.URL("registration")+"/v1/partners/"+pid+"/locations", admin, abroad),
		http.StatusConflict, "registration.market_immutable")
	reseller["location_id"] = loc.Location.ID
	var second struct {
		Enrollment struct {
			ID, Status string
			LocationID string `json:"location_id"`
		} `json:"enrollment"`
	}
	s.Call(t, "POST", s.URL("registration")+"/v1/partners/"+pid+"/enrollments", admin, reseller, http.StatusCreated, &second)
	if second.Enrollment.LocationID != loc.Location.ID || second.Enrollment.ID == added.Enrollment.ID {
		t.Fatalf("second enrollment %+v", second)
	}
	links := confirmLinks(t, s, c.Email(), 2)
	confirmNewLinks(t, s, c.Email(), links, 1)
	// The reseller agreement binds the company: accepted once, it covers
	// the new location's enrollment too, active on its own confirmation.
	waitEnrollment(t, s, pid, second.Enrollment.ID, "active")
	wantTopics(t, s, "REGISTRATION", pid,
		"registration.application.submitted", "registration.partner.activated", "registration.enrollment.status_changed",
		"registration.enrollment.added", "registration.enrollment.status_changed",
		"registration.enrollment.location_linked", "registration.enrollment.status_changed", "registration.location.added",
		"registration.enrollment.added", "registration.enrollment.status_changed")

	// The operator allows role addresses in JP: the next registration with
	// info@ passes without a restart.
	hikariBody := hikari.Registration("indirect_reseller")
	hikariBody["contact"].(map[string]any)["email"] = "info@" + hikari.Domain
	e2e.WantProblem(t, s.Do(t, "POST", s.URL("registration")+"/v1/registrations", s.Token(upstream), hikariBody),
		http.StatusUnprocessableEntity, "registration.invalid_input")
	if err := os.WriteFile(policy, []byte("markets:\n  JP:\n    refuse_role_addresses: false  # shared mailboxes allowed\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	e2e.Eventually(t, 10*time.Second, "the changed policy file in force", func() error {
		if r := s.Do(t, "POST", s.URL("registration")+"/v1/registrations", s.Token(upstream), hikariBody); r.Status != http.StatusCreated {
			return fmt.Errorf("%s", r)
		}
		return nil
	})

	s.Events.Settle(500*time.Millisecond, 5*time.Second)
	s.AssertNoDeadLetters(t)
	assertGapFreeSequences(t, s)
	s.Stop(t)
}

// registerNetworkOnly registers c in the partner network only.
func registerNetworkOnly(t *testing.T, s *e2e.Stack, c company) registered {
	t.Helper()
	body := c.Registration("indirect_reseller")
	body["programs"] = []map[string]any{{"program": "partner_network"}}
	var reg registered
	s.Call(t, "POST", s.URL("registration")+"/v1/registrations", s.Token(upstream), body, http.StatusCreated, &reg,
		"Idempotency-Key", "network-only-"+c.Number)
	if len(reg.Enrollments) != 1 {
		t.Fatalf("registered %+v", reg)
	}
	return reg
}

// confirmNewLinks waits for n confirmation mails to address beyond the
// links already used and confirms each of them.
func confirmNewLinks(t *testing.T, s *e2e.Stack, address string, used []string, n int) {
	t.Helper()
	var fresh []string
	e2e.Eventually(t, 20*time.Second, fmt.Sprintf("%d new confirmation mails to %s", n, address), func() error {
		fresh = fresh[:0]
		for _, l := range confirmLinks(t, s, address, len(used)) {
			if !slices.Contains(used, l) {
				fresh = append(fresh, l)
			}
		}
		if len(fresh) < n {
			return fmt.Errorf("%d new links", len(fresh))
		}
		return nil
	})
	for _, l := range fresh {
		s.ConfirmLink(t, l)
	}
}

// waitEnrollment waits until the partner's enrollment id has status.
func waitEnrollment(t *testing.T, s *e2e.Stack, partnerID, id, status string) {
	t.Helper()
	e2e.Eventually(t, 20*time.Second, "enrollment "+id+" "+status, func() error {
		for _, e := range getPartner(t, s, partnerID).Enrollments {
			if e.ID == id {
				if e.Status != status {
					return fmt.Errorf("%s", e.Status)
				}
				return nil
			}
		}
		return fmt.Errorf("no enrollment %s", id)
	})
}
