package app

import (
	"context"

	"github.com/partnerhub/onboarding/services/verification/internal/domain"
)

// AddEnrollmentCommand is registration's enrollment.added event.
type AddEnrollmentCommand struct {
	PartnerID    string
	EnrollmentID string
	Program      string
}

// AddEnrollment adds a program the partner enrolled in after its
// registration to its case, so that the enrollment's e-mail confirmation is
// recorded as one of the registration's. An unknown partner is
// verification.case_not_found (the consumer redelivers it while young).
// Fed by an event: no principal.
func (a *App) AddEnrollment(ctx context.Context, cmd AddEnrollmentCommand) (bool, error) {
	var changed bool
	err := a.Cases.UpdateByPartner(ctx, cmd.PartnerID, func(c *domain.Case) error {
		changed = c.AddEnrollment(cmd.EnrollmentID, domain.Program(cmd.Program))
		return nil
	})
	return changed, translate(err)
}
