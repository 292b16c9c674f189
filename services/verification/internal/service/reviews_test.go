package service_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/partnerhub/onboarding/pkg/auth"
	emailv1 "github.com/partnerhub/onboarding/pkg/events/email/v1"
	verificationv1 "github.com/partnerhub/onboarding/pkg/events/verification/v1"
	"github.com/partnerhub/onboarding/pkg/testkit"
)

// TestDisputeReviewLifecycle: a dispute opens a review announced on the
// bus and listed for verifiers (not for one of the partner's own), with the
// partner's facts; a confirmation that withdraws the dispute cancels it; a
// second dispute is decided, and the outcome is published.
func TestDisputeReviewLifecycle(t *testing.T) {
	e := newEnv(t)
	svc := e.start(e.config())
	const partner = "PG-D1SP-VTE1-10A"
	e.openCase(partner, "")
	dispute := func(challenge string) {
		e.publish(emailv1.TypeChallengeDisputed, partner, emailv1.ChallengeDisputed{PartnerID: partner, EnrollmentID: "EN-DISPUTE11-1",
			Program: "partner_network", ChallengeID: challenge, Address: "taro@sample-shoji.co.jp", DisputedAt: time.Now().UTC()}, nil)
	}
	dispute("ch-1")
	opened := e.waitEvent(verificationv1.TypeReviewOpened, partner, 1)
	review := opened["review_id"].(string)
	if opened["kind"] != "email_dispute" || opened["challenge_id"] != "ch-1" || opened["claim_path"] != "/v1/verification/reviews/"+review+"/claim" {
		t.Fatalf("review opened %v", opened)
	}
	tokA := e.token(verifierA)
	status, body := svc.call(t, "GET", "/v1/verification/reviews/"+review, tokA, nil)
	if status != http.StatusOK || body["status"] != "open" ||
		body["dispute"].(map[string]any)["existing"].(map[string]any)["submitted"].(map[string]any)["legal_name"] != "（株）サンプル商事" {
		t.Fatalf("review %d %v", status, body)
	}
	own := e.token(auth.Principal{Kind: auth.KindUser, Subject: "own", PartnerID: partner, Roles: []auth.Role{auth.RoleVerifier}})
	if status, body := svc.call(t, "GET", "/v1/verification/reviews?kind=email_dispute", own, nil); status != http.StatusOK ||
		len(body["reviews"].([]any)) != 0 {
		t.Fatalf("the partner's own verifier sees %d %v", status, body)
	}
	if status, body := svc.call(t, "GET", "/v1/verification/reviews?kind=nope", tokA, nil); status != http.StatusBadRequest && status != http.StatusUnprocessableEntity {
		t.Fatalf("unknown kind: %d %v", status, body)
	}

	// The enrollment confirms (a resent mail): the dispute is withdrawn, the review cancelled.
	e.publish(emailv1.TypeDisputeWithdrawn, partner, emailv1.DisputeWithdrawn{PartnerID: partner, EnrollmentID: "EN-DISPUTE11-1",
		Program: "partner_network", ChallengeID: "ch-2", DisputedChallengeID: "ch-1", WithdrawnAt: time.Now().UTC()}, nil)
	testkit.Eventually(t, 10*time.Second, func() error {
		if _, body := svc.call(t, "GET", "/v1/verification/reviews/"+review, tokA, nil); body["status"] != "cancelled" {
			return fmt.Errorf("status %v", body["status"])
		}
		return nil
	})
	if status, body := svc.call(t, "POST", "/v1/verification/reviews/"+review+"/claim", tokA, nil); status != http.StatusConflict ||
		body["code"] != "verification.review_closed" {
		t.Fatalf("claim of a cancelled review: %d %v", status, body)
	}

	dispute("ch-3")
	second := e.waitEvent(verificationv1.TypeReviewOpened, partner, 2)["review_id"].(string)
	if status, body := svc.call(t, "POST", "/v1/verification/reviews/"+second+"/decisions", tokA,
		map[string]any{"decision_id": "d-1", "outcome": "upheld"}); status != http.StatusConflict || body["code"] != "verification.review_not_claimed" {
		t.Fatalf("decision without a claim: %d %v", status, body)
	}
	if status, body := svc.call(t, "POST", "/v1/verification/reviews/"+second+"/claim", tokA, nil); status != http.StatusOK || body["claimed_by"] != "reviewer-a" {
		t.Fatalf("claim: %d %v", status, body)
	}
	if status, body := svc.call(t, "POST", "/v1/verification/reviews/"+second+"/claim", e.token(verifierB), nil); status != http.StatusConflict ||
		body["code"] != "verification.review_claimed" {
		t.Fatalf("claim by another: %d %v", status, body)
	}
	if status, body := svc.call(t, "POST", "/v1/verification/reviews/"+second+"/decisions", tokA,
		map[string]any{"decision_id": "d-1", "outcome": "dismissed", "reason_code": "address_belongs_to_contact"}); status != http.StatusCreated ||
		body["review"].(map[string]any)["status"] != "decided" {
		t.Fatalf("decide: %d %v", status, body)
	}
	out := e.waitEvent(verificationv1.TypeEmailDisputeDismissed, partner, 1)
	if out["challenge_id"] != "ch-3" || out["enrollment_id"] != "EN-DISPUTE11-1" || out["reason"] != "address_belongs_to_contact" || out["reason_text"] == "" {
		t.Fatalf("dismissed %v", out)
	}
	if n := len(e.events(verificationv1.TypeEmailDisputeUpheld, partner)); n != 0 {
		t.Fatalf("%d upheld events", n)
	}
}

// TestAReportDecidedElsewhereClosesItsReview: the address's owner reported
// two enrollments' mails; when e-mail ownership ends the second report
// under the first review's decision (email.dispute.upheld.v1 or
// .dismissed.v1 naming the first review), the second review is cancelled —
// nothing is left to decide — and the decided one stays decided.
func TestAReportDecidedElsewhereClosesItsReview(t *testing.T) {
	e := newEnv(t)
	svc := e.start(e.config())
	const partner = "PG-D1SP-VTE2-10B"
	e.openCase(partner, "")
	tok := e.token(verifierA)
	for i, typ := range []string{emailv1.TypeDisputeUpheld, emailv1.TypeDisputeDismissed} {
		first, second := fmt.Sprintf("ch-%d-net", i), fmt.Sprintf("ch-%d-res", i)
		for _, c := range []string{first, second} {
			e.publish(emailv1.TypeChallengeDisputed, partner, emailv1.ChallengeDisputed{PartnerID: partner, EnrollmentID: "EN-" + c,
				Program: "partner_network", ChallengeID: c, Address: "taro@sample-shoji.co.jp", DisputedAt: time.Now().UTC()}, nil)
		}
		e.waitEvent(verificationv1.TypeReviewOpened, partner, 2*(i+1))
		reviews := map[string]string{}
		for _, ev := range e.events(verificationv1.TypeReviewOpened, partner) {
			reviews[ev["challenge_id"].(string)] = ev["review_id"].(string)
		}
		if reviews[first] == "" || reviews[second] == "" {
			t.Fatalf("reviews %v", reviews)
		}
		if status, body := svc.call(t, "POST", "/v1/verification/reviews/"+reviews[first]+"/claim", tok, nil); status != http.StatusOK {
			t.Fatalf("claim: %d %v", status, body)
		}
		decision := map[string]any{"decision_id": "d-" + first, "outcome": "upheld"}
		if typ == emailv1.TypeDisputeDismissed {
			decision = map[string]any{"decision_id": "d-" + first, "outcome": "dismissed", "reason_code": "address_belongs_to_contact"}
		}
		if status, body := svc.call(t, "POST", "/v1/verification/reviews/"+reviews[first]+"/decisions", tok, decision); status != http.StatusCreated {
			t.Fatalf("decide: %d %v", status, body)
		}
		// E-mail ownership's answer: both reports ended under the first review.
		for _, c := range []string{first, second} {
			e.publish(typ, partner, emailv1.DisputeDecided{PartnerID: partner, EnrollmentID: "EN-" + c, Program: "partner_network",
				ChallengeID: c, ReviewID: reviews[first], Address: "taro@sample-shoji.co.jp", Outcome: map[bool]string{true: "upheld", false: "dismissed"}[typ == emailv1.TypeDisputeUpheld],
				DecidedAt: time.Now().UTC()}, nil)
		}
		testkit.Eventually(t, 10*time.Second, func() error {
			if _, body := svc.call(t, "GET", "/v1/verification/reviews/"+reviews[second], tok, nil); body["status"] != "cancelled" {
				return fmt.Errorf("%s: the second review is %v", typ, body["status"])
			}
			return nil
		})
		if _, body := svc.call(t, "GET", "/v1/verification/reviews/"+reviews[first], tok, nil); body["status"] != "decided" {
			t.Fatalf("%s: the deciding review is %v", typ, body["status"])
		}
		if status, body := svc.call(t, "POST", "/v1/verification/reviews/"+reviews[second]+"/claim", tok, nil); status != http.StatusConflict ||
			body["code"] != "verification.review_closed" {
			t.Fatalf("%s: claim of the second review: %d %v", typ, status, body)
		}
	}
}
