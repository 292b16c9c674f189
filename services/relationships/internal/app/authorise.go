package app

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/partnerhub/onboarding/pkg/auth"
	"github.com/partnerhub/onboarding/services/relationships/internal/domain"
)

// AuthoriseCommand is the reseller administrator's consent. Consent must be
// true: it stands for the ticked consent statement of the view.
type AuthoriseCommand struct {
	Token   string
	Consent bool
}

// AuthoriseResult describes the grant that now exists.
type AuthoriseResult struct {
	RelationshipID string
	GrantID        string
	Roles          []string
	StartsAt       time.Time
	ExpiresAt      time.Time
	AutoExtend     bool
}

// Authorise accepts an invitation: the relationship becomes active and a
// delegated access grant starts. Only a partner_admin of the addressed
// reseller, with explicit consent and an active reseller enrollment.
func (a *App) Authorise(ctx context.Context, p auth.Principal, cmd AuthoriseCommand) (AuthoriseResult, error) {
	if err := p.Require(auth.RolePartnerAdmin); err != nil {
		return AuthoriseResult{}, err
	}
	if !cmd.Consent {
		return AuthoriseResult{}, mapErr(domain.ErrConsentRequired)
	}
	if err := a.mfa.Require(p, "authorise_delegated_admin"); err != nil {
		return AuthoriseResult{}, err
	}
	now := a.clock()
	rel, _, h, _, err := a.invitationFor(ctx, p, cmd.Token, now)
	if err != nil {
		// The caller's authorisation sent again: the grant it started.
		if rel, q, g := a.answeredBefore(ctx, p, cmd.Token, err); q != nil && q.Status == domain.StatusAccepted && g != nil {
			return grantResult(rel.ID, g), nil
		}
		return AuthoriseResult{}, err
	}
	grantID := a.newID()
	var res AuthoriseResult
	// Both parties' standing is checked under their share locks, in the
	// transaction that starts the grant. A suspension applied meanwhile
	// only suspends live grants (a proposal has none): read before it
	// commits, the grant would start for a suspended party and stay live.
	// Under the lock, the suspension either committed first (refused here)
	// or waits for this commit and then finds the grant and suspends it.
	err = a.partners.Holding(ctx, []string{rel.ResellerID, rel.ProviderID}, func(ctx context.Context) error {
		reseller, err := a.partners.Get(ctx, rel.ResellerID)
		if err != nil {
			if errors.Is(err, domain.ErrPartnerNotFound) {
				return mapErr(domain.ErrInvitationUnknown)
			}
			return fmt.Errorf("load partner %s: %w", rel.ResellerID, err)
		}
		if !reseller.InGoodStanding() {
			return notInGoodStanding(domain.SideReseller, reseller)
		}
		if !reseller.ActiveIn(domain.ProgramIndirectReseller) {
			return mapErr(domain.ErrResellerNotActive)
		}
		// The provider may have lost its standing since it asked.
		if err := a.requireActive(ctx, rel.ProviderID, domain.ProgramIndirectProvider, domain.ErrProviderNotActive); err != nil {
			return err
		}
		return mapErr(a.rels.Update(ctx, rel.ID, func(r *domain.Relationship) error {
			if err := r.Accept(h, p.Subject, grantID, now, a.policy); err != nil {
				return err
			}
			res = grantResult(r.ID, r.Grant)
			return nil
		}))
	})
	if err != nil {
		return AuthoriseResult{}, err
	}
	return res, nil
}

// grantResult describes grant g of relationship id.
func grantResult(id string, g *domain.Grant) AuthoriseResult {
	return AuthoriseResult{RelationshipID: id, GrantID: g.ID, Roles: g.Roles.Strings(), StartsAt: g.StartsAt, ExpiresAt: g.ExpiresAt, AutoExtend: g.AutoExtend}
}

// requireActive answers notActive unless partner id is active in program,
// and the side's not-in-good-standing refusal when registration does not
// let it transact.
func (a *App) requireActive(ctx context.Context, id string, program domain.Program, notActive error) error {
	pt, err := a.partners.Get(ctx, id)
	if errors.Is(err, domain.ErrPartnerNotFound) {
		return mapErr(notActive)
	}
	if err != nil {
		return fmt.Errorf("load partner %s: %w", id, err)
	}
	if !pt.InGoodStanding() {
		side := domain.SideReseller
		if program == domain.ProgramIndirectProvider {
			side = domain.SideProvider
		}
		return notInGoodStanding(side, pt)
	}
	if !pt.ActiveIn(program) {
		return mapErr(notActive)
	}
	return nil
}
