package service_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/partnerhub/onboarding/pkg/auth"
	"github.com/partnerhub/onboarding/pkg/ce"
	"github.com/partnerhub/onboarding/pkg/contract"
	agreementsv1 "github.com/partnerhub/onboarding/pkg/events/agreements/v1"
	regv1 "github.com/partnerhub/onboarding/pkg/events/registration/v1"
	"github.com/partnerhub/onboarding/pkg/testkit"
)

// TestAnOverdueReacceptanceQualifiesTheEnrollmentAgain: agreements asked
// the partner to accept a new reseller agreement version by a deadline —
// the requirements view lists it, the enrollment still transacts — and
// then found it not accepted by then. Before
// round 44 registration never heard of it: the enrollment stayed active
// (and relationships let the reseller authorise providers) while
// agreements answered agreements.reacceptance_overdue. Now the enrollment
// is qualified again (a status change with the reason, valid against the
// contract), its requirements view asks for the version by its deadline,
// and the acceptance of that version makes it active again; the same news
// again changes nothing.
func TestAnOverdueReacceptanceQualifiesTheEnrollmentAgain(t *testing.T) {
	e := start(t)
	pid, lid, accepted := e.acceptedReseller(t)

	// Asked first: the view lists the version and its deadline, and the
	// enrollment still transacts (before round 44 the view was empty).
	admin := e.token(t, auth.Principal{Subject: "admin-1", PartnerID: pid, Roles: []auth.Role{auth.RolePartnerAdmin}})
	due := time.Now().UTC().Add(-time.Minute).Truncate(time.Second)
	required := mustJSON(t, agreementsv1.ReacceptanceRequired{RequirementID: "RQ-1", PartnerID: pid, LocationID: lid,
		Program: "indirect_reseller", Market: "JP", VersionID: "indirect_reseller-2026-12", CurrentAcceptanceID: "AC-1", DueBy: due.Add(time.Hour)})
	e.publish(t, agreementsv1.TypeReacceptanceRequired, required, nil)
	testkit.Eventually(t, 10*time.Second, func() error {
		req := e.do(t, "GET", "/v1/partners/"+pid+"/enrollments/indirect_reseller/requirements", admin, "", nil)
		if req.Status != 200 || !strings.Contains(string(req.Body), `"reason":"agreement_reacceptance_required"`) ||
			!strings.Contains(string(req.Body), `"can_transact":true`) || !strings.Contains(string(req.Body), `"due_at":"`+due.Add(time.Hour).Format(time.RFC3339)) {
			return fmt.Errorf("requirements while the version is due: %d %s", req.Status, req.Body)
		}
		return nil
	})
	overdue := mustJSON(t, agreementsv1.ReacceptanceOverdue{RequirementID: "RQ-1", PartnerID: pid, LocationID: lid,
		Program: "indirect_reseller", Market: "JP", VersionID: "indirect_reseller-2026-12", DueBy: due, OverdueAt: time.Now().UTC()})
	e.publish(t, agreementsv1.TypeReacceptanceOverdue, overdue, nil)
	e.waitEnrollment(t, pid, "indirect_reseller", "qualified")
	lapsed := e.waitEvent(t, "REGISTRATION", ce.Topic(regv1.TypeEnrollmentStatusChanged), func(ev ce.Event) bool {
		return ev.Subject == pid && strings.Contains(string(ev.Data), `"reason":"agreement_reacceptance_overdue"`)
	})
	if err := contract.ValidateJSON(regv1.TypeEnrollmentStatusChanged, lapsed.Data); err != nil {
		t.Fatal(err)
	}
	req := e.do(t, "GET", "/v1/partners/"+pid+"/enrollments/indirect_reseller/requirements", admin, "", nil)
	if req.Status != 200 || !strings.Contains(string(req.Body), `"reason":"agreement_reacceptance_overdue"`) ||
		!strings.Contains(string(req.Body), "indirect_reseller-2026-12") || !strings.Contains(string(req.Body), `"due_at":"`+due.Format(time.RFC3339)) ||
		strings.Contains(string(req.Body), "agreement_reacceptance_required") || !strings.Contains(string(req.Body), `"can_transact":false`) {
		t.Fatalf("requirements after the lapse: %d %s", req.Status, req.Body)
	}

	e.publish(t, agreementsv1.TypeAcceptanceRecorded, accepted("AC-2", "indirect_reseller-2026-12"), nil)
	e.waitEnrollment(t, pid, "indirect_reseller", "active")
	e.publish(t, agreementsv1.TypeReacceptanceOverdue, overdue, nil) // the news again, another event id
	time.Sleep(500 * time.Millisecond)
	testkit.Eventually(t, 5*time.Second, func() error {
		for _, en := range e.partner(t, pid).Enrollments {
			if en.Program == "indirect_reseller" && en.Status != "active" {
				return fmt.Errorf("the news again moved the enrollment: %s", en.Status)
			}
		}
		return nil
	})
	req = e.do(t, "GET", "/v1/partners/"+pid+"/enrollments/indirect_reseller/requirements", admin, "", nil)
	if req.Status != 200 || strings.Contains(string(req.Body), "agreement_reacceptance_overdue") {
		t.Fatalf("requirements after the new acceptance: %d %s", req.Status, req.Body)
	}
	if dl := e.deadLetters(t); len(dl) != 0 {
		t.Fatalf("dead letters: %d", len(dl))
	}
}

// TestARetiredVersionMakesTheLapsedEnrollmentActiveAgain: the partner let
// a new reseller agreement version lapse (qualified), then an operator
// retired that version and agreements cancelled the requirement. Before
// round 45 registration never heard of it: the enrollment stayed qualified
// for good and its requirements view asked for a version agreements refuses
// (409 agreements.version_retired). Now the earlier acceptance counts again:
// the enrollment is active (a status change with the reason, valid against
// the contract), the view asks for nothing; the news again changes nothing.
func TestARetiredVersionMakesTheLapsedEnrollmentActiveAgain(t *testing.T) {
	e := start(t)
	pid, lid, _ := e.acceptedReseller(t)
	due, overdueAt := time.Now().UTC().Add(-time.Minute).Truncate(time.Second), time.Now().UTC()
	e.publish(t, agreementsv1.TypeReacceptanceOverdue, mustJSON(t, agreementsv1.ReacceptanceOverdue{RequirementID: "RQ-1", PartnerID: pid,
		LocationID: lid, Program: "indirect_reseller", Market: "JP", VersionID: "indirect_reseller-2026-12", DueBy: due, OverdueAt: overdueAt}), nil)
	e.waitEnrollment(t, pid, "indirect_reseller", "qualified")

	cancelled := mustJSON(t, agreementsv1.ReacceptanceCancelled{RequirementID: "RQ-1", PartnerID: pid, LocationID: lid,
		Program: "indirect_reseller", Market: "JP", VersionID: "indirect_reseller-2026-12", CurrentAcceptanceID: "AC-1", DueBy: due,
		OverdueAt: &overdueAt, Reason: agreementsv1.CancelledVersionRetired, CancelledAt: time.Now().UTC()})
	if err := contract.ValidateJSON(agreementsv1.TypeReacceptanceCancelled, cancelled); err != nil {
		t.Fatal(err)
	}
	e.publish(t, agreementsv1.TypeReacceptanceCancelled, cancelled, nil)
	e.waitEnrollment(t, pid, "indirect_reseller", "active")
	back := e.waitEvent(t, "REGISTRATION", ce.Topic(regv1.TypeEnrollmentStatusChanged), func(ev ce.Event) bool {
		return ev.Subject == pid && strings.Contains(string(ev.Data), `"reason":"agreement_reacceptance_cancelled"`)
	})
	if err := contract.ValidateJSON(regv1.TypeEnrollmentStatusChanged, back.Data); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(back.Data), `"agreement_id":"AC-1"`) || !strings.Contains(string(back.Data), `"to":"active"`) {
		t.Fatalf("status change: %s", back.Data)
	}
	admin := e.token(t, auth.Principal{Subject: "admin-1", PartnerID: pid, Roles: []auth.Role{auth.RolePartnerAdmin}})
	req := e.do(t, "GET", "/v1/partners/"+pid+"/enrollments/indirect_reseller/requirements", admin, "", nil)
	if req.Status != 200 || strings.Contains(string(req.Body), "indirect_reseller-2026-12") || !strings.Contains(string(req.Body), `"can_transact":true`) {
		t.Fatalf("requirements after the retirement: %d %s", req.Status, req.Body)
	}
	var full struct {
		Enrollments []struct {
			Program          string          `json:"program"`
			AgreementID      string          `json:"agreement_id"`
			AgreementVersion string          `json:"agreement_version"`
			AgreementLapsed  json.RawMessage `json:"agreement_lapsed"`
		} `json:"enrollments"`
	}
	if err := json.Unmarshal(e.do(t, "GET", "/v1/partners/"+pid, e.token(t, operator), "", nil).Body, &full); err != nil {
		t.Fatal(err)
	}
	for _, en := range full.Enrollments {
		if en.Program == "indirect_reseller" && (en.AgreementID != "AC-1" || en.AgreementVersion != "indirect_reseller-2025-07" || en.AgreementLapsed != nil) {
			t.Fatalf("enrollment: %+v", en)
		}
	}
	e.publish(t, agreementsv1.TypeReacceptanceCancelled, cancelled, nil) // the news again, another event id
	time.Sleep(500 * time.Millisecond)
	n := 0
	for _, m := range e.streamEvents(t, "REGISTRATION", ce.Topic(regv1.TypeEnrollmentStatusChanged)) {
		ev, err := decodeRaw(m)
		if err != nil {
			t.Fatal(err)
		}
		if ev.Subject == pid && strings.Contains(string(ev.Data), `"reason":"agreement_reacceptance_cancelled"`) {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("status changes by the withdrawal: %d, want 1", n)
	}
	if dl := e.deadLetters(t); len(dl) != 0 {
		t.Fatalf("dead letters: %d", len(dl))
	}
}

// TestANewerVersionAfterTheLapseIsDue: the partner let a reseller agreement
// version lapse (qualified), and a newer version is published, which
// agreements asks it to accept (a mail says so). Before round 46 the lapsed
// enrollment ignored that news: its requirements view kept asking for the
// lapsed version only, and once that was accepted the enrollment was active
// with the newer version due nowhere in the view — seen on make run, where
// agreements' status said reacceptance_due_by and registration's view was
// empty. Now the lapsed view asks for the newer version (accepting it
// clears both), and after an acceptance of the lapsed version the newer one
// is shown due.
func TestANewerVersionAfterTheLapseIsDue(t *testing.T) {
	e := start(t)
	pid, lid, accepted := e.acceptedReseller(t)
	due := time.Now().UTC().Add(-time.Minute).Truncate(time.Second)
	e.publish(t, agreementsv1.TypeReacceptanceOverdue, mustJSON(t, agreementsv1.ReacceptanceOverdue{RequirementID: "RQ-1", PartnerID: pid, LocationID: lid,
		Program: "indirect_reseller", Market: "JP", VersionID: "indirect_reseller-2026-12", DueBy: due, OverdueAt: time.Now().UTC()}), nil)
	e.waitEnrollment(t, pid, "indirect_reseller", "qualified")

	later := time.Now().UTC().Add(time.Hour).Truncate(time.Second)
	e.publish(t, agreementsv1.TypeReacceptanceRequired, mustJSON(t, agreementsv1.ReacceptanceRequired{RequirementID: "RQ-2", PartnerID: pid, LocationID: lid,
		Program: "indirect_reseller", Market: "JP", VersionID: "indirect_reseller-2027-06", CurrentAcceptanceID: "AC-1", DueBy: later}), nil)
	admin := e.token(t, auth.Principal{Subject: "admin-1", PartnerID: pid, Roles: []auth.Role{auth.RolePartnerAdmin}})
	requirements := func() string {
		req := e.do(t, "GET", "/v1/partners/"+pid+"/enrollments/indirect_reseller/requirements", admin, "", nil)
		if req.Status != 200 {
			t.Fatalf("requirements: %d %s", req.Status, req.Body)
		}
		return string(req.Body)
	}
	testkit.Eventually(t, 10*time.Second, func() error {
		if body := requirements(); !strings.Contains(body, `"reason":"agreement_reacceptance_overdue"`) ||
			!strings.Contains(body, `"description":"accept version indirect_reseller-2027-06"`) || !strings.Contains(body, `"can_transact":false`) {
			return fmt.Errorf("the lapsed view after the newer version: %s", body)
		}
		return nil
	})

	e.publish(t, agreementsv1.TypeAcceptanceRecorded, accepted("AC-2", "indirect_reseller-2026-12"), nil)
	e.waitEnrollment(t, pid, "indirect_reseller", "active")
	testkit.Eventually(t, 10*time.Second, func() error {
		if body := requirements(); !strings.Contains(body, `"reason":"agreement_reacceptance_required"`) ||
			!strings.Contains(body, "indirect_reseller-2027-06") || !strings.Contains(body, `"due_at":"`+later.Format(time.RFC3339)) ||
			strings.Contains(body, "agreement_reacceptance_overdue") {
			return fmt.Errorf("active again, the newer version due: %s", body)
		}
		return nil
	})
}

// acceptedReseller approves the test company and records its reseller
// enrollment's acceptance AC-1 of indirect_reseller-2025-07 (active): the
// partner and location IDs, and a builder of further acceptances.
func (e *env) acceptedReseller(t *testing.T) (pid, lid string, accepted func(id, version string) []byte) {
	t.Helper()
	view := e.approved(t, time.Now().UTC())
	pid, lid = view["partner_id"].(string), view["location_id"].(string)
	eid := enrollmentID(t, view, "indirect_reseller")
	accepted = func(id, version string) []byte {
		return mustJSON(t, agreementsv1.AcceptanceRecorded{AcceptanceID: id, PartnerID: pid, LocationID: lid, EnrollmentID: eid,
			Program: "indirect_reseller", Market: "JP", VersionID: version, AcceptedAt: time.Now().UTC(), EffectiveAt: time.Now().UTC()})
	}
	e.publish(t, agreementsv1.TypeAcceptanceRecorded, accepted("AC-1", "indirect_reseller-2025-07"), nil)
	e.waitEnrollment(t, pid, "indirect_reseller", "active")
	return pid, lid, accepted
}
