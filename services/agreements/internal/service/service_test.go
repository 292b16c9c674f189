package service_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/partnerhub/onboarding/pkg/auth"
	"github.com/partnerhub/onboarding/pkg/bus"
	"github.com/partnerhub/onboarding/pkg/ce"
	"github.com/partnerhub/onboarding/pkg/contract"
	agreementsv1 "github.com/partnerhub/onboarding/pkg/events/agreements/v1"
	registrationv1 "github.com/partnerhub/onboarding/pkg/events/registration/v1"
	verificationv1 "github.com/partnerhub/onboarding/pkg/events/verification/v1"
	"github.com/partnerhub/onboarding/pkg/testkit"
)

var t0ctx = context.Background()

const (
	reseller = "indirect_reseller-2025-01"
	network  = "partner_network-2025-01"
)

func acceptPath(partnerID string) string {
	return "/v1/partners/" + partnerID + "/agreements/acceptances"
}

// TestResellerAcceptanceLifecycle drives one partner from registration to
// a signed reseller agreement and through revocation and re-approval, with
// every refusal the issue lists on the way.
func TestResellerAcceptanceLifecycle(t *testing.T) {
	h := start(t)
	pid := newPartnerID()
	h.register(pid, "partner_network", "indirect_reseller")

	// The network affirmation is recorded from the registration event.
	rec := h.waitEvents("AGREEMENTS", agreementsv1.TypeAcceptanceRecorded, pid, 1)
	var net agreementsv1.AcceptanceRecorded
	if err := json.Unmarshal(rec[0].Data, &net); err != nil {
		t.Fatal(err)
	}
	if net.Program != "partner_network" || net.VersionID != network || net.AcceptorUserID != "user-"+pid ||
		net.AcceptorRole != "applicant" || net.LocationID != locationOf(pid) || net.EnrollmentID != "EN-"+pid+"-0" {
		t.Fatalf("network acceptance = %+v", net)
	}
	contract.MustValidate(t, agreementsv1.TypeAcceptanceRecorded, net)

	// A replayed registration event has no effect.
	regEventID := h.replay(pid)
	marker := newPartnerID()
	h.register(marker, "partner_network")
	h.waitEvents("AGREEMENTS", agreementsv1.TypeAcceptanceRecorded, marker, 1)
	if n := h.count(`SELECT count(*) FROM acceptances WHERE partner_id = $1`, pid); n != 1 {
		t.Fatalf("replayed registration made %d network records", n)
	}
	if n := h.count(`SELECT count(*) FROM inbox WHERE event_id = $1`, regEventID); n != 1 {
		t.Fatalf("replay inbox rows = %d", n)
	}

	adminTok := h.token(adminOf(pid))
	body := map[string]any{"version_id": reseller, "market": "JP"}

	h.approve(pid, "DEC-A1")
	h.waitVerification(pid, "approved")

	user := adminOf(pid)
	user.Roles = []auth.Role{auth.RolePartnerUser}
	withoutMFA := adminOf(pid)
	withoutMFA.AMR = []string{"pwd"}
	other := newPartnerID()
	future := time.Now().UTC().Add(10 * time.Minute)
	refusals := []struct {
		name   string
		token  string
		body   any
		status int
		code   string
	}{
		{"no token", "", body, 401, ""},
		{"non-admin of the partner", h.token(user), body, 403, "agreements.acceptor_not_partner_admin"},
		{"admin without MFA", h.token(withoutMFA), body, 403, "auth.mfa_required"},
		{"admin of another partner", h.token(adminOf(other)), body, 404, "agreements.unknown_partner"},
		{"operator is not the partner's admin", h.token(operator), body, 403, "agreements.acceptor_not_partner_admin"},
		{"future date", adminTok, map[string]any{"version_id": reseller, "market": "JP", "accepted_at": future}, 422, "agreements.accepted_at_in_future"},
		{"unknown version", adminTok, map[string]any{"version_id": "indirect_reseller-1999-01", "market": "JP"}, 404, "agreements.unknown_version"},
		{"wrong market", adminTok, map[string]any{"version_id": reseller, "market": "US"}, 409, "agreements.market_mismatch"},
		{"invalid market", adminTok, map[string]any{"version_id": reseller, "market": "Japan"}, 422, "agreements.invalid_market"},
		{"missing fields", adminTok, map[string]any{}, 422, "agreements.invalid_input"},
		{"unknown field", adminTok, map[string]any{"version_id": reseller, "market": "JP", "accepted_by": "x"}, 400, "request.unknown_field"},
	}
	// A retired version and one for another market.
	opTok := h.token(operator)
	for _, v := range []map[string]any{
		versionBody("indirect_reseller-2024-12", "auto_effective", nil, time.Date(2024, 12, 1, 0, 0, 0, 0, time.UTC), 0),
		versionBody("indirect_reseller-us-2025", "auto_effective", []string{"US"}, time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), 0),
	} {
		if r := h.call("POST", "/v1/agreements/versions", opTok, v); r.Status != 201 {
			t.Fatalf("publish %v: %d %v", v["id"], r.Status, r.Body)
		}
	}
	if r := h.call("POST", "/v1/agreements/versions/indirect_reseller-2024-12/retire", opTok, nil); r.Status != 200 {
		t.Fatalf("retire: %d %v", r.Status, r.Body)
	}
	refusals = append(refusals,
		struct {
			name   string
			token  string
			body   any
			status int
			code   string
		}{"retired version", adminTok, map[string]any{"version_id": "indirect_reseller-2024-12", "market": "JP"}, 409, "agreements.version_retired"},
		struct {
			name   string
			token  string
			body   any
			status int
			code   string
		}{"version for another market", adminTok, map[string]any{"version_id": "indirect_reseller-us-2025", "market": "JP"}, 409, "agreements.version_not_for_market"},
	)
	for _, c := range refusals {
		r := h.call("POST", acceptPath(pid), c.token, c.body)
		if r.Status != c.status || (c.code != "" && r.code() != c.code) {
			t.Errorf("%s: got %d %v, want %d %s", c.name, r.Status, r.Body, c.status, c.code)
		}
	}
	if n := h.count(`SELECT count(*) FROM acceptances WHERE partner_id = $1 AND program = 'indirect_reseller'`, pid); n != 0 {
		t.Fatalf("refused requests left %d records", n)
	}

	// Twice concurrently: exactly one record, one 201 and one 200 with the same record.
	var wg sync.WaitGroup
	results := make([]response, 2)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = h.call("POST", acceptPath(pid), adminTok, body)
		}()
	}
	wg.Wait()
	statuses := map[int]int{results[0].Status: 1}
	statuses[results[1].Status]++
	if statuses[201] != 1 || statuses[200] != 1 {
		t.Fatalf("concurrent accepts: %d %v / %d %v", results[0].Status, results[0].Body, results[1].Status, results[1].Body)
	}
	id0 := results[0].Body["acceptance"].(map[string]any)["id"]
	if id1 := results[1].Body["acceptance"].(map[string]any)["id"]; id0 != id1 {
		t.Fatalf("concurrent accepts returned different records %v / %v", id0, id1)
	}
	if n := h.count(`SELECT count(*) FROM acceptances WHERE partner_id = $1 AND program = 'indirect_reseller'`, pid); n != 1 {
		t.Fatalf("reseller records = %d, want exactly 1", n)
	}
	// The evidence: who, from where, which text, which approval.
	var ip, ua, role, userID, decision, hash string
	var acceptedAt time.Time
	err := h.svc.Base.Pool.QueryRow(t.Context(), `SELECT client_ip, user_agent, acceptor_role, acceptor_user_id,
		verification_decision_id, text_sha256, accepted_at FROM acceptances WHERE id = $1`, id0).
		Scan(&ip, &ua, &role, &userID, &decision, &hash, &acceptedAt)
	if err != nil || ip != "127.0.0.1" || ua != "agreements-test/1.0" || role != "partner_admin" || userID != "user-"+pid ||
		decision != "DEC-A1" || len(hash) != 64 || time.Since(acceptedAt) > time.Minute || acceptedAt.After(time.Now()) {
		t.Fatalf("evidence: ip=%s ua=%s role=%s user=%s decision=%s hash=%s at=%v (%v)", ip, ua, role, userID, decision, hash, acceptedAt, err)
	}
	recs := h.waitEvents("AGREEMENTS", agreementsv1.TypeAcceptanceRecorded, pid, 2)
	var rr agreementsv1.AcceptanceRecorded
	if err := json.Unmarshal(recs[1].Data, &rr); err != nil {
		t.Fatal(err)
	}
	if rr.Program != "indirect_reseller" || rr.AcceptanceID != id0 || rr.VerificationDecisionID != "DEC-A1" ||
		rr.EnrollmentID != "EN-"+pid+"-1" || rr.PartnerID != pid || recs[1].Header.Get(ce.HSubject) != pid {
		t.Fatalf("acceptance recorded = %+v", rr)
	}
	contract.MustValidate(t, agreementsv1.TypeAcceptanceRecorded, rr)

	// Listing and status.
	list := h.call("GET", "/v1/partners/"+pid+"/agreements", adminTok, nil)
	if list.Status != 200 || len(list.Body["programs"].([]any)) != 2 {
		t.Fatalf("list: %d %v", list.Status, list.Body)
	}
	status := func(tok, partner, query string) response {
		return h.call("GET", "/v1/partners/"+partner+"/agreements/status?"+query, tok, nil)
	}
	if r := status(adminTok, pid, "market=JP&program=indirect_reseller"); r.Status != 200 || r.Body["signed"] != true || r.Body["acceptance_id"] != id0 {
		t.Fatalf("status: %d %v", r.Status, r.Body)
	}
	if r := status(adminTok, locationOf(pid), "market=JP"); r.Status != 200 {
		t.Fatalf("status by location id: %d %v", r.Status, r.Body)
	}
	// An upstream system reads the agreements of the partners it registered
	// only (the registration's submitted_by); another one's is unknown.
	registrant := h.token(auth.Principal{Kind: auth.KindService, Subject: "user-" + pid, Roles: []auth.Role{auth.RoleUpstreamSystem}})
	otherUpstream := h.token(auth.Principal{Kind: auth.KindService, Subject: "other-portal", Roles: []auth.Role{auth.RoleUpstreamSystem}})
	if r := h.call("GET", "/v1/partners/"+pid+"/agreements", registrant, nil); r.Status != 200 {
		t.Fatalf("the registrant's list: %d %v", r.Status, r.Body)
	}
	for _, path := range []string{"/v1/partners/" + pid + "/agreements", "/v1/partners/" + pid + "/agreements/status?market=JP&program=indirect_reseller"} {
		if r := h.call("GET", path, otherUpstream, nil); r.Status != 404 || r.Body["code"] != "agreements.unknown_partner" {
			t.Errorf("another upstream system, %s: %d %v", path, r.Status, r.Body)
		}
	}
	// Neither may accept; the registrant is refused for its role, another
	// upstream system as for a partner it does not know (not 403, which
	// told it the partner exists).
	acceptBody := map[string]any{"version_id": reseller, "market": "JP"}
	if r := h.call("POST", "/v1/partners/"+pid+"/agreements/acceptances", registrant, acceptBody); r.Status != 403 {
		t.Errorf("the registrant accepts: %d %v", r.Status, r.Body)
	}
	if r := h.call("POST", "/v1/partners/"+pid+"/agreements/acceptances", otherUpstream, acceptBody); r.Status != 404 || r.Body["code"] != "agreements.unknown_partner" {
		t.Errorf("another upstream system accepts: %d %v", r.Status, r.Body)
	}
	netOnly := marker // registered for the network only
	unsigned := newPartnerID()
	h.register(unsigned, "partner_network", "indirect_reseller")
	h.waitEvents("AGREEMENTS", agreementsv1.TypeAcceptanceRecorded, unsigned, 1)
	for _, c := range []struct {
		name, partner, query string
		status               int
		code                 string
	}{
		{"unknown partner", newPartnerID(), "market=JP", 404, "agreements.unknown_partner"},
		{"not a partner ID", "PG-NOPE", "market=JP", 422, "agreements.invalid_partner_id"},
		{"its location, in lower case", strings.ToLower(locationOf(pid)), "market=JP", 200, ""},
		{"market mismatch", pid, "market=US", 409, "agreements.market_mismatch"},
		{"no reseller enrollment", netOnly, "market=JP", 409, "agreements.no_reseller_enrollment"},
		{"not signed", unsigned, "market=JP&program=indirect_reseller", 404, "agreements.not_signed"},
		{"bad market", pid, "market=", 422, "agreements.invalid_market"},
	} {
		if r := status(opTok, c.partner, c.query); r.Status != c.status || r.code() != c.code {
			t.Errorf("status %s: %d %v, want %d %s", c.name, r.Status, r.Body, c.status, c.code)
		}
	}
	if r := status(h.token(adminOf(other)), pid, "market=JP"); r.Status != 404 || r.code() != "agreements.unknown_partner" {
		t.Errorf("status for another partner's admin: %d %v", r.Status, r.Body)
	}

	// Verification revoked after acceptance: the record stays, the status
	// and new accepts say so, and registration hears AcceptanceSuspended.
	h.revoke(pid, "DEC-R1")
	susp := h.waitEvents("AGREEMENTS", agreementsv1.TypeAcceptanceSuspended, pid, 1)
	var s agreementsv1.AcceptanceSuspended
	_ = json.Unmarshal(susp[0].Data, &s)
	if s.AcceptanceID != id0 || s.Outcome != "revoked" || s.DecisionID != "DEC-R1" {
		t.Fatalf("suspended = %+v", s)
	}
	if r := status(adminTok, pid, "market=JP"); r.Status != 409 || r.code() != "agreements.verification_revoked" {
		t.Fatalf("status after revocation: %d %v", r.Status, r.Body)
	}
	if r := h.call("POST", acceptPath(pid), adminTok, body); r.Status != 409 || r.code() != "agreements.verification_revoked" {
		t.Fatalf("accept after revocation: %d %v", r.Status, r.Body)
	}
	list = h.call("GET", "/v1/partners/"+pid+"/agreements", adminTok, nil)
	if !strings.Contains(fmt.Sprint(list.Body), "suspended:true") {
		t.Fatalf("listing does not mark the suspended record: %v", list.Body)
	}
	if n := h.count(`SELECT count(*) FROM acceptances WHERE partner_id = $1`, pid); n != 2 {
		t.Fatalf("records after revocation = %d, want 2 (append-only)", n)
	}
	// A new approval reinstates the same record.
	h.approve(pid, "DEC-A2")
	re := h.waitEvents("AGREEMENTS", agreementsv1.TypeAcceptanceReinstated, pid, 1)
	var ri agreementsv1.AcceptanceReinstated
	_ = json.Unmarshal(re[0].Data, &ri)
	if ri.AcceptanceID != id0 || ri.DecisionID != "DEC-A2" {
		t.Fatalf("reinstated = %+v", ri)
	}
	if r := status(adminTok, pid, "market=JP"); r.Status != 200 {
		t.Fatalf("status after re-approval: %d %v", r.Status, r.Body)
	}
}

// replay re-publishes pid's registration event with the same CloudEvent id
// (a redelivery, as after the stream's dedupe window) and returns that id.
func (h *harness) replay(pid string) string {
	h.t.Helper()
	msgs := h.streamEvents("REGISTRATION", registrationv1.TypeApplicationSubmitted, pid)
	if len(msgs) != 1 {
		h.t.Fatalf("registration events for %s = %d", pid, len(msgs))
	}
	m := nats.NewMsg(msgs[0].Subject)
	for k, v := range msgs[0].Header {
		if k != nats.MsgIdHdr {
			m.Header[k] = v
		}
	}
	m.Data = msgs[0].Data
	if _, err := h.js.PublishMsg(t0ctx, m); err != nil {
		h.t.Fatal(err)
	}
	return msgs[0].Header.Get(ce.HID)
}

func TestVersionRoutes(t *testing.T) {
	h := start(t)
	opTok := h.token(operator)
	pid := newPartnerID()
	v := versionBody("indirect_reseller-2025-07", "auto_effective", []string{"JP"}, time.Now().UTC().Add(time.Hour), 0)
	for _, c := range []struct {
		name   string
		token  string
		body   any
		status int
		code   string
	}{
		{"no token", "", v, 401, ""},
		{"partner admin", h.token(adminOf(pid)), v, 403, "auth.role_required"},
		{"bad hash", opTok, merge(v, map[string]any{"text_sha256": "abc"}), 422, "agreements.invalid_text_hash"},
		{"wrong type", opTok, merge(v, map[string]any{"languages": "en"}), 400, "request.wrong_type"},
		// 2^62+1 seconds overflowed to a one-second window: every partner concerned was overdue at once.
		{"window past any duration", opTok, merge(v, map[string]any{"id": "indirect_reseller-2025-08", "policy": "requires_reacceptance",
			"reacceptance_window_seconds": int64(1<<62 + 1)}), 422, "agreements.invalid_reacceptance_window"},
		{"window over ten years", opTok, merge(v, map[string]any{"id": "indirect_reseller-2025-08", "policy": "requires_reacceptance",
			"reacceptance_window_seconds": int64(11 * 365 * 24 * 3600)}), 422, "agreements.invalid_reacceptance_window"},
		{"name reordered by a bidi override", opTok, merge(v, map[string]any{"id": "indirect_reseller-2025-08", "name": "Agr\u202eeement"}), 422, "agreements.invalid_name"},
		{"text url port 99999", opTok, merge(v, map[string]any{"id": "indirect_reseller-2025-08", "text_url": "https://example.com:99999/r.md"}), 422, "agreements.invalid_text_url"},
		{"publish", opTok, v, 201, ""},
		{"same terms again", opTok, v, 200, ""},
		{"edited terms", opTok, merge(v, map[string]any{"name": "Edited"}), 409, "agreements.version_immutable"},
	} {
		r := h.call("POST", "/v1/agreements/versions", c.token, c.body)
		if r.Status != c.status || (c.code != "" && r.code() != c.code) {
			t.Errorf("%s: %d %v, want %d %s", c.name, r.Status, r.Body, c.status, c.code)
		}
	}
	pub := h.waitEvents("AGREEMENTS", agreementsv1.TypeVersionPublished, "indirect_reseller-2025-07", 1)
	var p agreementsv1.VersionPublished
	_ = json.Unmarshal(pub[0].Data, &p)
	contract.MustValidate(t, agreementsv1.TypeVersionPublished, p)
	if p.PublishedBy != "op-1" || p.TextSHA256 != v["text_sha256"] {
		t.Fatalf("published = %+v", p)
	}
	// The three seeds plus the new one are listed to any authenticated caller.
	r := h.call("GET", "/v1/agreements/versions", h.token(adminOf(pid)), nil)
	if r.Status != 200 || len(r.Body["versions"].([]any)) != 4 {
		t.Fatalf("list: %d %v", r.Status, r.Body)
	}
	if r := h.call("GET", "/v1/agreements/versions", "", nil); r.Status != 401 {
		t.Fatalf("list without token: %d", r.Status)
	}
	if r := h.call("POST", "/v1/agreements/versions/indirect_reseller-2025-07/retire", h.token(adminOf(pid)), nil); r.Status != 403 {
		t.Fatalf("retire by partner admin: %d", r.Status)
	}
	if r := h.call("POST", "/v1/agreements/versions/nope-2025/retire", opTok, nil); r.Status != 404 || r.code() != "agreements.unknown_version" {
		t.Fatalf("retire unknown: %d %v", r.Status, r.Body)
	}
	// Garbage in a path id or a query parameter is a precise 422, not a
	// Postgres error behind a 500 (the check is the shared HTTP layer's).
	for _, path := range []string{"/v1/agreements/versions/%00/retire", "/v1/agreements/versions/%FF%FE/retire"} {
		if r := h.call("POST", path, opTok, nil); r.Status != 422 || r.code() != "request.invalid_path_parameter" {
			t.Fatalf("retire %s: %d %v", path, r.Status, r.Body)
		}
	}
	for _, path := range []string{"/v1/partners/PG-%00/agreements", "/v1/partners/" + pid + "/agreements/status?market=%00&program=x"} {
		if r := h.call("GET", path, h.token(adminOf(pid)), nil); r.Status != 422 || !strings.HasPrefix(r.code(), "request.invalid_") {
			t.Fatalf("GET %s: %d %v", path, r.Status, r.Body)
		}
	}
	if r := h.call("POST", "/v1/agreements/versions/indirect_reseller-2025-07/retire", opTok, nil); r.Status != 200 {
		t.Fatalf("retire: %d %v", r.Status, r.Body)
	}
	h.waitEvents("AGREEMENTS", agreementsv1.TypeVersionRetired, "indirect_reseller-2025-07", 1)
	r = h.call("GET", "/v1/agreements/versions?program=indirect_reseller", opTok, nil)
	if r.Status != 200 || len(r.Body["versions"].([]any)) != 1 {
		t.Fatalf("list after retire: %d %v", r.Status, r.Body)
	}
}

// TestReacceptanceRequiredThenOverdue publishes a requires_reacceptance
// version with a one-second window: the requirement event goes out at once,
// the durable timer marks it overdue once, the status query refuses, and
// accepting the new version clears it.
func TestReacceptanceRequiredThenOverdue(t *testing.T) {
	h := start(t)
	pid := h.approvedReseller()
	adminTok := h.token(adminOf(pid))
	if r := h.call("POST", acceptPath(pid), adminTok, map[string]any{"version_id": reseller, "market": "JP"}); r.Status != 201 {
		t.Fatalf("accept: %d %v", r.Status, r.Body)
	}
	newID := "indirect_reseller-2025-08"
	r := h.call("POST", "/v1/agreements/versions", h.token(operator),
		versionBody(newID, "requires_reacceptance", nil, time.Now().UTC().Add(-time.Hour), 1))
	if r.Status != 201 || r.Body["requirements_created"] != float64(1) {
		t.Fatalf("publish: %d %v", r.Status, r.Body)
	}
	req := h.waitEvents("AGREEMENTS", agreementsv1.TypeReacceptanceRequired, pid, 1)
	var rq agreementsv1.ReacceptanceRequired
	_ = json.Unmarshal(req[0].Data, &rq)
	contract.MustValidate(t, agreementsv1.TypeReacceptanceRequired, rq)
	od := h.waitEvents("AGREEMENTS", agreementsv1.TypeReacceptanceOverdue, pid, 1)
	var o agreementsv1.ReacceptanceOverdue
	_ = json.Unmarshal(od[0].Data, &o)
	if o.RequirementID != rq.RequirementID || o.VersionID != newID {
		t.Fatalf("overdue = %+v", o)
	}
	st := h.call("GET", "/v1/partners/"+pid+"/agreements/status?market=JP", adminTok, nil)
	if st.Status != 409 || st.code() != "agreements.reacceptance_overdue" {
		t.Fatalf("status while overdue: %d %v", st.Status, st.Body)
	}
	acc := h.call("POST", acceptPath(pid), adminTok, map[string]any{"version_id": newID, "market": "JP"})
	if acc.Status != 201 || acc.Body["acceptance"].(map[string]any)["supersedes_id"] == nil {
		t.Fatalf("re-accept: %d %v", acc.Status, acc.Body)
	}
	if st := h.call("GET", "/v1/partners/"+pid+"/agreements/status?market=JP", adminTok, nil); st.Status != 200 || st.Body["version_id"] != newID {
		t.Fatalf("status after re-acceptance: %d %v", st.Status, st.Body)
	}
	// Overdue fired once, however often the timers ran.
	if n := len(h.streamEvents("AGREEMENTS", agreementsv1.TypeReacceptanceOverdue, pid)); n != 1 {
		t.Fatalf("overdue events = %d, want 1", n)
	}
}

// TestAcceptingAnOlderVersionRecordsWhatItOwesInOneTransaction: a partner
// accepting an older version while a newer requires_reacceptance version is
// published owes the re-acceptance; the acceptance and that requirement are
// written by one transaction, so a crash between them cannot leave the
// partner on the old version owing nothing (a retry would find the
// acceptance already recorded and stop there).
func TestAcceptingAnOlderVersionRecordsWhatItOwesInOneTransaction(t *testing.T) {
	h := start(t)
	pid := h.approvedReseller()
	newID := "indirect_reseller-2025-09"
	if r := h.call("POST", "/v1/agreements/versions", h.token(operator),
		versionBody(newID, "requires_reacceptance", nil, time.Now().UTC().Add(-time.Hour), 30*24*3600)); r.Status != 201 {
		t.Fatalf("publish: %d %v", r.Status, r.Body)
	}
	acc := h.call("POST", acceptPath(pid), h.token(adminOf(pid)), map[string]any{"version_id": reseller, "market": "JP"})
	if acc.Status != 201 {
		t.Fatalf("accept the older version: %d %v", acc.Status, acc.Body)
	}
	id, _ := acc.Body["acceptance"].(map[string]any)["id"].(string)
	var accepted, owed string
	err := h.svc.Base.Pool.QueryRow(t.Context(), `SELECT a.xmin::text, r.xmin::text FROM acceptances a
		JOIN requirements r ON r.current_acceptance_id = a.id WHERE a.id = $1 AND r.version_id = $2`, id, newID).Scan(&accepted, &owed)
	if err != nil {
		t.Fatalf("the acceptance %q and the requirement it owes to %s: %v", id, newID, err)
	}
	if accepted != owed {
		t.Errorf("the acceptance was written by transaction %s, the requirement it owes by %s", accepted, owed)
	}
}

// TestBadEventsAreDeadLettered: permanent refusals and undecodable data go
// to DEADLETTER with their codes, and a good event behind them is handled.
func TestBadEventsAreDeadLettered(t *testing.T) {
	h := start(t)
	bad := registrationv1.ApplicationSubmitted{PartnerID: newPartnerID(), Market: "JP", SubmittedAt: time.Now().UTC(),
		Enrollments: []registrationv1.Enrollment{{EnrollmentID: "E1", Program: "indirect_reseller"}}}
	h.publish(registrationv1.TypeApplicationSubmitted, bad.PartnerID, "/services/registration", bad)
	h.publishRaw(verificationv1.TypeVerificationApproved, ce.NewID(), "PG-X", "/services/verification", []byte(`{"partner_id": 7}`))
	h.publish(verificationv1.TypeVerificationApproved, "PG-Y", "/services/verification", verificationv1.VerificationApproved{
		PartnerID: "PG-Y", ApprovedAt: time.Now().UTC()}) // no decision id
	good := newPartnerID()
	h.register(good, "partner_network")
	h.waitEvents("AGREEMENTS", agreementsv1.TypeAcceptanceRecorded, good, 1)
	want := []string{"agreements.invalid_location_id", ce.CodeSchemaViolation, "agreements.invalid_decision"}
	testkit.Eventually(t, 10*time.Second, func() error {
		codes := map[string]bool{}
		for _, m := range h.streamEvents(bus.DeadLetterStream, "", "") {
			if m.Header.Get(bus.DLQService) == "agreements" {
				codes[m.Header.Get(bus.DLQCode)] = true
			}
		}
		for _, c := range want {
			if !codes[c] {
				return fmt.Errorf("no dead letter with code %s (have %v)", c, codes)
			}
		}
		return nil
	})
	if n := h.count(`SELECT count(*) FROM partners WHERE partner_id = $1`, bad.PartnerID); n != 0 {
		t.Fatalf("refused registration left a projection row")
	}
}

func versionBody(id, policy string, markets []string, effective time.Time, windowSeconds int64) map[string]any {
	b := map[string]any{
		"id": id, "program": "indirect_reseller", "name": "Partner Agreement for Indirect Resellers (" + id + ")",
		"languages": []string{"ja", "en"}, "effective_from": effective.Format(time.RFC3339),
		"text_url": "https://agreements.partnerhub.example/texts/" + id + ".md", "text_sha256": strings.Repeat("5e", 32),
		"policy": policy,
	}
	if markets != nil {
		b["markets"] = markets
	}
	if windowSeconds > 0 {
		b["reacceptance_window_seconds"] = windowSeconds
	}
	return b
}

func merge(a, b map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out
}
