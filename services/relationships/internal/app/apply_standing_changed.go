package app

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/partnerhub/onboarding/pkg/auth"
	"github.com/partnerhub/onboarding/services/relationships/internal/domain"
)

// StandingChanged is registration's standing change of a partner.
type StandingChanged struct {
	PartnerID string
	Status    string // active, suspended, inactive, closed
	Reasons   []string
	ChangedBy string
	ChangedAt time.Time
}

// ApplyStandingChanged folds the standing into the projection (a partner
// not in good standing can neither ask, be asked, nor authorise) and acts on
// the partner's open relationships, on either side:
//   - suspended or inactive: each live grant is suspended (AccessSuspended);
//   - active again: each suspended grant is reinstated once both parties
//     may hold access (domain.Partner.MayHoldAccess: in good standing, the
//     side's enrollment active) (AccessReinstated; expired meanwhile:
//     expired);
//   - closed: each open relationship ends (RelationshipEnded, ended by the
//     closed side, and AccessTerminated), which tells both parties.
//
// Replays and older changes do nothing.
func (a *App) ApplyStandingChanged(ctx context.Context, p auth.Principal, ev StandingChanged) error {
	if err := requireBus(p); err != nil {
		return err
	}
	if !domain.IsGlobalID(ev.PartnerID) {
		return mapErr(domain.ErrInvalidPartner)
	}
	var changed bool
	var self domain.Partner
	err := a.partners.Upsert(ctx, ev.PartnerID, func(pt *domain.Partner) error {
		if pt.ID == "" {
			pt.ID = ev.PartnerID
		}
		var err error
		changed, err = pt.ApplyStanding(domain.Standing{Status: ev.Status, Reasons: ev.Reasons, ChangedAt: ev.ChangedAt})
		self = *pt
		return err
	})
	if err != nil || !changed {
		return mapErr(err)
	}
	asProvider, err := a.rels.ListByProvider(ctx, ev.PartnerID)
	if err != nil {
		return err
	}
	asReseller, err := a.rels.ListByReseller(ctx, ev.PartnerID)
	if err != nil {
		return err
	}
	now := a.clock()
	for _, r := range slices.Concat(asProvider, asReseller) {
		if r.State != domain.StateActive && r.State != domain.StateProposed {
			continue
		}
		side := domain.SideProvider
		if r.ResellerID == ev.PartnerID {
			side = domain.SideReseller
		}
		var bothMay bool
		if ev.Status == domain.StandingActive {
			var err error
			if bothMay, err = a.bothMayHoldAccess(ctx, self, side, r); err != nil {
				return err
			}
		}
		err := a.rels.Update(ctx, r.ID, func(r *domain.Relationship) error {
			switch {
			case ev.Status == domain.StandingClosed:
				r.CloseFor(side, ev.ChangedBy, closureReason(side), now)
			case ev.Status == domain.StandingActive:
				if bothMay {
					r.ReinstateAccess(now, a.policy)
				}
			default:
				r.SuspendAccess(side, slices.Clone(ev.Reasons), now)
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("apply standing of %s to relationship %s: %w", ev.PartnerID, r.ID, err)
		}
	}
	return nil
}

// closureReason is the end reason of a relationship ended by a side's
// closure: that the account was closed, nothing of the closure's record.
// Both sides read it (relationships.relationship.ended.v1, the end answer),
// and the record's reasons and note are staff's and the closed side's
// business (its standing change; "note" is staff-only there): until round
// 47 they were appended, and a provider read an operator's note on why its
// reseller's account was closed.
func closureReason(side domain.Side) string {
	return "the " + string(side) + "'s partner account was closed"
}

// bothMayHoldAccess reports whether both parties of r may hold access
// again: self on side, as just projected, and the other party as the
// projection has it (one unknown here counts as may: nothing says
// otherwise). A grant is reinstated only then, whichever of the facts that
// held it — either party's standing, either party's enrollment — came last.
func (a *App) bothMayHoldAccess(ctx context.Context, self domain.Partner, side domain.Side, r *domain.Relationship) (bool, error) {
	if !self.MayHoldAccess(side) {
		return false, nil
	}
	other := r.ProviderID
	if side == domain.SideProvider {
		other = r.ResellerID
	}
	pt, err := a.partners.Get(ctx, other)
	if errors.Is(err, domain.ErrPartnerNotFound) {
		return true, nil
	}
	if err != nil {
		return false, fmt.Errorf("load partner %s: %w", other, err)
	}
	return pt.MayHoldAccess(side.Other()), nil
}

// requireGoodStanding refuses a party registration does not let transact.
func (a *App) requireGoodStanding(ctx context.Context, id string, side domain.Side) error {
	pt, err := a.partners.Get(ctx, id)
	if errors.Is(err, domain.ErrPartnerNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("load partner %s: %w", id, err)
	}
	if !pt.InGoodStanding() {
		return notInGoodStanding(side, pt)
	}
	return nil
}
