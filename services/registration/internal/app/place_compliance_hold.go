package app

import (
	"context"
	"time"

	"github.com/partnerhub/onboarding/pkg/auth"
	"github.com/partnerhub/onboarding/services/registration/internal/domain"
)

// ComplianceHoldCmd places or lifts an operator's compliance hold.
type ComplianceHoldCmd struct {
	PartnerID string
	Note      string // why; recorded on the hold and in the event
}

// PlaceComplianceHold suspends the partner until an operator lifts the
// hold (the other holds stack beside it). Callers: operators. Placing it
// again changes nothing.
func (a *App) PlaceComplianceHold(ctx context.Context, p auth.Principal, cmd ComplianceHoldCmd) (LifecycleResult, error) {
	if err := p.Require(auth.RoleOperator); err != nil {
		return LifecycleResult{}, err
	}
	note, err := requiredNote(cmd.Note)
	if err != nil {
		return LifecycleResult{}, err
	}
	return a.change(ctx, p, cmd.PartnerID, "place compliance hold", func(_ context.Context, partner *domain.Partner, now time.Time) (bool, error) {
		return partner.PlaceHold(domain.Hold{Reason: domain.ReasonComplianceHold, By: p.Subject, Note: note}, now)
	})
}
