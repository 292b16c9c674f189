package app

import (
	"context"
	"time"

	"github.com/partnerhub/onboarding/pkg/auth"
	"github.com/partnerhub/onboarding/services/registration/internal/domain"
)

// ReactivationResult is the partner after its reactivation and whether
// verification reviews it again first.
type ReactivationResult struct {
	LifecycleResult
	ReviewRequired bool `json:"review_required"`
}

// ReactivatePartner ends an inactive partner's inactivity: at once, or —
// when it was inactive for at least Standing.ReactivationReviewAfter —
// after verification approves it again (the partner is held with
// reverification_required meanwhile, and verification re-opens its
// review). Callers: the partner's administrator or an operator. A partner
// that is not inactive is registration.not_inactive.
func (a *App) ReactivatePartner(ctx context.Context, p auth.Principal, partnerID string) (ReactivationResult, error) {
	if err := p.Require(auth.RolePartnerAdmin, auth.RoleOperator); err != nil {
		return ReactivationResult{}, err
	}
	var review bool
	res, err := a.change(ctx, p, partnerID, "reactivate partner", func(_ context.Context, partner *domain.Partner, now time.Time) (bool, error) {
		var err error
		review, err = partner.Reactivate(p.Subject, a.Standing.ReactivationReviewAfter, now)
		return err == nil, err
	})
	return ReactivationResult{LifecycleResult: res, ReviewRequired: review}, err
}
