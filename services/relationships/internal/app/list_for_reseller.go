package app

import (
	"context"

	"github.com/partnerhub/onboarding/pkg/auth"
	"github.com/partnerhub/onboarding/services/relationships/internal/domain"
)

// ListForReseller lists a reseller's indirect providers (any user of that
// reseller, or an operator).
func (a *App) ListForReseller(ctx context.Context, p auth.Principal, q ListQuery) ([]RelationshipSummary, error) {
	if err := p.Require(auth.RolePartnerAdmin, auth.RolePartnerUser, auth.RoleOperator); err != nil {
		return nil, err
	}
	id, err := a.listedPartner(ctx, p, q.PartnerID)
	if err != nil {
		return nil, err
	}
	var rels []*domain.Relationship
	if rels, err = a.rels.ListByReseller(ctx, id); err != nil {
		return nil, err
	}
	return a.summaries(ctx, rels, q.IncludeClosed)
}
