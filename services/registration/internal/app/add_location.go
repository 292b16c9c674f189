package app

import (
	"context"
	"time"

	"github.com/partnerhub/onboarding/pkg/auth"
	"github.com/partnerhub/onboarding/services/registration/internal/domain"
)

// AddLocationCmd asks to add a business location to a registered partner.
type AddLocationCmd struct {
	PartnerID string
	Input     domain.LocationInput
}

// AddedLocation is the answer of AddLocation: the new location (its own
// location ID) with its address as submitted and normalized, and the partner.
type AddedLocation struct {
	Location domain.Location `json:"location"`
	Partner  PartnerView     `json:"partner"`
}

// AddLocation adds a business location with its own location ID: the
// address is validated and normalized as at registration for the partner's
// market, a location in another market is registration.market_immutable
// (Conflict), an address the partner already has is
// registration.location_exists, and one where another partner of the market
// is registered under the same legal name is registration.duplicate_entity.
// It publishes registration.location.added.v1. Callers: as AddEnrollment.
func (a *App) AddLocation(ctx context.Context, p auth.Principal, cmd AddLocationCmd) (AddedLocation, error) {
	if err := p.Require(auth.RoleUpstreamSystem, auth.RolePartnerAdmin, auth.RoleOperator); err != nil {
		return AddedLocation{}, err
	}
	var out AddedLocation
	res, err := a.grow(ctx, p, cmd.PartnerID, "add location", func(partner *domain.Partner, now time.Time) error {
		addr, err := domain.NormalizeLocation(cmd.Input, partner.Market())
		if err != nil {
			return err
		}
		out.Location, err = partner.AddLocation(addr, a.ids, p.Subject, now)
		return err
	})
	if err != nil {
		return AddedLocation{}, err
	}
	out.Partner = res
	return out, nil
}
