package app

import (
	"context"

	"github.com/partnerhub/onboarding/services/verification/internal/domain"
)

// ProfileChangeApplied is registration's applied profile change, as far as
// verification keeps it: the partner's verified profile now.
type ProfileChangeApplied struct {
	PartnerID string
	Profile   domain.ProfileFacts
}

// ApplyProfileChange keeps the partner's case on its verified profile (see
// Case.ApplyProfile). Callers: the registration consumer; a partner
// without a case is a not-found error (dead-lettered with its code).
func (a *App) ApplyProfileChange(ctx context.Context, cmd ProfileChangeApplied) error {
	c, err := a.Cases.GetByPartner(ctx, cmd.PartnerID)
	if err != nil {
		return translate(err)
	}
	return translate(a.Cases.Update(ctx, c.ID, func(c *domain.Case) error {
		c.ApplyProfile(cmd.Profile, a.Clock.Now())
		return nil
	}))
}
