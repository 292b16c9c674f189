package app

import (
	"context"
	"time"

	"github.com/partnerhub/onboarding/pkg/auth"
	"github.com/partnerhub/onboarding/services/relationships/internal/domain"
)

// DeferResult says until when the deferred invitation can still be answered.
type DeferResult struct {
	RequestID string
	ExpiresAt time.Time
}

// Defer lets a partner_admin of the addressed reseller answer later: the
// request stays open until it expires, with one reminder before that.
func (a *App) Defer(ctx context.Context, p auth.Principal, token string) (DeferResult, error) {
	if err := p.Require(auth.RolePartnerAdmin); err != nil {
		return DeferResult{}, err
	}
	now := a.clock()
	rel, q, h, err := a.invitation(ctx, p, token, now)
	if err != nil {
		return DeferResult{}, err
	}
	err = a.rels.Update(ctx, rel.ID, func(r *domain.Relationship) error {
		return r.Defer(h, p.Subject, now)
	})
	if err != nil {
		return DeferResult{}, mapErr(err)
	}
	return DeferResult{RequestID: q.ID, ExpiresAt: q.ExpiresAt}, nil
}
