package app

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/partnerhub/onboarding/pkg/apperr"
	"github.com/partnerhub/onboarding/services/emailownership/internal/domain"
)

// StandingChangedCommand is registration's standing change of a partner.
type StandingChangedCommand struct {
	PartnerID string
	Status    string // active, suspended, inactive, closed
	ChangedAt time.Time
}

// ApplyStandingChanged stops every open challenge of a partner that leaves
// good standing (cancelled, ChallengeCancelled; confirm and resend refused
// meanwhile) and, when it is active again, restores what that cancelled —
// a fresh challenge and mail for each enrollment whose open challenge was
// cancelled, nothing more. Closure is final. Internal trigger (the
// registration consumer): no principal. Replays and older changes do nothing.
func (a *App) ApplyStandingChanged(ctx context.Context, cmd StandingChangedCommand) error {
	if strings.TrimSpace(cmd.PartnerID) == "" || cmd.Status == "" || cmd.ChangedAt.IsZero() {
		return translate(domain.ErrInvalidEnrollment)
	}
	ids, err := a.d.Repo.EnrollmentsByPartner(ctx, cmd.PartnerID)
	if err != nil {
		return fmt.Errorf("enrollments of %s: %w", cmd.PartnerID, err)
	}
	if len(ids) == 0 {
		// A partner held the moment it registered: the standing may come
		// before the registration, on another durable. Applied to nothing,
		// the registration's challenges would then open and mail as if the
		// partner were in good standing.
		return apperr.NotFound(CodePartnerUnknown, "no enrollment of partner "+cmd.PartnerID+" to apply its standing to")
	}
	for _, id := range ids {
		var is domain.Issued
		if cmd.Status == "active" {
			if is, err = a.issue(); err != nil {
				return err
			}
		}
		err := a.d.Repo.Update(ctx, id, func(o *domain.Ownership) error {
			now := a.d.Clock.Now()
			if cmd.Status == "active" {
				_, err := o.Release(is, a.d.Policy, cmd.ChangedAt, now)
				return err
			}
			o.HoldFor(cmd.Status, cmd.ChangedAt, now)
			return nil
		})
		if err != nil {
			return fmt.Errorf("apply standing of %s to enrollment %s: %w", cmd.PartnerID, id, err)
		}
	}
	return nil
}
