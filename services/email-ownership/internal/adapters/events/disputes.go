package events

import (
	"context"

	"github.com/partnerhub/onboarding/pkg/ce"
	verificationv1 "github.com/partnerhub/onboarding/pkg/events/verification/v1"
	"github.com/partnerhub/onboarding/services/emailownership/internal/app"
	"github.com/partnerhub/onboarding/services/emailownership/internal/domain"
)

// OnDisputeDecided applies a verifier's decision on a dispute (both types).
func (h *Handlers) OnDisputeDecided(ctx context.Context, ev ce.Event) error {
	var p verificationv1.EmailDisputeDecided
	if err := ev.DecodeData(&p, false); err != nil {
		return err
	}
	return h.App.ApplyDisputeDecision(ctx, app.DisputeDecisionCommand{EnrollmentID: p.EnrollmentID,
		DisputeDecision: domain.DisputeDecision{ChallengeID: p.ChallengeID, ReviewID: p.ReviewID,
			Upheld: ev.Type == verificationv1.TypeEmailDisputeUpheld, Reason: p.Reason, DecidedAt: p.DecidedAt}})
}
