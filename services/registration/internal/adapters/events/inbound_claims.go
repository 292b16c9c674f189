package events

import (
	"context"

	"github.com/partnerhub/onboarding/pkg/auth"
	"github.com/partnerhub/onboarding/pkg/ce"
	verificationv1 "github.com/partnerhub/onboarding/pkg/events/verification/v1"
	"github.com/partnerhub/onboarding/services/registration/internal/domain"
)

// OnDuplicateClaimReviewStarted shows the claim under review.
func (h *Handlers) OnDuplicateClaimReviewStarted(ctx context.Context, ev ce.Event) error {
	var v verificationv1.DuplicateClaimReviewStarted
	if err := ev.DecodeData(&v, false); err != nil {
		return err
	}
	ctx = auth.WithPrincipal(ctx, internal(ev))
	return h.App.ApplyClaimReview(ctx, v.DuplicateAttemptID, domain.ClaimOutcome{ClaimID: domain.ClaimID(v.ClaimID),
		ReviewID: v.ReviewID, Status: domain.ClaimUnderReview, At: v.StartedAt})
}

// OnDuplicateClaimDecided records an upheld or refused claim (every type:
// a refusal's v2 is v1's data without the claimant, which this does not read).
func (h *Handlers) OnDuplicateClaimDecided(ctx context.Context, ev ce.Event) error {
	var v verificationv1.DuplicateClaimDecided
	if err := ev.DecodeData(&v, false); err != nil {
		return err
	}
	status := domain.ClaimRefused
	if ev.Type == verificationv1.TypeDuplicateClaimUpheld {
		status = domain.ClaimUpheld
	}
	ctx = auth.WithPrincipal(ctx, internal(ev))
	return h.App.ApplyClaimReview(ctx, v.DuplicateAttemptID, domain.ClaimOutcome{ClaimID: domain.ClaimID(v.ClaimID),
		ReviewID: v.ReviewID, Status: status, DecisionID: v.DecisionID, Reason: v.Reason, ReasonText: v.ReasonText,
		Message: v.Message, At: v.DecidedAt})
}
