package service_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/partnerhub/onboarding/pkg/auth"
	emailv1 "github.com/partnerhub/onboarding/pkg/events/email/v1"
	verificationv1 "github.com/partnerhub/onboarding/pkg/events/verification/v1"
	"github.com/partnerhub/onboarding/pkg/ids"
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

// TestAReportDecidedElsewhereClosesItsReview: when e-mail ownership ends a
// report under another review's decision (email.dispute.upheld.v1 or
// .dismissed.v1 naming that review — one that was open before reports of an
// address joined one review), the report's review has nothing left to
// decide and is cancelled; a decided review stays decided.
func TestAReportDecidedElsewhereClosesItsReview(t *testing.T) {
	e := newEnv(t)
	svc := e.start(e.config())
	const partner = "PG-D1SP-VTE2-10B"
	e.openCase(partner, "")
	tok := e.token(verifierA)
	for i, typ := range []string{emailv1.TypeDisputeUpheld, emailv1.TypeDisputeDismissed} {
		c := fmt.Sprintf("ch-%d-res", i)
		e.publish(emailv1.TypeChallengeDisputed, partner, emailv1.ChallengeDisputed{PartnerID: partner, EnrollmentID: "EN-" + c,
			Program: "cloud_reseller_indirect", ChallengeID: c, Address: fmt.Sprintf("taro%d@sample-shoji.co.jp", i), DisputedAt: time.Now().UTC()}, nil)
		review := e.waitEvent(verificationv1.TypeReviewOpened, partner, i+1)["review_id"].(string)
		e.publish(typ, partner, emailv1.DisputeDecided{PartnerID: partner, EnrollmentID: "EN-" + c, Program: "cloud_reseller_indirect",
			ChallengeID: c, ReviewID: "vr-elsewhere", Address: fmt.Sprintf("taro%d@sample-shoji.co.jp", i),
			Outcome: map[bool]string{true: "upheld", false: "dismissed"}[typ == emailv1.TypeDisputeUpheld], DecidedAt: time.Now().UTC()}, nil)
		testkit.Eventually(t, 10*time.Second, func() error {
			if _, body := svc.call(t, "GET", "/v1/verification/reviews/"+review, tok, nil); body["status"] != "cancelled" {
				return fmt.Errorf("%s: the review is %v", typ, body["status"])
			}
			return nil
		})
		if status, body := svc.call(t, "POST", "/v1/verification/reviews/"+review+"/claim", tok, nil); status != http.StatusConflict ||
			body["code"] != "verification.review_closed" {
			t.Fatalf("%s: claim of the review: %d %v", typ, status, body)
		}
	}
}

// TestOneReviewPerReportedAddress: the owner of an address reports the
// mails of two of the partner's enrollments; verifiers are asked once (one
// review.opened, the second report on the review), a withdrawn report
// leaves the other to decide, and the decision names the report still
// standing; e-mail ownership's answer for the reports leaves it decided.
func TestOneReviewPerReportedAddress(t *testing.T) {
	e := newEnv(t)
	svc := e.start(e.config())
	const partner = "PG-D1SP-VTE3-10C"
	e.openCase(partner, "")
	tok := e.token(verifierA)
	dispute := func(challenge, program, address string) {
		e.publish(emailv1.TypeChallengeDisputed, partner, emailv1.ChallengeDisputed{PartnerID: partner, EnrollmentID: "EN-" + challenge,
			Program: program, ChallengeID: challenge, Address: address, DisputedAt: time.Now().UTC()}, nil)
	}
	dispute("ch-net", "partner_network", "taro@sample-shoji.co.jp")
	review := e.waitEvent(verificationv1.TypeReviewOpened, partner, 1)["review_id"].(string)
	dispute("ch-res", "cloud_reseller_indirect", "Taro@Sample-Shoji.co.jp")
	dispute("ch-res", "cloud_reseller_indirect", "Taro@Sample-Shoji.co.jp") // published again
	dispute("ch-other", "partner_network", "hanako@sample-shoji.co.jp")     // another address: its own review
	e.waitEvent(verificationv1.TypeReviewOpened, partner, 2)
	if opened := e.events(verificationv1.TypeReviewOpened, partner); len(opened) != 2 || opened[1]["challenge_id"] != "ch-other" {
		t.Fatalf("reviews opened: %v", opened)
	}
	status, body := svc.call(t, "GET", "/v1/verification/reviews/"+review, tok, nil)
	also, _ := body["dispute"].(map[string]any)["also_reported"].([]any)
	if status != http.StatusOK || body["status"] != "open" || len(also) != 1 || also[0].(map[string]any)["challenge_id"] != "ch-res" ||
		also[0].(map[string]any)["program"] != "cloud_reseller_indirect" {
		t.Fatalf("review %d %v", status, body)
	}
	if _, list := svc.call(t, "GET", "/v1/verification/reviews?kind=email_dispute", tok, nil); len(list["reviews"].([]any)) != 2 {
		t.Fatalf("queue %v", list)
	}

	// The partner-network enrollment confirms after all: the reseller's report stands.
	e.publish(emailv1.TypeDisputeWithdrawn, partner, emailv1.DisputeWithdrawn{PartnerID: partner, EnrollmentID: "EN-ch-net",
		Program: "partner_network", ChallengeID: "ch-net-2", DisputedChallengeID: "ch-net", WithdrawnAt: time.Now().UTC()}, nil)
	testkit.Eventually(t, 10*time.Second, func() error {
		_, body := svc.call(t, "GET", "/v1/verification/reviews/"+review, tok, nil)
		if d := body["dispute"].(map[string]any); body["status"] != "open" || d["challenge_id"] != "ch-res" || d["also_reported"] != nil {
			return fmt.Errorf("after the withdrawal: %v", body)
		}
		return nil
	})
	if status, body := svc.call(t, "POST", "/v1/verification/reviews/"+review+"/claim", tok, nil); status != http.StatusOK {
		t.Fatalf("claim: %d %v", status, body)
	}
	if status, body := svc.call(t, "POST", "/v1/verification/reviews/"+review+"/decisions", tok,
		map[string]any{"decision_id": "d-addr", "outcome": "upheld"}); status != http.StatusCreated {
		t.Fatalf("decide: %d %v", status, body)
	}
	if out := e.waitEvent(verificationv1.TypeEmailDisputeUpheld, partner, 1); out["challenge_id"] != "ch-res" || out["enrollment_id"] != "EN-ch-res" {
		t.Fatalf("upheld %v", out)
	}
	e.publish(emailv1.TypeDisputeUpheld, partner, emailv1.DisputeDecided{PartnerID: partner, EnrollmentID: "EN-ch-res", Program: "cloud_reseller_indirect",
		ChallengeID: "ch-res", ReviewID: review, Address: "taro@sample-shoji.co.jp", Outcome: "upheld", DecidedAt: time.Now().UTC()}, nil)
	dispute("ch-later", "partner_network", "hanako@sample-shoji.co.jp") // a barrier: the partner's events are handled in order
	testkit.Eventually(t, 10*time.Second, func() error {
		_, body := svc.call(t, "GET", "/v1/verification/reviews?kind=email_dispute", tok, nil)
		for _, r := range body["reviews"].([]any) {
			if d := r.(map[string]any)["dispute"].(map[string]any); d["challenge_id"] == "ch-other" && d["also_reported"] != nil {
				return nil
			}
		}
		return fmt.Errorf("the later report of the other address has not joined its review: %v", body)
	})
	if _, body := svc.call(t, "GET", "/v1/verification/reviews/"+review, tok, nil); body["status"] != "decided" {
		t.Fatalf("the decided review is %v", body["status"])
	}
}

// TestADisputeReviewShowsTheAddressesConfirmations: the person who reports
// one enrollment's mail had confirmed another's with the same address; the
// review shows the verifier which enrollments confirmed the contact address
// and when — also a confirmation handled after the report (another
// subscription) — and the decided review keeps what the decision saw. The
// review of a profile change's mail names the change, that of a mail to a
// contact an applied change named names that change.
func TestADisputeReviewShowsTheAddressesConfirmations(t *testing.T) {
	e := newEnv(t)
	svc := e.start(e.config())
	const partner = "PG-D1SP-VTE3-2CF"
	e.openCase(partner, "")
	tok := e.token(verifierA)
	e.publish(emailv1.TypeChallengeDisputed, partner, emailv1.ChallengeDisputed{PartnerID: partner, EnrollmentID: "EN-" + partner[3:] + "-2",
		Program: "indirect_reseller", ChallengeID: "ch-res", Address: "taro@sample-shoji.co.jp", DisputedAt: time.Now().UTC()}, nil)
	review := e.waitEvent(verificationv1.TypeReviewOpened, partner, 1)["review_id"].(string)
	confirmedAt := func() map[string]any {
		_, body := svc.call(t, "GET", "/v1/verification/reviews/"+review, tok, nil)
		out := map[string]any{}
		ex, _ := body["dispute"].(map[string]any)["existing"].(map[string]any)
		enrollments, _ := ex["enrollments"].([]any)
		for _, en := range enrollments {
			m := en.(map[string]any)
			out[m["program"].(string)] = m["email_confirmed_at"]
		}
		return out
	}
	if got := confirmedAt(); len(got) != 2 || got["partner_network"] != nil || got["indirect_reseller"] != nil {
		t.Fatalf("before any confirmation: %v", got)
	}
	e.publish(emailv1.TypeOwnershipConfirmed, partner, confirmed(partner), nil)
	testkit.Eventually(t, 10*time.Second, func() error {
		if got := confirmedAt(); got["partner_network"] == nil || got["indirect_reseller"] != nil {
			return fmt.Errorf("the membership's confirmation not shown: %v", got)
		}
		return nil
	})
	if status, body := svc.call(t, "POST", "/v1/verification/reviews/"+review+"/claim", tok, nil); status != http.StatusOK {
		t.Fatalf("claim: %d %v", status, body)
	}
	if status, body := svc.call(t, "POST", "/v1/verification/reviews/"+review+"/decisions", tok,
		map[string]any{"decision_id": "d-contra", "outcome": "dismissed", "reason_code": "address_belongs_to_contact"}); status != http.StatusCreated {
		t.Fatalf("decide: %d %v", status, body)
	}
	var stored string
	if err := svc.svc.Base.Pool.QueryRow(context.Background(), `SELECT doc::text FROM reviews WHERE id = $1`, review).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stored, "email_confirmed_at") {
		t.Fatalf("the decided review does not keep the confirmation it was decided on: %s", stored)
	}
	// A profile change's mail: the review says which change it is of.
	e.publish(emailv1.TypeChallengeDisputed, partner, emailv1.ChallengeDisputed{PartnerID: partner, EnrollmentID: "EN-" + partner[3:] + "-1",
		Program: "partner_network", ChallengeID: "ch-change", Address: "jiro@sample-shoji.co.jp", DisputedAt: time.Now().UTC(),
		ProfileChange: 4}, nil)
	change := e.waitEvent(verificationv1.TypeReviewOpened, partner, 2)["review_id"].(string)
	if _, body := svc.call(t, "GET", "/v1/verification/reviews/"+change, tok, nil); body["dispute"].(map[string]any)["profile_change"] != float64(4) {
		t.Fatalf("the review of a profile change's mail: %v", body["dispute"])
	}
	// A mail to a contact an applied change named (since round 44): the
	// review says which change named it.
	e.publish(emailv1.TypeChallengeDisputed, partner, emailv1.ChallengeDisputed{PartnerID: partner, EnrollmentID: "EN-" + partner[3:] + "-2",
		Program: "indirect_reseller", ChallengeID: "ch-followed", Address: "saburo@sample-shoji.co.jp", DisputedAt: time.Now().UTC(),
		ContactChange: 5}, nil)
	followed := e.waitEvent(verificationv1.TypeReviewOpened, partner, 3)["review_id"].(string)
	if _, body := svc.call(t, "GET", "/v1/verification/reviews/"+followed, tok, nil); body["dispute"].(map[string]any)["contact_change"] != float64(5) ||
		body["dispute"].(map[string]any)["profile_change"] != nil {
		t.Fatalf("the review of a followed contact's mail: %v", body["dispute"])
	}
}

// TestReviewsDecidedAtOnce: a verifier service decides many e-mail dispute
// reviews at once (more than the service's connections). Every decision is
// recorded (201). Before round 50 a decision read the reported partner's
// case on a second connection while its transaction held the first: a few
// at once held every connection and waited for one more, until the
// requests timed out (503 service.busy after 20 s).
func TestReviewsDecidedAtOnce(t *testing.T) {
	e := newEnv(t)
	svc := e.start(e.config())
	tokA := e.token(verifierA)
	const n = 10
	reviews := make([]string, n)
	for i := range reviews {
		partner, err := ids.Format(ids.Partner, fmt.Sprintf("D1SPA7NCE%d", i))
		if err != nil {
			t.Fatal(err)
		}
		e.openCase(partner, "")
		e.publish(emailv1.TypeChallengeDisputed, partner, emailv1.ChallengeDisputed{PartnerID: partner, EnrollmentID: "EN-" + partner[3:] + "-1",
			Program: "partner_network", ChallengeID: "ch-" + partner, Address: "taro@sample-shoji.co.jp", DisputedAt: time.Now().UTC()}, nil)
		reviews[i] = e.waitEvent(verificationv1.TypeReviewOpened, partner, 1)["review_id"].(string)
		if status, body := svc.call(t, "POST", "/v1/verification/reviews/"+reviews[i]+"/claim", tokA, nil); status != http.StatusOK {
			t.Fatalf("claim: %d %v", status, body)
		}
	}
	var wg sync.WaitGroup
	for i, review := range reviews {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if status, body := svc.call(t, "POST", "/v1/verification/reviews/"+review+"/decisions", tokA,
				map[string]any{"decision_id": fmt.Sprintf("d-%d", i), "outcome": "dismissed", "reason_code": "address_belongs_to_contact"}); status != http.StatusCreated {
				t.Errorf("decision %d: %d %v", i, status, body)
			}
		}()
	}
	wg.Wait()
}
