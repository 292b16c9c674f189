package app

import (
	"context"
	"testing"
	"time"

	"github.com/partnerhub/onboarding/pkg/apperr"
	"github.com/partnerhub/onboarding/services/registration/internal/domain"
)

// TestClaimReviewOutcome: the claimant reads filed, under_review, then the
// decision; a late or repeated fact changes nothing; another upstream sees
// no claim; a fact about a claim the attempt lacks is permanent.
func TestClaimReviewOutcome(t *testing.T) {
	ctx := context.Background()
	h, attempt, _ := duplicateAttempt(t)
	res, err := h.app.FileDuplicateClaim(ctx, upstream, FileDuplicateClaimCmd{DuplicateAttemptID: attempt, Statement: "We are this company."})
	if err != nil {
		t.Fatal(err)
	}
	claim := string(res.ClaimID)
	status := func(want domain.ClaimStatus) DuplicateClaimView {
		t.Helper()
		v, err := h.app.GetDuplicateClaim(ctx, upstream, claim)
		if err != nil || v.Status != want {
			t.Fatalf("claim %+v, %v; want %s", v, err, want)
		}
		return v
	}
	status(domain.ClaimFiled)
	_, err = h.app.GetDuplicateClaim(ctx, crm, claim)
	wantAppErr(t, err, apperr.KindNotFound, CodeDuplicateClaimNotFound)

	apply := func(o domain.ClaimOutcome) {
		t.Helper()
		o.ClaimID = res.ClaimID
		if err := h.app.ApplyClaimReview(ctx, attempt, o); err != nil {
			t.Fatal(err)
		}
	}
	apply(domain.ClaimOutcome{ReviewID: "vr-1", Status: domain.ClaimUnderReview, At: t0.Add(time.Hour)})
	status(domain.ClaimUnderReview)
	apply(domain.ClaimOutcome{ReviewID: "vr-1", Status: domain.ClaimRefused, DecisionID: "d1", Reason: "insufficient_evidence",
		ReasonText: "no link shown", Message: "send the register", At: t0.Add(2 * time.Hour)})
	v := status(domain.ClaimRefused)
	if v.Reason != "insufficient_evidence" || v.ReasonText != "no link shown" || v.Message != "send the register" ||
		!v.ReviewStartedAt.Equal(t0.Add(time.Hour)) || !v.DecidedAt.Equal(t0.Add(2*time.Hour)) || v.NextStep != "" {
		t.Fatalf("refused claim %+v", v)
	}
	// redelivered or late facts do not undo the decision
	apply(domain.ClaimOutcome{ReviewID: "vr-1", Status: domain.ClaimUnderReview, At: t0.Add(3 * time.Hour)})
	apply(domain.ClaimOutcome{ReviewID: "vr-1", Status: domain.ClaimUpheld, DecisionID: "d2", At: t0.Add(3 * time.Hour)})
	status(domain.ClaimRefused)

	err = h.app.ApplyClaimReview(ctx, attempt, domain.ClaimOutcome{ClaimID: "DC-OTHER", Status: domain.ClaimUpheld, At: t0})
	if ae := wantAppErr(t, err, apperr.KindInvalid, CodeClaimReviewMismatch); !apperr.Permanent(ae) {
		t.Fatal("a mismatched claim is not permanent")
	}
}

func TestUpheldClaimNamesTheNextStep(t *testing.T) {
	ctx := context.Background()
	h, attempt, _ := duplicateAttempt(t)
	res, err := h.app.FileDuplicateClaim(ctx, upstream, FileDuplicateClaimCmd{DuplicateAttemptID: attempt, Statement: "We are this company."})
	if err != nil {
		t.Fatal(err)
	}
	if err := h.app.ApplyClaimReview(ctx, attempt, domain.ClaimOutcome{ClaimID: res.ClaimID, ReviewID: "vr-1",
		Status: domain.ClaimUpheld, DecisionID: "d1", At: t0}); err != nil {
		t.Fatal(err)
	}
	v, err := h.app.GetDuplicateClaim(ctx, upstream, string(res.ClaimID))
	if err != nil || v.Status != domain.ClaimUpheld || v.NextStep != NextStepUpheld {
		t.Fatalf("upheld claim %+v %v", v, err)
	}
}
