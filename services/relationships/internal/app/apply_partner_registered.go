package app

import (
	"context"
	"time"

	"github.com/partnerhub/onboarding/pkg/apperr"
	"github.com/partnerhub/onboarding/pkg/auth"
	"github.com/partnerhub/onboarding/services/relationships/internal/domain"
)

// PartnerRegistered is the registration fact this service projects: a
// partner's IDs, market, and the legal name and address shown on the consent
// view. Published again when those facts change (new location, corrected name).
type PartnerRegistered struct {
	PartnerID   string
	LocationIDs []string
	Market      string
	LegalName   string
	Address     domain.Address
	OccurredAt  time.Time
}

// ApplyPartnerRegistered folds the fact into the partner projection. It is
// safe to replay and to receive out of order (see domain.Partner); it reports
// whether the projection changed.
func (a *App) ApplyPartnerRegistered(ctx context.Context, p auth.Principal, ev PartnerRegistered) (bool, error) {
	if err := requireBus(p); err != nil {
		return false, err
	}
	fact := domain.PartnerRegistration(ev)
	if err := fact.Validate(); err != nil {
		return false, mapErr(err)
	}
	var changed bool
	err := a.partners.Upsert(ctx, ev.PartnerID, func(pt *domain.Partner) error {
		var err error
		changed, err = pt.ApplyRegistration(fact)
		return err
	})
	return changed, mapErr(err)
}

// requireBus admits the principals that feed the projection: services on the
// bus (registration, agreements) and operators repairing it.
func requireBus(p auth.Principal) error {
	if p.IsZero() {
		return apperr.New(apperr.KindUnauthenticated, "auth.unauthenticated", "authentication required")
	}
	if p.Kind == auth.KindService || p.Has(auth.RoleOperator, auth.RoleUpstreamSystem) {
		return nil
	}
	return apperr.Forbidden("auth.role_required", "only services and operators feed the partner projection")
}
