package app

import (
	"context"
	"fmt"
	"strings"

	"github.com/partnerhub/onboarding/pkg/apperr"
	"github.com/partnerhub/onboarding/services/emailownership/internal/domain"
)

// WithdrawProfileChangeCommand says that a registration profile change, and
// every earlier one, will never be applied.
type WithdrawProfileChangeCommand struct {
	PartnerID string
	UpTo      int    // the change number
	Cause     string // domain.WithdrawnSuperseded or domain.WithdrawnRejected
}

// WithdrawProfileChange closes profile changes up to UpTo on the partner's
// membership enrollment, whose challenge proves a change's new contact
// address, and withdraws the open challenge of one of them: registration
// will never apply that change, so a confirmation of its address would
// leave this service naming a confirmed contact registration does not
// have. A request of a closed change heard after this (its consumer is
// another than the rejection's) opens nothing. Internal trigger (the
// registration consumer): no principal. Replays do nothing.
func (a *App) WithdrawProfileChange(ctx context.Context, cmd WithdrawProfileChangeCommand) error {
	if strings.TrimSpace(cmd.PartnerID) == "" || cmd.UpTo < 1 ||
		(cmd.Cause != domain.WithdrawnSuperseded && cmd.Cause != domain.WithdrawnRejected) {
		return apperr.Invalid(CodeInvalidCommand, "partner id, a change number and a cause (superseded or rejected) are required")
	}
	ids, err := a.d.Repo.EnrollmentsByPartner(ctx, cmd.PartnerID)
	if err != nil {
		return fmt.Errorf("enrollments of %s: %w", cmd.PartnerID, err)
	}
	for _, id := range ids {
		o, err := a.d.Repo.Get(ctx, id)
		if err != nil {
			return fmt.Errorf("enrollment %s: %w", id, err)
		}
		if o.Ref().Program != domain.ProgramMembership {
			continue // read without a lock: a profile change's address is proven on the membership alone
		}
		err = a.d.Repo.Update(ctx, id, func(o *domain.Ownership) error {
			o.WithdrawProfileChange(cmd.UpTo, cmd.Cause, a.d.Clock.Now())
			return nil
		})
		if err != nil {
			return fmt.Errorf("withdraw profile change %d of %s on enrollment %s: %w", cmd.UpTo, cmd.PartnerID, id, err)
		}
	}
	return nil
}
