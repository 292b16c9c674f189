package e2e_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/partnerhub/onboarding/pkg/auth"
	"github.com/partnerhub/onboarding/pkg/bus"
	"github.com/partnerhub/onboarding/pkg/ce"
	agreementsv1 "github.com/partnerhub/onboarding/pkg/events/agreements/v1"
	emailv1 "github.com/partnerhub/onboarding/pkg/events/email/v1"
	regv1 "github.com/partnerhub/onboarding/pkg/events/registration/v1"
	relv1 "github.com/partnerhub/onboarding/pkg/events/relationships/v1"
	verificationv1 "github.com/partnerhub/onboarding/pkg/events/verification/v1"
	"github.com/partnerhub/onboarding/pkg/testkit"
	"github.com/partnerhub/onboarding/services/partnerctl/internal/e2e"
)

// The standing paths' companies (register entries no other path uses).
var (
	setouchi  = company{"株式会社せとうちネットサービス", "9370001000111", "香川県", "高松市", "番町4-1-10", "760-0017", "setouchi-netservice.co.jp"}
	hokuto    = company{"株式会社ほくとデータセンター", "7430001000222", "北海道", "札幌市中央区", "北一条西5-2", "060-0001", "hokuto-datacenter.co.jp"}
	michinoku = company{"株式会社みちのくソフト", "1370001000333", "宮城県", "仙台市青葉区", "本町3-8-1", "980-0014", "michinoku-soft.co.jp"}
	tsukuba   = company{"株式会社つくばクラウドラボ", "5050001000444", "茨城県", "つくば市", "研究学園1-1-1", "305-0817", "tsukuba-cloudlab.co.jp"}
	shinano   = company{"株式会社しなのシステム開発", "4100001000555", "長野県", "長野市", "大字南長野字幅下692-2", "380-0836", "shinano-sysdev.co.jp"}
	kagayaki  = company{"株式会社かがやきディストリビューション", "5220001000666", "石川県", "金沢市", "鞍月1-1", "920-8580", "kagayaki-dist.co.jp"}
	hinokuni  = company{"株式会社ひのくにITサービス", "7330001000777", "Kumamoto-ken", "熊本市中央区", "水前寺6-18-1", "862-0950", "hinokuni-it.co.jp"}
	asahi     = company{"株式会社あさひネットワークソリューションズ", "2260001000888", "岡山県", "岡山市北区", "内山下2-4-6", "700-0824", "asahi-netsol.co.jp"}
	tosa      = company{"株式会社とさクラウドサービス", "4490000101010", "高知県", "高知市", "丸ノ内1-2-20", "780-0850", "tosa-cloud.co.jp"}
)

var operator = auth.Principal{Subject: "ops-standing", Roles: []auth.Role{auth.RoleOperator}}

func providerAdmin(partnerID string) auth.Principal {
	return auth.Principal{Subject: "provider-admin-" + partnerID, PartnerID: partnerID, Roles: []auth.Role{auth.RoleProviderAdmin}}
}

// onboardAll onboards the companies in parallel: the first as a reseller,
// the others as providers.
func onboardAll(t *testing.T, s *e2e.Stack, reseller company, providers ...company) (registered, []registered) {
	t.Helper()
	var r registered
	ps := make([]registered, len(providers))
	t.Run("onboard", func(t *testing.T) {
		t.Run("reseller", func(t *testing.T) { t.Parallel(); r = onboard(t, s, reseller, "indirect_reseller") })
		for i, c := range providers {
			t.Run("provider"+fmt.Sprint(i+1), func(t *testing.T) { t.Parallel(); ps[i] = onboard(t, s, c, "indirect_provider") })
		}
	})
	if t.Failed() {
		t.FailNow()
	}
	return r, ps
}

// invite has the provider's administrator ask the reseller for delegated
// access (retrying while the relationships service has not yet heard that
// both are active); it returns the relationship and the invitation token.
func invite(t *testing.T, s *e2e.Stack, provider, reseller registered) (relID, token string) {
	t.Helper()
	var req struct {
		RelationshipID string `json:"relationship_id"`
		InvitationURL  string `json:"invitation_url"`
	}
	e2e.Eventually(t, 10*time.Second, "relationships to see both partners active", func() error {
		r := s.Do(t, "POST", s.URL("relationships")+"/v1/relationship-requests", s.Token(providerAdmin(provider.PartnerID)),
			map[string]any{"reseller_location_id": reseller.LocationID})
		switch {
		case r.Status == http.StatusCreated:
			r.JSON(t, &req)
			return nil
		case r.Problem != nil && slices.Contains([]string{"relationships.provider_not_active", "relationships.reseller_not_active",
			"relationships.reseller_unknown"}, r.Problem.Code):
			return errors.New(r.String())
		}
		t.Fatalf("invite: %s", r)
		return nil
	})
	_, token, ok := strings.Cut(req.InvitationURL, "#token=")
	if !ok || req.RelationshipID == "" {
		t.Fatalf("request %+v", req)
	}
	return req.RelationshipID, token
}

// authorise is the reseller's administrator consenting to the invitation;
// it returns the answer.
func authorise(t *testing.T, s *e2e.Stack, reseller registered, token string) *e2e.Response {
	t.Helper()
	return s.Do(t, "POST", s.URL("relationships")+"/v1/invitation/authorise", s.Token(partnerAdmin(reseller.PartnerID, "admin-"+reseller.PartnerID)),
		map[string]any{"token": token, "consent": true})
}

// relate invites and authorises: it returns the relationship and its grant.
func relate(t *testing.T, s *e2e.Stack, provider, reseller registered) (relID, grantID string) {
	t.Helper()
	relID, token := invite(t, s, provider, reseller)
	var grant struct {
		GrantID string `json:"grant_id"`
	}
	if r := authorise(t, s, reseller, token); r.Status != http.StatusOK {
		t.Fatalf("authorise: %s", r)
	} else {
		r.JSON(t, &grant)
	}
	return relID, grant.GrantID
}

// standingChange waits for registration's standing change of the partner
// to status to, and returns it.
func standingChange(t *testing.T, s *e2e.Stack, partnerID, to string) regv1.PartnerStandingChanged {
	t.Helper()
	var got regv1.PartnerStandingChanged
	s.Events.WaitMatch(t, "standing changed to "+to, 20*time.Second, func(e e2e.Event) bool {
		if e.Topic() != ce.Topic(regv1.TypePartnerStandingChanged) || e.Subject != partnerID {
			return false
		}
		var ch regv1.PartnerStandingChanged
		if json.Unmarshal(e.Data, &ch) != nil || ch.To != to {
			return false
		}
		got = ch
		return true
	}, partnerID)
	return got
}

// relEvent waits for the relationships event of type typ about the
// reseller whose relationship_id is relID, and returns its data.
func relEvent[T any](t *testing.T, s *e2e.Stack, typ, resellerID, relID string) T {
	t.Helper()
	var out T
	s.Events.WaitMatch(t, ce.Topic(typ)+" of "+relID, 20*time.Second, func(e e2e.Event) bool {
		if e.Topic() != ce.Topic(typ) || e.Subject != resellerID {
			return false
		}
		var p relv1.Parties
		if json.Unmarshal(e.Data, &p) != nil || p.RelationshipID != relID {
			return false
		}
		return json.Unmarshal(e.Data, &out) == nil
	}, resellerID)
	return out
}

// requirementsView is GET /v1/partners/{id}/enrollments/{program}/requirements.
type requirementsView struct {
	EnrollmentStatus string `json:"enrollment_status"`
	PartnerStatus    string `json:"partner_status"`
	CanTransact      bool   `json:"can_transact"`
	Requirements     []struct {
		Kind      string `json:"kind"`
		Party     string `json:"party"`
		Reason    string `json:"reason"`
		DueAt     string `json:"due_at"`
		Cures     []cure `json:"cures"`
		Documents *struct {
			Check       string `json:"check"`
			DueAt       string `json:"due_at"`
			DomainProof *struct {
				Domain      string `json:"domain"`
				DNSTXTName  string `json:"dns_txt_name"`
				DNSTXTValue string `json:"dns_txt_value"`
			} `json:"domain_proof"`
		} `json:"documents"`
	} `json:"requirements"`
}

type cure struct {
	Action  string `json:"action"`
	Service string `json:"service"`
	Method  string `json:"method"`
	Path    string `json:"path"`
}

// open lists the open requirements as kind or kind:reason.
func (v requirementsView) open() []string {
	var out []string
	for _, r := range v.Requirements {
		k := r.Kind
		if r.Reason != "" {
			k += ":" + r.Reason
		}
		out = append(out, k)
	}
	return out
}

func requirements(t *testing.T, s *e2e.Stack, partnerID, program string) requirementsView {
	t.Helper()
	var v requirementsView
	s.Call(t, "GET", s.URL("registration")+"/v1/partners/"+partnerID+"/enrollments/"+program+"/requirements", s.Token(upstream), nil, http.StatusOK, &v)
	return v
}

// wantRequirements waits until the enrollment's open requirements are want.
func wantRequirements(t *testing.T, s *e2e.Stack, partnerID, program string, want ...string) requirementsView {
	t.Helper()
	var v requirementsView
	e2e.Eventually(t, 10*time.Second, program+" requirements", func() error {
		v = requirements(t, s, partnerID, program)
		if got := v.open(); !slices.Equal(got, want) || v.CanTransact != (len(want) == 0) {
			return fmt.Errorf("open %v (can_transact %v), want %v", got, v.CanTransact, want)
		}
		return nil
	})
	return v
}

// partnerStatus waits until registration shows the partner in status.
func partnerStatus(t *testing.T, s *e2e.Stack, partnerID, status string) {
	t.Helper()
	e2e.Eventually(t, 10*time.Second, "partner "+status, func() error {
		if p := getPartner(t, s, partnerID); p.Status != status {
			return fmt.Errorf("partner %s", p.Status)
		}
		return nil
	})
}

// testRevokeSuspendReinstate: a reseller with an authorised provider has
// its verification revoked. Registration suspends it (verification_revoked),
// agreements suspends its acceptances, relationships suspends the grant and
// refuses both a new invitation and the authorisation of an earlier one
// (409 relationships.reseller_not_in_good_standing — before, the revoked
// reseller was invited, authorised and granted access). A second review
// approves it again: active everywhere, the grant and acceptances reinstated,
// and the earlier invitation can be authorised.
func testRevokeSuspendReinstate(t *testing.T, s *e2e.Stack) {
	reseller, ps := onboardAll(t, s, setouchi, hokuto, michinoku)
	p1, p2 := ps[0], ps[1]
	r := reseller.PartnerID
	logOnFailure(t, s, r)
	rel1, grant1 := relate(t, s, p1, reseller)
	rel2, token2 := invite(t, s, p2, reseller) // pending while the reseller is suspended

	opTok := s.Token(operator)
	c := getCase(t, s, opTok, r)
	var revoked caseView
	s.Call(t, "POST", s.URL("verification")+"/v1/verification/cases/"+c.CaseID+"/revocations", s.Token(verifier("revoker-setouchi")),
		map[string]any{"decision_id": "revoke-" + c.CaseID, "reason": "登記が閉鎖されていることが判明"}, http.StatusCreated, &revoked)
	if revoked.Status != "revoked" {
		t.Fatalf("case after revocation %+v", revoked)
	}

	// Suspended everywhere.
	if ch := standingChange(t, s, r, "suspended"); ch.From != "active" || !slices.Equal(ch.Reasons, []string{"verification_revoked"}) ||
		!slices.Equal(ch.Added, []string{"verification_revoked"}) {
		t.Fatalf("standing change %+v", ch)
	}
	sus := relEvent[relv1.AccessSuspended](t, s, relv1.TypeAccessSuspended, r, rel1)
	if sus.GrantID != grant1 || sus.Side != "reseller" {
		t.Fatalf("access suspended %+v", sus)
	}
	s.Events.WaitFor(t, agreementsv1.TypeAcceptanceSuspended, r)
	partnerStatus(t, s, r, "suspended")
	standingMail(t, s, setouchi.Email(), "パートナー アカウントが停止されました", []string{"verification_revoked"},
		[]string{s.PortalURL + "/partners/" + r + "/verification"}, "登記が閉鎖されていることが判明")
	// The provider of the held grant is told, never why (the reseller's own
	// business); the provider still waiting for an answer is not.
	providerLinks := s.PortalURL + "/partners/" + p1.PartnerID + "/relationships"
	held := waitMail(t, s, hokuto.Email(), "に対する委任管理者権限を一時停止しました")
	wantMail(t, held, hokuto.Email(), r, "on hold", providerLinks)
	if strings.Contains(held.Text, "verification") || strings.Contains(held.Text, "登記") {
		t.Errorf("%s: tells the provider why the reseller was suspended:\n%s", held.Subject, held.Text)
	}
	v := wantRequirements(t, s, r, "indirect_reseller", "standing:verification_revoked")
	if v.PartnerStatus != "suspended" || v.Requirements[0].Party != "vendor" {
		t.Fatalf("requirements %+v", v)
	}
	// Its cures are calls that cure it: the case's re-review (below, by the
	// path the view gives) — not documents, which verification refuses on a
	// revoked case (the cure said POST …/documents, answered 409
	// verification.case_closed).
	cures := v.Requirements[0].Cures
	reopenCure := slices.IndexFunc(cures, func(c cure) bool { return c.Action == "reopen_review" })
	if reopenCure < 0 || cures[reopenCure].Method != "POST" || cures[reopenCure].Service != "verification" ||
		cures[reopenCure].Path != "/v1/verification/cases/"+c.CaseID+"/reviews" ||
		slices.ContainsFunc(cures, func(c cure) bool { return strings.HasSuffix(c.Path, "/documents") }) {
		t.Fatalf("cures of verification_revoked %+v", cures)
	}
	e2e.WantProblem(t, s.Do(t, "POST", s.URL("verification")+"/v1/verification/partners/"+r+"/documents", s.Token(upstream),
		map[string]any{"check": "company", "type": "company_register_certificate", "issued_on": time.Now().AddDate(0, 0, -3).Format(time.DateOnly),
			"sha256": strings.Repeat("c", 64), "size_bytes": 1000, "media_type": "application/pdf", "storage_uri": "s3://docs/r.pdf"}),
		http.StatusConflict, "verification.case_closed")
	e2e.WantProblem(t, s.Do(t, "POST", s.URL("relationships")+"/v1/relationship-requests", s.Token(providerAdmin(p1.PartnerID)),
		map[string]any{"reseller_location_id": reseller.LocationID}), http.StatusConflict, "relationships.reseller_not_in_good_standing")
	e2e.WantProblem(t, authorise(t, s, reseller, token2), http.StatusConflict, "relationships.reseller_not_in_good_standing")
	e2e.WantProblem(t, s.Do(t, "GET", s.URL("agreements")+"/v1/partners/"+r+"/agreements/status?market=JP&program=indirect_reseller",
		s.Token(upstream), nil), http.StatusConflict, "agreements.verification_revoked")
	for _, side := range []struct{ path, tok string }{
		{"/v1/reseller/relationships", s.Token(partnerAdmin(r, "admin-"+r))},
		{"/v1/provider/relationships", s.Token(providerAdmin(p1.PartnerID))},
	} {
		var l relationshipList
		s.Call(t, "GET", s.URL("relationships")+side.path, side.tok, nil, http.StatusOK, &l)
		i := slices.IndexFunc(l.Relationships, func(x relationshipItem) bool {
			return x.RelationshipID == rel1
		})
		if i < 0 || l.Relationships[i].Grant == nil || l.Relationships[i].Grant.State != "suspended" {
			t.Fatalf("%s while suspended: %+v", side.path, l)
		}
	}

	// Reviewed again and approved: active everywhere, and only what the
	// revocation suspended is reinstated.
	var reopened caseView
	s.Call(t, "POST", s.URL(cures[reopenCure].Service)+cures[reopenCure].Path, opTok,
		map[string]any{"note": "登記の閉鎖は誤記と確認"}, http.StatusCreated, &reopened)
	ro := decodeData[verificationv1.CaseReopened](t, s.Events.WaitFor(t, verificationv1.TypeCaseReopened, r))
	if ro.From != "revoked" || ro.TaskID == "" {
		t.Fatalf("case reopened %+v", ro)
	}
	decide(t, s, verifier("reviewer-setouchi"), ro.TaskID, map[string]any{"decision_id": "reapprove-" + ro.TaskID, "outcome": "approve"})
	if ch := standingChange(t, s, r, "active"); ch.From != "suspended" || len(ch.Reasons) != 0 || !slices.Equal(ch.Lifted, []string{"verification_revoked"}) {
		t.Fatalf("standing change %+v", ch)
	}
	if re := relEvent[relv1.AccessReinstated](t, s, relv1.TypeAccessReinstated, r, rel1); re.GrantID != grant1 || re.Side != "reseller" {
		t.Fatalf("access reinstated %+v", re)
	}
	wantMail(t, waitMail(t, s, hokuto.Email(), "に対する委任管理者権限が再び有効になりました"), hokuto.Email(), r, "works again", providerLinks)
	s.Events.WaitFor(t, agreementsv1.TypeAcceptanceReinstated, r)
	standingMail(t, s, setouchi.Email(), "パートナー アカウントが再び有効になりました", nil, []string{"What is restored", "元に戻るもの"})
	wantRequirements(t, s, r, "indirect_reseller")
	e2e.Eventually(t, 10*time.Second, "the earlier invitation to be authorised", func() error {
		res := authorise(t, s, reseller, token2)
		if res.Status == http.StatusOK {
			return nil
		}
		if res.Problem != nil && res.Problem.Code == "relationships.reseller_not_in_good_standing" {
			return errors.New(res.String())
		}
		t.Fatalf("authorise after reinstatement: %s", res)
		return nil
	})
	relEvent[relv1.AccessGranted](t, s, relv1.TypeAccessGranted, r, rel2)
	s.Call(t, "GET", s.URL("agreements")+"/v1/partners/"+r+"/agreements/status?market=JP&program=indirect_reseller",
		s.Token(upstream), nil, http.StatusOK, nil)
	atEnd(func(t *testing.T) {
		var got []string
		for _, e := range s.Events.Of(regv1.TypePartnerStandingChanged, r) {
			ch := decodeData[regv1.PartnerStandingChanged](t, e)
			got = append(got, ch.From+"→"+ch.To)
		}
		if want := []string{"active→suspended", "suspended→active"}; !slices.Equal(got, want) {
			t.Errorf("standing changes of %s: %v, want %v", r, got, want)
		}
		if n := len(s.Events.Of(relv1.TypeAccessSuspended, r)); n != 1 {
			t.Errorf("%d access suspended events for %s, want 1", n, r)
		}
		if ms, err := s.Mails(michinoku.Email()); err != nil || slices.ContainsFunc(ms, func(m e2e.Mail) bool {
			return strings.Contains(m.Subject, "委任管理者権限")
		}) {
			t.Errorf("the provider with a pending invitation was mailed of access it does not have (%v)", err)
		}
	})
}

// testClosureByEitherSide: a reseller related to two providers. An
// operator closes one provider: its relationship ends (ended by the
// provider, grant terminated), the other stays. The reseller's own
// administrator then closes the reseller: the remaining relationship ends
// (ended by the reseller). Both sides see it, and the closed partners can
// neither be invited, invite nor be reactivated.
func testClosureByEitherSide(t *testing.T, s *e2e.Stack) {
	reseller, ps := onboardAll(t, s, tsukuba, shinano, kagayaki)
	p3, p4 := ps[0], ps[1]
	r := reseller.PartnerID
	logOnFailure(t, s, r)
	rel3, grant3 := relate(t, s, p3, reseller)
	rel4, grant4 := relate(t, s, p4, reseller)
	reg := s.URL("registration")

	var closed struct {
		Changed bool        `json:"changed"`
		Partner partnerView `json:"partner"`
	}
	s.Call(t, "POST", reg+"/v1/partners/"+p4.PartnerID+"/closure", s.Token(operator), map[string]any{"note": "契約違反による解約"}, http.StatusOK, &closed)
	if !closed.Changed || closed.Partner.Status != "closed" {
		t.Fatalf("operator closure answered %+v", closed)
	}
	if ch := standingChange(t, s, p4.PartnerID, "closed"); !slices.Equal(ch.Reasons, []string{"closed_by_operator"}) || ch.ChangedBy != operator.Subject {
		t.Fatalf("standing change %+v", ch)
	}
	// The reseller reads the reason too: nothing of the closure's record,
	// neither its reason code nor the operator's note (since round 47).
	if e := relEvent[relv1.RelationshipEnded](t, s, relv1.TypeRelationshipEnded, r, rel4); e.EndedBy != "provider" ||
		e.Reason != "the provider's partner account was closed" || e.Cause != relv1.EndCauseAccountClosed {
		t.Fatalf("relationship ended %+v", e)
	}
	if term := relEvent[relv1.AccessTerminated](t, s, relv1.TypeAccessTerminated, r, rel4); term.GrantID != grant4 {
		t.Fatalf("access terminated %+v", term)
	}
	s.Events.WaitFor(t, agreementsv1.TypeAcceptanceSuspended, p4.PartnerID)
	standingMail(t, s, kagayaki.Email(), "パートナー アカウントが閉鎖されました", []string{"closed_by_operator"}, nil, "契約違反による解約")
	e2e.WantProblem(t, s.Do(t, "POST", s.URL("relationships")+"/v1/relationship-requests", s.Token(providerAdmin(p4.PartnerID)),
		map[string]any{"reseller_location_id": reseller.LocationID}), http.StatusConflict, "relationships.provider_not_in_good_standing")
	e2e.WantProblem(t, s.Do(t, "POST", reg+"/v1/partners/"+p4.PartnerID+"/reactivation", s.Token(operator), nil),
		http.StatusConflict, "registration.partner_closed")
	// The closed account let go of the company's identity (since round 46):
	// the company registers again as a new partner, whose reviewers and
	// operators read the closed account; its upstream system does not.
	again := register(t, s, kagayaki, "indirect_provider", "again-"+kagayaki.Number)
	if again.PartnerID == p4.PartnerID {
		t.Fatalf("registered again as the closed account %s", again.PartnerID)
	}
	type earlier struct {
		EarlierAccounts []struct {
			PartnerID string   `json:"partner_id"`
			Status    string   `json:"status"`
			MatchedOn []string `json:"matched_on"`
		} `json:"earlier_accounts"`
	}
	var seen earlier
	s.Call(t, "GET", reg+"/v1/registrations/"+again.PartnerID, s.Token(operator), nil, http.StatusOK, &seen)
	if a := seen.EarlierAccounts; len(a) != 1 || a[0].PartnerID != p4.PartnerID || a[0].Status != "closed" || len(a[0].MatchedOn) != 3 {
		t.Fatalf("the operator reads earlier accounts %+v", a)
	}
	seen = earlier{}
	s.Call(t, "GET", reg+"/v1/registrations/"+again.PartnerID, s.Token(upstream), nil, http.StatusOK, &seen)
	if len(seen.EarlierAccounts) != 0 {
		t.Fatalf("the upstream system reads earlier accounts %+v", seen.EarlierAccounts)
	}
	if task := reviewTask(t, s, again.PartnerID, 1); len(task.EarlierAccounts) != 1 || task.EarlierAccounts[0].PartnerID != p4.PartnerID {
		t.Fatalf("the review task names earlier accounts %+v", task.EarlierAccounts)
	}
	var vcase earlier
	s.Call(t, "GET", s.URL("verification")+"/v1/verification/partners/"+again.PartnerID+"/case", s.Token(verifier("reviewer-e")), nil, http.StatusOK, &vcase)
	if len(vcase.EarlierAccounts) != 1 || vcase.EarlierAccounts[0].PartnerID != p4.PartnerID {
		t.Fatalf("the verifier's case names earlier accounts %+v", vcase.EarlierAccounts)
	}

	// The reseller closes itself.
	radm := s.Token(partnerAdmin(r, "admin-"+r))
	s.Call(t, "POST", reg+"/v1/partners/"+r+"/closure", radm, map[string]any{"note": "事業を終了します"}, http.StatusOK, &closed)
	if !closed.Changed || closed.Partner.Status != "closed" {
		t.Fatalf("partner closure answered %+v", closed)
	}
	if ch := standingChange(t, s, r, "closed"); !slices.Equal(ch.Reasons, []string{"closed_by_partner"}) {
		t.Fatalf("standing change %+v", ch)
	}
	standingMail(t, s, tsukuba.Email(), "パートナー アカウントが閉鎖されました", []string{"closed_by_partner"}, nil, "事業を終了します")
	if e := relEvent[relv1.RelationshipEnded](t, s, relv1.TypeRelationshipEnded, r, rel3); e.EndedBy != "reseller" || e.ProviderID != p3.PartnerID {
		t.Fatalf("relationship ended %+v", e)
	}
	if term := relEvent[relv1.AccessTerminated](t, s, relv1.TypeAccessTerminated, r, rel3); term.GrantID != grant3 {
		t.Fatalf("access terminated %+v", term)
	}
	// Closing again changes nothing.
	s.Call(t, "POST", reg+"/v1/partners/"+r+"/closure", radm, map[string]any{"note": "再送"}, http.StatusOK, &closed)
	if closed.Changed {
		t.Fatalf("second closure answered %+v", closed)
	}
	wantRequirements(t, s, r, "indirect_reseller", "standing:closed_by_partner")

	// Both sides see every relationship ended, each by the side that closed.
	want := map[string]string{rel3: "reseller", rel4: "provider"}
	for _, side := range []struct{ path, tok string }{{"/v1/reseller/relationships", radm},
		{"/v1/provider/relationships", s.Token(providerAdmin(p3.PartnerID))}, {"/v1/provider/relationships", s.Token(providerAdmin(p4.PartnerID))}} {
		var l relationshipList
		s.Call(t, "GET", s.URL("relationships")+side.path+"?include_closed=true", side.tok, nil, http.StatusOK, &l)
		if len(l.Relationships) == 0 {
			t.Fatalf("%s: none", side.path)
		}
		for _, x := range l.Relationships {
			if x.State != "ended" || x.EndedBy != want[x.RelationshipID] || x.Grant == nil || x.Grant.State != "terminated" {
				t.Fatalf("%s: %+v (grant %+v)", side.path, x, x.Grant)
			}
		}
	}
	// Nobody invites a closed reseller.
	e2e.WantProblem(t, s.Do(t, "POST", s.URL("relationships")+"/v1/relationship-requests", s.Token(providerAdmin(p3.PartnerID)),
		map[string]any{"reseller_location_id": reseller.LocationID}), http.StatusConflict, "relationships.reseller_not_in_good_standing")
	atEnd(func(t *testing.T) {
		if n := len(s.Events.Of(regv1.TypePartnerStandingChanged, r)); n != 1 {
			t.Errorf("%d standing changes of %s, want 1", n, r)
		}
		if n := len(s.Events.Of(relv1.TypeRelationshipEnded, r)); n != 2 {
			t.Errorf("%d relationships of %s ended, want 2", n, r)
		}
	})
}

// testResellerEmailGate: the reseller enrollment must confirm its own
// address (seed 002, step 17). With only the network enrollment's mail
// confirmed, the approval activates the partner and the network enrollment,
// but the reseller enrollment waits (pending_email_confirmation, listed in
// its requirements view) — before, it became qualified and active with the
// challenge still pending. An agreement accepted meanwhile is kept; the
// confirmation activates the enrollment. On the way: the prefecture is
// written in romaji and the register pre-check still finds the company (one
// normalization), and accepting without MFA is refused.
func testResellerEmailGate(t *testing.T, s *e2e.Stack) {
	reg := register(t, s, hinokuni, "indirect_reseller", "gate-"+hinokuni.Number)
	p := reg.PartnerID
	logOnFailure(t, s, p)
	challenges := map[string]string{} // challenge ID → program
	e2e.Eventually(t, 20*time.Second, "both challenges opened", func() error {
		for _, e := range s.Events.Of(emailv1.TypeChallengeOpened, p) {
			o := decodeData[emailv1.ChallengeOpened](t, e)
			challenges[o.ChallengeID] = o.Program
		}
		if len(challenges) != 2 {
			return fmt.Errorf("%d challenges", len(challenges))
		}
		return nil
	})
	links := map[string]string{} // program → confirmation link
	for _, m := range s.WaitMails(t, hinokuni.Email(), 2) {
		id, _, _ := strings.Cut(m.MessageID, "@")
		if prog := challenges[id]; prog != "" && m.ConfirmLink() != "" {
			links[prog] = m.ConfirmLink()
		}
	}
	if len(links) != 2 {
		t.Fatalf("links %v for challenges %v", links, challenges)
	}
	s.ConfirmLink(t, links["partner_network"])
	s.Events.WaitFor(t, emailv1.TypeOwnershipConfirmed, p)
	wantRequirements(t, s, p, "indirect_reseller", "email_confirmation", "verification_review", "agreement")
	// One normalization: registration took "Kumamoto-ken" as 熊本県 and
	// published both; verification compared the register with 熊本県 (before:
	// with the raw input, reporting an address mismatch) and shows the
	// verifier what was submitted.
	task := reviewTask(t, s, p, 1)
	if task.PreCheck == nil || task.PreCheck.Result != "found" || task.Submitted.Address.Prefecture != "Kumamoto-ken" ||
		task.Normalized.Prefecture != "熊本県" {
		t.Fatalf("company review task: pre-check %+v, submitted %+v, normalized %+v", task.PreCheck, task.Submitted.Address, task.Normalized)
	}
	decide(t, s, verifier("verifier-"+hinokuni.Number), task.TaskID, map[string]any{"decision_id": "approve-" + task.TaskID, "outcome": "approve"})
	s.Events.WaitFor(t, regv1.TypePartnerActivated, p)
	e2e.Eventually(t, 10*time.Second, "enrollments after approval", func() error {
		want := []string{"partner_network:pending_verification→active", "indirect_reseller:pending_verification→pending_email_confirmation"}
		if got := enrollmentChanges(t, s, p); !slices.Equal(got, want) {
			return fmt.Errorf("%v, want %v", got, want)
		}
		return nil
	})
	v := wantRequirements(t, s, p, "indirect_reseller", "email_confirmation", "agreement")
	if v.EnrollmentStatus != "pending_email_confirmation" || v.Requirements[0].Party != "partner" || len(v.Requirements[0].Cures) == 0 {
		t.Fatalf("requirements %+v", v)
	}

	// The agreement accepted meanwhile is kept; it does not activate the enrollment.
	adm := s.Token(partnerAdmin(p, "admin-"+p))
	var versions struct {
		Versions []struct {
			ID string `json:"id"`
		} `json:"versions"`
	}
	s.Call(t, "GET", s.URL("agreements")+"/v1/agreements/versions?program=indirect_reseller&market=JP", adm, nil, http.StatusOK, &versions)
	noMFA := partnerAdmin(p, "admin-"+p)
	noMFA.AMR = []string{"pwd"}
	e2e.WantProblem(t, s.Do(t, "POST", s.URL("agreements")+"/v1/partners/"+p+"/agreements/acceptances", s.Token(noMFA),
		map[string]any{"version_id": versions.Versions[0].ID, "market": "JP"}), http.StatusForbidden, "auth.mfa_required")
	if r := s.Do(t, "POST", s.URL("agreements")+"/v1/partners/"+p+"/agreements/acceptances", adm,
		map[string]any{"version_id": versions.Versions[0].ID, "market": "JP"}); r.Status != http.StatusCreated && r.Status != http.StatusAccepted {
		t.Fatalf("accept: %s", r)
	}
	s.Events.WaitMatch(t, "reseller acceptance recorded", 20*time.Second, func(e e2e.Event) bool {
		var a agreementsv1.AcceptanceRecorded
		return e.Topic() == ce.Topic(agreementsv1.TypeAcceptanceRecorded) && json.Unmarshal(e.Data, &a) == nil && a.Program == "indirect_reseller"
	}, p)
	wantRequirements(t, s, p, "indirect_reseller", "email_confirmation")
	if st := getPartner(t, s, p).enrollment("indirect_reseller"); st != "pending_email_confirmation" {
		t.Fatalf("reseller enrollment %s with its address unconfirmed", st)
	}

	s.ConfirmLink(t, links["indirect_reseller"])
	e2e.Eventually(t, 10*time.Second, "reseller enrollment active", func() error {
		want := []string{"partner_network:pending_verification→active", "indirect_reseller:pending_verification→pending_email_confirmation",
			"indirect_reseller:pending_email_confirmation→active"}
		if got := enrollmentChanges(t, s, p); !slices.Equal(got, want) {
			return fmt.Errorf("%v, want %v", got, want)
		}
		return nil
	})
	wantRequirements(t, s, p, "indirect_reseller")

	t.Run("HoldsStack", func(t *testing.T) { holdsStack(t, s, p) })
}

// holdsStack: the tenant's identity platform reports it noncompliant with
// the security requirements (seed 003) and an operator places a compliance
// hold: suspended for both. Compliance lifts only its own hold; the
// partner is active again when the operator lifts the other.
func holdsStack(t *testing.T, s *e2e.Stack, p string) {
	reg := s.URL("registration") + "/v1/partners/" + p
	var res struct {
		Changed bool        `json:"changed"`
		Partner partnerView `json:"partner"`
	}
	s.Call(t, "PUT", reg+"/security-requirements", s.Token(upstream), map[string]any{"status": "noncompliant",
		"mfa_enforced_users_percent": 62.5, "mfa_requests_percent": 80}, http.StatusOK, &res)
	if !res.Changed || res.Partner.Status != "suspended" {
		t.Fatalf("noncompliant report answered %+v", res)
	}
	if ch := standingChange(t, s, p, "suspended"); !slices.Equal(ch.Reasons, []string{"mfa_noncompliant"}) {
		t.Fatalf("standing change %+v", ch)
	}
	s.Events.WaitFor(t, regv1.TypeSecurityStatusChanged, p)
	standingMail(t, s, hinokuni.Email(), "パートナー アカウントが停止されました", []string{"mfa_noncompliant"}, nil)
	s.Call(t, "PUT", reg+"/compliance-hold", s.Token(operator), map[string]any{"note": "反社チェック再確認中"}, http.StatusOK, &res)
	wantRequirements(t, s, p, "indirect_reseller", "security_requirements:mfa_noncompliant", "standing:compliance_hold")
	standingMail(t, s, hinokuni.Email(), "停止理由が追加されました", []string{"compliance_hold", "mfa_noncompliant"}, nil, "反社チェック再確認中")

	s.Call(t, "PUT", reg+"/security-requirements", s.Token(upstream), map[string]any{"status": "compliant",
		"mfa_enforced_users_percent": 100, "mfa_requests_percent": 100}, http.StatusOK, &res)
	if res.Partner.Status != "suspended" {
		t.Fatalf("compliant report while held answered %+v", res)
	}
	wantRequirements(t, s, p, "indirect_reseller", "standing:compliance_hold")
	s.Call(t, "DELETE", reg+"/compliance-hold?note="+url.QueryEscape("確認完了"), s.Token(operator), nil, http.StatusOK, &res)
	if !res.Changed || res.Partner.Status != "active" {
		t.Fatalf("lifting the hold answered %+v", res)
	}
	wantRequirements(t, s, p, "indirect_reseller")
	e2e.Eventually(t, 10*time.Second, "standing changes", func() error {
		var got []string
		for _, e := range s.Events.Of(regv1.TypePartnerStandingChanged, p) {
			ch := decodeData[regv1.PartnerStandingChanged](t, e)
			got = append(got, fmt.Sprintf("%s→%s%v", ch.From, ch.To, ch.Reasons))
		}
		want := []string{"active→suspended[mfa_noncompliant]", "suspended→suspended[mfa_noncompliant compliance_hold]",
			"suspended→suspended[compliance_hold]", "suspended→active[]"}
		if !slices.Equal(got, want) {
			return fmt.Errorf("%v, want %v", got, want)
		}
		return nil
	})
	// Agreements suspended the acceptances once and reinstated them once.
	e2e.Eventually(t, 10*time.Second, "acceptances reinstated", func() error {
		if n, m := len(s.Events.Of(agreementsv1.TypeAcceptanceSuspended, p)), len(s.Events.Of(agreementsv1.TypeAcceptanceReinstated, p)); n == 0 || n != m {
			return fmt.Errorf("%d suspended, %d reinstated", n, m)
		}
		return nil
	})
}

// testAcceptRightAfterQualifiedThenInactivity: the client follows the
// documented signal — registration reports the reseller enrollment
// qualified — and accepts the agreement while agreements has not consumed
// the approval yet (its consumer is paused to make the lag certain). The
// answer is 202 (before: 409 agreements.verification_not_approved), and the
// acceptance is recorded when the approval arrives. Later the partner stays
// idle past the inactivity period (its last activity is set back 19 months,
// which is what time would do): registration marks it inactive, agreements
// suspends its acceptances. Its administrator reactivates it; inactive
// longer than REACTIVATION_REVIEW_AFTER (1ns in this stack), it is held
// (reverification_required) until verification approves it again.
func testAcceptRightAfterQualifiedThenInactivity(t *testing.T, s *e2e.Stack) {
	reg := register(t, s, asahi, "indirect_reseller", "lag-"+asahi.Number)
	p := reg.PartnerID
	logOnFailure(t, s, p)
	confirmEmail(t, s, asahi, p, len(reg.Enrollments))
	task := reviewTask(t, s, p, 1)

	t.Run("AcceptRightAfterQualified", func(t *testing.T) {
		resume := pauseConsumer(t, s, "agreements", verificationv1.TypeVerificationApproved, p)
		defer resume()
		decide(t, s, verifier("verifier-"+asahi.Number), task.TaskID, map[string]any{"decision_id": "approve-" + task.TaskID, "outcome": "approve"})
		e2e.Eventually(t, 10*time.Second, "registration reports qualified", func() error {
			if st := getPartner(t, s, p).enrollment("indirect_reseller"); st != "qualified" {
				return fmt.Errorf("reseller enrollment %q", st)
			}
			return nil
		})
		adm := s.Token(partnerAdmin(p, "admin-"+p))
		var versions struct {
			Versions []struct {
				ID string `json:"id"`
			} `json:"versions"`
		}
		s.Call(t, "GET", s.URL("agreements")+"/v1/agreements/versions?program=indirect_reseller&market=JP", adm, nil, http.StatusOK, &versions)
		var pending struct {
			PendingAcceptance struct {
				VersionID string `json:"version_id"`
			} `json:"pending_acceptance"`
		}
		s.Call(t, "POST", s.URL("agreements")+"/v1/partners/"+p+"/agreements/acceptances", adm,
			map[string]any{"version_id": versions.Versions[0].ID, "market": "JP"}, http.StatusAccepted, &pending)
		if pending.PendingAcceptance.VersionID != versions.Versions[0].ID {
			t.Fatalf("pending acceptance %+v", pending)
		}
		resume()
		e2e.Eventually(t, 20*time.Second, "reseller enrollment active", func() error {
			if st := getPartner(t, s, p).enrollment("indirect_reseller"); st != "active" {
				return fmt.Errorf("reseller enrollment %q", st)
			}
			return nil
		})
		if n := len(s.Events.Of(agreementsv1.TypeAcceptanceRefused, p)); n != 0 {
			t.Fatalf("%d acceptances refused", n)
		}
	})
	if t.Failed() {
		return
	}

	t.Run("InactivityThenReactivation", func(t *testing.T) {
		setLastActivity(t, s, p, time.Now().AddDate(0, -19, 0))
		if ch := standingChange(t, s, p, "inactive"); ch.From != "active" || !slices.Equal(ch.Reasons, []string{"inactivity"}) {
			t.Fatalf("standing change %+v", ch)
		}
		s.Events.WaitFor(t, agreementsv1.TypeAcceptanceSuspended, p)
		standingMail(t, s, asahi.Email(), "休止状態になりました", []string{"inactivity"}, []string{s.PortalURL + "/partners/" + p + "/reactivation"})
		v := wantRequirements(t, s, p, "indirect_reseller", "standing:inactivity")
		if v.Requirements[0].Party != "partner" || !slices.ContainsFunc(v.Requirements[0].Cures, func(c cure) bool {
			return c.Path == "/v1/partners/"+p+"/reactivation"
		}) {
			t.Fatalf("requirements %+v", v)
		}

		var re struct {
			Changed        bool        `json:"changed"`
			ReviewRequired bool        `json:"review_required"`
			Partner        partnerView `json:"partner"`
		}
		s.Call(t, "POST", s.URL("registration")+"/v1/partners/"+p+"/reactivation", s.Token(partnerAdmin(p, "admin-"+p)), nil, http.StatusOK, &re)
		if !re.Changed || !re.ReviewRequired || re.Partner.Status != "suspended" {
			t.Fatalf("reactivation answered %+v", re)
		}
		if ch := standingChange(t, s, p, "suspended"); ch.From != "inactive" || !slices.Equal(ch.Reasons, []string{"reverification_required"}) ||
			!slices.Equal(ch.Lifted, []string{"inactivity"}) {
			t.Fatalf("standing change %+v", ch)
		}
		var ro verificationv1.CaseReopened
		s.Events.WaitMatch(t, "case reopened for the reactivation", 20*time.Second, func(e e2e.Event) bool {
			return e.Topic() == ce.Topic(verificationv1.TypeCaseReopened) && json.Unmarshal(e.Data, &ro) == nil && ro.From == "approved"
		}, p)
		wantRequirements(t, s, p, "indirect_reseller", "standing:reverification_required")
		standingMail(t, s, asahi.Email(), "パートナー アカウントを再開しました", []string{"reverification_required"}, nil)
		decide(t, s, verifier("reviewer-"+asahi.Number), ro.TaskID, map[string]any{"decision_id": "reapprove-" + ro.TaskID, "outcome": "approve"})
		if ch := standingChange(t, s, p, "active"); ch.From != "suspended" || !slices.Equal(ch.Lifted, []string{"reverification_required"}) {
			t.Fatalf("standing change %+v", ch)
		}
		s.Events.WaitFor(t, agreementsv1.TypeAcceptanceReinstated, p)
		wantRequirements(t, s, p, "indirect_reseller")
	})
}

// testRefusedAcceptanceIsMailed: a partner's administrator accepts an
// agreement before agreements has heard of the registration (its consumer
// is paused to make the lag certain), for a program the partner is not
// enrolled in: agreements cannot tell yet and keeps it (202). When the
// approval arrives the acceptance is refused (agreements.no_enrollment),
// and the partner's contact is told by mail why and where to accept.
func testRefusedAcceptanceIsMailed(t *testing.T, s *e2e.Stack) {
	resume := pauseConsumers(t, s, "agreements", regv1.TypeApplicationSubmitted, allPartitions()...)
	reg := register(t, s, tosa, "indirect_reseller", "refused-"+tosa.Number)
	p := reg.PartnerID
	logOnFailure(t, s, p)
	adm := s.Token(partnerAdmin(p, "admin-"+p))
	var pending struct {
		PendingAcceptance struct {
			Status string `json:"status"`
		} `json:"pending_acceptance"`
	}
	s.Call(t, "POST", s.URL("agreements")+"/v1/partners/"+p+"/agreements/acceptances", adm,
		map[string]any{"version_id": "indirect_provider-2025-01", "market": "JP"}, http.StatusAccepted, &pending)
	resume()
	if pending.PendingAcceptance.Status != "pending" {
		t.Fatalf("pending acceptance %+v", pending)
	}
	confirmEmail(t, s, tosa, p, len(reg.Enrollments))
	task := reviewTask(t, s, p, 1)
	decide(t, s, verifier("verifier-"+tosa.Number), task.TaskID, map[string]any{"decision_id": "approve-" + task.TaskID, "outcome": "approve"})
	var refused agreementsv1.AcceptanceRefused
	if err := s.Events.WaitFor(t, agreementsv1.TypeAcceptanceRefused, p).DecodeData(&refused, false); err != nil {
		t.Fatal(err)
	}
	if refused.Code != "agreements.no_enrollment" || refused.Program != "indirect_provider" {
		t.Fatalf("refusal %+v", refused)
	}
	m := waitMail(t, s, tosa.Email(), "同意を記録できませんでした")
	for _, want := range []string{"間接プロバイダー", "indirect_provider-2025-01", "(agreements.no_enrollment)", "is not enrolled in this agreement's program",
		s.PortalURL + "/partners/" + p + "/agreements"} {
		if !strings.Contains(m.Text, want) {
			t.Errorf("the refusal mail lacks %q:\n%s", want, m.Text)
		}
	}
}

// allPartitions are the bus' partitions, 0 to bus.Partitions-1.
func allPartitions() []int {
	ps := make([]int, bus.Partitions)
	for i := range ps {
		ps[i] = i
	}
	return ps
}

// pauseConsumer pauses service's durable consumer of event type typ for the
// partition of partitionKey (for at most 30 s) and returns the function
// that resumes it (at once; idempotent; it also runs at cleanup).
func pauseConsumer(t *testing.T, s *e2e.Stack, service, typ, partitionKey string) (resume func()) {
	t.Helper()
	return pauseConsumers(t, s, service, typ, bus.PartitionFor(partitionKey))
}

// pauseConsumers pauses service's durables of typ for the partitions given
// (a path that cannot know its partner's partition beforehand pauses all).
func pauseConsumers(t *testing.T, s *e2e.Stack, service, typ string, partitions ...int) (resume func()) {
	t.Helper()
	nc, err := nats.Connect(s.NATSURL, nats.Name("e2e-pause"))
	if err != nil {
		t.Fatal(err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	filter := ce.Topic(typ)
	stream, err := bus.StreamFor(filter)
	if err != nil {
		t.Fatal(err)
	}
	durables := make([]string, len(partitions))
	for i, p := range partitions {
		durables[i] = bus.PartitionDurable(service, filter, p)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, durable := range durables {
		if _, err := js.PauseConsumer(ctx, stream.Name, durable, time.Now().Add(30*time.Second)); err != nil {
			t.Fatalf("pause %s on %s: %v", durable, stream.Name, err)
		}
	}
	var done bool
	resume = func() {
		if done {
			return
		}
		done = true
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		// Not ResumeConsumer: the server (2.15) does not wake the pull
		// requests waiting on a consumer resumed that way (they are served
		// when they expire, seconds later); a pause deadline passing does.
		for _, durable := range durables {
			if _, err := js.PauseConsumer(ctx, stream.Name, durable, time.Now().Add(50*time.Millisecond)); err != nil {
				t.Errorf("resume %s: %v", durable, err)
			}
		}
		nc.Close()
	}
	t.Cleanup(resume)
	return resume
}

// setLastActivity sets when registration last saw the partner act, as if
// that much time had passed since.
func setLastActivity(t *testing.T, s *e2e.Stack, partnerID string, at time.Time) {
	t.Helper()
	u, err := url.Parse(testkit.AdminURL())
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + s.Database
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	db, err := pgx.Connect(ctx, u.String())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(context.Background())
	tag, err := db.Exec(ctx, `UPDATE registration.partners SET last_activity_at = $2 WHERE id = $1`, partnerID, at)
	if err != nil || tag.RowsAffected() != 1 {
		t.Fatalf("set last activity of %s: %v (%d rows)", partnerID, err, tag.RowsAffected())
	}
}
