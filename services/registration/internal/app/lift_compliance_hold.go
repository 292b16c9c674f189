package app

import (
	"context"
	"time"

	"github.com/partnerhub/onboarding/pkg/auth"
	"github.com/partnerhub/onboarding/services/registration/internal/domain"
)

// LiftComplianceHold lifts the operator's compliance hold; the partner is
// active again unless another hold or an inactivity remains. Callers:
// operators. Lifting a hold that is not placed changes nothing.
func (a *App) LiftComplianceHold(ctx context.Context, p auth.Principal, cmd ComplianceHoldCmd) (LifecycleResult, error) {
	if err := p.Require(auth.RoleOperator); err != nil {
		return LifecycleResult{}, err
	}
	note, err := optionalNote(cmd.Note)
	if err != nil {
		return LifecycleResult{}, err
	}
	return a.change(ctx, p, cmd.PartnerID, "lift compliance hold", func(_ context.Context, partner *domain.Partner, now time.Time) (bool, error) {
		return partner.LiftHold(domain.ReasonComplianceHold, p.Subject, note, now)
	})
}
