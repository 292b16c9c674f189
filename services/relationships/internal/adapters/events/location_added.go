package events

import (
	"context"

	"github.com/partnerhub/onboarding/pkg/auth"
	"github.com/partnerhub/onboarding/pkg/ce"
	registrationv1 "github.com/partnerhub/onboarding/pkg/events/registration/v1"
)

// HandlerLocationAdded is the inbox name of the added-location handler.
const HandlerLocationAdded = "on_location_added"

// OnLocationAdded records a location the partner added, so that a provider
// may invite the reseller at it.
func (h Handlers) OnLocationAdded(ctx context.Context, ev ce.Event) error {
	var p registrationv1.LocationAdded
	if err := ev.DecodeData(&p, false); err != nil {
		return err
	}
	ctx = auth.WithPrincipal(ctx, registrationService)
	_, err := h.App.ApplyLocationAdded(ctx, registrationService, p.PartnerID, p.LocationID)
	return err
}
