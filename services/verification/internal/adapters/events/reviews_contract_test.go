package events

import (
	"testing"
	"time"

	"github.com/partnerhub/onboarding/pkg/contract"
	verificationv1 "github.com/partnerhub/onboarding/pkg/events/verification/v1"
	verificationv2 "github.com/partnerhub/onboarding/pkg/events/verification/v2"
	"github.com/partnerhub/onboarding/services/verification/internal/domain"
)

// TestReviewEventsMatchSchemas: every review outcome is published with a
// payload its schema accepts, on the reviewed partner's subject.
func TestReviewEventsMatchSchemas(t *testing.T) {
	claim := domain.ClaimContent{ClaimID: "DC-1", DuplicateAttemptID: "DA-1", MatchedOn: []string{"legal_name"}, Statement: "we are them",
		FiledBy: "portal", FiledAt: t0, Claimant: domain.ClaimantFacts{LegalName: "（株）サンプル商事", LegalNameNormalized: "株式会社サンプル商事",
			Contact: domain.Contact{FirstName: "Hanako", LastName: "Sato", Email: "hanako@sample.co.jp", EmailDomain: "sample.co.jp"}}}
	dispute := domain.DisputeContent{ChallengeID: "ch-1", EnrollmentID: "EN-1", Program: "partner_network", Address: "a@b.jp", DisputedAt: t0}
	seen := map[string]int{}
	for i, tc := range []struct {
		kind    domain.ReviewKind
		outcome domain.ReviewOutcome
		reason  domain.ReasonCode
	}{
		{domain.ReviewDuplicateClaim, domain.ReviewUpheld, ""},
		{domain.ReviewDuplicateClaim, domain.ReviewRefused, "insufficient_evidence"},
		{domain.ReviewEmailDispute, domain.ReviewUpheld, ""},
		{domain.ReviewEmailDispute, domain.ReviewDismissed, "address_belongs_to_contact"},
	} {
		var r *domain.Review
		var err error
		if tc.kind == domain.ReviewDuplicateClaim {
			r, err = domain.NewClaimReview("vr-1", "PG-7K3M9Q2X", "JP", claim, t0, rules())
		} else {
			r, err = domain.NewDisputeReview("vr-1", "PG-7K3M9Q2X", "JP", dispute, t0, rules())
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := r.ClaimFor("alice", "", t0, time.Hour); err != nil {
			t.Fatal(err)
		}
		if _, err := r.Decide(domain.ReviewDecisionInput{ID: "d" + string(rune('0'+i)), Verifier: "alice", Outcome: tc.outcome, Reason: tc.reason}, t0.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		drafts, err := ToDrafts(r.PullEvents())
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range drafts {
			seen[d.Type]++
			contract.MustValidate(t, d.Type, d.Data)
			if d.Subject != "PG-7K3M9Q2X" {
				t.Errorf("%s: subject %q", d.Type, d.Subject)
			}
		}
	}
	for _, typ := range []string{verificationv1.TypeReviewOpened, verificationv1.TypeDuplicateClaimReviewStarted, verificationv1.TypeDuplicateClaimUpheld,
		verificationv2.TypeDuplicateClaimRefused, verificationv1.TypeEmailDisputeUpheld, verificationv1.TypeEmailDisputeDismissed} {
		if seen[typ] == 0 {
			t.Errorf("no %s produced", typ)
		}
	}
}
