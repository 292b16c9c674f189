package app

import (
	"context"
	"time"

	"github.com/partnerhub/onboarding/pkg/auth"
	"github.com/partnerhub/onboarding/services/relationships/internal/domain"
)

// EndRelationshipCommand ends a relationship; Reason is required and recorded.
type EndRelationshipCommand struct {
	RelationshipID string
	Reason         string
}

// EndRelationshipResult reports how the relationship ended. AlreadyEnded is
// true when it had been ended before this call (by either side): the call
// then changed nothing, and EndedBy/Reason are those of the first end.
type EndRelationshipResult struct {
	RelationshipID string
	EndedBy        domain.Side
	EndedAt        time.Time
	Reason         string
	AlreadyEnded   bool
}

// EndRelationship lets either side end an active relationship on its own
// (partner_admin of the reseller or provider_admin of the provider); the grant
// is terminated at once. Ending an ended relationship is an idempotent no-op,
// not a conflict: the caller's wish — the relationship is over — holds.
func (a *App) EndRelationship(ctx context.Context, p auth.Principal, cmd EndRelationshipCommand) (EndRelationshipResult, error) {
	if err := p.Require(auth.RolePartnerAdmin, auth.RoleProviderAdmin); err != nil {
		return EndRelationshipResult{}, err
	}
	rel, side, err := a.loadForParty(ctx, p, cmd.RelationshipID)
	if err != nil {
		return EndRelationshipResult{}, err
	}
	now := a.clock()
	var res EndRelationshipResult
	err = a.rels.Update(ctx, rel.ID, func(r *domain.Relationship) error {
		already, err := r.End(side, p.Subject, cmd.Reason, now)
		if err != nil {
			return err
		}
		res = EndRelationshipResult{RelationshipID: r.ID, EndedBy: r.EndedBy, EndedAt: r.EndedAt, Reason: r.EndReason, AlreadyEnded: already}
		return nil
	})
	if err != nil {
		return EndRelationshipResult{}, mapErr(err)
	}
	return res, nil
}
