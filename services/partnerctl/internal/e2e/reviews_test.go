package e2e_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/partnerhub/onboarding/pkg/auth"
	"github.com/partnerhub/onboarding/pkg/contract"
	emailv1 "github.com/partnerhub/onboarding/pkg/events/email/v1"
	regv2 "github.com/partnerhub/onboarding/pkg/events/registration/v2"
	verificationv1 "github.com/partnerhub/onboarding/pkg/events/verification/v1"
	verificationv2 "github.com/partnerhub/onboarding/pkg/events/verification/v2"
	"github.com/partnerhub/onboarding/services/partnerctl/internal/e2e"
)

// Companies of the claim and dispute paths: none is in verification's
// register (nobody approves them here), each has a valid corporate number
// no other path uses.
var (
	claimUpheldCo  = company{"株式会社クレーム検証アルファ", "4010401991501", "東京都", "千代田区", "丸の内1-1-1", "100-0005", "claim-alpha.co.jp"}
	claimRefusedCo = company{"株式会社クレーム検証ベータ", "3010401991502", "東京都", "千代田区", "丸の内1-1-2", "100-0005", "claim-beta.co.jp"}
	disputeUpCo    = company{"株式会社ディスピュート検証ガンマ", "2010401991503", "東京都", "千代田区", "丸の内1-1-3", "100-0005", "dispute-gamma.co.jp"}
	disputeDownCo  = company{"株式会社ディスピュート検証デルタ", "1010401991504", "東京都", "千代田区", "丸の内1-1-4", "100-0005", "dispute-delta.co.jp"}
)

var upstreamOther = auth.Principal{Kind: auth.KindService, Subject: "other-portal", Roles: []auth.Role{auth.RoleUpstreamSystem}}

// partnerVerifier is a verifier that belongs to a partner.
func partnerVerifier(partnerID string) auth.Principal {
	return auth.Principal{Kind: auth.KindService, Subject: "verifier-of-" + partnerID, PartnerID: partnerID, Roles: []auth.Role{auth.RoleVerifier}}
}

// review is GET /v1/verification/reviews/{id} (the fields the paths read).
type review struct {
	ID        string `json:"id"`
	Kind      string `json:"kind"`
	Status    string `json:"status"`
	PartnerID string `json:"partner_id"`
	Claim     *struct {
		ClaimID   string `json:"claim_id"`
		Statement string `json:"statement"`
		Claimant  struct {
			LegalName string `json:"legal_name"`
			Submitted struct {
				RegistrationNumber string `json:"registration_number"`
				Address            struct {
					Line1 string `json:"line1"`
				} `json:"address"`
			} `json:"submitted"`
			Contact struct {
				Email string `json:"email"`
			} `json:"contact"`
		} `json:"claimant"`
		Existing *struct {
			Submitted struct {
				LegalName string `json:"legal_name"`
			} `json:"submitted"`
		} `json:"existing"`
	} `json:"claim"`
	Dispute *struct {
		ChallengeID  string `json:"challenge_id"`
		EnrollmentID string `json:"enrollment_id"`
		Program      string `json:"program"`
		Address      string `json:"address"`
		AlsoReported []struct {
			ChallengeID string `json:"challenge_id"`
		} `json:"also_reported"`
		ProfileChange int `json:"profile_change"`
		Existing      *struct {
			Enrollments []reviewedEnrollment `json:"enrollments"`
		} `json:"existing"`
	} `json:"dispute"`
	Decision *struct {
		Outcome string `json:"outcome"`
	} `json:"decision"`
}

// reviewedEnrollment is one of the reviewed partner's enrollments and when
// it confirmed the contact address.
type reviewedEnrollment struct {
	Program          string `json:"program"`
	EmailConfirmedAt string `json:"email_confirmed_at"`
}

// claimView is GET /v1/duplicate-claims/{claim_id}.
type claimView struct {
	ClaimID    string `json:"claim_id"`
	Status     string `json:"status"`
	Reason     string `json:"reason"`
	ReasonText string `json:"reason_text"`
	Message    string `json:"message"`
	NextStep   string `json:"next_step"`
}

// waitReview polls the verifier queue for the open review of kind that
// match accepts.
func waitReview(t *testing.T, s *e2e.Stack, kind string, match func(review) bool) review {
	t.Helper()
	var found review
	tok := s.Token(verifier("review-desk"))
	e2e.Eventually(t, 20*time.Second, "an open "+kind+" review", func() error {
		var list struct {
			Reviews []review `json:"reviews"`
		}
		s.Call(t, "GET", s.URL("verification")+"/v1/verification/reviews?kind="+kind+"&limit=500", tok, nil, http.StatusOK, &list)
		for _, r := range list.Reviews {
			if match(r) {
				found = r
				return nil
			}
		}
		return fmt.Errorf("%d open reviews, none matches", len(list.Reviews))
	})
	return found
}

// decideReview claims the review as v and records the decision.
func decideReview(t *testing.T, s *e2e.Stack, v string, reviewID string, decision map[string]any) {
	t.Helper()
	tok := s.Token(verifier(v))
	base := s.URL("verification") + "/v1/verification/reviews/" + reviewID
	s.Call(t, "POST", base+"/claim", tok, nil, http.StatusOK, nil)
	s.Call(t, "POST", base+"/decisions", tok, decision, http.StatusCreated, nil)
}

// fileClaim registers c, is refused registering it again with another
// contact, files a claim quoting the attempt and returns the existing
// partner and the claim id.
func fileClaim(t *testing.T, s *e2e.Stack, c company, claimant string) (partnerID, claimID string) {
	t.Helper()
	reg := register(t, s, c, "indirect_provider", "claims-"+c.Number)
	// The review shows the existing partner's facts from its case (read
	// when the review is read: the claim may reach verification first).
	s.Events.WaitFor(t, verificationv1.TypeCaseOpened, reg.PartnerID)
	again := c.Registration("indirect_provider")
	again["contact"].(map[string]any)["email"] = claimant
	again["contact"].(map[string]any)["first_name"] = "花子"
	again["contact"].(map[string]any)["last_name"] = "佐藤"
	dup := e2e.WantProblem(t, s.Do(t, "POST", s.URL("registration")+"/v1/registrations", s.Token(upstream), again,
		"Idempotency-Key", "claims-again-"+c.Number), http.StatusConflict, "registration.duplicate_entity")
	attempt, _ := dup.Members["duplicate_attempt_id"].(string)
	var filed struct {
		ClaimID string `json:"claim_id"`
	}
	s.Call(t, "POST", s.URL("registration")+"/v1/duplicate-claims", s.Token(upstream),
		map[string]any{"duplicate_attempt_id": attempt, "statement": "前任の担当者が退職し、私たちが同じ会社の新しい担当者です。"}, http.StatusCreated, &filed)
	return reg.PartnerID, filed.ClaimID
}

// claimOnTimeline: a refused claim is listed on the existing partner's
// timeline, and its administrator reads it there without the claimant's
// contact — the filing's reads null, the refusal names no one (since round
// 47; before, the contact from the filing on, while the mail gives it only
// once a verifier upheld the claim) — where an operator reads the contact.
func claimOnTimeline(t *testing.T, s *e2e.Stack, partner, claimant string) {
	t.Helper()
	type entry struct {
		Type string                     `json:"type"`
		Data map[string]json.RawMessage `json:"data"`
	}
	read := func(who auth.Principal) map[string]entry {
		var tl struct {
			Events []entry `json:"events"`
		}
		s.Call(t, "GET", s.URL("timeline")+"/v1/partners/"+partner+"/timeline?limit=500", s.Token(who), nil, http.StatusOK, &tl)
		out := map[string]entry{}
		for _, e := range tl.Events {
			if strings.Contains(e.Type, ".duplicate_claim.") {
				out[e.Type] = e
			}
		}
		return out
	}
	op := auth.Principal{Subject: "ops-1", Roles: []auth.Role{auth.RoleOperator}}
	e2e.Eventually(t, 10*time.Second, "the refused claim on the existing partner's timeline", func() error {
		if _, ok := read(op)[verificationv2.TypeDuplicateClaimRefused]; !ok {
			return fmt.Errorf("no refusal yet")
		}
		return nil
	})
	staff, side := read(op), read(partnerAdmin(partner, "admin-"+partner))
	if c := staff[regv2.TypeDuplicateClaimFiled].Data["contact"]; !strings.Contains(string(c), claimant) {
		t.Errorf("an operator reads the filed claim's contact %s, want the claimant's", c)
	}
	filed, refused := side[regv2.TypeDuplicateClaimFiled], side[verificationv2.TypeDuplicateClaimRefused]
	if c, ok := filed.Data["contact"]; !ok || string(c) != "null" || string(filed.Data["statement"]) != `"[redacted]"` {
		t.Errorf("the existing partner's administrator reads the filed claim's contact %s and statement %s", c, filed.Data["statement"])
	}
	if c, ok := refused.Data["claimant"]; refused.Data == nil || ok {
		t.Errorf("the existing partner's administrator reads the refusal (found: %t) naming %s", refused.Data != nil, c)
	}
	for typ, e := range side {
		raw, err := json.Marshal(e.Data)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(raw), claimant) {
			t.Errorf("the existing partner's administrator reads the claimant's address in %s: %s", typ, raw)
		}
		if err := contract.ValidateJSON(typ, raw); err != nil {
			t.Errorf("%s as the existing partner's side reads it: %v", typ, err)
		}
	}
}

// waitClaim polls the claimant's view of its claim until it has status.
func waitClaim(t *testing.T, s *e2e.Stack, claimID, status string) claimView {
	t.Helper()
	var v claimView
	e2e.Eventually(t, 20*time.Second, "claim "+claimID+" "+status, func() error {
		s.Call(t, "GET", s.URL("registration")+"/v1/duplicate-claims/"+claimID, s.Token(upstream), nil, http.StatusOK, &v)
		if v.Status != status {
			return fmt.Errorf("status %q", v.Status)
		}
		return nil
	})
	return v
}

// testClaimsAndDisputes: a duplicate claim becomes a verifier's review with
// the claimant's statement and facts and the existing partner's; upheld, the
// existing partner's contact is mailed to add the claimant and the claimant
// reads "upheld"; refused, the claimant reads the reason. A "this wasn't
// me" dispute becomes a review too: upheld removes the address (its link no
// longer confirms, the requirements view says why), dismissed lets the
// confirmation go through.
func testClaimsAndDisputes(t *testing.T, s *e2e.Stack) {
	t.Run("ClaimUpheld", func(t *testing.T) {
		t.Parallel()
		c := claimUpheldCo
		claimant := "hanako.sato@" + c.Domain
		partner, claimID := fileClaim(t, s, c, claimant)
		logOnFailure(t, s, partner)
		if v := waitClaim(t, s, claimID, "filed"); v.NextStep != "" || v.Reason != "" {
			t.Fatalf("filed claim %+v", v)
		}
		// Another upstream system cannot read it.
		other := s.Token(upstreamOther)
		e2e.WantProblem(t, s.Do(t, "GET", s.URL("registration")+"/v1/duplicate-claims/"+claimID, other, nil),
			http.StatusNotFound, "registration.duplicate_claim_not_found")

		opened := s.Events.WaitMatch(t, "review opened", 20*time.Second, func(e e2e.Event) bool {
			return e.Topic() == "verification.review.opened.v1" && decodeData[verificationv1.ReviewOpened](t, e).ClaimID == claimID
		}, partner)
		r := waitReview(t, s, "duplicate_claim", func(r review) bool { return r.Claim != nil && r.Claim.ClaimID == claimID })
		if o := decodeData[verificationv1.ReviewOpened](t, opened); o.ReviewID != r.ID || o.ClaimPath != "/v1/verification/reviews/"+r.ID+"/claim" {
			t.Fatalf("review opened %+v", o)
		}
		if r.PartnerID != partner || r.Claim.Claimant.Contact.Email != claimant || r.Claim.Claimant.LegalName != c.Name ||
			r.Claim.Claimant.Submitted.RegistrationNumber != c.Number || r.Claim.Claimant.Submitted.Address.Line1 != c.Line1 ||
			!strings.Contains(r.Claim.Statement, "新しい担当者") || r.Claim.Existing == nil || r.Claim.Existing.Submitted.LegalName != c.Name {
			t.Fatalf("claim review lacks what the verifier needs: %+v claim %+v", r, r.Claim)
		}
		// A verifier of the claimed partner may not take it.
		ownTok := s.Token(partnerVerifier(partner))
		e2e.WantProblem(t, s.Do(t, "POST", s.URL("verification")+"/v1/verification/reviews/"+r.ID+"/claim", ownTok, nil),
			http.StatusForbidden, "verification.own_partner")

		tok := s.Token(verifier("claims-verifier"))
		base := s.URL("verification") + "/v1/verification/reviews/" + r.ID
		s.Call(t, "POST", base+"/claim", tok, nil, http.StatusOK, nil)
		waitClaim(t, s, claimID, "under_review")
		// Upheld takes no reason; an unknown outcome is refused precisely.
		e2e.WantProblem(t, s.Do(t, "POST", base+"/decisions", tok, map[string]any{"decision_id": "up-" + claimID, "outcome": "approve"}),
			http.StatusUnprocessableEntity, "verification.invalid_review_decision")
		s.Call(t, "POST", base+"/decisions", tok, map[string]any{"decision_id": "up-" + claimID, "outcome": "upheld"}, http.StatusCreated, nil)
		s.Call(t, "POST", base+"/decisions", tok, map[string]any{"decision_id": "up-" + claimID, "outcome": "upheld"}, http.StatusOK, nil)

		if v := waitClaim(t, s, claimID, "upheld"); v.NextStep != "existing_partner_contact_asked_to_add_claimant" {
			t.Fatalf("upheld claim %+v", v)
		}
		ev := decodeData[verificationv1.DuplicateClaimDecided](t, s.Events.WaitFor(t, verificationv1.TypeDuplicateClaimUpheld, partner))
		if ev.ClaimID != claimID || ev.Claimant.Email != claimant || ev.DecidedBy != "claims-verifier" {
			t.Fatalf("upheld event %+v", ev)
		}
		m := waitMail(t, s, c.Email(), "担当者の追加")
		wantMail(t, m, c.Email(), claimant, claimID, partner, "佐藤 花子", "花子 佐藤")
	})

	t.Run("ClaimRefused", func(t *testing.T) {
		t.Parallel()
		c := claimRefusedCo
		claimant := "jiro.sato@" + c.Domain
		partner, claimID := fileClaim(t, s, c, claimant)
		logOnFailure(t, s, partner)
		r := waitReview(t, s, "duplicate_claim", func(r review) bool { return r.Claim != nil && r.Claim.ClaimID == claimID })
		tok := s.Token(verifier("claims-verifier"))
		base := s.URL("verification") + "/v1/verification/reviews/" + r.ID
		s.Call(t, "POST", base+"/claim", tok, nil, http.StatusOK, nil)
		// A refusal needs a reason of the catalog.
		p := e2e.WantProblem(t, s.Do(t, "POST", base+"/decisions", tok, map[string]any{"decision_id": "no-" + claimID, "outcome": "refused"}),
			http.StatusUnprocessableEntity, "verification.invalid_review_decision")
		if len(p.Errors) == 0 || p.Errors[0].Field != "reason_code" {
			t.Fatalf("refusal without reason: %+v", p)
		}
		s.Call(t, "POST", base+"/decisions", tok, map[string]any{"decision_id": "no-" + claimID, "outcome": "refused",
			"reason_code": "insufficient_evidence", "message": "登記事項証明書と在籍証明書を添えて、改めてお申し込みください。"}, http.StatusCreated, nil)
		v := waitClaim(t, s, claimID, "refused")
		if v.Reason != "insufficient_evidence" || !strings.Contains(v.ReasonText, "statement") || !strings.Contains(v.Message, "在籍証明書") || v.NextStep != "" {
			t.Fatalf("refused claim %+v", v)
		}
		ev := decodeData[verificationv2.DuplicateClaimRefused](t, s.Events.WaitFor(t, verificationv2.TypeDuplicateClaimRefused, partner))
		if ev.ClaimID != claimID || ev.Reason != "insufficient_evidence" || ev.ReasonText == "" {
			t.Fatalf("refused event %+v", ev)
		}
		if s.Has("timeline") {
			claimOnTimeline(t, s, partner, claimant)
		}
		atEnd(func(t *testing.T) {
			ms, err := s.Mails(c.Email())
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range ms {
				if strings.Contains(m.Subject, "担当者の追加") {
					t.Errorf("a refused claim mailed the existing partner: %s", m.Subject)
				}
			}
			if n := len(s.Events.Of(verificationv1.TypeDuplicateClaimUpheld, partner)); n != 0 {
				t.Errorf("%d upheld events for a refused claim", n)
			}
		})
	})

	t.Run("DisputeUpheld", func(t *testing.T) {
		t.Parallel()
		c := disputeUpCo
		reg := register(t, s, c, "indirect_provider", "dispute-"+c.Number)
		logOnFailure(t, s, reg.PartnerID)
		m, challenge := disputeFirstMail(t, s, c)
		r := waitReview(t, s, "email_dispute", func(r review) bool { return r.Dispute != nil && r.Dispute.ChallengeID == challenge })
		if r.PartnerID != reg.PartnerID || r.Dispute.Address != c.Email() {
			t.Fatalf("dispute review %+v %+v", r, r.Dispute)
		}
		decideReview(t, s, "dispute-verifier", r.ID, map[string]any{"decision_id": "up-" + challenge, "outcome": "upheld"})
		s.Events.WaitMatch(t, "dispute upheld", 20*time.Second, func(e e2e.Event) bool {
			return e.Topic() == "email.dispute.upheld.v1" && decodeData[emailv1.DisputeDecided](t, e).ChallengeID == challenge
		}, reg.PartnerID)
		// The reporter is told (since round 42), the one mail the removed
		// address still gets.
		wantMail(t, waitMail(t, s, c.Email(), "removed from the registration"), c.Email(), reg.PartnerID)
		// The address is removed: its link no longer confirms.
		if res := s.Do(t, "GET", m.ConfirmLink(), "", nil); res.Status != http.StatusGone || !strings.Contains(string(res.Body), "removed") {
			t.Fatalf("confirm link after an upheld dispute: %d\n%s", res.Status, res.Body)
		}
		// The decision is about the address: the other enrollment's mail,
		// which nobody reported, no longer confirms either (before round 41
		// it did, and a program added later mailed the address again).
		for _, l := range confirmLinks(t, s, c.Email(), 2) {
			if l == m.ConfirmLink() {
				continue
			}
			if res := s.Do(t, "GET", l, "", nil); res.Status != http.StatusGone || !strings.Contains(string(res.Body), "removed") {
				t.Fatalf("the unreported enrollment's link after an upheld dispute: %d\n%s", res.Status, res.Body)
			}
		}
		// Registration tells why neither enrollment can proceed on it.
		for _, e := range reg.Enrollments {
			e2e.Eventually(t, 20*time.Second, "contact_email_removed requirement of "+e.Program, func() error {
				var v struct {
					Requirements []struct{ Kind string } `json:"requirements"`
				}
				s.Call(t, "GET", s.URL("registration")+"/v1/partners/"+reg.PartnerID+"/enrollments/"+e.Program+"/requirements",
					s.Token(upstream), nil, http.StatusOK, &v)
				for _, q := range v.Requirements {
					if q.Kind == "contact_email_removed" {
						return nil
					}
				}
				return fmt.Errorf("requirements %+v", v.Requirements)
			})
		}
		// The cure while the registration is under review: its upstream
		// system corrects the contact (the same domain); every enrollment
		// gets a confirmation mail at the new address, and verification
		// takes the new address's confirmation as the case's (before round
		// 41 a profile change was refused until the approval, which waited
		// for a confirmation that could not come).
		corrected := "hanako.sato@" + c.Domain
		s.Call(t, "POST", s.URL("registration")+"/v1/partners/"+reg.PartnerID+"/profile-changes", s.Token(upstream), map[string]any{
			"contact": map[string]any{"first_name": "花子", "last_name": "佐藤", "email": corrected, "phone": "090-2222-4444"}}, http.StatusCreated, nil)
		links := confirmLinks(t, s, corrected, 2)
		for _, l := range links {
			s.ConfirmLink(t, l)
		}
		s.Events.WaitMatch(t, "the case's e-mail check passed on the corrected address", 20*time.Second, func(e e2e.Event) bool {
			if e.Type != verificationv1.TypeCheckStateChanged {
				return false
			}
			ch := decodeData[verificationv1.CheckStateChanged](t, e)
			return ch.Check == "email_ownership" && ch.To == "passed"
		}, reg.PartnerID)
		// The removed address cannot come back as the contact (since round
		// 43; before, the change was accepted and its confirmation mail
		// withheld: the partner waited for a mail that never came).
		back := s.Do(t, "POST", s.URL("registration")+"/v1/partners/"+reg.PartnerID+"/profile-changes", s.Token(upstream), map[string]any{
			"contact": map[string]any{"first_name": "太郎", "last_name": "山田", "email": c.Email(), "phone": "090-2222-4444"}})
		if p := e2e.WantProblem(t, back, http.StatusUnprocessableEntity, "registration.invalid_input"); len(p.Errors) != 1 ||
			p.Errors[0].Field != "contact.email" || p.Errors[0].Code != "email.removed_after_report" {
			t.Fatalf("a change back to the removed address: %s", back)
		}
		atEnd(func(t *testing.T) {
			for _, e := range s.Events.Of(emailv1.TypeOwnershipConfirmed, reg.PartnerID) {
				if decodeData[emailv1.OwnershipConfirmed](t, e).ChallengeID == challenge {
					t.Errorf("the removed address was confirmed: %s", e)
				}
			}
		})
	})

	t.Run("DisputeDismissed", func(t *testing.T) {
		t.Parallel()
		c := disputeDownCo
		reg := register(t, s, c, "indirect_provider", "dispute-"+c.Number)
		logOnFailure(t, s, reg.PartnerID)
		// The person reports both enrollments' mails: verifiers are asked
		// once, the second report joining the first's review (before round
		// 42 each opened a review of its own).
		ms, challenges := disputeMails(t, s, c, 2)
		challenge := challenges[0]
		r := waitReview(t, s, "email_dispute", func(r review) bool {
			return r.Dispute != nil && r.Dispute.ChallengeID == challenge && len(r.Dispute.AlsoReported) == 1 &&
				r.Dispute.AlsoReported[0].ChallengeID == challenges[1]
		})
		var open struct {
			Reviews []review `json:"reviews"`
		}
		s.Call(t, "GET", s.URL("verification")+"/v1/verification/reviews?kind=email_dispute&limit=500", s.Token(verifier("review-desk")), nil, http.StatusOK, &open)
		for _, o := range open.Reviews {
			if o.Dispute != nil && o.Dispute.ChallengeID == challenges[1] {
				t.Fatalf("the second report has a review of its own: %+v", o)
			}
		}
		// Under review, the requirements view says so (before round 42 it
		// asked the partner to confirm or resend, as for any unread mail).
		for _, e := range reg.Enrollments {
			waitConfirmationRequirement(t, s, reg.PartnerID, e.Program, "vendor", "confirmation_mail_reported")
			// A resend (the partner's portal) before the decision mails the reporter nothing (since
			// round 42), answered as any resend is.
			s.Call(t, "POST", s.URL("email-ownership")+"/v1/resend", s.Token(partnerAdmin(reg.PartnerID, "dispute-admin")), map[string]string{"enrollment_id": e.ID},
				http.StatusAccepted, nil)
		}
		decideReview(t, s, "dispute-verifier", r.ID, map[string]any{"decision_id": "no-" + challenge, "outcome": "dismissed",
			"reason_code": "address_belongs_to_contact", "message": "We called the registered number of the company."})
		for _, e := range reg.Enrollments {
			waitConfirmationRequirement(t, s, reg.PartnerID, e.Program, "partner", "")
		}
		// The reporter is told, once for the address (since round 42).
		answer := waitMail(t, s, c.Email(), "We reviewed your report")
		wantMail(t, answer, c.Email(), reg.PartnerID, "We called the registered number of the company.")
		time.Sleep(300 * time.Millisecond)
		sent, _ := s.Mails(c.Email())
		answers, confirmations := 0, 0
		for _, m := range sent {
			if strings.Contains(m.Subject, "We reviewed your report") {
				answers++
			}
			if m.ConfirmLink() != "" {
				confirmations++
			}
		}
		if answers != 1 || confirmations != 2 {
			t.Errorf("%d answers to the two reports, want one; %d confirmation mails, want the two reported", answers, confirmations)
		}
		for i, ch := range challenges {
			s.Events.WaitMatch(t, "dispute dismissed", 20*time.Second, func(e e2e.Event) bool {
				return e.Topic() == "email.dispute.dismissed.v1" && decodeData[emailv1.DisputeDecided](t, e).ChallengeID == ch
			}, reg.PartnerID)
			// The challenge continues: its link confirms the address.
			s.ConfirmLink(t, ms[i].ConfirmLink())
			s.Events.WaitMatch(t, "the disputed challenge confirmed", 20*time.Second, func(e e2e.Event) bool {
				return e.Topic() == "email.ownership.confirmed.v1" && decodeData[emailv1.OwnershipConfirmed](t, e).ChallengeID == ch
			}, reg.PartnerID)
		}
	})
}

// waitConfirmationRequirement waits until the enrollment's requirements
// view asks for its e-mail confirmation on party, for reason.
func waitConfirmationRequirement(t *testing.T, s *e2e.Stack, partnerID, program, party, reason string) {
	t.Helper()
	e2e.Eventually(t, 20*time.Second, "email_confirmation of "+program+" waiting on "+party, func() error {
		var v struct {
			Requirements []struct{ Kind, Party, Reason string } `json:"requirements"`
		}
		s.Call(t, "GET", s.URL("registration")+"/v1/partners/"+partnerID+"/enrollments/"+program+"/requirements",
			s.Token(upstream), nil, http.StatusOK, &v)
		for _, q := range v.Requirements {
			if q.Kind == "email_confirmation" && q.Party == party && q.Reason == reason {
				return nil
			}
		}
		return fmt.Errorf("requirements %+v", v.Requirements)
	})
}

var disputeLinkRe = regexp.MustCompile(`https?://[^\s"<>]+/dispute\?token=[A-Za-z0-9_-]+`)

// disputeFirstMail waits for c's confirmation mails, reports the first as
// "this wasn't me" (its dispute link's page and button) and returns the
// mail and its challenge id.
func disputeFirstMail(t *testing.T, s *e2e.Stack, c company) (e2e.Mail, string) {
	t.Helper()
	ms, challenges := disputeMails(t, s, c, 1)
	return ms[0], challenges[0]
}

// disputeMails waits for c's confirmation mails and reports n of them, one
// after the other, as "this wasn't me"; it returns the mails and their
// challenge ids in that order.
func disputeMails(t *testing.T, s *e2e.Stack, c company, n int) ([]e2e.Mail, []string) {
	t.Helper()
	confirmLinks(t, s, c.Email(), n)
	ms, err := s.Mails(c.Email())
	if err != nil {
		t.Fatal(err)
	}
	var mails []e2e.Mail
	var challenges []string
	for _, m := range ms {
		link := disputeLinkRe.FindString(m.Text)
		if m.ConfirmLink() == "" || link == "" {
			continue
		}
		s.ConfirmLink(t, link) // the same page-and-button as a confirmation
		mails, challenges = append(mails, m), append(challenges, strings.SplitN(m.MessageID, "@", 2)[0])
		if len(mails) == n {
			return mails, challenges
		}
	}
	t.Fatalf("%d confirmation mails with a dispute link to %s, want %d", len(mails), c.Email(), n)
	return nil, nil
}
