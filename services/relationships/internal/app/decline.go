package app

import (
	"context"

	"github.com/partnerhub/onboarding/pkg/auth"
	"github.com/partnerhub/onboarding/services/relationships/internal/domain"
)

// DeclineCommand refuses an invitation; Reason is optional.
type DeclineCommand struct {
	Token  string
	Reason string
}

// Decline lets a partner_admin of the addressed reseller refuse an invitation.
func (a *App) Decline(ctx context.Context, p auth.Principal, cmd DeclineCommand) error {
	if err := p.Require(auth.RolePartnerAdmin); err != nil {
		return err
	}
	now := a.clock()
	rel, _, h, err := a.invitation(ctx, p, cmd.Token, now)
	if err != nil {
		// The caller's refusal sent again: done already.
		if _, q, _ := a.answeredBefore(ctx, p, cmd.Token, err); q != nil && q.Status == domain.StatusDeclined {
			return nil
		}
		return err
	}
	return mapErr(a.rels.Update(ctx, rel.ID, func(r *domain.Relationship) error {
		return r.Decline(h, p.Subject, cmd.Reason, now)
	}))
}
