package app

import (
	"context"

	"github.com/partnerhub/onboarding/pkg/auth"
	"github.com/partnerhub/onboarding/services/relationships/internal/domain"
)

// ListForReseller lists a reseller's indirect providers, a page at a time
// (any user of that reseller, or an operator).
func (a *App) ListForReseller(ctx context.Context, p auth.Principal, q ListQuery) (RelationshipList, error) {
	if err := p.Require(auth.RolePartnerAdmin, auth.RolePartnerUser, auth.RoleOperator); err != nil {
		return RelationshipList{}, err
	}
	return a.listPage(ctx, p, q, domain.SideReseller)
}
