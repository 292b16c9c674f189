package app

import (
	"context"

	"github.com/partnerhub/onboarding/pkg/auth"
	"github.com/partnerhub/onboarding/services/relationships/internal/domain"
)

// NarrowRolesCommand names the roles that remain on the grant.
type NarrowRolesCommand struct {
	RelationshipID string
	Roles          []string
}

// NarrowRolesResult is the grant after narrowing.
type NarrowRolesResult struct {
	GrantID string
	Roles   []string
	Removed []string
}

// NarrowRoles removes roles from a live grant at once. Either side may do it:
// giving up access needs nobody's consent.
func (a *App) NarrowRoles(ctx context.Context, p auth.Principal, cmd NarrowRolesCommand) (NarrowRolesResult, error) {
	if err := p.Require(auth.RolePartnerAdmin, auth.RoleProviderAdmin); err != nil {
		return NarrowRolesResult{}, err
	}
	rel, side, err := a.loadForParty(ctx, p, cmd.RelationshipID)
	if err != nil {
		return NarrowRolesResult{}, err
	}
	roles := make([]domain.AccessRole, len(cmd.Roles))
	for i, r := range cmd.Roles {
		roles[i] = domain.AccessRole(r)
	}
	rs, err := domain.NewRoleSet(roles...)
	if err != nil {
		return NarrowRolesResult{}, mapErr(err)
	}
	now := a.clock()
	var res NarrowRolesResult
	err = a.rels.Update(ctx, rel.ID, func(r *domain.Relationship) error {
		before := r.Grant
		var old domain.RoleSet
		if before != nil {
			old = before.Roles
		}
		if err := r.Narrow(rs, side, p.Subject, now); err != nil {
			return err
		}
		res = NarrowRolesResult{GrantID: r.Grant.ID, Roles: r.Grant.Roles.Strings(), Removed: old.Minus(r.Grant.Roles).Strings()}
		return nil
	})
	if err != nil {
		return NarrowRolesResult{}, mapErr(err)
	}
	return res, nil
}
