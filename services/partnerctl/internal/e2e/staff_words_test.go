package e2e_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/partnerhub/onboarding/pkg/auth"
	intakev1 "github.com/partnerhub/onboarding/pkg/events/intake/v1"
	relv1 "github.com/partnerhub/onboarding/pkg/events/relationships/v1"
	verificationv1 "github.com/partnerhub/onboarding/pkg/events/verification/v1"
	"github.com/partnerhub/onboarding/services/partnerctl/internal/e2e"
)

// The partners of the staff-words path (in verification's register).
var (
	nagasaki = company{"株式会社ながさきクラウドワークス", "9310001001313", "長崎県", "長崎市", "尾上町3-1", "850-0035", "nagasaki-cloudworks.co.jp"}
	miyazaki = company{"株式会社みやざきデータサービス", "7350001001212", "宮崎県", "宮崎市", "橘通東2-10-1", "880-0805", "miyazaki-data.co.jp"}
)

// staffWord marks the words staff write in this path: none may reach the
// partner's side.
const staffWord = "ZZSTAFF"

// testStaffWordsStayWithStaff: what operators and verifiers write for each
// other — an operator's note on a hold, on its lifting and on a closure, a
// verifier's revocation reason, an operator's note re-opening a review, a
// decision's internal note, and a verifier decision with an internal note
// that verification refused and dead-lettered — and who they are (the
// operator's and the verifiers' subjects, marked too: as the events' actor,
// in the events' data, in the services' records of a hold, a closure, a
// profile change, a security report, a revocation, a decision, an
// agreement version) never reach the partner's side: not the timeline of
// either partner of a relationship, not their or their upstream system's
// feed, not the answers of registration, verification, agreements or
// relationships to them, not a mail. Staff read all of it. (Round 47 found
// the closure's note in the relationship's end reason, which the provider
// read, and the dead-lettered decision with its internal note on the
// provider's timeline; round 48 the staff subjects everywhere.)
func testStaffWordsStayWithStaff(t *testing.T, s *e2e.Stack) {
	reseller, ps := onboardAll(t, s, nagasaki, miyazaki)
	provider := ps[0]
	r, p := reseller.PartnerID, provider.PartnerID
	logOnFailure(t, s, r)
	relID, _ := relate(t, s, provider, reseller)
	word := func(what string) string { return staffWord + "-" + what }
	reg, ver := s.URL("registration"), s.URL("verification")
	staffOperator := auth.Principal{Subject: word("operator-" + miyazaki.Number), Roles: []auth.Role{auth.RoleOperator}}
	opTok := s.Token(staffOperator)

	// The operator reports the reseller's security status, changes its
	// website and publishes an agreement version.
	s.Call(t, "PUT", reg+"/v1/partners/"+r+"/security-requirements", opTok, map[string]any{"status": "compliant"}, http.StatusOK, nil)
	s.Call(t, "POST", reg+"/v1/partners/"+r+"/profile-changes", opTok, map[string]any{"website": "https://www." + nagasaki.Domain + "/jp"}, http.StatusCreated, nil)
	s.Call(t, "POST", s.URL("agreements")+"/v1/agreements/versions", opTok, map[string]any{"id": "partner_network-zz-" + miyazaki.Number,
		"program": "partner_network", "name": "ZZ", "languages": []string{"ja"}, "markets": []string{"JP"}, "effective_from": "2030-01-01T00:00:00Z",
		"text_url": "https://example.com/zz", "text_sha256": strings.Repeat("ab", 32), "policy": "auto_effective"}, http.StatusCreated, nil)

	// An operator holds the reseller and lifts the hold, each with a note.
	s.Call(t, "PUT", reg+"/v1/partners/"+r+"/compliance-hold", opTok, map[string]any{"note": word("hold") + " 反社チェック"}, http.StatusOK, nil)
	standingChange(t, s, r, "suspended")
	s.Call(t, "DELETE", reg+"/v1/partners/"+r+"/compliance-hold?note="+url.QueryEscape(word("lift")+" 確認済み"), opTok, nil, http.StatusOK, nil)
	standingChange(t, s, r, "active")

	// A verifier revokes the provider's verification, and an operator has
	// the case reviewed again; the review asks for documents, with an
	// internal note.
	pc := getCase(t, s, opTok, p)
	s.Call(t, "POST", ver+"/v1/verification/cases/"+pc.CaseID+"/revocations", s.Token(verifier(word("revoker-"+miyazaki.Number))),
		map[string]any{"decision_id": "revoke-" + pc.CaseID, "reason": word("revoke") + " 登記の閉鎖"}, http.StatusCreated, nil)
	s.Events.WaitFor(t, verificationv1.TypeVerificationRevoked, p)
	s.Call(t, "POST", ver+"/v1/verification/cases/"+pc.CaseID+"/reviews", opTok, map[string]any{"note": word("reopen") + " 再審査"},
		http.StatusCreated, nil)
	task := reviewTask(t, s, p, 2)
	decide(t, s, verifier(word("verifier-"+miyazaki.Number)), task.TaskID, map[string]any{"decision_id": "docs-" + task.TaskID,
		"outcome": "request_documents", "reason_code": "address_mismatch", "applicant_message": "登記事項証明書をお送りください。",
		"internal_note": word("internal") + " 書類が届くまで承認しない"})
	s.Events.WaitFor(t, verificationv1.TypeDocumentsRequested, p)

	// A decision about the provider that verification refuses and
	// dead-letters (its principal is unknown), with an internal note.
	forged := sdkDecision(t, s, "unknown-verifier-"+miyazaki.Number, p, intakev1.VerificationDecisionSubmitted{
		DecisionID: "dl-" + task.TaskID, TaskID: task.TaskID, Outcome: intakev1.OutcomeApprove, InternalNote: word("dead-letter") + " 不正の疑い"})
	expectedDeadLetters.Store(forged, "auth.principal_unknown")

	// An operator closes the reseller with a note: the relationship ends.
	s.Call(t, "POST", reg+"/v1/partners/"+r+"/closure", opTok, map[string]any{"note": word("close") + " 契約違反"}, http.StatusOK, nil)
	relEvent[relv1.RelationshipEnded](t, s, relv1.TypeRelationshipEnded, r, relID)

	// Staff read every word (so each was written where the partner's side
	// could have read it): on the timelines, the dead letter included.
	want := []string{"hold", "lift", "close", "reopen", "revoke", "dead-letter", "operator", "revoker", "verifier"}
	e2e.Eventually(t, 20*time.Second, "staff words on the timelines", func() error {
		var all string
		for _, id := range []string{r, p} {
			all += string(s.Do(t, "GET", s.URL("timeline")+"/v1/partners/"+id+"/timeline?limit=500", opTok, nil).Body)
		}
		for _, w := range want {
			if !strings.Contains(all, word(w)) {
				return &missing{w}
			}
		}
		return nil
	})

	// The partner's side reads none of it.
	views := func(id string) []string {
		return []string{
			s.URL("timeline") + "/v1/partners/" + id + "/timeline?limit=500",
			s.URL("timeline") + "/v1/events?limit=500&partner=" + id,
			reg + "/v1/partners/" + id,
			reg + "/v1/registrations/" + id,
			reg + "/v1/partners/" + id + "/profile",
			reg + "/v1/partners/" + id + "/security-requirements",
			reg + "/v1/partners/" + id + "/enrollments/partner_network/requirements",
			ver + "/v1/verification/partners/" + id + "/case",
			ver + "/v1/verification/partners/" + id + "/requirements",
			s.URL("agreements") + "/v1/partners/" + id + "/agreements",
			s.URL("agreements") + "/v1/agreements/versions?include_retired=true",
			s.URL("relationships") + "/v1/provider/relationships?include_closed=true",
			s.URL("relationships") + "/v1/reseller/relationships?include_closed=true",
		}
	}
	read := func(who auth.Principal, urls ...string) {
		t.Helper()
		tok := s.Token(who)
		for _, u := range urls {
			res := s.Do(t, "GET", u, tok, nil)
			if res.Status >= 500 {
				t.Errorf("%s as %s: %d", u, who.Subject, res.Status)
			}
			if i := strings.Index(string(res.Body), staffWord); i >= 0 {
				t.Errorf("%s as %s (%v) reads staff words: …%.80s", u, who.Subject, who.Roles, res.Body[i:])
			}
		}
	}
	read(partnerAdmin(r, "admin-"+r), views(r)...)
	read(auth.Principal{Subject: "user-" + r, PartnerID: r, Roles: []auth.Role{auth.RolePartnerUser}}, views(r)...)
	read(providerAdmin(p), views(p)...)
	read(partnerAdmin(p, "admin-"+p), views(p)...)
	read(upstream, s.URL("timeline")+"/v1/events?limit=500&partner="+r, s.URL("timeline")+"/v1/events?limit=500&partner="+p,
		reg+"/v1/registrations/"+r, reg+"/v1/registrations/"+p)
	s.Events.Settle(300*time.Millisecond, 5*time.Second)
	for _, c := range []company{nagasaki, miyazaki} {
		ms, err := s.Mails(c.Email())
		if err != nil {
			t.Fatal(err)
		}
		if len(ms) == 0 {
			t.Fatalf("no mail to %s", c.Email())
		}
		for _, m := range ms {
			if strings.Contains(m.Text, staffWord) || strings.Contains(m.HTML, staffWord) || strings.Contains(m.Subject, staffWord) {
				t.Errorf("the mail %q to %s holds staff words", m.Subject, c.Email())
			}
		}
	}
}

type missing struct{ word string }

func (m *missing) Error() string { return "no " + staffWord + "-" + m.word + " yet" }
