package app

import (
	"context"
	"errors"

	"github.com/partnerhub/onboarding/pkg/auth"
	"github.com/partnerhub/onboarding/services/relationships/internal/domain"
)

// RequestWiderRolesCommand asks for a new role set (which must add a role to
// the live grant, or, once the grant expired, may be any set). DurationDays 0
// keeps the current grant's duration. Nothing changes until the reseller
// consents through the new invitation.
type RequestWiderRolesCommand struct {
	RelationshipID string
	Roles          []string
	DurationDays   int
	AutoExtend     bool
}

// RequestWiderRoles lets the provider_admin of the provider ask for wider (or
// renewed) access on an active relationship: a new request with its own token,
// needing fresh consent.
func (a *App) RequestWiderRoles(ctx context.Context, p auth.Principal, cmd RequestWiderRolesCommand) (CreateRequestResult, error) {
	if err := p.Require(auth.RoleProviderAdmin); err != nil {
		return CreateRequestResult{}, err
	}
	if err := a.mfa.Require(p, "widen_delegated_admin"); err != nil {
		return CreateRequestResult{}, err
	}
	rel, side, err := a.loadForParty(ctx, p, cmd.RelationshipID)
	if err != nil {
		return CreateRequestResult{}, err
	}
	if side != domain.SideProvider {
		return CreateRequestResult{}, relationshipNotFound()
	}
	if err := a.wideningParties(ctx, rel); err != nil {
		return CreateRequestResult{}, err
	}
	defaultDays := domain.DefaultDurationDays
	if rel.Grant != nil {
		defaultDays = rel.Grant.DurationDays
	}
	terms, err := accessTerms(cmd.Roles, cmd.DurationDays, defaultDays, cmd.AutoExtend, false)
	if err != nil {
		return CreateRequestResult{}, err
	}
	token, hash, err := domain.NewInvitationToken(a.rand)
	if err != nil {
		return CreateRequestResult{}, err
	}
	now, reqID := a.clock(), a.newID()
	sealed, err := a.sealInvitation(reqID, token)
	if err != nil {
		return CreateRequestResult{}, err
	}
	var res CreateRequestResult
	// Checked again under both parties' share locks, in the transaction
	// that adds the request (see Authorise).
	err = a.partners.Holding(ctx, []string{rel.ProviderID, rel.ResellerID}, func(ctx context.Context) error {
		if err := a.wideningParties(ctx, rel); err != nil {
			return err
		}
		return mapErr(a.rels.Update(ctx, rel.ID, func(r *domain.Relationship) error {
			err := r.RequestWider(domain.Widening{RequestID: reqID, Terms: terms, TokenHash: hash, SealedInvitation: sealed,
				CreatedBy: p.Subject, Now: now}, a.policy)
			if err != nil {
				return err
			}
			q := r.PendingRequest()
			if q == nil || q.ID != reqID {
				return errors.New("widening request not pending after creation")
			}
			res = CreateRequestResult{
				RelationshipID: r.ID, RequestID: q.ID, Token: token, Roles: q.Terms.Roles.Strings(),
				DurationDays: q.Terms.DurationDays, AutoExtend: q.Terms.AutoExtend, ExpiresAt: q.ExpiresAt,
			}
			return nil
		}))
	})
	if err != nil {
		return CreateRequestResult{}, err
	}
	return res, nil
}

// wideningParties refuses a widening of rel unless the provider is an
// active indirect provider and the reseller may transact.
func (a *App) wideningParties(ctx context.Context, rel *domain.Relationship) error {
	if err := a.requireActive(ctx, rel.ProviderID, domain.ProgramIndirectProvider, domain.ErrProviderNotActive); err != nil {
		return err
	}
	return a.requireGoodStanding(ctx, rel.ResellerID, domain.SideReseller)
}
