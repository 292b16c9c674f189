package app

import (
	"context"
	"time"

	"github.com/partnerhub/onboarding/pkg/auth"
	"github.com/partnerhub/onboarding/services/registration/internal/domain"
)

// ClosePartnerCmd closes a partner's account.
type ClosePartnerCmd struct {
	PartnerID string
	Note      string // why (required)
}

// ClosePartner closes an approved partner for good: its administrator
// (closed_by_partner) or an operator (closed_by_operator). Every service
// ends what it holds for the partner (relationships end on both sides,
// acceptances are suspended, open e-mail challenges cancelled). Closing a
// closed partner changes nothing; a pending registration cannot be closed
// (registration.not_yet_approved).
func (a *App) ClosePartner(ctx context.Context, p auth.Principal, cmd ClosePartnerCmd) (LifecycleResult, error) {
	if err := p.Require(auth.RolePartnerAdmin, auth.RoleOperator); err != nil {
		return LifecycleResult{}, err
	}
	note, err := requiredNote(cmd.Note)
	if err != nil {
		return LifecycleResult{}, err
	}
	reason := domain.ReasonClosedByPartner
	if p.Has(auth.RoleOperator) {
		reason = domain.ReasonClosedByOperator
	}
	return a.change(ctx, p, cmd.PartnerID, "close partner", func(_ context.Context, partner *domain.Partner, now time.Time) (bool, error) {
		return partner.Close(reason, p.Subject, note, now)
	})
}
