package app

import (
	"context"

	"github.com/partnerhub/onboarding/pkg/auth"
	"github.com/partnerhub/onboarding/services/relationships/internal/domain"
)

// ApplyLocationAdded adds a location the partner added after its
// registration to the partner projection (see domain.Partner.AddLocation).
func (a *App) ApplyLocationAdded(ctx context.Context, p auth.Principal, partnerID, locationID string) (bool, error) {
	if err := requireBus(p); err != nil {
		return false, err
	}
	var changed bool
	err := a.partners.Upsert(ctx, partnerID, func(pt *domain.Partner) error {
		var err error
		changed, err = pt.AddLocation(partnerID, locationID)
		return err
	})
	return changed, mapErr(err)
}
